package main

import rego.v1

import data.lib.naming as n

owners[name] := owner if {
	some name, b in input.buckets
	owner := b.owner
}

flags contains "a" if input.flag_a

deny contains msg if {
	some name, owner in owners
	not n.valid(name)
	msg := sprintf("bucket %s (owner %s) has a bad name", [name, owner])
}
