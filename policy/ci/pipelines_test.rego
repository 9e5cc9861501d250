package thoth.ci.pipelines_test

import rego.v1

import data.thoth.ci.pipelines

ids(results) := {r.id | some r in results}

checkout := {"uses": "actions/checkout@v4"}

setup_tf := {"uses": "hashicorp/setup-terraform@v3"}

workflow(jobs) := {
	"name": "terraform",
	"on": {"pull_request": {"branches": ["main"]}},
	"permissions": {"contents": "read"},
	"jobs": jobs,
}

complete_jobs := {
	"validate": {"runs-on": "ubuntu-latest", "steps": [checkout, setup_tf, {"run": "terraform fmt -check -recursive && terraform validate"}]},
	"plan": {"runs-on": "ubuntu-latest", "needs": "validate", "steps": [checkout, setup_tf, {"run": "terraform plan -out tfplan"}]},
	"scan": {"name": "Security scan", "runs-on": "ubuntu-latest", "steps": [checkout, {"run": "thoth-bot check . --format sarif"}]},
}

# --- GitHub Actions ---

test_ci_001_workflow_missing_jobs if {
	results := pipelines.deny_missing_ci_jobs with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as workflow({
		"deploy": {"runs-on": "ubuntu-latest", "steps": [checkout, setup_tf, {"run": "terraform apply -auto-approve"}]},
	})
	some r in results
	r.id == "THOTH-CI-001"
	r.severity == "medium"
	contains(r.msg, "validate, plan, security")
	contains(r.msg, "\"terraform\"")
}

test_ci_001_on_parsed_as_true if {
	doc := {"true": {"push": null}, "jobs": {"apply": {"runs-on": "ubuntu-latest", "steps": [{"run": "tofu apply"}]}}}
	"THOTH-CI-001" in ids(pipelines.deny_missing_ci_jobs) with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as doc
}

test_ci_001_partially_missing if {
	results := pipelines.deny_missing_ci_jobs with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as workflow({
		"terraform-validate": complete_jobs.validate,
		"terraform-plan": complete_jobs.plan,
	})
	some r in results
	contains(r.msg, "no job for: security")
}

test_ci_001_complete_workflow_passes if {
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as workflow(complete_jobs)
}

test_ci_001_non_iac_workflow_is_not_checked if {
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as {
		"name": "release",
		"on": {"push": {"tags": ["v*"]}},
		"jobs": {"release": {"runs-on": "ubuntu-latest", "steps": [checkout, {"uses": "softprops/action-gh-release@v2"}]}},
	}
}

test_ci_001_required_jobs_from_data if {
	doc := workflow(complete_jobs)
	results := pipelines.deny_missing_ci_jobs with input as doc with data.thoth.required_ci_jobs as ["validate", "plan", "cost"]
	some r in results
	contains(r.msg, "no job for: cost")
}

# --- GitLab CI ---

gitlab(jobs) := object.union(
	{
		"image": {"name": "hashicorp/terraform:1.9", "entrypoint": [""]},
		"stages": ["validate", "plan", "apply"],
		"variables": {"TF_ROOT": "infra"},
		".tf": {"before_script": ["terraform init"]},
	},
	jobs,
)

test_ci_001_gitlab_missing_jobs if {
	results := pipelines.deny_missing_ci_jobs with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as gitlab({
		"validate": {"stage": "validate", "extends": ".tf", "script": ["terraform validate"]},
		"apply": {"stage": "apply", "extends": ".tf", "script": ["terraform apply -auto-approve"], "when": "manual"},
	})
	some r in results
	r.id == "THOTH-CI-001"
	contains(r.msg, "GitLab CI pipeline")
	contains(r.msg, "plan, security")
}

test_ci_001_gitlab_stage_counts if {
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as gitlab({
		"fmt": {"stage": "validate", "script": ["terraform fmt -check"]},
		"tfplan": {"stage": "plan", "script": ["terraform plan"]},
		"checkov": {"stage": "security", "script": ["checkov -d ."]},
	})
}

test_other_documents_are_ignored if {
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "terraform"}, "data": {"x": {"script": "terraform"}}}
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as {"services": {"db": {"image": "postgres:16"}}}
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as [{"Cmd": "from", "Value": ["hashicorp/terraform:1.9"]}]
	count(pipelines.deny_missing_ci_jobs) == 0 with data.thoth.required_ci_jobs as ["validate", "plan", "security"] with input as {"resource": {"terraform_data": {"x": {"input": "terraform"}}}}
}

test_default_required_jobs if {
	pipelines.required_jobs == ["validate", "plan", "security"] with data.thoth.required_ci_jobs as null
}

test_docs_cover_every_id if {
	pipelines.docs["THOTH-CI-001"].remediation
}
