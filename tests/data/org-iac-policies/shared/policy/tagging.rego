# Legacy copy from before the hcl/ and cloudformation/ split.
package main

required_tags := {"Environment", "Owner", "CostCenter"}

deny[res] {
	resource := input.resource[type][name]
	tags := object.get(resource, "tags", {})
	missing := required_tags - {k | tags[k]}
	count(missing) > 0
	res := {"msg": sprintf("%s.%s: legacy tagging rule", [type, name]), "id": "ORG-TAG-LEGACY"}
}
