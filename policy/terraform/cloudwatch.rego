# CloudWatch log groups: encryption with a customer-managed KMS key.
#
# Log groups are always encrypted at rest by CloudWatch; `kms_key_id` puts the key under the
# team's control (key policy, rotation, CloudTrail records of every decryption), which matters
# once logs hold request bodies, tokens or personal data. An expression counts as set.
package thoth.terraform.cloudwatch

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {"THOTH-AWS-CW-001": {
	"title": "CloudWatch log group without a KMS key",
	"description": "The `aws_cloudwatch_log_group` has no `kms_key_id`, so its logs are encrypted with a key CloudWatch owns: no key policy limits who can read them and key use is not audited.",
	"remediation": "Set `kms_key_id` to the ARN of a customer-managed KMS key whose key policy allows the `logs.REGION.amazonaws.com` service principal to use it.",
}}

warn_log_group_unencrypted contains result if {
	some r in tf.resources_of("aws_cloudwatch_log_group")
	value := object.get(r.config, "kms_key_id", "")
	not util.is_expression(value)
	trim_space(util.lower_str(value)) == ""
	result := {
		"msg": sprintf("%s has no kms_key_id: encrypt it with a customer-managed KMS key", [r.address]),
		"id": "THOTH-AWS-CW-001",
		"severity": "medium",
		"resource": r.address,
	}
}
