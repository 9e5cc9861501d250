# Kubernetes input helpers: the pod spec of any workload kind and every container in it.
package thoth.lib.kubernetes

import rego.v1

import data.thoth.lib.util

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

# True for a Kubernetes object (kind + apiVersion + metadata).
is_object_doc if {
	is_object(input)
	is_string(input.kind)
	is_string(input.apiVersion)
	is_object(input.metadata)
}

# "<Kind>/<metadata.name>", the resource thoth-bot uses to point at the document.
resource := sprintf("%s/%s", [input.kind, name]) if {
	is_object_doc
	name := util.str(input.metadata, "name")
}

# The pod spec of the document, undefined for kinds without one.
pod_spec := input.spec.template.spec if {
	is_object_doc
	input.kind in workload_kinds
	is_object(input.spec.template.spec)
}

pod_spec := input.spec.jobTemplate.spec.template.spec if {
	is_object_doc
	input.kind == "CronJob"
	is_object(input.spec.jobTemplate.spec.template.spec)
}

pod_spec := input.spec if {
	is_object_doc
	input.kind == "Pod"
	is_object(input.spec)
}

# Every container of the pod spec: {"container", "kind" (containers|initContainers|ephemeralContainers), "name"}.
containers contains c if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in util.arr(util.get(pod_spec, field, []))
	is_object(container)
	c := {"container": container, "kind": field, "name": util.str(container, "name")}
}

# Human-readable container label for messages: `container "web"` / `init container "migrate"`.
describe(c) := sprintf("container %q", [c.name]) if {
	c.kind == "containers"
} else := sprintf("init container %q", [c.name]) if {
	c.kind == "initContainers"
} else := sprintf("ephemeral container %q", [c.name])
