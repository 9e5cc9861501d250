package main

import rego.v1

import data.limits

too_many if input.replicas > limits.max_replicas

deny contains msg if {
	too_many
	msg := sprintf("%d replicas > %d", [input.replicas, limits.max_replicas])
}

deny contains "would fail with 100 replicas" if {
	too_many with input.replicas as 100
	not too_many
}

deny contains "fails with a lower limit" if {
	too_many with data.limits.max_replicas as 1
}

warn contains msg if {
	ports := {p | some c in input.containers; some p in c.ports}
	by_name := {c.name: count(c.ports) | some c in input.containers}
	images := [c.image | some c in input.containers; c.image != ""]
	msg := sprintf("ports %v by name %v images %v", [sort(ports), by_name, images])
}

warn_every contains "every container pinned" if {
	count(input.containers) > 0
	every c in input.containers {
		contains(c.image, "@sha256:")
	}
}

warn_every contains "not every container has ports" if {
	not every_port
}

every_port if {
	every c in input.containers {
		count(c.ports) > 0
	}
}

deny_some contains msg if {
	some i, c in input.containers
	some j, p in c.ports
	p < 1024
	msg := sprintf("container %d port %d: %d is privileged", [i, j, p])
}

deny_some contains msg if {
	some c in input.containers
	"root" in c.users
	msg := sprintf("%s runs as root", [c.name])
}
