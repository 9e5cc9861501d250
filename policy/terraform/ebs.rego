# EBS volumes: encryption at rest.
#
# `encrypted` defaults to false on aws_ebs_volume unless the account turns on EBS encryption by
# default; an `aws_ebs_encryption_by_default` with `enabled = true` in the same file exempts every
# volume of the file. An unevaluated expression (`encrypted = var.encrypted`) is not reported.
package thoth.terraform.ebs

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {"THOTH-AWS-EBS-001": {
	"title": "EBS volume not encrypted",
	"description": "`encrypted` is missing or false on an `aws_ebs_volume` (the provider default is false): the volume, its snapshots and any volume created from them hold data unencrypted, and encryption cannot be turned on in place.",
	"remediation": "Set `encrypted = true` (and `kms_key_id` for a customer-managed key), or enable account-wide EBS encryption by default with `aws_ebs_encryption_by_default`. Changing it on an existing volume replaces the volume: migrate through an encrypted snapshot.",
}}

encryption_by_default if {
	some r in tf.resources_of("aws_ebs_encryption_by_default")
	util.is_true(object.get(r.config, "enabled", true))
}

deny_ebs_unencrypted contains result if {
	some r in tf.resources_of("aws_ebs_volume")
	value := object.get(r.config, "encrypted", false)
	not util.is_true(value)
	not util.is_expression(value)
	not encryption_by_default
	result := {
		"msg": sprintf("%s is not encrypted (encrypted is %v)", [r.address, value]),
		"id": "THOTH-AWS-EBS-001",
		"severity": "high",
		"resource": r.address,
	}
}
