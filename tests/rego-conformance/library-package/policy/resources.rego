package security

import data.lib.k8s
import rego.v1

violation contains msg if {
	some c in k8s.containers
	not c.resources.limits.memory
	msg := sprintf("%s: container %s has no memory limit", [k8s.name, c.name])
}
