package thoth.kubernetes.security_context_test

import rego.v1

import data.thoth.kubernetes.security_context as sc

ids(results) := {r.id | some r in results}

workload(kind, pod_spec) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": {"name": "agent", "labels": {"app": "agent", "owner": "platform"}},
	"spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pod_spec}},
}

hardened := {"runAsNonRoot": true, "runAsUser": 10001, "allowPrivilegeEscalation": false}

# --- THOTH-K8S-002 ---

test_k8s_002_privileged_container if {
	results := sc.deny_privileged_container with input as workload("DaemonSet", {"containers": [
		{"name": "agent", "image": "ghcr.io/acme/agent:1.0", "securityContext": {"privileged": true}},
	]})
	some r in results
	r.id == "THOTH-K8S-002"
	r.severity == "critical"
	r.resource == "DaemonSet/agent"
}

test_k8s_002_privileged_init_container if {
	results := sc.deny_privileged_container with input as workload("StatefulSet", {
		"containers": [{"name": "db", "image": "ghcr.io/acme/db:1.0"}],
		"initContainers": [{"name": "sysctl", "image": "ghcr.io/acme/busybox:1.36", "securityContext": {"privileged": true}}],
	})
	some r in results
	contains(r.msg, "init container \"sysctl\"")
}

test_k8s_002_unprivileged_passes if {
	count(sc.deny_privileged_container) == 0 with input as workload("Deployment", {"containers": [
		{"name": "agent", "image": "ghcr.io/acme/agent:1.0", "securityContext": {"privileged": false}},
		{"name": "sidecar", "image": "ghcr.io/acme/sidecar:1.0"},
	]})
}

# --- THOTH-K8S-004 ---

test_k8s_004_no_security_context if {
	results := sc.deny_run_as_root with input as workload("Deployment", {"containers": [{"name": "api", "image": "ghcr.io/acme/api:1.0"}]})
	some r in results
	r.id == "THOTH-K8S-004"
	r.severity == "high"
}

test_k8s_004_pod_level_non_root_passes if {
	count(sc.deny_run_as_root) == 0 with input as workload("Deployment", {
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "api", "image": "ghcr.io/acme/api:1.0"}],
		"initContainers": [{"name": "migrate", "image": "ghcr.io/acme/migrate:1.0"}],
	})
}

test_k8s_004_container_overrides_pod if {
	results := sc.deny_run_as_root with input as workload("Deployment", {
		"securityContext": {"runAsNonRoot": true},
		"containers": [
			{"name": "api", "image": "ghcr.io/acme/api:1.0"},
			{"name": "debug", "image": "ghcr.io/acme/debug:1.0", "securityContext": {"runAsNonRoot": false}},
		],
	})
	count(results) == 1
	some r in results
	contains(r.msg, "\"debug\"")
}

test_k8s_004_uid_zero_is_root if {
	results := sc.deny_run_as_root with input as workload("Deployment", {"containers": [
		{"name": "api", "image": "ghcr.io/acme/api:1.0", "securityContext": {"runAsNonRoot": true, "runAsUser": 0}},
	]})
	"THOTH-K8S-004" in ids(results)
}

test_k8s_004_non_zero_uid_passes if {
	count(sc.deny_run_as_root) == 0 with input as workload("Deployment", {"containers": [
		{"name": "api", "image": "ghcr.io/acme/api:1.0", "securityContext": hardened},
		{"name": "uid-only", "image": "ghcr.io/acme/worker:1.0", "securityContext": {"runAsUser": 1000}},
	]})
}

test_k8s_004_init_containers_are_checked if {
	results := sc.deny_run_as_root with input as workload("Deployment", {
		"containers": [{"name": "api", "image": "ghcr.io/acme/api:1.0", "securityContext": hardened}],
		"initContainers": [{"name": "setup", "image": "ghcr.io/acme/setup:1.0"}],
	})
	count(results) == 1
}

# --- THOTH-K8S-005 ---

test_k8s_005_host_network if {
	results := sc.deny_host_namespace with input as workload("DaemonSet", {
		"hostNetwork": true,
		"containers": [{"name": "agent", "image": "ghcr.io/acme/agent:1.0"}],
	})
	some r in results
	r.id == "THOTH-K8S-005"
	r.severity == "high"
	contains(r.msg, "hostNetwork")
}

test_k8s_005_host_pid_on_pod if {
	results := sc.deny_host_namespace with input as {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"}, "spec": {
		"hostPID": true,
		"containers": [{"name": "sh", "image": "ghcr.io/acme/debug:1.0"}],
	}}
	{r.resource | some r in results} == {"Pod/debug"}
}

test_k8s_005_no_host_namespaces_pass if {
	count(sc.deny_host_namespace) == 0 with input as workload("Deployment", {"hostNetwork": false, "containers": [{"name": "api", "image": "ghcr.io/acme/api:1.0"}]})
}

test_odd_documents_do_not_error if {
	count(sc.deny_run_as_root) == 0 with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
	count(sc.deny_privileged_container) == 0 with input as workload("Deployment", {"containers": [{"name": "x", "securityContext": "bad"}]})
	count(sc.deny_host_namespace) == 0 with input as "text"
}

test_docs_cover_every_id if {
	every id in {"THOTH-K8S-002", "THOTH-K8S-004", "THOTH-K8S-005"} {
		sc.docs[id].remediation
	}
}
