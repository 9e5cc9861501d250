package security

import data.lib.k8s
import rego.v1

deny contains {"msg": msg, "id": "SEC-1", "severity": "critical"} if {
	some c in k8s.containers
	k8s.privileged(c)
	msg := sprintf("%s: container %s is privileged", [k8s.name, c.name])
}
