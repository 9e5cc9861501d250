# Resource names follow `{env}-{service}-{name}` (warning).
#
# Checked on literal values only: `name` of any resource, `bucket` of aws_s3_bucket,
# `identifier` / `cluster_identifier` of databases, and the `Name` tag. Values with `${...}`
# (built from variables) are not checked, nor values that are paths, DNS names or ARNs
# (containing "/", "." or ":"), whose format is imposed by AWS.
#
# Configuration (data.thoth.naming):
#   environments  the allowed {env} prefixes (default dev, test, qa, stage, staging, uat, prod,
#                 sandbox, shared)
#   pattern       a full regular expression replacing the default
#                 `^(<environments>)-[a-z0-9]+-[a-z0-9][a-z0-9-]*$`
#   exempt_types  resource types not checked (default: see below)
package thoth.terraform.naming

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {"THOTH-TF-NAMING-001": {
	"title": "Resource name does not follow {env}-{service}-{name}",
	"description": "Literal resource names (`name`, `bucket`, `identifier`, the `Name` tag) should start with an environment, then the service, then the resource's own name, in lowercase with dashes, e.g. `prod-payments-ledger`. Consistent names make ownership, cost reports and IAM conditions on name prefixes work.",
	"remediation": "Rename to `<env>-<service>-<name>`, typically `\"${var.environment}-${var.service}-ledger\"`. Allowed environments and the pattern itself are set under `naming` in the policy data.",
}}

environments := envs if {
	envs := util.string_list(data.thoth.naming.environments, null)
	is_array(envs)
	count(envs) > 0
} else := ["dev", "test", "qa", "stage", "staging", "uat", "prod", "sandbox", "shared"]

pattern := p if {
	p := data.thoth.naming.pattern
	is_string(p)
	regex.is_valid(p)
} else := sprintf(`^(%s)-[a-z0-9]+-[a-z0-9][a-z0-9-]*$`, [concat("|", environments)])

exempt_types := types if {
	types := util.string_list(data.thoth.naming.exempt_types, null)
	is_array(types)
} else := [
	"aws_route53_record", "aws_route53_zone", "aws_acm_certificate", "aws_ssm_parameter",
	"aws_cloudwatch_log_group", "aws_iam_openid_connect_provider", "aws_key_pair",
]

# Attributes holding a name: a set of [label, value].
names(r) := by_key | bucket | name_tag if {
	by_key := {[key, value] | some key in ["name", "identifier", "cluster_identifier"]; value := r.config[key]}
	bucket := {["bucket", r.config.bucket] | r.type == "aws_s3_bucket"}
	name_tag := {["tags.Name", value] | value := util.obj(r.config.tags).Name}
}

# How the convention is shown in messages.
convention := sprintf("(pattern %s)", [pattern]) if {
	is_string(data.thoth.naming.pattern)
} else := sprintf("{env}-{service}-{name} (env one of %s)", [concat(", ", environments)])

checkable(value) if {
	util.is_literal_string(value)
	not regex.match(`[/.:]`, value)
}

warn_naming_convention contains result if {
	some r in tf.resources
	r.source == "config"
	not r.type in exempt_types
	some [label, value] in names(r)
	checkable(value)
	not regex.match(pattern, value)
	result := {
		"msg": sprintf("%s %s %q does not follow the naming convention %s", [r.address, label, value, convention]),
		"id": "THOTH-TF-NAMING-001",
		"severity": "low",
		"resource": r.address,
	}
}
