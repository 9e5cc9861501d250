package thoth.terraform.modules_test

import rego.v1

import data.thoth.terraform.modules

ids(results) := {r.id | some r in results}

mod(config) := {"module": {"vpc": config}}

# --- THOTH-TF-MODULE-001 ---

test_module_001_registry_without_version if {
	results := modules.deny_module_unpinned with input as mod({"source": "terraform-aws-modules/vpc/aws", "name": "prod-network-vpc"})
	some r in results
	r.id == "THOTH-TF-MODULE-001"
	r.severity == "high"
	r.resource == "module.vpc"
	contains(r.msg, "has no version")
}

test_module_001_constraints_are_not_pins if {
	every v in ["~> 5.0", ">= 5.1.0", ">= 5.0, < 6.0", "5.1.*", "5"] {
		"THOTH-TF-MODULE-001" in ids(modules.deny_module_unpinned) with input as mod({"source": "terraform-aws-modules/vpc/aws", "version": v})
	}
}

test_module_001_private_registry_host if {
	results := modules.deny_module_unpinned with input as mod({"source": "app.terraform.io/acme/network/aws", "version": "~> 2.0"})
	"THOTH-TF-MODULE-001" in ids(results)
}

test_module_001_exact_versions_pass if {
	every v in ["5.1.2", "=5.1.2", "v5.1.2", "1.0.0-beta.1"] {
		count(modules.deny_module_unpinned) == 0 with input as mod({"source": "terraform-aws-modules/vpc/aws//modules/vpc-endpoints", "version": v})
	}
}

test_module_001_local_module_passes if {
	count(modules.deny_module_unpinned) == 0 with input as mod({"source": "./modules/bucket"})
	count(modules.deny_module_unpinned) == 0 with input as mod({"source": "../shared/network"})
}

# --- THOTH-TF-MODULE-002 ---

test_module_002_git_without_ref if {
	results := modules.deny_module_unpinned with input as mod({"source": "git::https://github.com/acme/terraform-modules.git//vpc"})
	some r in results
	r.id == "THOTH-TF-MODULE-002"
	contains(r.msg, "no ?ref=")
}

test_module_002_git_branch_refs if {
	every source in [
		"git::https://github.com/acme/terraform-modules.git//vpc?ref=main",
		"github.com/acme/terraform-aws-vpc?ref=master",
		"git@github.com:acme/terraform-modules.git//vpc?ref=develop",
		"git::ssh://git@bitbucket.org/acme/modules.git?depth=1&ref=feature/new-vpc",
	] {
		"THOTH-TF-MODULE-002" in ids(modules.deny_module_unpinned) with input as mod({"source": source})
	}
}

test_module_002_github_shorthand_without_ref if {
	"THOTH-TF-MODULE-002" in ids(modules.deny_module_unpinned) with input as mod({"source": "github.com/hashicorp/example"})
}

test_module_002_tags_and_shas_pass if {
	every source in [
		"git::https://github.com/acme/terraform-modules.git//vpc?ref=v1.4.0",
		"git::https://github.com/acme/terraform-modules.git?ref=2.0.0-rc1",
		"git::https://github.com/acme/terraform-modules.git//vpc?ref=0b1d8a3c5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b",
		"github.com/acme/terraform-aws-vpc?ref=v3.2.1&depth=1",
	] {
		count(modules.deny_module_unpinned) == 0 with input as mod({"source": source})
	}
}

test_other_sources_and_documents_are_ignored if {
	count(modules.deny_module_unpinned) == 0 with input as mod({"source": "https://example.com/vpc-module.zip"})
	count(modules.deny_module_unpinned) == 0 with input as mod({"source": "s3::https://s3-eu-west-1.amazonaws.com/acme-modules/vpc.zip"})
	count(modules.deny_module_unpinned) == 0 with input as {"module": "${x}"}
	count(modules.deny_module_unpinned) == 0 with input as [{"Cmd": "from", "Value": ["a/b/c"]}]
}

test_docs_cover_every_id if {
	every id in {"THOTH-TF-MODULE-001", "THOTH-TF-MODULE-002"} {
		modules.docs[id].remediation
	}
}
