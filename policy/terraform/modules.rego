# Module sources must be pinned, so a `terraform init` next month builds the same thing.
#
#   THOTH-TF-MODULE-001  a registry module (`namespace/name/provider`, optionally with a private
#                        registry host) without `version`, or with a constraint instead of one
#                        exact version (`~> 5.0`, `>= 1.2`, `1.2.*`, ranges).
#   THOTH-TF-MODULE-002  a git source (`git::...`, `github.com/...`, `bitbucket.org/...`,
#                        `git@...`) without `?ref=`, or whose ref is not a tag or a full commit
#                        sha. A tag is recognised by its shape (`v1.2.3`, `1.4`, `v2.0.0-rc1`);
#                        any other ref (main, master, develop, feature/x) is treated as a branch.
# Local paths (`./modules/x`) are fine; other source kinds (http archives, s3::, gcs::) are not
# checked.
package thoth.terraform.modules

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-TF-MODULE-001": {
		"title": "Registry module not pinned to an exact version",
		"description": "A module from a Terraform registry has no `version`, or a version constraint (`~>`, `>=`, ranges) that lets `terraform init` pick up new releases without review.",
		"remediation": "Set `version = \"X.Y.Z\"` to one exact release and bump it through pull requests (Renovate / Dependabot can do this).",
	},
	"THOTH-TF-MODULE-002": {
		"title": "Git module source not pinned to a tag or commit",
		"description": "A module fetched from git has no `?ref=`, or references a branch: its code changes under you whenever the branch moves.",
		"remediation": "Append `?ref=vX.Y.Z` (a release tag) or `?ref=<40-character commit sha>` to the source, e.g. `git::https://github.com/org/modules.git//vpc?ref=v1.4.0`.",
	},
}

local_source(s) if startswith(s, "./")

local_source(s) if startswith(s, "../")

git_source(s) if startswith(s, "git::")

git_source(s) if startswith(s, "git@")

git_source(s) if regex.match(`^(https://)?(github\.com|bitbucket\.org)/`, s)

git_source(s) if regex.match(`^https://[^?]+\.git(//[^?]*)?(\?.*)?$`, s)

registry_source(s) if {
	not git_source(s)
	regex.match(`^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/)?[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+(//.*)?$`, s)
}

exact_version(v) if {
	is_string(v)
	regex.match(`^=?\s*v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`, trim_space(v))
}

git_ref(s) := ref if {
	matches := regex.find_all_string_submatch_n(`[?&]ref=([^&]+)`, s, 1)
	ref := matches[0][1]
}

pinned_ref(ref) if regex.match(`^[0-9a-f]{40}$`, ref)

pinned_ref(ref) if regex.match(`^v?[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.+-]*)?$`, ref)

deny_module_unpinned contains result if {
	some m in tf.modules
	source := m.config.source
	is_string(source)
	registry_source(source)
	version := object.get(m.config, "version", null)
	not exact_version(version)
	why := version_problem(version)
	result := {
		"msg": sprintf("%s (%s) %s: pin one exact version", [m.address, source, why]),
		"id": "THOTH-TF-MODULE-001",
		"severity": "high",
		"resource": m.address,
	}
}

version_problem(null) := "has no version"

version_problem(v) := sprintf("uses the version constraint %q", [v]) if v != null

deny_module_unpinned contains result if {
	some m in tf.modules
	source := m.config.source
	is_string(source)
	git_source(source)
	why := ref_problem(source)
	result := {
		"msg": sprintf("%s (%s) %s: pin a release tag or a full commit sha", [m.address, source, why]),
		"id": "THOTH-TF-MODULE-002",
		"severity": "high",
		"resource": m.address,
	}
}

ref_problem(source) := "has no ?ref=" if {
	not git_ref(source)
} else := sprintf("references %q, which looks like a branch", [ref]) if {
	ref := git_ref(source)
	not pinned_ref(ref)
}
