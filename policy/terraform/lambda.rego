# Lambda functions: a dead-letter target for failed asynchronous invocations, and code signing.
#
# Both are best practice rather than exposure, hence warnings. Expressions count as set.
package thoth.terraform.lambda

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-AWS-LAMBDA-001": {
		"title": "Lambda function without a dead-letter queue",
		"description": "The `aws_lambda_function` has no `dead_letter_config` block: an asynchronous invocation (S3, SNS, EventBridge events) that still fails after its retries is dropped without a trace.",
		"remediation": "Add `dead_letter_config { target_arn = ... }` pointing at an SQS queue or SNS topic (the function's role needs `sqs:SendMessage` / `sns:Publish` on it), or configure an on-failure destination with `aws_lambda_function_event_invoke_config`.",
	},
	"THOTH-AWS-LAMBDA-002": {
		"title": "Lambda function without code signing",
		"description": "The `aws_lambda_function` has no `code_signing_config_arn`, so Lambda accepts any deployment package, including one that did not come from the team's build.",
		"remediation": "Create an `aws_signer_signing_profile` and an `aws_lambda_code_signing_config` that allows it, sign packages in the build, and set `code_signing_config_arn` on the function.",
	},
}

functions := tf.resources_of("aws_lambda_function")

warn_lambda_dead_letter contains result if {
	some f in functions
	count(util.arr(object.get(f.config, "dead_letter_config", []))) == 0
	result := {
		"msg": sprintf("%s has no dead_letter_config: failed asynchronous invocations are dropped", [f.address]),
		"id": "THOTH-AWS-LAMBDA-001",
		"severity": "low",
		"resource": f.address,
	}
}

warn_lambda_code_signing contains result if {
	some f in functions
	value := object.get(f.config, "code_signing_config_arn", "")
	not util.is_expression(value)
	trim_space(util.lower_str(value)) == ""
	result := {
		"msg": sprintf("%s has no code_signing_config_arn: Lambda accepts unsigned packages", [f.address]),
		"id": "THOTH-AWS-LAMBDA-002",
		"severity": "low",
		"resource": f.address,
	}
}
