# AWS regions must be in the allowed list (data residency, cost, DR planning).
#
# Checked: `region` of every `provider "aws"` block (including aliases), a literal `region`
# argument on AWS resources (AWS provider v6 per-resource region), and in plan JSON the
# provider configuration's constant region. Allowed regions: data.thoth.allowed_regions
# (default us-east-1, us-west-2, eu-west-1, eu-central-1). Regions given as expressions
# (`var.region`) cannot be checked here.
package thoth.terraform.regions

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {"THOTH-AWS-REGION-001": {
	"title": "AWS region not allowed",
	"description": "A provider or resource targets an AWS region outside the organisation's allowed list (`allowed_regions` in the policy data). Resources there escape data-residency commitments, service control policies and DR plans.",
	"remediation": "Use one of the allowed regions, or get the region approved and added to `allowed_regions` in the org policy data.",
}}

allowed_regions := regions if {
	regions := util.string_list(data.thoth.allowed_regions, null)
	is_array(regions)
} else := ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]

finding(resource, where, region) := {
	"msg": sprintf("%s uses region %q, which is not in the allowed regions (%s)", [where, region, concat(", ", allowed_regions)]),
	"id": "THOTH-AWS-REGION-001",
	"severity": "high",
	"resource": resource,
}

provider_label(p) := sprintf("provider \"aws\" (alias %q)", [p.alias]) if {
	is_string(p.alias)
} else := "provider \"aws\""

deny_region_not_allowed contains finding("provider.aws", provider_label(p), region) if {
	some p in tf.providers("aws")
	region := p.region
	util.is_literal_string(region)
	not region in allowed_regions
}

deny_region_not_allowed contains finding(r.address, r.address, region) if {
	some r in tf.resources
	r.source == "config"
	startswith(r.type, "aws_")
	region := r.config.region
	util.is_literal_string(region)
	not region in allowed_regions
}

deny_region_not_allowed contains finding(key, sprintf("provider %q", [key]), region) if {
	tf.is_plan
	some key, cfg in util.obj(input.configuration.provider_config)
	util.get(cfg, "name", "") == "aws"
	region := cfg.expressions.region.constant_value
	is_string(region)
	not region in allowed_regions
}
