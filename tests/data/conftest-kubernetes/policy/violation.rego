# Equivalent of conftest's examples/kubernetes/policy/violation.rego: results are objects
# with `msg` and a `details` object.
package main

import data.kubernetes
import rego.v1

violation contains {"msg": msg, "details": {"container": container.name}} if {
	kubernetes.is_deployment
	some container in input.spec.template.spec.containers
	container.securityContext.privileged
	msg := sprintf("Container %s in Deployment %s must not be privileged", [container.name, name])
}

violation contains {"msg": msg, "details": {"image": container.image}} if {
	kubernetes.is_deployment
	some container in input.spec.template.spec.containers
	endswith(container.image, ":latest")
	msg := sprintf("Container %s in Deployment %s uses the latest tag", [container.name, name])
}
