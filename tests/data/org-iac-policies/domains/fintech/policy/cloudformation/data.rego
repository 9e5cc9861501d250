# Point-in-time recovery for DynamoDB tables (CloudFormation).
package main

import rego.v1

deny contains res if {
	some name, resource in input.Resources
	resource.Type == "AWS::DynamoDB::Table"
	not resource.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == true
	res := {"msg": sprintf("%s has no point-in-time recovery", [name]), "id": "ORG-FIN-CFN-001", "resource": name}
}
