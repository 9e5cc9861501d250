package thoth.terraform.lambda_test

import rego.v1

import data.thoth.terraform.lambda

fn(attrs) := {"resource": {"aws_lambda_function": {"worker": object.union(
	{
		"function_name": "prod-shop-worker",
		"role": "${aws_iam_role.worker.arn}",
		"runtime": "python3.12",
		"handler": "main.handler",
		"filename": "worker.zip",
	},
	attrs,
)}}}

test_lambda_001_without_dead_letter_config if {
	results := lambda.warn_lambda_dead_letter with input as fn({})
	some r in results
	r.id == "THOTH-AWS-LAMBDA-001"
	r.resource == "aws_lambda_function.worker"
}

test_lambda_001_with_dead_letter_config_passes if {
	count(lambda.warn_lambda_dead_letter) == 0 with input as fn({"dead_letter_config": [{"target_arn": "${aws_sqs_queue.dlq.arn}"}]})
}

test_lambda_002_without_code_signing if {
	results := lambda.warn_lambda_code_signing with input as fn({})
	some r in results
	r.id == "THOTH-AWS-LAMBDA-002"
}

test_lambda_002_with_code_signing_passes if {
	count(lambda.warn_lambda_code_signing) == 0 with input as fn({"code_signing_config_arn": "${aws_lambda_code_signing_config.this.arn}"})
}
