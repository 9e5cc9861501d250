# S3 buckets: encryption, public ACLs, public access blocks, KMS keys, versioning, access logs.
#
# Handles the inline (AWS provider v3) form, where encryption, ACL and grants are blocks of
# aws_s3_bucket, and the split (v4+) form with aws_s3_bucket_server_side_encryption_configuration,
# aws_s3_bucket_acl and aws_s3_bucket_public_access_block.
#
# Limitation: thoth-bot evaluates one file at a time. A bucket counts as encrypted / protected by a
# public access block only when the companion resource is in the SAME file and references it
# (`bucket = aws_s3_bucket.NAME.id`, or the bucket's literal name). Keep a bucket and its companion
# resources together (a module per bucket does this naturally), or add a conftest `exception` for
# `s3_encryption` / `s3_public_access_block`. The cross-resource checks (THOTH-AWS-S3-001, -003)
# run on .tf inputs only, not on plan JSON.
package thoth.terraform.s3

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-AWS-S3-001": {
		"title": "S3 bucket without server-side encryption",
		"description": "The bucket has no `server_side_encryption_configuration` block and no `aws_s3_bucket_server_side_encryption_configuration` resource in the same file references it. Objects are then encrypted only by the account default, with no customer-managed key, rotation or audit trail the team controls.",
		"remediation": "Add an `aws_s3_bucket_server_side_encryption_configuration` next to the bucket (`bucket = aws_s3_bucket.NAME.id`) with `sse_algorithm = \"aws:kms\"` and a KMS key, or `AES256` at least. With AWS provider v3 use the inline `server_side_encryption_configuration` block.",
	},
	"THOTH-AWS-S3-002": {
		"title": "S3 bucket with a public ACL",
		"description": "A canned ACL `public-read`, `public-read-write` or `authenticated-read`, or a grant to the AllUsers / AuthenticatedUsers groups, makes the bucket's objects readable (or writable) by anyone on the internet or any AWS account.",
		"remediation": "Use `acl = \"private\"` (or drop the ACL and set `object_ownership = \"BucketOwnerEnforced\"` in `aws_s3_bucket_ownership_controls`). Serve public content through CloudFront with an origin access control instead.",
	},
	"THOTH-AWS-S3-003": {
		"title": "S3 bucket without a public access block",
		"description": "No `aws_s3_bucket_public_access_block` in the same file references the bucket (and there is no `aws_s3_account_public_access_block`), so a later ACL or bucket policy change can expose it.",
		"remediation": "Add `aws_s3_bucket_public_access_block` with `bucket = aws_s3_bucket.NAME.id` and `block_public_acls`, `block_public_policy`, `ignore_public_acls`, `restrict_public_buckets` all `true`.",
	},
	"THOTH-AWS-S3-004": {
		"title": "S3 public access block with a protection disabled",
		"description": "One of `block_public_acls`, `block_public_policy`, `ignore_public_acls`, `restrict_public_buckets` is `false` or not set (the provider default is `false`), so that kind of public access is still allowed.",
		"remediation": "Set all four flags to `true`. If the bucket must be public, say so explicitly with a conftest `exception` for `s3_public_access_block` and a reviewed justification.",
	},
	"THOTH-AWS-S3-005": {
		"title": "S3 bucket encrypted without KMS",
		"description": "The bucket's default encryption uses `sse_algorithm = \"AES256\"` (SSE-S3): the keys belong to S3, so there is no key policy to limit who can decrypt and no CloudTrail record of key use.",
		"remediation": "Set `sse_algorithm = \"aws:kms\"` (the AWS-managed `aws/s3` key when `kms_master_key_id` is not set) and, better, `kms_master_key_id` to a customer-managed key. `thoth-bot fix` switches the algorithm.",
	},
	"THOTH-AWS-S3-006": {
		"title": "S3 bucket without versioning",
		"description": "No inline `versioning { enabled = true }` block and no `aws_s3_bucket_versioning` with `status = \"Enabled\"` in the same file references the bucket: an overwrite or delete (by mistake or by ransomware) loses the object for good.",
		"remediation": "Add `aws_s3_bucket_versioning` with `bucket = aws_s3_bucket.NAME.id` and `versioning_configuration { status = \"Enabled\" }` (a lifecycle rule can expire old versions).",
	},
	"THOTH-AWS-S3-007": {
		"title": "S3 bucket without access logging",
		"description": "No inline `logging` block and no `aws_s3_bucket_logging` in the same file references the bucket, so there is no record of who read or changed its objects.",
		"remediation": "Add `aws_s3_bucket_logging` with `bucket = aws_s3_bucket.NAME.id` and `target_bucket` set to the account's access-log bucket (or enable CloudTrail data events).",
	},
}

public_canned_acls := {"public-read", "public-read-write", "authenticated-read"}

public_grantee_uris := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

public_access_flags := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

buckets := tf.resources_of("aws_s3_bucket")

# Whether a companion resource (its `bucket` attribute) points at the bucket resource b.
targets_bucket(companion, b) if tf.references(companion.config.bucket, "aws_s3_bucket", b.name)

targets_bucket(companion, b) if {
	util.is_literal_string(b.config.bucket)
	companion.config.bucket == b.config.bucket
}

# --- THOTH-AWS-S3-001: encryption -------------------------------------------------------------

encrypted(b) if count(util.arr(b.config.server_side_encryption_configuration)) > 0

encrypted(b) if {
	some enc in tf.resources_of("aws_s3_bucket_server_side_encryption_configuration")
	targets_bucket(enc, b)
}

deny_s3_encryption contains result if {
	some b in buckets
	b.source == "config"
	not encrypted(b)
	result := {
		"msg": sprintf("%s has no server-side encryption: add an aws_s3_bucket_server_side_encryption_configuration referencing it in the same file", [b.address]),
		"id": "THOTH-AWS-S3-001",
		"severity": "high",
		"resource": b.address,
	}
}

# --- THOTH-AWS-S3-002: public ACLs ------------------------------------------------------------

deny_s3_public_acl contains result if {
	some r in tf.resources
	r.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	acl := r.config.acl
	acl in public_canned_acls
	result := {
		"msg": sprintf("%s sets the public canned ACL %q", [r.address, acl]),
		"id": "THOTH-AWS-S3-002",
		"severity": "critical",
		"pattern": "public_s3_buckets",
		"resource": r.address,
	}
}

# Grants to AllUsers / AuthenticatedUsers: aws_s3_bucket_acl access_control_policy (v4+) and the
# inline aws_s3_bucket grant blocks (v3).
public_grant(r) := uri if {
	r.type == "aws_s3_bucket_acl"
	some policy in util.arr(r.config.access_control_policy)
	some grant in util.arr(util.get(policy, "grant", []))
	some grantee in util.arr(util.get(grant, "grantee", []))
	uri := util.get(grantee, "uri", "")
	uri in public_grantee_uris
}

public_grant(r) := uri if {
	r.type == "aws_s3_bucket"
	some grant in util.arr(r.config.grant)
	uri := util.get(grant, "uri", "")
	uri in public_grantee_uris
}

deny_s3_public_acl contains result if {
	some r in tf.resources
	uri := public_grant(r)
	result := {
		"msg": sprintf("%s grants access to the public group %s", [r.address, uri]),
		"id": "THOTH-AWS-S3-002",
		"severity": "critical",
		"pattern": "public_s3_buckets",
		"resource": r.address,
	}
}

# --- THOTH-AWS-S3-003 / -004: public access blocks --------------------------------------------

# An account-level public access block in the file covers every bucket when fully enabled.
account_block_enabled if {
	some acct in tf.resources_of("aws_s3_account_public_access_block")
	count(disabled_flags(acct)) == 0
}

has_public_access_block(b) if {
	some pab in tf.resources_of("aws_s3_bucket_public_access_block")
	targets_bucket(pab, b)
}

deny_s3_public_access_block contains result if {
	some b in buckets
	b.source == "config"
	not has_public_access_block(b)
	not account_block_enabled
	result := {
		"msg": sprintf("%s has no aws_s3_bucket_public_access_block referencing it in the same file", [b.address]),
		"id": "THOTH-AWS-S3-003",
		"severity": "high",
		"pattern": "public_s3_buckets",
		"resource": b.address,
	}
}

# Flags that are false or missing (the provider default is false). Unevaluated expressions
# (`${var.block}`) are given the benefit of the doubt.
disabled_flags(r) := [flag |
	some flag in public_access_flags
	value := object.get(r.config, flag, false)
	not util.is_true(value)
	not util.is_expression(value)
]

deny_s3_public_access_block contains result if {
	some r in tf.resources
	r.type in {"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}
	flags := disabled_flags(r)
	count(flags) > 0
	result := {
		"msg": sprintf("%s does not enable %s", [r.address, concat(", ", flags)]),
		"id": "THOTH-AWS-S3-004",
		"severity": "high",
		"pattern": "public_s3_buckets",
		"resource": r.address,
	}
}

# --- THOTH-AWS-S3-005: KMS rather than SSE-S3 ---------------------------------------------------

# The `apply_server_side_encryption_by_default` blocks of a resource's encryption rules: the v4+
# companion resource holds `rule` directly, the inline v3 form nests it in
# `server_side_encryption_configuration`.
sse_defaults(r) := [d |
	some rule in util.arr(r.config.rule)
	some d in util.arr(util.get(rule, "apply_server_side_encryption_by_default", []))
] if {
	r.type == "aws_s3_bucket_server_side_encryption_configuration"
}

sse_defaults(r) := [d |
	some sse in util.arr(r.config.server_side_encryption_configuration)
	some rule in util.arr(util.get(sse, "rule", []))
	some d in util.arr(util.get(rule, "apply_server_side_encryption_by_default", []))
] if {
	r.type == "aws_s3_bucket"
}

warn_s3_encryption_not_kms contains result if {
	some r in tf.resources
	r.type in {"aws_s3_bucket", "aws_s3_bucket_server_side_encryption_configuration"}
	some d in sse_defaults(r)
	util.get(d, "sse_algorithm", "") == "AES256"
	result := {
		"msg": sprintf("%s encrypts with AES256 (SSE-S3): use aws:kms so a key policy controls decryption", [r.address]),
		"id": "THOTH-AWS-S3-005",
		"severity": "low",
		"resource": r.address,
	}
}

# --- THOTH-AWS-S3-006: versioning ---------------------------------------------------------------

versioned(b) if {
	some v in util.arr(b.config.versioning)
	util.is_true(util.get(v, "enabled", false))
}

# `status` may be an expression (`var.versioning_status`): given the benefit of the doubt.
versioned(b) if {
	some v in tf.resources_of("aws_s3_bucket_versioning")
	targets_bucket(v, b)
	some c in util.arr(v.config.versioning_configuration)
	status := util.get(c, "status", "")
	status_enabled(status)
}

status_enabled(status) if status == "Enabled"

status_enabled(status) if util.is_expression(status)

warn_s3_versioning contains result if {
	some b in buckets
	b.source == "config"
	not versioned(b)
	result := {
		"msg": sprintf("%s has no versioning: add an aws_s3_bucket_versioning referencing it in the same file", [b.address]),
		"id": "THOTH-AWS-S3-006",
		"severity": "medium",
		"resource": b.address,
	}
}

# --- THOTH-AWS-S3-007: access logging -----------------------------------------------------------

logged(b) if count(util.arr(b.config.logging)) > 0

logged(b) if {
	some l in tf.resources_of("aws_s3_bucket_logging")
	targets_bucket(l, b)
}

warn_s3_access_logging contains result if {
	some b in buckets
	b.source == "config"
	not logged(b)
	result := {
		"msg": sprintf("%s has no access logging: add an aws_s3_bucket_logging referencing it in the same file", [b.address]),
		"id": "THOTH-AWS-S3-007",
		"severity": "low",
		"resource": b.address,
	}
}
