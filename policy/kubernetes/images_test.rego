package thoth.kubernetes.images_test

import rego.v1

import data.thoth.kubernetes.images

ids(results) := {r.id | some r in results}

deployment(containers, init) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "labels": {"app": "api", "owner": "shop"}},
	"spec": {
		"replicas": 2,
		"selector": {"matchLabels": {"app": "api"}},
		"template": {
			"metadata": {"labels": {"app": "api"}},
			"spec": {"containers": containers, "initContainers": init},
		},
	},
}

c(image) := {"name": "app", "image": image}

# The library's default list, pinned so an org's data.json does not change these tests.
registries := ["registry.k8s.io", "public.ecr.aws", "*.dkr.ecr.*.amazonaws.com", "ghcr.io", "quay.io", "gcr.io", "mcr.microsoft.com"]

# --- THOTH-K8S-001 ---

test_k8s_001_latest_tag if {
	results := images.deny_image_unpinned with data.thoth.approved_registries as registries with input as deployment([c("ghcr.io/acme/api:latest")], [])
	some r in results
	r.id == "THOTH-K8S-001"
	r.severity == "high"
	r.resource == "Deployment/api"
}

test_k8s_001_missing_tag_in_init_container if {
	results := images.deny_image_unpinned with data.thoth.approved_registries as registries with input as deployment([c("ghcr.io/acme/api:1.4.2")], [{"name": "migrate", "image": "ghcr.io/acme/migrate"}])
	some r in results
	contains(r.msg, "init container \"migrate\"")
	contains(r.msg, "no tag")
}

test_k8s_001_registry_port_is_not_a_tag if {
	results := images.deny_image_unpinned with data.thoth.approved_registries as registries with input as deployment([c("registry.acme.internal:5000/team/api")], [])
	"THOTH-K8S-001" in ids(results)
}

test_k8s_001_cronjob_and_pod if {
	cronjob := {
		"apiVersion": "batch/v1",
		"kind": "CronJob",
		"metadata": {"name": "report"},
		"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [c("ghcr.io/acme/report")], "restartPolicy": "OnFailure"}}}}},
	}
	{r.resource | some r in images.deny_image_unpinned} == {"CronJob/report"} with data.thoth.approved_registries as registries with input as cronjob
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"}, "spec": {"containers": [c("busybox:latest")]}}
	{r.resource | some r in images.deny_image_unpinned} == {"Pod/debug"} with data.thoth.approved_registries as registries with input as pod
}

test_k8s_001_pinned_images_pass if {
	count(images.deny_image_unpinned) == 0 with data.thoth.approved_registries as registries with input as deployment(
		[c("ghcr.io/acme/api:1.4.2"), c("registry.acme.internal:5000/team/api:2.0.1")],
		[c("ghcr.io/acme/migrate@sha256:3f1c4a9d2b7e8f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b")],
	)
}

test_k8s_001_digest_with_latest_tag_is_pinned if {
	count(images.deny_image_unpinned) == 0 with data.thoth.approved_registries as registries with input as deployment([c("ghcr.io/acme/api:latest@sha256:3f1c4a9d2b7e8f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b")], [])
}

# --- THOTH-K8S-006 ---

test_k8s_006_docker_hub_is_not_approved_by_default if {
	results := images.deny_image_registry with data.thoth.approved_registries as registries with input as deployment([c("nginx:1.27")], [])
	some r in results
	r.id == "THOTH-K8S-006"
	r.severity == "high"
	contains(r.msg, "docker.io")
}

test_k8s_006_unknown_registry_in_init_container if {
	results := images.deny_image_registry with data.thoth.approved_registries as registries with input as deployment([c("ghcr.io/acme/api:1.4.2")], [{"name": "setup", "image": "registry.evil.example/tools/setup:1.0"}])
	some r in results
	contains(r.msg, "registry.evil.example")
}

test_k8s_006_approved_registries_pass if {
	count(images.deny_image_registry) == 0 with data.thoth.approved_registries as registries with input as deployment(
		[
			c("ghcr.io/acme/api:1.4.2"),
			c("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4.2"),
			c("registry.k8s.io/pause:3.9"),
		],
		[c("public.ecr.aws/docker/library/busybox:1.36")],
	)
}

test_k8s_006_wildcard_matches_one_label_only if {
	results := images.deny_image_registry with data.thoth.approved_registries as registries with input as deployment([c("evil.example/x.dkr.ecr.y.amazonaws.com/api:1")], [])
	"THOTH-K8S-006" in ids(results)
}

test_k8s_006_registries_from_data if {
	doc := deployment([c("nginx:1.27"), c("acme/api:1.0")], [])
	count(images.deny_image_registry) == 0 with input as doc with data.thoth.approved_registries as ["docker.io"]
	results := images.deny_image_registry with input as doc with data.thoth.approved_registries as ["docker.io/library"]
	{r.msg | some r in results; contains(r.msg, "acme/api")} != set()
	count(results) == 1
}

test_non_workloads_are_ignored if {
	count(images.deny_image_unpinned) == 0 with data.thoth.approved_registries as registries with input as {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}, "spec": {"ports": [{"port": 80}]}}
	count(images.deny_image_registry) == 0 with data.thoth.approved_registries as registries with input as {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": "oops"}}}}
	count(images.deny_image_registry) == 0 with data.thoth.approved_registries as registries with input as [{"Cmd": "from", "Value": ["nginx"]}]
}

test_docs_cover_every_id if {
	every id in {"THOTH-K8S-001", "THOTH-K8S-006"} {
		images.docs[id].remediation
	}
}

test_default_approved_registries if {
	images.approved_registries == registries with data.thoth.approved_registries as null
}
