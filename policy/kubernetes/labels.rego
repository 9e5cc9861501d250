# Required labels on workloads, Services and Ingresses (metadata.labels of the object).
#
# Required keys: data.thoth.required_k8s_labels (default ["app", "owner"]).
package thoth.kubernetes.labels

import rego.v1

import data.thoth.lib.kubernetes as k8s
import data.thoth.lib.util

docs := {"THOTH-K8S-007": {
	"title": "Kubernetes object missing required labels",
	"description": "The object's `metadata.labels` lack keys listed in `required_k8s_labels` (default app, owner). Labels drive ownership, cost allocation, NetworkPolicies and alert routing.",
	"remediation": "Add the missing labels under `metadata.labels` (and the pod template's labels for workloads).",
}}

required_labels := labels if {
	labels := util.string_list(data.thoth.required_k8s_labels, null)
	is_array(labels)
} else := ["app", "owner"]

labelled_kinds := k8s.workload_kinds | {"CronJob", "Pod", "Service", "Ingress"}

deny_missing_labels contains result if {
	k8s.is_object_doc
	input.kind in labelled_kinds
	labels := util.obj(object.get(input.metadata, "labels", {}))
	missing := [l | some l in required_labels; not labels[l]]
	count(missing) > 0
	result := {
		"msg": sprintf("%s is missing required labels: %s", [k8s.resource, concat(", ", missing)]),
		"id": "THOTH-K8S-007",
		"severity": "medium",
		"resource": k8s.resource,
	}
}
