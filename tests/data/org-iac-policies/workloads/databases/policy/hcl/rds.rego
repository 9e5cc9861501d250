# Backup retention and multi-AZ for RDS instances (data.config.rds).
package main

import rego.v1

deny contains res if {
	some name, db in input.resource.aws_db_instance
	object.get(db, "backup_retention_period", 0) < data.config.rds.min_backup_retention_days
	res := {
		"msg": sprintf("aws_db_instance.%s keeps backups fewer than %d days", [name, data.config.rds.min_backup_retention_days]),
		"id": "ORG-RDS-001",
		"resource": sprintf("aws_db_instance.%s", [name]),
	}
}

deny contains res if {
	data.config.rds.require_multi_az
	some name, db in input.resource.aws_db_instance
	not db.multi_az == true
	res := {
		"msg": sprintf("aws_db_instance.%s is not multi-AZ", [name]),
		"id": "ORG-RDS-002",
		"resource": sprintf("aws_db_instance.%s", [name]),
	}
}
