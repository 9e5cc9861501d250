# Hardcoded secrets, in every kind of input (Terraform, plans, Kubernetes, Dockerfiles, CI files).
#
#   THOTH-SECRET-001  an AWS access key id (AKIA.../ASIA...) in any string value
#   THOTH-SECRET-002  a PEM private key block in any string value
#   THOTH-SECRET-003  Terraform: an attribute named like a secret (password, secret, token,
#                     api_key, private_key, client_secret, secret_string, ...) with a literal
#                     value, or a `variable` named like a secret with a literal `default`
#   THOTH-SECRET-004  Kubernetes: a container env var named like a secret with a literal `value`,
#                     or a Secret manifest carrying data
#   THOTH-SECRET-005  Dockerfile: ENV / ARG named like a secret with a literal value
#
# "Literal" means a non-empty string with no `${...}` in it: references to variables, data
# sources (Secrets Manager, SSM) and random_password results are what we want to see instead.
# Messages never repeat the secret itself (the summary comment is visible to the whole team).
package thoth.common.secrets

import rego.v1

import data.thoth.lib.kubernetes as k8s
import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-SECRET-001": {
		"title": "AWS access key id in the code",
		"description": "A string matching an AWS access key id (AKIA/ASIA followed by 16 characters) is committed. Its secret key is usually nearby; leaked keys are harvested from public and private repositories within minutes.",
		"remediation": "Deactivate and rotate the key in IAM now (it is in the git history). Use IAM roles, OIDC federation for CI (aws-actions/configure-aws-credentials with role-to-assume) or the provider's default credential chain instead of static keys.",
	},
	"THOTH-SECRET-002": {
		"title": "Private key in the code",
		"description": "A PEM `-----BEGIN ... PRIVATE KEY-----` block is committed.",
		"remediation": "Revoke and replace the key. Generate keys at deploy time (tls_private_key kept in state, KMS) or read them from a secret store (aws_secretsmanager_secret_version data source, Vault).",
	},
	"THOTH-SECRET-003": {
		"title": "Hardcoded secret in Terraform",
		"description": "An attribute named like a secret (password, secret, token, api_key, private_key, ...) or the default of a variable named like one holds a literal string. It ends up in git history, plans, logs and state.",
		"remediation": "Use `manage_master_user_password = true` (RDS), `random_password`, or read the value from Secrets Manager / SSM with a data source; declare inputs as `variable` with `sensitive = true` and no default, and pass them from the pipeline's secret store.",
	},
	"THOTH-SECRET-004": {
		"title": "Hardcoded secret in a Kubernetes manifest",
		"description": "A container environment variable named like a secret has a literal `value`, or a `Secret` manifest carries `data` / `stringData` committed to git (base64 is not encryption).",
		"remediation": "Reference a Secret with `valueFrom.secretKeyRef`, and create Secrets from a secret manager (External Secrets Operator, Sealed Secrets, CSI secrets store) instead of committing them.",
	},
	"THOTH-SECRET-005": {
		"title": "Hardcoded secret in a Dockerfile",
		"description": "An `ENV` or `ARG` named like a secret has a literal value. It is stored in the image layers and visible to anyone who can pull the image (`docker history`).",
		"remediation": "Use BuildKit secrets (`RUN --mount=type=secret,id=...`) at build time and inject runtime secrets from the orchestrator.",
	},
}

# Names that hold secrets: the name ends with one of these words.
secret_name_pattern := `(?i)(^|[_.-])(password|passwd|pwd|secret|token|api_?key|private_?key|secret_?key|client_?secret|access_?token|auth_?token|secret_string|connection_?string)$`

secret_name(name) if {
	is_string(name)
	regex.match(secret_name_pattern, name)
}

# A literal value worth reporting (ARNs and ids of secret stores are references, not secrets).
literal_secret(value) if {
	util.is_literal_string(value)
	not startswith(value, "arn:")
}

access_key_pattern := `(^|[^A-Za-z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Za-z0-9]|$)`

private_key_pattern := `-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----`

path_text(path) := concat(".", [sprintf("%v", [p]) | some p in path])

# The resource a value at `path` belongs to ("" when there is none to point at).
resource_for(path) := sprintf("%v.%v", [path[1], path[2]]) if {
	tf.is_config
	path[0] == "resource"
	count(path) > 2
} else := sprintf("%v.%v.%v", [path[0], path[1], path[2]]) if {
	tf.is_config
	path[0] == "data"
	count(path) > 2
} else := sprintf("%v.%v", [prefix, path[1]]) if {
	tf.is_config
	prefix := {"module": "module", "variable": "var", "output": "output", "provider": "provider"}[path[0]]
	count(path) > 1
} else := input.resource_changes[path[1]].address if {
	tf.is_plan
	path[0] == "resource_changes"
	is_string(input.resource_changes[path[1]].address)
} else := k8s.resource if {
	k8s.is_object_doc
} else := ""

finding(id, resource, msg) := object.union(
	{"msg": msg, "id": id, "severity": "critical", "pattern": "hardcoded_secrets"},
	located(resource),
)

located(resource) := {"resource": resource} if {
	resource != ""
} else := {}

# conftest shape puts a list index after the block labels: ["0", "password"] -> ["password"].
strip_index(path) := array.slice(path, 1, count(path)) if {
	count(path) > 1
	is_number(path[0])
} else := path

# "aws_db_instance.orders (password)": the resource and the attribute path inside it.
where(path, resource) := sprintf("%s (%s)", [resource, path_text(inner)]) if {
	resource != ""
	skip := {"resource": 3, "data": 3, "module": 2, "variable": 2, "output": 2, "provider": 2, "resource_changes": 2}[path[0]]
	inner := strip_index(array.slice(path, skip, count(path)))
	count(inner) > 0
} else := sprintf("%s (%s)", [resource, path_text(path)]) if {
	resource != ""
} else := path_text(path) if {
	count(path) > 0
} else := "the document"

# --- THOTH-SECRET-001 / -002: patterns anywhere ------------------------------------------------

# The whole document as text, searched once before walking it to find where a match is
# (walking a multi-megabyte plan or schema file for every string is too slow).
input_text := json.marshal(input)

deny_hardcoded_secret contains finding("THOTH-SECRET-001", resource, msg) if {
	regex.match(access_key_pattern, input_text)
	walk(input, [path, value])
	is_string(value)
	regex.match(access_key_pattern, value)
	resource := resource_for(path)
	msg := sprintf("AWS access key id hardcoded in %s", [where(path, resource)])
}

deny_hardcoded_secret contains finding("THOTH-SECRET-002", resource, msg) if {
	regex.match(private_key_pattern, input_text)
	walk(input, [path, value])
	is_string(value)
	regex.match(private_key_pattern, value)
	resource := resource_for(path)
	msg := sprintf("private key hardcoded in %s", [where(path, resource)])
}

# --- THOTH-SECRET-003: Terraform ----------------------------------------------------------------

deny_hardcoded_secret contains finding("THOTH-SECRET-003", resource, msg) if {
	tf.is_config
	walk(input, [path, value])
	count(path) > 1
	secret_name(path[count(path) - 1])
	literal_secret(value)
	resource := resource_for(path)
	msg := sprintf("%s is set to a literal value", [where(path, resource)])
}

deny_hardcoded_secret contains finding("THOTH-SECRET-003", v.address, msg) if {
	some v in tf.variables
	secret_name(v.name)
	literal_secret(v.config.default)
	msg := sprintf("variable %q has a literal default value: pass secrets at run time, not as defaults", [v.name])
}

# Plans: the values Terraform will send (only attributes named like secrets; sensitive values
# are redacted from plans by Terraform itself, so this catches resources that do not mark them).
deny_hardcoded_secret contains finding("THOTH-SECRET-003", resource, msg) if {
	tf.is_plan
	some r in tf.resources
	some key, value in r.config
	secret_name(key)
	literal_secret(value)
	resource := r.address
	msg := sprintf("%s (%s) is set to a literal value", [resource, key])
}

# --- THOTH-SECRET-004: Kubernetes ---------------------------------------------------------------

deny_hardcoded_secret contains finding("THOTH-SECRET-004", k8s.resource, msg) if {
	some c in k8s.containers
	some env in util.arr(util.get(c.container, "env", []))
	secret_name(util.get(env, "name", ""))
	literal_secret(util.get(env, "value", ""))
	msg := sprintf("%s of %s sets %s to a literal value: use valueFrom.secretKeyRef", [k8s.describe(c), k8s.resource, env.name])
}

deny_hardcoded_secret contains finding("THOTH-SECRET-004", k8s.resource, msg) if {
	k8s.is_object_doc
	input.kind == "Secret"
	keys := [k | some field in ["data", "stringData"]; some k, _ in util.obj(input[field])]
	count(keys) > 0
	msg := sprintf("Secret manifest commits %d value(s) (%s) to git", [count(keys), concat(", ", sort(keys))])
}

# --- THOTH-SECRET-005: Dockerfile ---------------------------------------------------------------

# Dockerfile results carry the instruction's line (thoth-bot uses a result's `line`).
line_of(instr) := {"line": instr.Line} if {
	is_number(instr.Line)
} else := {}

dockerfile if {
	is_array(input)
	count(input) > 0
	every instr in input {
		is_string(instr.Cmd)
	}
}

deny_hardcoded_secret contains object.union(finding("THOTH-SECRET-005", "", msg), line_of(instr)) if {
	dockerfile
	some instr in input
	instr.Cmd in {"env", "arg"}
	values := util.arr(instr.Value)
	some i, name in values
	i % 2 == 0
	secret_name(name)
	value := values[i + 1]
	literal_secret(value)
	not contains(value, "$")
	msg := sprintf("%s %s on line %v is set to a literal value", [upper(instr.Cmd), name, object.get(instr, "Line", "?")])
}
