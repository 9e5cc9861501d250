# Pod and container security context: privileged containers, root users, host namespaces.
#
# runAsNonRoot / runAsUser are resolved the way the kubelet does: the container's
# securityContext wins over the pod's. A container passes THOTH-K8S-004 when the effective
# runAsNonRoot is true, or the effective runAsUser is a non-zero UID (and runAsNonRoot is not
# explicitly false).
package thoth.kubernetes.security_context

import rego.v1

import data.thoth.lib.kubernetes as k8s
import data.thoth.lib.util

docs := {
	"THOTH-K8S-002": {
		"title": "Privileged container",
		"description": "`securityContext.privileged: true` gives the container every capability and access to the host's devices: a compromise of the container is a compromise of the node.",
		"remediation": "Remove `privileged: true`. Add only the specific capabilities needed (`capabilities.add`), or move node-level work to a reviewed DaemonSet in a dedicated namespace with a documented exception.",
	},
	"THOTH-K8S-004": {
		"title": "Container may run as root",
		"description": "Neither the container nor the pod sets `runAsNonRoot: true` (or a non-zero `runAsUser`), so the container runs as root whenever its image says so.",
		"remediation": "Set `securityContext.runAsNonRoot: true` (pod or container level) and a non-zero `runAsUser`, and build images with a non-root `USER`.",
	},
	"THOTH-K8S-005": {
		"title": "Pod shares host namespaces",
		"description": "`hostNetwork`, `hostPID` or `hostIPC` is true: the pod sees the node's network interfaces (and can bind node ports, bypass NetworkPolicies), processes or IPC.",
		"remediation": "Remove `hostNetwork` / `hostPID` / `hostIPC`. Expose ports with a Service; node agents that really need it belong in a reviewed DaemonSet with an exception.",
	},
}

# --- THOTH-K8S-002 ---------------------------------------------------------------------------

deny_privileged_container contains result if {
	some c in k8s.containers
	c.container.securityContext.privileged == true
	result := {
		"msg": sprintf("%s of %s runs privileged", [k8s.describe(c), k8s.resource]),
		"id": "THOTH-K8S-002",
		"severity": "critical",
		"resource": k8s.resource,
	}
}

# --- THOTH-K8S-004 ---------------------------------------------------------------------------

pod_security := util.obj(util.get(k8s.pod_spec, "securityContext", {}))

# The effective value of a securityContext field for a container, null when unset.
effective(c, key) := value if {
	value := util.obj(util.get(c.container, "securityContext", {}))[key]
	value != null
} else := value if {
	value := pod_security[key]
	value != null
} else := null

non_root(c) if {
	effective(c, "runAsNonRoot") == true
	not effective(c, "runAsUser") == 0
}

non_root(c) if {
	uid := effective(c, "runAsUser")
	is_number(uid)
	uid > 0
	not effective(c, "runAsNonRoot") == false
}

deny_run_as_root contains result if {
	some c in k8s.containers
	not non_root(c)
	result := {
		"msg": sprintf("%s of %s does not set runAsNonRoot: true (container or pod securityContext)", [k8s.describe(c), k8s.resource]),
		"id": "THOTH-K8S-004",
		"severity": "high",
		"resource": k8s.resource,
	}
}

# --- THOTH-K8S-005 ---------------------------------------------------------------------------

deny_host_namespace contains result if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	k8s.pod_spec[field] == true
	result := {
		"msg": sprintf("%s sets %s: true", [k8s.resource, field]),
		"id": "THOTH-K8S-005",
		"severity": "high",
		"resource": k8s.resource,
	}
}
