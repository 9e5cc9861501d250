# Multi-AZ for RDS instances (CloudFormation).
package main

import rego.v1

deny contains res if {
	some name, resource in input.Resources
	resource.Type == "AWS::RDS::DBInstance"
	not resource.Properties.MultiAZ == true
	res := {"msg": sprintf("%s is not multi-AZ", [name]), "id": "ORG-RDS-CFN-002", "resource": name}
}
