# Required tags on every CloudFormation resource with Tags.
package main

import rego.v1

required_tags := {t | some t in data.config.required_tags}

deny contains res if {
	some name, resource in input.Resources
	tags := resource.Properties.Tags
	is_array(tags)
	missing := required_tags - {t.Key | some t in tags}
	count(missing) > 0
	res := {
		"msg": sprintf("%s (%s) is missing required tags: %v", [name, resource.Type, sort(missing)]),
		"id": "ORG-CFN-TAG-001",
		"resource": name,
	}
}
