# Infrastructure pipelines must run the required jobs (default: validate, plan, security).
#
# Inputs: GitHub Actions workflows (`.github/workflows/*.yml`: an object with `jobs` and `on`;
# YAML 1.1 parsers turn the key `on` into `true`, which arrives as the key "true") and GitLab CI
# (`.gitlab-ci.yml`: top-level job objects with `script` / `stage` / `trigger` / `extends`).
#
# Scope: only pipelines that run infrastructure tooling are checked, i.e. whose text mentions
# terraform, tofu, terragrunt, thoth or conftest (a `run`, `script`, `uses: hashicorp/setup-terraform`,
# an image...). An application's unrelated workflows (release notes, linting) are not judged.
#
# Matching: a required job is present when some job's id or `name` (GitLab: also its `stage`)
# contains the required word, case-insensitively: "validate" is satisfied by `terraform-validate`
# or `name: Validate`. Jobs that come only from a GitLab `include:` cannot be seen (one file is
# evaluated at a time): define them, or stub jobs extending the included templates, in the file.
#
# Configuration: data.thoth.required_ci_jobs (default ["validate", "plan", "security"]).
package thoth.ci.pipelines

import rego.v1

import data.thoth.lib.util

docs := {"THOTH-CI-001": {
	"title": "Infrastructure pipeline missing required jobs",
	"description": "The CI pipeline runs infrastructure tooling but has no job for each of `required_ci_jobs` (default validate, plan, security), matched by job id or name. Changes could then reach `apply` without formatting/validation, a reviewed plan, or a security scan.",
	"remediation": "Add the missing jobs (e.g. `terraform-validate` running fmt -check and validate, `plan` posting the plan, `security` running thoth-bot check / tfsec / checkov), or adjust `required_ci_jobs` in the policy data.",
}}

required_jobs := jobs if {
	jobs := util.string_list(data.thoth.required_ci_jobs, null)
	is_array(jobs)
} else := ["validate", "plan", "security"]

# --- pipeline detection -------------------------------------------------------------------------

github_workflow if {
	is_object(input)
	is_object(input.jobs)
	some key in ["on", "true", "name"]
	key in object.keys(input)
}

gitlab_reserved := {
	"image", "services", "stages", "variables", "include", "default", "workflow", "before_script",
	"after_script", "cache", "types", "spec",
}

gitlab_jobs[id] := job if {
	not github_workflow
	is_object(input)
	not input.apiVersion
	some id, job in input
	is_object(job)
	not id in gitlab_reserved
	not startswith(id, ".")
	some key in ["script", "stage", "trigger", "extends"]
	key in object.keys(job)
}

gitlab_pipeline if {
	some id, job in gitlab_jobs
	some key in ["script", "trigger"]
	key in object.keys(job)
}

iac_tooling if {
	pipeline_kind
	regex.match(`(?i)(^|[^a-z])(terraform|tofu|terragrunt|thoth|conftest)([^a-z]|$)`, json.marshal(input))
}

# Jobs as {"id", "labels"}: the lowercase strings a required word is looked for in.
jobs contains {"id": id, "labels": labels} if {
	github_workflow
	some id, job in input.jobs
	labels := [lower(s) | some s in [id, util.get(job, "name", "")]; is_string(s)]
}

jobs contains {"id": id, "labels": labels} if {
	some id, job in gitlab_jobs
	labels := [lower(s) | some s in [id, util.get(job, "name", ""), util.get(job, "stage", "")]; is_string(s)]
}

present(word) if {
	some job in jobs
	some label in job.labels
	contains(label, lower(word))
}

pipeline_kind := "GitHub Actions workflow" if github_workflow

pipeline_kind := "GitLab CI pipeline" if gitlab_pipeline

deny_missing_ci_jobs contains result if {
	kind := pipeline_kind
	iac_tooling
	missing := [w | some w in required_jobs; not present(w)]
	count(missing) > 0
	label := pipeline_label(kind, util.get(input, "name", ""))
	result := {
		"msg": sprintf("%s has no job for: %s (jobs: %s)", [label, concat(", ", missing), concat(", ", sort([j.id | some j in jobs]))]),
		"id": "THOTH-CI-001",
		"severity": "medium",
	}
}

pipeline_label(kind, name) := sprintf("%s %q", [kind, name]) if {
	is_string(name)
	name != ""
} else := kind
