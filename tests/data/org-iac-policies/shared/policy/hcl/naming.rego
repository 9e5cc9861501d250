# Resource naming convention (data.config.naming_pattern / naming_description).
package main

import rego.v1

naming_description := data.config.naming_description

warn contains res if {
	some type, name
	input.resource[type][name]
	not regex.match(data.config.naming_pattern, name)
	res := {
		"msg": sprintf("%s.%s does not follow naming convention '%s'", [type, name, naming_description]),
		"id": "ORG-NAME-001",
		"resource": sprintf("%s.%s", [type, name]),
	}
}
