package thoth.terraform.ebs_test

import rego.v1

import data.thoth.terraform.ebs

volume(attrs) := {"resource": {"aws_ebs_volume": {"data": object.union(
	{"availability_zone": "eu-west-1a", "size": 100},
	attrs,
)}}}

test_ebs_001_missing_encrypted if {
	results := ebs.deny_ebs_unencrypted with input as volume({})
	some r in results
	r.id == "THOTH-AWS-EBS-001"
	r.severity == "high"
	r.resource == "aws_ebs_volume.data"
}

test_ebs_001_explicit_false if {
	count(ebs.deny_ebs_unencrypted) == 1 with input as volume({"encrypted": false})
}

test_ebs_001_encrypted_passes if {
	count(ebs.deny_ebs_unencrypted) == 0 with input as volume({"encrypted": true})
}

test_ebs_001_expression_is_not_reported if {
	count(ebs.deny_ebs_unencrypted) == 0 with input as volume({"encrypted": "${var.encrypted}"})
}

test_ebs_001_encryption_by_default_exempts if {
	count(ebs.deny_ebs_unencrypted) == 0 with input as {"resource": {
		"aws_ebs_volume": {"data": {"availability_zone": "eu-west-1a", "size": 100}},
		"aws_ebs_encryption_by_default": {"this": {"enabled": true}},
	}}
}
