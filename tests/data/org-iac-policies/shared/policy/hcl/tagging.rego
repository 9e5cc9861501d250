# Required tags on every tagged Terraform resource (data.config.required_tags).
package main

import rego.v1

required_tags := {t | some t in data.config.required_tags}

deny contains res if {
	some type, name
	resource := input.resource[type][name]
	is_object(resource)
	tags := object.get(resource, "tags", {})
	is_object(tags)
	missing := required_tags - {k | some k, _ in tags}
	count(missing) > 0
	res := {
		"msg": sprintf("%s.%s is missing required tags: %v", [type, name, sort(missing)]),
		"id": "ORG-TAG-001",
		"resource": sprintf("%s.%s", [type, name]),
	}
}
