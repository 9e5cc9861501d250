package thoth.kubernetes.labels_test

import rego.v1

import data.thoth.kubernetes.labels

ids(results) := {r.id | some r in results}

service(meta_labels) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "api", "labels": meta_labels},
	"spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]},
}

test_k8s_007_missing_labels if {
	results := labels.deny_missing_labels with data.thoth.required_k8s_labels as ["app", "owner"] with input as service({"app": "api"})
	some r in results
	r.id == "THOTH-K8S-007"
	r.severity == "medium"
	r.resource == "Service/api"
	contains(r.msg, "owner")
	not contains(r.msg, "app,")
}

test_k8s_007_no_labels_at_all if {
	results := labels.deny_missing_labels with data.thoth.required_k8s_labels as ["app", "owner"] with input as {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
	some r in results
	contains(r.msg, "app, owner")
}

test_k8s_007_labels_present_pass if {
	count(labels.deny_missing_labels) == 0 with data.thoth.required_k8s_labels as ["app", "owner"] with input as service({"app": "api", "owner": "shop"})
}

test_k8s_007_other_kinds_are_not_checked if {
	count(labels.deny_missing_labels) == 0 with data.thoth.required_k8s_labels as ["app", "owner"] with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}}
	count(labels.deny_missing_labels) == 0 with data.thoth.required_k8s_labels as ["app", "owner"] with input as {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["a.yaml"]}
}

test_k8s_007_labels_from_data if {
	doc := service({"app.kubernetes.io/name": "api"})
	count(labels.deny_missing_labels) == 0 with input as doc with data.thoth.required_k8s_labels as ["app.kubernetes.io/name"]
	"THOTH-K8S-007" in ids(labels.deny_missing_labels) with data.thoth.required_k8s_labels as ["app", "owner"] with input as doc
}

test_docs_cover_every_id if {
	labels.docs["THOTH-K8S-007"].remediation
}

test_default_required_labels if {
	labels.required_labels == ["app", "owner"] with data.thoth.required_k8s_labels as null
}
