package thoth.kubernetes.resources_test

import rego.v1

import data.thoth.kubernetes.resources

ids(results) := {r.id | some r in results}

job(containers, init) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "migrate"},
	"spec": {"template": {"spec": {"containers": containers, "initContainers": init, "restartPolicy": "Never"}}},
}

limited := {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

test_k8s_003_no_resources if {
	results := resources.deny_missing_limits with data.thoth.k8s_required_limits as ["cpu", "memory"] with input as job([{"name": "migrate", "image": "ghcr.io/acme/migrate:1.0"}], [])
	some r in results
	r.id == "THOTH-K8S-003"
	r.severity == "medium"
	r.resource == "Job/migrate"
	contains(r.msg, "cpu, memory")
}

test_k8s_003_requests_only_and_init_container if {
	results := resources.deny_missing_limits with data.thoth.k8s_required_limits as ["cpu", "memory"] with input as job(
		[{"name": "migrate", "image": "ghcr.io/acme/migrate:1.0", "resources": limited}],
		[{"name": "wait", "image": "ghcr.io/acme/wait:1.0", "resources": {"requests": {"cpu": "10m"}, "limits": {"memory": "32Mi"}}}],
	)
	count(results) == 1
	some r in results
	contains(r.msg, "init container \"wait\"")
	contains(r.msg, "for cpu")
}

test_k8s_003_limits_pass if {
	count(resources.deny_missing_limits) == 0 with data.thoth.k8s_required_limits as ["cpu", "memory"] with input as job([{"name": "migrate", "image": "ghcr.io/acme/migrate:1.0", "resources": limited}], [])
}

test_k8s_003_required_limits_from_data if {
	doc := job([{"name": "migrate", "image": "x", "resources": {"limits": {"memory": "64Mi"}}}], [])
	count(resources.deny_missing_limits) == 0 with input as doc with data.thoth.k8s_required_limits as ["memory"]
	"THOTH-K8S-003" in ids(resources.deny_missing_limits) with data.thoth.k8s_required_limits as ["cpu", "memory"] with input as doc
}

test_odd_documents_do_not_error if {
	count(resources.deny_missing_limits) == 0 with input as job([{"name": "x", "resources": "none"}], "nope") with data.thoth.k8s_required_limits as []
	count(resources.deny_missing_limits) == 0 with data.thoth.k8s_required_limits as ["cpu", "memory"] with input as {"kind": "Deployment"}
}

test_docs_cover_every_id if {
	resources.docs["THOTH-K8S-003"].remediation
}

test_default_required_limits if {
	resources.required_limits == ["cpu", "memory"] with data.thoth.k8s_required_limits as null
}
