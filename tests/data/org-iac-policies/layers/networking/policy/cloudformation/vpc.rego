# No security group ingress from anywhere (CloudFormation).
package main

import rego.v1

deny contains res if {
	some name, resource in input.Resources
	resource.Type == "AWS::EC2::SecurityGroup"
	some rule in object.get(resource.Properties, "SecurityGroupIngress", [])
	rule.CidrIp == "0.0.0.0/0"
	res := {
		"msg": sprintf("%s allows ingress from 0.0.0.0/0", [name]),
		"id": "ORG-NET-CFN-001",
		"resource": name,
	}
}
