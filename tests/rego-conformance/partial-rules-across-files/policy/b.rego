package main

import rego.v1

import data.lib.naming as n

owners[name] := "platform" if {
	some name in input.shared
}

flags contains "b" if input.flag_b

deny contains msg if {
	count(flags) > 0
	msg := sprintf("flags %v prefix %s", [sort([f | some f in flags]), n.prefix])
}

deny_objects[name] := msg if {
	some name, owner in owners
	owner == "platform"
	msg := sprintf("%s is platform owned", [name])
}
