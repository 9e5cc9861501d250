package thoth.terraform.naming_test

import rego.v1

import data.thoth.terraform.naming

ids(results) := {r.id | some r in results}

test_naming_001_bad_bucket_name if {
	results := naming.warn_naming_convention with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as {"resource": {"aws_s3_bucket": {"logs": {"bucket": "my-logs-bucket"}}}}
	some r in results
	r.id == "THOTH-TF-NAMING-001"
	r.severity == "low"
	r.resource == "aws_s3_bucket.logs"
	contains(r.msg, "my-logs-bucket")
}

test_naming_001_name_and_name_tag if {
	results := naming.warn_naming_convention with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as {"resource": {
		"aws_security_group": {"web": {"name": "WebServers", "tags": {"Name": "prod-shop-web"}}},
		"aws_instance": {"web": {"ami": "ami-123", "tags": {"Name": "webserver01"}}},
	}}
	{r.resource | some r in results} == {"aws_security_group.web", "aws_instance.web"}
	count(results) == 2
}

test_naming_001_good_names_pass if {
	count(naming.warn_naming_convention) == 0 with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as {"resource": {
		"aws_s3_bucket": {"logs": {"bucket": "prod-platform-logs", "tags": {"Name": "prod-platform-logs"}}},
		"aws_db_instance": {"orders": {"identifier": "staging-shop-orders-db"}},
		"aws_iam_role": {"app": {"name": "dev-shop-app"}},
	}}
}

test_naming_001_expressions_paths_and_exempt_types_pass if {
	count(naming.warn_naming_convention) == 0 with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as {"resource": {
		"aws_s3_bucket": {"logs": {"bucket": "${var.environment}-platform-logs"}},
		"aws_cloudwatch_log_group": {"app": {"name": "/aws/lambda/app"}},
		"aws_route53_record": {"www": {"name": "www"}},
		"aws_sqs_queue": {"jobs": {"name": "jobs.fifo"}},
	}}
}

test_naming_001_environments_from_data if {
	doc := {"resource": {"aws_s3_bucket": {"logs": {"bucket": "prd-platform-logs"}}}}
	"THOTH-TF-NAMING-001" in ids(naming.warn_naming_convention) with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as doc
	count(naming.warn_naming_convention) == 0 with input as doc with data.thoth.naming.environments as ["prd", "stg"]
}

test_naming_001_pattern_from_data if {
	doc := {"resource": {"aws_s3_bucket": {"logs": {"bucket": "acme_logs"}}}}
	count(naming.warn_naming_convention) == 0 with data.thoth.naming.environments as ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with input as doc with data.thoth.naming.pattern as `^acme_[a-z]+$`
}

test_docs_cover_every_id if {
	naming.docs["THOTH-TF-NAMING-001"].remediation
}

test_default_naming if {
	naming.environments == ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"] with data.thoth.naming as null
	regex.match(naming.pattern, "prod-shop-orders") with data.thoth.naming as null
	not regex.match(naming.pattern, "shop-orders") with data.thoth.naming as null
}
