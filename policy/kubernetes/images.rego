# Container images: pinned tags and approved registries (containers, init containers and
# ephemeral containers of every workload kind).
#
# Approved registries come from data.thoth.approved_registries. An entry is either
#   - a registry host, where `*` matches one DNS label: "ghcr.io", "*.dkr.ecr.*.amazonaws.com";
#   - or a repository prefix containing "/": "ghcr.io/acme", "docker.io/library".
# Docker Hub short names are normalised first ("nginx" is "docker.io/library/nginx",
# "bitnami/redis" is "docker.io/bitnami/redis").
package thoth.kubernetes.images

import rego.v1

import data.thoth.lib.images as img
import data.thoth.lib.kubernetes as k8s
import data.thoth.lib.util

docs := {
	"THOTH-K8S-001": {
		"title": "Container image not pinned (latest or no tag)",
		"description": "The image uses the `latest` tag or no tag at all (which means `latest`). What runs changes whenever the tag is pushed, rollbacks do not roll back, and nodes may run different versions of the same pod.",
		"remediation": "Use an immutable version tag (`ghcr.io/acme/api:1.4.2`), ideally with its digest (`@sha256:...`), and let Renovate / Dependabot propose updates.",
	},
	"THOTH-K8S-006": {
		"title": "Container image from a registry that is not approved",
		"description": "The image is pulled from a registry outside `approved_registries` in the policy data. Images from unvetted registries bypass the organisation's scanning, signing and availability guarantees.",
		"remediation": "Mirror the image into an approved registry (e.g. your ECR / GHCR organisation) and reference it there, or get the registry added to `approved_registries`.",
	},
}

approved_registries := registries if {
	registries := util.string_list(data.thoth.approved_registries, null)
	is_array(registries)
} else := [
	"registry.k8s.io",
	"public.ecr.aws",
	"*.dkr.ecr.*.amazonaws.com",
	"ghcr.io",
	"quay.io",
	"gcr.io",
	"mcr.microsoft.com",
]

images contains [c, image] if {
	some c in k8s.containers
	image := c.container.image
	is_string(image)
	image != ""
}

# --- THOTH-K8S-001 ---------------------------------------------------------------------------

tag_problem(image) := "has no tag (defaults to latest)" if {
	not img.has_digest(image)
	img.tag(image) == ""
} else := "uses the latest tag" if {
	not img.has_digest(image)
	img.tag(image) == "latest"
}

deny_image_unpinned contains result if {
	some [c, image] in images
	problem := tag_problem(image)
	result := {
		"msg": sprintf("%s of %s: image %q %s", [k8s.describe(c), k8s.resource, image, problem]),
		"id": "THOTH-K8S-001",
		"severity": "high",
		"resource": k8s.resource,
	}
}

# --- THOTH-K8S-006 ---------------------------------------------------------------------------

host_regex(entry) := sprintf("^%s$", [replace(replace(entry, ".", `\.`), "*", `[^./:]+`)])

approved(image) if {
	some entry in approved_registries
	not contains(entry, "/")
	regex.match(host_regex(entry), img.registry(img.normalized(image)))
}

approved(image) if {
	some entry in approved_registries
	contains(entry, "/")
	prefix := trim_suffix(entry, "/")
	startswith(img.normalized(image), concat("", [prefix, "/"]))
}

deny_image_registry contains result if {
	some [c, image] in images
	not approved(image)
	result := {
		"msg": sprintf("%s of %s: image %q comes from %s, which is not an approved registry (%s)", [
			k8s.describe(c), k8s.resource, image,
			img.registry(img.normalized(image)), concat(", ", approved_registries),
		]),
		"id": "THOTH-K8S-006",
		"severity": "high",
		"resource": k8s.resource,
	}
}
