# Equivalent of conftest's examples/kubernetes/policy/deny.rego: two denies that reach the
# `kubernetes` library package through an import alias from a second file of package main.
package main

import data.kubernetes
import rego.v1

name := input.metadata.name

deny contains msg if {
	kubernetes.is_deployment
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("Containers must not run as root in Deployment %s", [name])
}

required_deployment_selectors if {
	input.spec.selector.matchLabels.app
	input.spec.selector.matchLabels.release
}

deny contains msg if {
	kubernetes.is_deployment
	not required_deployment_selectors
	msg := sprintf("Deployment %s must provide app/release labels for pod selectors", [name])
}
