package naming

import data.lib.k8s as kube
import rego.v1

warn contains msg if {
	kube.is_workload
	not regex.match(`^[a-z][a-z0-9-]*$`, kube.name)
	msg := sprintf("workload name %q is not DNS-1123", [kube.name])
}
