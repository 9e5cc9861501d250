package thoth.common.secrets_test

import rego.v1

import data.thoth.common.secrets

ids(results) := {r.id | some r in results}

fake_key := "AKIA2E0A8F3B244C9986"

# --- THOTH-SECRET-001 ---

test_secret_001_access_key_in_provider if {
	results := secrets.deny_hardcoded_secret with input as {"provider": {"aws": {
		"region": "eu-west-1",
		"access_key": fake_key,
		"secret_key": "${var.aws_secret_key}",
	}}}
	some r in results
	r.id == "THOTH-SECRET-001"
	r.severity == "critical"
	r.pattern == "hardcoded_secrets"
	r.resource == "provider.aws"
	not contains(r.msg, fake_key)
}

test_secret_001_access_key_nested_in_resource if {
	results := secrets.deny_hardcoded_secret with input as {"resource": {"aws_lambda_function": {"api": {
		"function_name": "prod-shop-api",
		"environment": [{"variables": {"UPSTREAM_KEY_ID": fake_key}}],
	}}}}
	some r in results
	r.id == "THOTH-SECRET-001"
	r.resource == "aws_lambda_function.api"
}

test_secret_001_access_key_in_workflow if {
	results := secrets.deny_hardcoded_secret with input as {
		"name": "deploy",
		"on": {"push": {"branches": ["main"]}},
		"jobs": {"deploy": {"runs-on": "ubuntu-latest", "env": {"AWS_ACCESS_KEY_ID": fake_key}, "steps": [{"run": "make deploy"}]}},
	}
	some r in results
	r.id == "THOTH-SECRET-001"
	not r.resource
}

test_secret_001_no_key_passes if {
	count(secrets.deny_hardcoded_secret) == 0 with input as {"provider": {"aws": {"region": "eu-west-1", "assume_role": [{"role_arn": "arn:aws:iam::123456789012:role/deploy"}]}}}
	# longer alphanumeric runs are not access keys
	count(secrets.deny_hardcoded_secret) == 0 with input as {"locals": [{"id": "XAKIA2E0A8F3B244C9986Z"}]}
}

# --- THOTH-SECRET-002 ---

test_secret_002_private_key if {
	results := secrets.deny_hardcoded_secret with input as {"resource": {"aws_key_pair": {"deploy": {
		"key_name": "deploy",
		"public_key": "ssh-ed25519 AAAAC3Nza... deploy",
		"tags": {"note": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"},
	}}}}
	"THOTH-SECRET-002" in ids(results)
}

test_secret_002_public_key_passes if {
	count(secrets.deny_hardcoded_secret) == 0 with input as {"resource": {"aws_key_pair": {"deploy": {"public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"}}}}
}

# --- THOTH-SECRET-003 ---

test_secret_003_literal_password_attribute if {
	results := secrets.deny_hardcoded_secret with input as {"resource": {"aws_db_instance": {"orders": {
		"identifier": "prod-shop-orders",
		"username": "app",
		"password": "SuperSecret123!",
		"password_length": 32,
	}}}}
	some r in results
	r.id == "THOTH-SECRET-003"
	r.resource == "aws_db_instance.orders"
	contains(r.msg, "password")
	not contains(r.msg, "SuperSecret123!")
	count(results) == 1
}

test_secret_003_variable_default if {
	results := secrets.deny_hardcoded_secret with input as {"variable": {"db_password": {"type": "${string}", "sensitive": true, "default": "hunter2"}}}
	some r in results
	r.id == "THOTH-SECRET-003"
	r.resource == "var.db_password"
}

test_secret_003_other_names if {
	doc := {
		"resource": {"aws_secretsmanager_secret_version": {"api": {"secret_id": "${aws_secretsmanager_secret.api.id}", "secret_string": "{\"key\":\"abc\"}"}}},
		"module": {"monitoring": {"source": "./modules/monitoring", "datadog_api_key": "0123456789abcdef"}},
		"locals": [{"github_token": "ghp_example"}],
	}
	results := secrets.deny_hardcoded_secret with input as doc
	{r.resource | some r in results; r.id == "THOTH-SECRET-003"} == {"aws_secretsmanager_secret_version.api", "module.monitoring"}
	count([r | some r in results; r.id == "THOTH-SECRET-003"]) == 3
}

test_secret_003_references_pass if {
	count(secrets.deny_hardcoded_secret) == 0 with input as {
		"resource": {"aws_db_instance": {"orders": {
			"password": "${random_password.db.result}",
			"manage_master_user_password": true,
			"master_user_secret_kms_key_id": "${aws_kms_key.db.arn}",
		}}},
		"variable": {
			"db_password": {"type": "${string}", "sensitive": true},
			"token_ttl": {"default": "3600"},
			"api_key": {"default": ""},
		},
		"data": {"aws_secretsmanager_secret_version": {"db": {"secret_id": "prod/shop/db"}}},
		"module": {"app": {"source": "./modules/app", "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x", "client_secret": "${var.client_secret}"}},
	}
}

test_secret_003_plan_input if {
	results := secrets.deny_hardcoded_secret with input as {"format_version": "1.2", "resource_changes": [{
		"address": "aws_db_instance.orders",
		"mode": "managed",
		"type": "aws_db_instance",
		"name": "orders",
		"change": {"actions": ["create"], "after": {"password": "hunter2", "username": "app"}},
	}]}
	"THOTH-SECRET-003" in ids(results)
}

# --- THOTH-SECRET-004 ---

deployment(env) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api"},
	"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "ghcr.io/acme/api:1.4.2", "env": env}]}}},
}

test_secret_004_literal_env if {
	results := secrets.deny_hardcoded_secret with input as deployment([{"name": "DB_PASSWORD", "value": "hunter2"}])
	some r in results
	r.id == "THOTH-SECRET-004"
	r.resource == "Deployment/api"
}

test_secret_004_secret_manifest if {
	results := secrets.deny_hardcoded_secret with input as {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque", "stringData": {"password": "hunter2"}}
	some r in results
	r.id == "THOTH-SECRET-004"
	r.resource == "Secret/db"
}

test_secret_004_secret_ref_passes if {
	count(secrets.deny_hardcoded_secret) == 0 with input as deployment([
		{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
		{"name": "LOG_LEVEL", "value": "info"},
	])
}

# --- THOTH-SECRET-005 ---

test_secret_005_dockerfile_env if {
	results := secrets.deny_hardcoded_secret with input as [
		{"Cmd": "from", "Value": ["python:3.12-slim"], "Flags": [], "Stage": 0, "Line": 1},
		{"Cmd": "env", "Value": ["APP_ENV", "prod", "API_TOKEN", "s3cr3t"], "Flags": [], "Stage": 0, "Line": 2},
	]
	some r in results
	r.id == "THOTH-SECRET-005"
	contains(r.msg, "API_TOKEN")
	contains(r.msg, "line 2")
	r.line == 2
	not r.resource
}

test_secret_005_build_arg_without_default_passes if {
	count(secrets.deny_hardcoded_secret) == 0 with input as [
		{"Cmd": "from", "Value": ["python:3.12-slim"], "Flags": [], "Stage": 0, "Line": 1},
		{"Cmd": "arg", "Value": ["NPM_TOKEN", ""], "Flags": [], "Stage": 0, "Line": 2},
		{"Cmd": "env", "Value": ["API_TOKEN", "${API_TOKEN}"], "Flags": [], "Stage": 0, "Line": 3},
	]
}

test_scalars_and_odd_documents_do_not_error if {
	count(secrets.deny_hardcoded_secret) == 0 with input as "plain string"
	count(secrets.deny_hardcoded_secret) == 0 with input as 42
	count(secrets.deny_hardcoded_secret) == 0 with input as {"resource": {"x": "y"}, "variable": "z"}
}

test_docs_cover_every_id if {
	every id in {"THOTH-SECRET-001", "THOTH-SECRET-002", "THOTH-SECRET-003", "THOTH-SECRET-004", "THOTH-SECRET-005"} {
		secrets.docs[id].title
		secrets.docs[id].remediation
	}
}
