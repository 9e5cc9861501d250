# Resource limits on every container and init container.
#
# Required limits: data.thoth.k8s_required_limits (default ["cpu", "memory"]). Teams that do not
# set CPU limits on purpose (to avoid CFS throttling) set it to ["memory"].
package thoth.kubernetes.resources

import rego.v1

import data.thoth.lib.kubernetes as k8s
import data.thoth.lib.util

docs := {"THOTH-K8S-003": {
	"title": "Container without resource limits",
	"description": "The container does not set `resources.limits` for every resource in `k8s_required_limits` (default cpu and memory). One runaway pod can then starve its neighbours or get the node OOM-killed.",
	"remediation": "Set `resources.requests` and `resources.limits` (at least memory) from observed usage; a LimitRange in the namespace can provide defaults.",
}}

required_limits := limits if {
	limits := util.string_list(data.thoth.k8s_required_limits, null)
	is_array(limits)
} else := ["cpu", "memory"]

deny_missing_limits contains result if {
	some c in k8s.containers
	c.kind != "ephemeralContainers"
	limits := util.obj(util.get(util.get(c.container, "resources", {}), "limits", {}))
	missing := [r | some r in required_limits; not limits[r]]
	count(missing) > 0
	result := {
		"msg": sprintf("%s of %s has no resource limits for %s", [k8s.describe(c), k8s.resource, concat(", ", missing)]),
		"id": "THOTH-K8S-003",
		"severity": "medium",
		"resource": k8s.resource,
	}
}
