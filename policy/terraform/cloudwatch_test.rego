package thoth.terraform.cloudwatch_test

import rego.v1

import data.thoth.terraform.cloudwatch

test_cw_001_log_group_without_key if {
	results := cloudwatch.warn_log_group_unencrypted with input as {"resource": {"aws_cloudwatch_log_group": {"app": {
		"name": "/prod/shop/app",
		"retention_in_days": 30,
	}}}}
	some r in results
	r.id == "THOTH-AWS-CW-001"
	r.resource == "aws_cloudwatch_log_group.app"
}

test_cw_001_log_group_with_key_passes if {
	count(cloudwatch.warn_log_group_unencrypted) == 0 with input as {"resource": {"aws_cloudwatch_log_group": {"app": {
		"name": "/prod/shop/app",
		"kms_key_id": "${aws_kms_key.logs.arn}",
	}}}}
}

test_cw_001_literal_key_arn_passes if {
	count(cloudwatch.warn_log_group_unencrypted) == 0 with input as {"resource": {"aws_cloudwatch_log_group": {"app": {
		"name": "/prod/shop/app",
		"kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	}}}}
}
