package thoth.terraform.regions_test

import rego.v1

import data.thoth.terraform.regions

ids(results) := {r.id | some r in results}

test_region_001_provider_region_not_allowed if {
	results := regions.deny_region_not_allowed with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"provider": {"aws": {"region": "ap-southeast-1"}}}
	some r in results
	r.id == "THOTH-AWS-REGION-001"
	r.severity == "high"
	r.resource == "provider.aws"
	contains(r.msg, "ap-southeast-1")
}

test_region_001_aliased_providers_conftest_shape if {
	results := regions.deny_region_not_allowed with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"provider": {"aws": [
		{"region": "eu-west-1"},
		{"alias": "dr", "region": "sa-east-1"},
	]}}
	count(results) == 1
	some r in results
	contains(r.msg, "alias \"dr\"")
}

test_region_001_resource_region_argument if {
	results := regions.deny_region_not_allowed with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"resource": {"aws_s3_bucket": {"replica": {"bucket": "x", "region": "ap-south-1"}}}}
	some r in results
	r.resource == "aws_s3_bucket.replica"
}

test_region_001_plan_provider_config if {
	results := regions.deny_region_not_allowed with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {
		"format_version": "1.2",
		"resource_changes": [],
		"configuration": {"provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws", "expressions": {"region": {"constant_value": "me-south-1"}}}}},
	}
	"THOTH-AWS-REGION-001" in ids(results)
}

test_region_001_allowed_region_passes if {
	count(regions.deny_region_not_allowed) == 0 with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"provider": {"aws": {"region": "eu-central-1"}}}
}

test_region_001_expression_is_not_checked if {
	count(regions.deny_region_not_allowed) == 0 with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"provider": {"aws": {"region": "${var.region}"}}}
}

test_region_001_allowed_list_from_data if {
	doc := {"provider": {"aws": {"region": "eu-north-1"}}}
	count(regions.deny_region_not_allowed) == 0 with input as doc with data.thoth.allowed_regions as ["eu-north-1"]
	"THOTH-AWS-REGION-001" in ids(regions.deny_region_not_allowed) with input as doc with data.thoth.allowed_regions as ["eu-west-1"]
}

test_region_001_other_providers_are_ignored if {
	count(regions.deny_region_not_allowed) == 0 with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"provider": {"google": {"region": "asia-east1"}}}
	count(regions.deny_region_not_allowed) == 0 with data.thoth.allowed_regions as ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"region": "ap-east-1"}}
}

test_default_allowed_regions if {
	regions.allowed_regions == ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"] with data.thoth.allowed_regions as null
	regions.allowed_regions == ["eu-north-1"] with data.thoth.allowed_regions as ["eu-north-1"]
}

test_docs_cover_every_id if {
	regions.docs["THOTH-AWS-REGION-001"].remediation
}
