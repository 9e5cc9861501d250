package main

import rego.v1

deny contains "owner missing" if not input.metadata.owner

deny contains "owner is null" if input.metadata.owner == null

deny contains msg if {
	owner := object.get(input, ["metadata", "owner"], "nobody")
	msg := sprintf("owner or default: %v", [owner])
}

deny contains msg if {
	some v in input.volumes
	msg := sprintf("volume %v", [v])
}

warn contains "replicas is null" if is_null(input.spec.replicas)

warn contains "no replicas key" if not "replicas" in object.keys(object.get(input, "spec", {}))

warn contains msg if {
	c := count(object.get(input, "items", []))
	msg := sprintf("%d items", [c])
}

violation contains msg if {
	input.spec.replicas < 2
	msg := "fewer than 2 replicas"
}

violation contains "deep path" if input.a.b.c.d == null

names contains input.spec.template.spec.containers[_].name

warn_names contains sprintf("names %v", [names])
