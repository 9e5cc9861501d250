# No security group ingress from anywhere.
package main

import rego.v1

deny contains res if {
	some name, sg in input.resource.aws_security_group
	some rule in object.get(sg, "ingress", [])
	some cidr in object.get(rule, "cidr_blocks", [])
	cidr == "0.0.0.0/0"
	res := {
		"msg": sprintf("aws_security_group.%s allows ingress from 0.0.0.0/0", [name]),
		"id": "ORG-NET-001",
		"resource": sprintf("aws_security_group.%s", [name]),
	}
}
