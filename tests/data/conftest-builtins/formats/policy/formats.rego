package formats

import rego.v1

deny contains msg if {
	some name, sg in input.resource.aws_security_group
	some rule in sg.ingress
	"0.0.0.0/0" in rule.cidr_blocks
	msg := sprintf("security group %s is open to the internet", [name])
}

deny contains msg if {
	some instr in input
	instr.Cmd == "from"
	not startswith(instr.Value[0], data.registries.allowed)
	msg := sprintf("base image %s is not from %s", [instr.Value[0], data.registries.allowed])
}
