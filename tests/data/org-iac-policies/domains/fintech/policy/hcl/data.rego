# Point-in-time recovery for DynamoDB tables.
package main

import rego.v1

deny contains res if {
	some name, table in input.resource.aws_dynamodb_table
	not pitr_enabled(table)
	res := {
		"msg": sprintf("aws_dynamodb_table.%s has no point-in-time recovery", [name]),
		"id": "ORG-FIN-001",
		"resource": sprintf("aws_dynamodb_table.%s", [name]),
	}
}

pitr_enabled(table) if {
	some p in object.get(table, "point_in_time_recovery", [])
	p.enabled == true
}
