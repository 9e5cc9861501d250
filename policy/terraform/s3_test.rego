package thoth.terraform.s3_test

import rego.v1

import data.thoth.terraform.s3

ids(results) := {r.id | some r in results}

# A v4+ bucket with every companion resource in the same file.
clean_split := {"resource": {
	"aws_s3_bucket": {"logs": {"bucket": "prod-platform-logs", "tags": {"Environment": "prod"}}},
	"aws_s3_bucket_server_side_encryption_configuration": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.logs.arn}"}]}],
	}},
	"aws_s3_bucket_public_access_block": {"logs": {
		"bucket": "${aws_s3_bucket.logs.id}",
		"block_public_acls": true,
		"block_public_policy": true,
		"ignore_public_acls": true,
		"restrict_public_buckets": true,
	}},
	"aws_s3_bucket_acl": {"logs": {"bucket": "${aws_s3_bucket.logs.id}", "acl": "private"}},
}}

test_clean_split_form_passes if {
	count(s3.deny_s3_encryption) == 0 with input as clean_split
	count(s3.deny_s3_public_acl) == 0 with input as clean_split
	count(s3.deny_s3_public_access_block) == 0 with input as clean_split
}

# --- THOTH-AWS-S3-001 ---

test_s3_001_bucket_without_encryption if {
	results := s3.deny_s3_encryption with input as {"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}}}}
	some r in results
	r.id == "THOTH-AWS-S3-001"
	r.resource == "aws_s3_bucket.data"
	r.severity == "high"
}

test_s3_001_encryption_for_another_bucket_does_not_count if {
	results := s3.deny_s3_encryption with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}, "logs": {"bucket": "prod-app-logs"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"logs": {"bucket": "${aws_s3_bucket.logs.id}"}},
	}}
	{r.resource | some r in results} == {"aws_s3_bucket.data"}
}

test_s3_001_inline_v3_encryption_passes if {
	count(s3.deny_s3_encryption) == 0 with input as {"resource": {"aws_s3_bucket": {"data": {
		"bucket": "prod-app-data",
		"server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]}],
	}}}}
}

test_s3_001_split_encryption_by_literal_name_passes if {
	count(s3.deny_s3_encryption) == 0 with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"data": {"bucket": "prod-app-data"}},
	}}
}

test_s3_001_count_indexed_reference_passes if {
	count(s3.deny_s3_encryption) == 0 with input as {"resource": {
		"aws_s3_bucket": {"data": {"count": 2, "bucket": "${\"prod-app-data-${count.index}\"}"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"data": {"count": 2, "bucket": "${aws_s3_bucket.data[count.index].id}"}},
	}}
}

test_s3_001_similar_names_do_not_match if {
	results := s3.deny_s3_encryption with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "a"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"x": {"bucket": "${aws_s3_bucket.data_archive.id}"}},
	}}
	"THOTH-AWS-S3-001" in ids(results)
}

test_s3_001_conftest_shape if {
	results := s3.deny_s3_encryption with input as {"resource": {"aws_s3_bucket": {"data": [{"bucket": "prod-app-data"}]}}}
	"THOTH-AWS-S3-001" in ids(results)
}

# --- THOTH-AWS-S3-002 ---

test_s3_002_public_read_acl_resource if {
	results := s3.deny_s3_public_acl with input as {"resource": {"aws_s3_bucket_acl": {"site": {"bucket": "${aws_s3_bucket.site.id}", "acl": "public-read"}}}}
	some r in results
	r.id == "THOTH-AWS-S3-002"
	r.severity == "critical"
	r.pattern == "public_s3_buckets"
	r.resource == "aws_s3_bucket_acl.site"
}

test_s3_002_inline_v3_public_read_write if {
	results := s3.deny_s3_public_acl with input as {"resource": {"aws_s3_bucket": {"site": {"bucket": "x", "acl": "public-read-write"}}}}
	some r in results
	r.id == "THOTH-AWS-S3-002"
	r.resource == "aws_s3_bucket.site"
}

test_s3_002_all_users_grant if {
	results := s3.deny_s3_public_acl with input as {"resource": {"aws_s3_bucket_acl": {"site": {
		"bucket": "${aws_s3_bucket.site.id}",
		"access_control_policy": [{
			"grant": [{"grantee": [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}], "permission": "READ"}],
			"owner": [{"id": "${data.aws_canonical_user_id.current.id}"}],
		}],
	}}}}
	"THOTH-AWS-S3-002" in ids(results)
}

test_s3_002_private_acl_passes if {
	count(s3.deny_s3_public_acl) == 0 with input as {"resource": {
		"aws_s3_bucket_acl": {"site": {"bucket": "${aws_s3_bucket.site.id}", "acl": "private"}},
		"aws_s3_bucket": {"site": {"bucket": "x", "acl": "${var.acl}"}},
	}}
}

test_s3_002_plan_input if {
	results := s3.deny_s3_public_acl with input as {
		"format_version": "1.2",
		"resource_changes": [{
			"address": "module.site.aws_s3_bucket_acl.this[0]",
			"mode": "managed",
			"type": "aws_s3_bucket_acl",
			"name": "this",
			"change": {"actions": ["create"], "after": {"acl": "public-read", "bucket": "site"}},
		}],
	}
	{r.resource | some r in results} == {"module.site.aws_s3_bucket_acl.this[0]"}
}

test_s3_002_plan_delete_is_ignored if {
	count(s3.deny_s3_public_acl) == 0 with input as {
		"format_version": "1.2",
		"resource_changes": [{
			"address": "aws_s3_bucket_acl.old",
			"mode": "managed",
			"type": "aws_s3_bucket_acl",
			"name": "old",
			"change": {"actions": ["delete"], "before": {"acl": "public-read"}, "after": null},
		}],
	}
}

# --- THOTH-AWS-S3-003 ---

test_s3_003_missing_public_access_block if {
	results := s3.deny_s3_public_access_block with input as {"resource": {"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}}}}
	some r in results
	r.id == "THOTH-AWS-S3-003"
	r.pattern == "public_s3_buckets"
	r.resource == "aws_s3_bucket.data"
}

test_s3_003_account_level_block_covers_buckets if {
	results := s3.deny_s3_public_access_block with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_account_public_access_block": {"this": {
			"block_public_acls": true,
			"block_public_policy": true,
			"ignore_public_acls": true,
			"restrict_public_buckets": true,
		}},
	}}
	count(results) == 0
}

test_s3_003_not_raised_on_plans if {
	results := s3.deny_s3_public_access_block with input as {
		"format_version": "1.2",
		"resource_changes": [{"address": "aws_s3_bucket.b", "mode": "managed", "type": "aws_s3_bucket", "name": "b", "change": {"actions": ["create"], "after": {"bucket": "b"}}}],
	}
	not "THOTH-AWS-S3-003" in ids(results)
}

# --- THOTH-AWS-S3-004 ---

test_s3_004_disabled_and_missing_flags if {
	results := s3.deny_s3_public_access_block with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_public_access_block": {"data": {
			"bucket": "${aws_s3_bucket.data.id}",
			"block_public_acls": false,
			"block_public_policy": true,
			"ignore_public_acls": true,
		}},
	}}
	some r in results
	r.id == "THOTH-AWS-S3-004"
	r.resource == "aws_s3_bucket_public_access_block.data"
	contains(r.msg, "block_public_acls")
	contains(r.msg, "restrict_public_buckets")
	not contains(r.msg, "ignore_public_acls")
	not "THOTH-AWS-S3-003" in ids(results)
}

test_s3_004_variable_flags_are_not_flagged if {
	results := s3.deny_s3_public_access_block with input as {"resource": {"aws_s3_bucket_public_access_block": {"data": {
		"bucket": "${aws_s3_bucket.data.id}",
		"block_public_acls": "${var.block}",
		"block_public_policy": "${var.block}",
		"ignore_public_acls": "${var.block}",
		"restrict_public_buckets": "${var.block}",
	}}}}
	count(results) == 0
}

# --- robustness: non-Terraform documents produce nothing and no error ---

test_other_documents_are_ignored if {
	count(s3.deny_s3_encryption) == 0 with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"resource": "x"}}
	count(s3.deny_s3_public_acl) == 0 with input as [{"Cmd": "from", "Value": ["alpine:3.20"]}]
	count(s3.deny_s3_public_access_block) == 0 with input as "just a string"
	count(s3.deny_s3_encryption) == 0 with input as {"resource": {"aws_s3_bucket": "${var.weird}"}}
}

test_docs_cover_every_id if {
	every id in {"THOTH-AWS-S3-001", "THOTH-AWS-S3-002", "THOTH-AWS-S3-003", "THOTH-AWS-S3-004"} {
		s3.docs[id].title
		s3.docs[id].remediation
	}
}

# --- THOTH-AWS-S3-005 ---

test_s3_005_aes256_split_form if {
	results := s3.warn_s3_encryption_not_kms with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_server_side_encryption_configuration": {"data": {
			"bucket": "${aws_s3_bucket.data.id}",
			"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}],
		}},
	}}
	{r.resource | some r in results} == {"aws_s3_bucket_server_side_encryption_configuration.data"}
}

test_s3_005_aes256_inline_form if {
	results := s3.warn_s3_encryption_not_kms with input as {"resource": {"aws_s3_bucket": {"data": {
		"bucket": "prod-app-data",
		"server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]}],
	}}}}
	"THOTH-AWS-S3-005" in ids(results)
}

test_s3_005_kms_passes if {
	count(s3.warn_s3_encryption_not_kms) == 0 with input as clean_split
}

# --- THOTH-AWS-S3-006 ---

test_s3_006_bucket_without_versioning if {
	results := s3.warn_s3_versioning with input as clean_split
	{r.resource | some r in results} == {"aws_s3_bucket.logs"}
}

test_s3_006_versioning_resource_passes if {
	count(s3.warn_s3_versioning) == 0 with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_versioning": {"data": {
			"bucket": "${aws_s3_bucket.data.id}",
			"versioning_configuration": [{"status": "Enabled"}],
		}},
	}}
}

test_s3_006_suspended_versioning_fires if {
	results := s3.warn_s3_versioning with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_versioning": {"data": {
			"bucket": "${aws_s3_bucket.data.id}",
			"versioning_configuration": [{"status": "Suspended"}],
		}},
	}}
	"THOTH-AWS-S3-006" in ids(results)
}

test_s3_006_inline_versioning_passes if {
	count(s3.warn_s3_versioning) == 0 with input as {"resource": {"aws_s3_bucket": {"data": {
		"bucket": "prod-app-data",
		"versioning": [{"enabled": true}],
	}}}}
}

# --- THOTH-AWS-S3-007 ---

test_s3_007_bucket_without_logging if {
	results := s3.warn_s3_access_logging with input as clean_split
	some r in results
	r.id == "THOTH-AWS-S3-007"
	r.resource == "aws_s3_bucket.logs"
}

test_s3_007_logging_resource_passes if {
	count(s3.warn_s3_access_logging) == 0 with input as {"resource": {
		"aws_s3_bucket": {"data": {"bucket": "prod-app-data"}},
		"aws_s3_bucket_logging": {"data": {
			"bucket": "${aws_s3_bucket.data.id}",
			"target_bucket": "${var.access_log_bucket}",
			"target_prefix": "s3/prod-app-data/",
		}},
	}}
}

test_s3_007_inline_logging_passes if {
	count(s3.warn_s3_access_logging) == 0 with input as {"resource": {"aws_s3_bucket": {"data": {
		"bucket": "prod-app-data",
		"logging": [{"target_bucket": "prod-app-logs"}],
	}}}}
}
