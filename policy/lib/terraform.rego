# Terraform input helpers: one view of resources, data sources, modules and providers over the
# three input shapes thoth-bot can give a policy:
#   - object shape (default): input.resource.TYPE.NAME = {...}, nested blocks are lists;
#   - conftest shape:         input.resource.TYPE.NAME = [{...}];
#   - plan JSON:              input.resource_changes[_] with change.after.
package thoth.lib.terraform

import rego.v1

import data.thoth.lib.util

# True when the input is a Terraform configuration (.tf / .tf.json converted to JSON): an object
# whose top-level keys are all Terraform block types, with at least one of them. Documents that
# merely have a `resource` or `data` key (Azure DevOps webhook payloads, ConfigMaps) are not.
terraform_blocks := {
	"resource", "data", "module", "variable", "output", "provider", "terraform", "locals",
	"moved", "import", "check", "removed",
}

is_config if {
	is_object(input)
	count(input) > 0
	every key, _ in input {
		key in terraform_blocks
	}
}

# True when the input is a plan rendered by `terraform show -json`.
is_plan if {
	is_object(input)
	input.format_version
	is_array(input.resource_changes)
}

# Every managed resource: {"type", "name", "address", "config", "source"}.
# source is "config" for .tf files and "plan" for plan JSON; cross-resource checks (does an
# encryption resource reference this bucket?) only run on "config", where names are visible.
resources contains r if {
	is_config
	some type, by_name in util.obj(input.resource)
	regex.match(`^[a-z0-9]+_[a-z0-9_]+$`, type)
	some name, body in util.obj(by_name)
	some config in util.list(body)
	is_object(config)
	r := {
		"type": type,
		"name": name,
		"address": sprintf("%s.%s", [type, name]),
		"config": config,
		"source": "config",
	}
}

resources contains r if {
	is_plan
	some rc in input.resource_changes
	is_object(rc)
	util.get(rc, "mode", "managed") == "managed"
	change := util.obj(rc.change)
	not util.strings(util.get(change, "actions", [])) == ["delete"]
	is_object(change.after)
	r := {
		"type": rc.type,
		"name": rc.name,
		"address": rc.address,
		"config": change.after,
		"source": "plan",
	}
}

# Resources of one type.
resources_of(type) := {r | some r in resources; r.type == type}

# Data sources: {"type", "name", "address", "config"}.
data_sources contains d if {
	is_config
	some type, by_name in util.obj(input.data)
	some name, body in util.obj(by_name)
	some config in util.list(body)
	is_object(config)
	d := {
		"type": type,
		"name": name,
		"address": sprintf("data.%s.%s", [type, name]),
		"config": config,
	}
}

# Module calls: {"name", "address", "config"}.
modules contains m if {
	is_config
	some name, body in util.obj(input.module)
	some config in util.list(body)
	is_object(config)
	m := {"name": name, "address": sprintf("module.%s", [name]), "config": config}
}

# Provider blocks of one provider name (object, or list in conftest shape / aliases).
providers(name) := [p | some p in util.list(input.provider[name]); is_object(p)] if {
	is_config
	is_object(input.provider)
} else := []

# Variables: {"name", "address", "config"}.
variables contains v if {
	is_config
	some name, body in util.obj(input.variable)
	some config in util.list(body)
	is_object(config)
	v := {"name": name, "address": sprintf("var.%s", [name]), "config": config}
}

# Whether a value (an attribute such as `bucket = aws_s3_bucket.logs.id`) references the resource
# TYPE.NAME: `${aws_s3_bucket.logs.id}`, `${aws_s3_bucket.logs[0].arn}`, `${aws_s3_bucket.logs["a"].id}`.
references(value, type, name) if {
	is_string(value)
	regex.match(sprintf(`(^|[^A-Za-z0-9_.])%s\.%s([\[.}]|$)`, [type, name]), value)
}

# The tags of a resource config as an object ({} when absent or an unevaluated expression).
# Plans carry `tags_all`, which already includes the provider's default_tags.
tags(config) := config.tags_all if {
	is_object(config.tags_all)
} else := config.tags if {
	is_object(config.tags)
} else := {}

# Whether a resource's tags are an expression we cannot evaluate (`merge(local.tags, {...})`).
tags_unknown(config) if util.is_expression(config.tags)
