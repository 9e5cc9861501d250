package thoth.terraform.tags_test

import rego.v1

import data.thoth.terraform.tags

ids(results) := {r.id | some r in results}

full_tags := {"Environment": "prod", "Owner": "platform", "CostCenter": "cc-1234", "Name": "prod-shop-data"}

test_tags_001_missing_tags if {
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_s3_bucket": {"data": {
		"bucket": "prod-shop-data",
		"tags": {"Name": "prod-shop-data", "Environment": "prod"},
	}}}}
	some r in results
	r.id == "THOTH-TF-TAGS-001"
	r.severity == "medium"
	r.resource == "aws_s3_bucket.data"
	contains(r.msg, "Owner, CostCenter")
	not contains(r.msg, "Environment")
}

test_tags_001_taggable_type_without_tags if {
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_instance": {"web": {"ami": "ami-0abcdef1234567890", "instance_type": "t3.micro"}}}}
	"THOTH-TF-TAGS-001" in ids(results)
}

test_tags_001_any_resource_with_tags_is_checked if {
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"azurerm_resource_group": {"main": {"name": "rg-prod", "location": "westeurope", "tags": {"Owner": "x"}}}}}
	"THOTH-TF-TAGS-001" in ids(results)
}

test_tags_001_complete_tags_pass if {
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-shop-data", "tags": full_tags}}}}
}

test_tags_001_untaggable_resource_is_ignored if {
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_iam_role_policy_attachment": {"x": {"role": "${aws_iam_role.app.name}", "policy_arn": "${aws_iam_policy.app.arn}"}}}}
}

test_tags_001_local_map_merge_resolves if {
	doc := {
		"locals": [{"common_tags": {"Environment": "prod", "Owner": "platform"}}],
		"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-shop-data", "tags": "${merge(local.common_tags, { Name = \"prod-shop-data\" })}"}}},
	}
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as doc
	some r in results
	contains(r.msg, "CostCenter")
	not contains(r.msg, "Owner")
}

test_tags_001_local_map_merge_complete_passes if {
	doc := {
		"locals": [{"common_tags": {"Environment": "prod", "Owner": "platform"}}],
		"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-shop-data", "tags": "${merge(local.common_tags, { CostCenter = \"cc-1\" })}"}}},
	}
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as doc
}

test_tags_001_unknown_expression_is_not_reported if {
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_s3_bucket": {"data": {"bucket": "x", "tags": "${merge(var.tags, { Name = \"x\" })}"}}}}
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as {"resource": {"aws_s3_bucket": {"data": {"bucket": "x", "tags": "${local.tags_from_another_file}"}}}}
}

test_tags_001_provider_default_tags_in_same_file if {
	doc := {
		"provider": {"aws": {"region": "eu-west-1", "default_tags": [{"tags": {"Environment": "prod", "Owner": "platform", "CostCenter": "cc-1"}}]}},
		"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-shop-data"}}},
	}
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as doc
}

test_tags_001_autoscaling_tag_blocks if {
	doc := {"resource": {"aws_autoscaling_group": {"web": {"max_size": 3, "min_size": 1, "tag": [
		{"key": "Environment", "value": "prod", "propagate_at_launch": true},
		{"key": "Owner", "value": "platform", "propagate_at_launch": true},
	]}}}}
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as doc
	some r in results
	contains(r.msg, "CostCenter")
}

test_tags_001_required_tags_from_data if {
	doc := {"resource": {"aws_s3_bucket": {"data": {"bucket": "x", "tags": {"team": "a"}}}}}
	count(tags.deny_missing_tags) == 0 with input as doc with data.thoth.required_tags as ["team"]
	"THOTH-TF-TAGS-001" in ids(tags.deny_missing_tags) with input as doc with data.thoth.required_tags as ["team", "service"]
}

test_tags_001_plan_uses_tags_all if {
	plan := {"format_version": "1.2", "resource_changes": [{
		"address": "aws_s3_bucket.data",
		"mode": "managed",
		"type": "aws_s3_bucket",
		"name": "data",
		"change": {"actions": ["create"], "after": {"bucket": "x", "tags": null, "tags_all": {"Environment": "prod", "Owner": "o", "CostCenter": "c"}}},
	}]}
	count(tags.deny_missing_tags) == 0 with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as plan
}

test_tags_default_required_tags if {
	tags.required_tags == ["Environment", "Owner", "CostCenter"] with data.thoth.required_tags as null
	"aws_s3_bucket" in tags.taggable_types with data.thoth.taggable_resource_types as null
	tags.taggable_types == ["aws_s3_bucket"] with data.thoth.taggable_resource_types as ["aws_s3_bucket"]
}

test_docs_cover_every_id if {
	tags.docs["THOTH-TF-TAGS-001"].remediation
}

test_tags_001_references_used_as_values_do_not_hide_keys if {
	doc := {
		"locals": [{"name_prefix": "${var.environment}-shop", "common_tags": {"Environment": "${var.environment}", "Owner": "shop-team"}}],
		"resource": {"aws_kms_key": {"data": {"tags": "${merge(local.common_tags, { Name = \"${local.name_prefix}-data\", Team = var.team })}"}}},
	}
	results := tags.deny_missing_tags with data.thoth.required_tags as ["Environment", "Owner", "CostCenter"] with input as doc
	some r in results
	contains(r.msg, "missing required tags: CostCenter")
}
