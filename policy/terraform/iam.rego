# IAM policies that allow every action or every resource.
#
# Checked: the `policy` of aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy,
# aws_iam_group_policy and aws_iam_role inline_policy blocks, and the `statement` blocks of
# data "aws_iam_policy_document". Only Allow statements count.
#
# How `policy` is read:
#   - a literal JSON string or heredoc: parsed with json.unmarshal;
#   - `jsonencode({...})` (kept as expression text by the HCL parser): the HCL object syntax is
#     rewritten to JSON (keys quoted, `=` to `:`, references quoted) and parsed when that works;
#   - otherwise (function calls, templates): best effort, a regular expression looks for
#     `Action = "*"` / `"Action": ["*"]`-like text. The fallback cannot tell Allow from Deny
#     statements, so a Deny-all statement written that way is also reported (use an exception).
#   - `policy = data.aws_iam_policy_document.x.json`: the data source is checked on its own.
package thoth.terraform.iam

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-AWS-IAM-001": {
		"title": "IAM policy allows all actions",
		"description": "An Allow statement has `Action: \"*\"`: whoever holds the policy can do anything the resource scope permits, including changing IAM itself (privilege escalation).",
		"remediation": "List the actions the workload needs (`s3:GetObject`, `sqs:SendMessage`, ...). IAM Access Analyzer can generate a least-privilege policy from CloudTrail activity.",
	},
	"THOTH-AWS-IAM-002": {
		"title": "IAM policy applies to all resources",
		"description": "An Allow statement has `Resource: \"*\"`: the allowed actions apply to every resource of the account, not only the ones the workload owns.",
		"remediation": "Scope `Resource` to ARNs (`aws_s3_bucket.x.arn`, `\"${aws_s3_bucket.x.arn}/*\"`). For actions that do not support resource-level permissions, keep `*` but narrow with `Condition` and add a documented conftest exception.",
	},
	"THOTH-AWS-IAM-003": {
		"title": "IAM policy allows every action of a service",
		"description": "An Allow statement uses a service-wide wildcard such as `s3:*` or `iam:*`, which includes destructive and administrative actions.",
		"remediation": "Replace the wildcard with the specific actions needed, or at least a narrower prefix (`s3:Get*`).",
	},
}

policy_types := {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}

# Policy documents to check: {"resource", "text"}.
policy_texts contains {"resource": r.address, "text": r.config.policy} if {
	some r in tf.resources
	r.type in policy_types
	is_string(r.config.policy)
}

policy_texts contains {"resource": r.address, "text": block.policy} if {
	some r in tf.resources_of("aws_iam_role")
	some block in util.arr(r.config.inline_policy)
	is_string(block.policy)
}

# A policy string as a JSON document, when it can be read as one.
parsed(text) := json.unmarshal(text) if {
	json.is_valid(text)
} else := json.unmarshal(converted) if {
	converted := jsonencode_to_json(text)
	json.is_valid(converted)
}

# `${jsonencode({ Version = "2012-10-17", Statement = [{ Action = "*", Resource = x.arn }] })}`
# to JSON text: keys quoted, `=` to `:`, bare references quoted, trailing commas dropped.
jsonencode_to_json(text) := out if {
	startswith(text, "${jsonencode(")
	endswith(text, ")}")
	inner := substring(text, count("${jsonencode("), (count(text) - count("${jsonencode(")) - count(")}"))
	keys := regex.replace(inner, `([{,]\s*)([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*`, `${1}"${2}": `)
	quoted_keys := regex.replace(keys, `([{,]\s*)("[^"]*")\s*=\s*`, `${1}${2}: `)
	refs := regex.replace(quoted_keys, `([:\[,]\s*)([A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_*-]+|\[[0-9]+\])+)`, `${1}"${2}"`)
	out := regex.replace(refs, `,(\s*[\]}])`, `${1}`)
}

# Allow statements of a parsed policy document.
allow_statements(policy) := [s |
	some s in util.list(util.get(policy, "Statement", []))
	is_object(s)
	util.get(s, "Effect", "") == "Allow"
]

# Statements found, normalised: {"resource", "actions", "resources", "how"}.
statements contains st if {
	some p in policy_texts
	policy := parsed(p.text)
	some s in allow_statements(policy)
	st := {
		"resource": p.resource,
		"actions": util.strings(util.get(s, "Action", [])),
		"resources": util.strings(util.get(s, "Resource", [])),
		"how": "policy",
	}
}

statements contains st if {
	some d in tf.data_sources
	d.type == "aws_iam_policy_document"
	some s in util.arr(d.config.statement)
	is_object(s)
	util.get(s, "effect", "Allow") == "Allow"
	st := {
		"resource": d.address,
		"actions": util.strings(util.get(s, "actions", [])),
		"resources": util.strings(util.get(s, "resources", [])),
		"how": "statement",
	}
}

# Best effort on expression text that could not be parsed.
unparsed contains p if {
	some p in policy_texts
	not parsed(p.text)
}

wildcard_action_text := `(^|[^A-Za-z])"?Action"?\s*[=:]\s*("\*(:\*)?"|\[[^\]]*"\*(:\*)?"[^\]]*\])`

wildcard_resource_text := `(^|[^A-Za-z])"?Resource"?\s*[=:]\s*("\*"|\[[^\]]*"\*"[^\]]*\])`

finding(resource, id, msg) := {
	"msg": msg,
	"id": id,
	"severity": "high",
	"pattern": "overly_permissive_iam",
	"resource": resource,
}

deny_iam_wildcard_action contains finding(st.resource, "THOTH-AWS-IAM-001", msg) if {
	some st in statements
	some a in st.actions
	a in {"*", "*:*"}
	msg := sprintf("%s allows all actions (\"%s\")", [st.resource, a])
}

deny_iam_wildcard_action contains finding(p.resource, "THOTH-AWS-IAM-001", msg) if {
	some p in unparsed
	regex.match(wildcard_action_text, p.text)
	msg := sprintf("%s appears to allow all actions (Action \"*\" in the policy expression)", [p.resource])
}

deny_iam_wildcard_resource contains finding(st.resource, "THOTH-AWS-IAM-002", msg) if {
	some st in statements
	"*" in st.resources
	msg := sprintf("%s applies to all resources (Resource \"*\") for actions: %s", [st.resource, actions_text(st.actions)])
}

deny_iam_wildcard_resource contains finding(p.resource, "THOTH-AWS-IAM-002", msg) if {
	some p in unparsed
	regex.match(wildcard_resource_text, p.text)
	msg := sprintf("%s appears to apply to all resources (Resource \"*\" in the policy expression)", [p.resource])
}

actions_text(actions) := concat(", ", actions) if {
	count(actions) > 0
	count(actions) <= 3
} else := sprintf("%s, ... (%d actions)", [concat(", ", array.slice(actions, 0, 3)), count(actions)]) if {
	count(actions) > 3
} else := "its actions"

warn_iam_service_wildcard contains result if {
	some st in statements
	some a in st.actions
	regex.match(`^[A-Za-z0-9-]+:\*$`, a)
	a != "*:*"
	result := {
		"msg": sprintf("%s allows every action of a service (\"%s\")", [st.resource, a]),
		"id": "THOTH-AWS-IAM-003",
		"severity": "medium",
		"resource": st.resource,
	}
}
