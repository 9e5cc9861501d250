# Required tags on taggable resources.
#
# Required keys: data.thoth.required_tags (default Environment, Owner, CostCenter), matched
# case-sensitively as AWS tag policies do. A resource is checked when its type is in
# data.thoth.taggable_resource_types (default: the common AWS types below) or when it has a
# `tags` attribute at all (so azurerm and other providers are covered too).
#
# Where the tags come from:
#   - a literal `tags = {...}` map, or `tag {}` blocks (aws_autoscaling_group);
#   - an expression such as `merge(local.common_tags, { Name = "x" })`: keys written in the
#     expression plus the keys of `local.*` maps defined in the SAME file are used; when the
#     expression references anything else (var.*, module.*, data.*, a local defined in another
#     file) the tags cannot be known and the resource is not reported;
#   - `default_tags { tags = {...} }` of an aws provider in the same file;
#   - plans: `tags_all`, which includes the provider's default_tags.
# Limitation: default_tags configured in another file are not visible; repeat the required tags
# on resources (a `local.common_tags` map in each file) or set required_tags in policy data.
package thoth.terraform.tags

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {"THOTH-TF-TAGS-001": {
	"title": "Resource missing required tags",
	"description": "The resource does not carry every tag in `required_tags` (default: Environment, Owner, CostCenter). Untagged resources cannot be attributed for cost, ownership or incident response.",
	"remediation": "Add the missing keys to `tags` (or to a `local.common_tags` map merged into every resource's tags, or to the aws provider's `default_tags`). Org-specific keys are configured with `required_tags` in the policy data.",
}}

required_tags := tags if {
	tags := util.string_list(data.thoth.required_tags, null)
	is_array(tags)
} else := ["Environment", "Owner", "CostCenter"]

taggable_types := types if {
	types := util.string_list(data.thoth.taggable_resource_types, null)
	is_array(types)
} else := [
	"aws_s3_bucket", "aws_instance", "aws_db_instance", "aws_rds_cluster", "aws_vpc", "aws_subnet",
	"aws_security_group", "aws_lb", "aws_alb", "aws_lb_target_group", "aws_ecs_cluster",
	"aws_ecs_service", "aws_eks_cluster", "aws_eks_node_group", "aws_lambda_function",
	"aws_dynamodb_table", "aws_kms_key", "aws_iam_role", "aws_sqs_queue", "aws_sns_topic",
	"aws_ebs_volume", "aws_efs_file_system", "aws_elasticache_cluster",
	"aws_elasticache_replication_group", "aws_cloudwatch_log_group", "aws_nat_gateway",
	"aws_internet_gateway", "aws_launch_template", "aws_ecr_repository",
	"aws_secretsmanager_secret", "aws_autoscaling_group", "aws_route_table", "aws_eip",
	"aws_api_gateway_rest_api", "aws_apigatewayv2_api", "aws_cloudfront_distribution",
	"aws_opensearch_domain", "aws_redshift_cluster", "aws_kinesis_stream", "aws_sfn_state_machine",
]

# Keys of local maps defined in this file: local name -> set of keys.
local_maps[name] := {k | some k, _ in value} if {
	some block in util.arr(input.locals)
	some name, value in util.obj(block)
	is_object(value)
}

# Keys set by default_tags of aws providers in this file.
default_tag_keys contains k if {
	some p in tf.providers("aws")
	some dt in util.arr(p.default_tags)
	some k, _ in util.obj(util.get(dt, "tags", {}))
}

# References in a tags expression that decide its keys and that we cannot resolve. References
# used as values (`Environment = var.env`, `"${local.prefix}-x"`) do not decide keys: quoted
# strings and `= value` parts are removed before looking.
unresolved_refs(text) := {ref |
	no_strings := regex.replace(text, `"([^"\\]|\\.)*"`, `""`)
	structural := regex.replace(no_strings, `=\s*[A-Za-z_][A-Za-z0-9_.]*(\[[^\]]*\])*`, `= _`)
	some ref in regex.find_n(`(var|local|module|data|each|count)\.[A-Za-z0-9_]+`, structural, -1)
	not resolvable(ref)
}

resolvable(ref) if {
	startswith(ref, "local.")
	local_maps[trim_prefix(ref, "local.")]
}

# Keys of a tags expression: written inline (`Name = "x"`, `"Owner" = "y"`) or from local maps.
expression_keys(text) := inline | from_locals if {
	inline := {key |
		some m in regex.find_all_string_submatch_n(`"?([A-Za-z0-9_:.-]+)"?\s*=[^=]`, text, -1)
		key := m[1]
	}
	from_locals := {k |
		some ref in regex.find_n(`local\.[A-Za-z0-9_]+`, text, -1)
		some k in local_maps[trim_prefix(ref, "local.")]
	}
}

# Tag keys of a resource, undefined when they cannot be known.
tag_keys(r) := {k | some t in r.config.tag; k := util.get(t, "key", "")} | default_tag_keys if {
	count(util.arr(r.config.tag)) > 0
} else := {k | some k, _ in tf.tags(r.config)} | default_tag_keys if {
	not tf.tags_unknown(r.config)
} else := expression_keys(r.config.tags) | default_tag_keys if {
	count(unresolved_refs(r.config.tags)) == 0
}

checked(r) if r.type in taggable_types

checked(r) if "tags" in object.keys(r.config)

deny_missing_tags contains result if {
	some r in tf.resources
	checked(r)
	keys := tag_keys(r)
	missing := [t | some t in required_tags; not t in keys]
	count(missing) > 0
	result := {
		"msg": sprintf("%s is missing required tags: %s", [r.address, concat(", ", missing)]),
		"id": "THOTH-TF-TAGS-001",
		"severity": "medium",
		"resource": r.address,
	}
}
