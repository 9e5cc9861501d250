# Equivalent of conftest's examples/kubernetes/policy/warn.rego: Service warnings, which must
# not fire on a Deployment.
package main

import data.kubernetes
import rego.v1

warn contains msg if {
	kubernetes.is_service
	some port in input.spec.ports
	port.port != 443
	msg := sprintf("Service %s exposes port %v; only 443 is allowed", [name, port.port])
}
