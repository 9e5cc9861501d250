# Legacy copy from before the hcl/ and cloudformation/ split.
package main

deny[res] {
	db := input.resource.aws_db_instance[name]
	not db.multi_az
	res := {"msg": sprintf("aws_db_instance.%s: legacy rds rule", [name]), "id": "ORG-RDS-LEGACY"}
}
