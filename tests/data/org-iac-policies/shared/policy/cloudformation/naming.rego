# Logical id naming convention for CloudFormation resources.
package main

import rego.v1

naming_description := data.config.naming_description

warn contains res if {
	some name, _ in input.Resources
	not regex.match(data.config.naming_pattern, name)
	res := {
		"msg": sprintf("%s does not follow naming convention '%s'", [name, naming_description]),
		"id": "ORG-CFN-NAME-001",
		"resource": name,
	}
}
