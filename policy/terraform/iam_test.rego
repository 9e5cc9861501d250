package thoth.terraform.iam_test

import rego.v1

import data.thoth.terraform.iam

ids(results) := {r.id | some r in results}

policy_resource(type, policy) := {"resource": {type: {"app": {"name": "prod-shop-app", "policy": policy}}}}

admin_json := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}`

scoped_json := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::prod-shop-data/*"}]}`

# --- THOTH-AWS-IAM-001 ---

test_iam_001_literal_json_policy if {
	results := iam.deny_iam_wildcard_action with input as policy_resource("aws_iam_policy", admin_json)
	some r in results
	r.id == "THOTH-AWS-IAM-001"
	r.severity == "high"
	r.pattern == "overly_permissive_iam"
	r.resource == "aws_iam_policy.app"
}

test_iam_001_role_and_user_policies if {
	"THOTH-AWS-IAM-001" in ids(iam.deny_iam_wildcard_action) with input as policy_resource("aws_iam_role_policy", admin_json)
	"THOTH-AWS-IAM-001" in ids(iam.deny_iam_wildcard_action) with input as policy_resource("aws_iam_user_policy", admin_json)
}

test_iam_001_single_statement_object_heredoc if {
	heredoc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": [\"*\"], \"Resource\": \"arn:aws:s3:::x\"}\n}\n"
	"THOTH-AWS-IAM-001" in ids(iam.deny_iam_wildcard_action) with input as policy_resource("aws_iam_policy", heredoc)
}

test_iam_001_jsonencode_expression if {
	# what the HCL parser keeps for `policy = jsonencode({...})`
	text := "${jsonencode({ Version = \"2012-10-17\", Statement = [{ Action = [\"s3:GetObject\", \"*\"], Effect = \"Allow\", Resource = aws_s3_bucket.data.arn }] })}"
	results := iam.deny_iam_wildcard_action with input as policy_resource("aws_iam_policy", text)
	some r in results
	r.id == "THOTH-AWS-IAM-001"
	# parsed, not guessed: the structured message names the action
	contains(r.msg, "allows all actions")
}

test_iam_001_jsonencode_with_function_call_falls_back_to_text if {
	text := "${jsonencode({ Version = \"2012-10-17\", Statement = [{ Action = \"*\", Effect = \"Allow\", Resource = concat(local.arns, [\"x\"]) }] })}"
	results := iam.deny_iam_wildcard_action with input as policy_resource("aws_iam_policy", text)
	some r in results
	contains(r.msg, "appears to allow")
}

test_iam_001_data_policy_document if {
	results := iam.deny_iam_wildcard_action with input as {"data": {"aws_iam_policy_document": {"admin": {"statement": [
		{"sid": "Admin", "actions": ["*"], "resources": ["arn:aws:s3:::x"]},
	]}}}}
	some r in results
	r.resource == "data.aws_iam_policy_document.admin"
}

test_iam_001_role_inline_policy if {
	results := iam.deny_iam_wildcard_action with input as {"resource": {"aws_iam_role": {"app": {
		"name": "prod-shop-app",
		"assume_role_policy": "${data.aws_iam_policy_document.assume.json}",
		"inline_policy": [{"name": "all", "policy": admin_json}],
	}}}}
	"THOTH-AWS-IAM-001" in ids(results)
}

test_iam_001_deny_statement_is_fine if {
	deny_all := `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}`
	count(iam.deny_iam_wildcard_action) == 0 with input as policy_resource("aws_iam_policy", deny_all)
	count(iam.deny_iam_wildcard_action) == 0 with input as {"data": {"aws_iam_policy_document": {"tls": {"statement": [
		{"effect": "Deny", "actions": ["*"], "resources": ["*"]},
	]}}}}
}

test_iam_001_scoped_policy_passes if {
	count(iam.deny_iam_wildcard_action) == 0 with input as policy_resource("aws_iam_policy", scoped_json)
	count(iam.deny_iam_wildcard_action) == 0 with input as policy_resource("aws_iam_policy", "${data.aws_iam_policy_document.app.json}")
	count(iam.deny_iam_wildcard_action) == 0 with input as {"data": {"aws_iam_policy_document": {"app": {"statement": [
		{"actions": ["s3:GetObject"], "resources": ["${aws_s3_bucket.data.arn}/*"]},
	]}}}}
}

test_iam_001_not_action_is_not_an_action_wildcard if {
	text := "${jsonencode({ Statement = [{ NotAction = \"*\", Effect = \"Allow\", Resource = local.arn_list }] })}"
	count(iam.deny_iam_wildcard_action) == 0 with input as policy_resource("aws_iam_policy", text)
}

# --- THOTH-AWS-IAM-002 ---

test_iam_002_wildcard_resource if {
	results := iam.deny_iam_wildcard_resource with input as policy_resource("aws_iam_policy", admin_json)
	some r in results
	r.id == "THOTH-AWS-IAM-002"
	r.pattern == "overly_permissive_iam"
}

test_iam_002_data_policy_document if {
	results := iam.deny_iam_wildcard_resource with input as {"data": {"aws_iam_policy_document": {"ec2": {"statement": [
		{"actions": ["ec2:TerminateInstances", "ec2:StopInstances"], "resources": ["*"]},
	]}}}}
	some r in results
	r.id == "THOTH-AWS-IAM-002"
	contains(r.msg, "ec2:TerminateInstances")
}

test_iam_002_jsonencode_text if {
	text := "${jsonencode({ Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Action = [\"sqs:SendMessage\"], Resource = \"*\" }] })}"
	"THOTH-AWS-IAM-002" in ids(iam.deny_iam_wildcard_resource) with input as policy_resource("aws_iam_role_policy", text)
}

test_iam_002_scoped_passes if {
	count(iam.deny_iam_wildcard_resource) == 0 with input as policy_resource("aws_iam_policy", scoped_json)
}

# --- THOTH-AWS-IAM-003 ---

test_iam_003_service_wildcard_warns if {
	results := iam.warn_iam_service_wildcard with input as policy_resource("aws_iam_policy", `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::x"}]}`)
	some r in results
	r.id == "THOTH-AWS-IAM-003"
	r.severity == "medium"
	not r.pattern
}

test_iam_003_specific_actions_pass if {
	count(iam.warn_iam_service_wildcard) == 0 with input as policy_resource("aws_iam_policy", scoped_json)
}

# --- robustness ---

test_invalid_policies_do_not_error if {
	doc := {"resource": {
		"aws_iam_policy": {"a": {"policy": "{not json"}, "b": {"policy": 42}, "c": {"policy": "${file(\"policy.json\")}"}},
		"aws_iam_role": {"r": {"inline_policy": "${var.x}"}},
	}, "data": {"aws_iam_policy_document": {"d": {"statement": "${local.statements}"}}}}
	count(iam.deny_iam_wildcard_action) == 0 with input as doc
	count(iam.deny_iam_wildcard_resource) == 0 with input as doc
	count(iam.warn_iam_service_wildcard) == 0 with input as doc
}

test_docs_cover_every_id if {
	every id in {"THOTH-AWS-IAM-001", "THOTH-AWS-IAM-002", "THOTH-AWS-IAM-003"} {
		iam.docs[id].title
		iam.docs[id].remediation
	}
}
