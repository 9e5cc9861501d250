# Legacy copy from before the hcl/ and cloudformation/ split.
package main

naming_description := "{env}-{name}"

warn[res] {
	input.resource[type][name]
	res := {"msg": sprintf("%s.%s: legacy naming rule (%s)", [type, name, naming_description]), "id": "ORG-NAME-LEGACY"}
}
