# Databases: storage encryption and public accessibility.
#
# storage_encrypted defaults to false on aws_db_instance, aws_rds_cluster, aws_docdb_cluster and
# aws_neptune_cluster, so a missing attribute is a finding. Exempt: read replicas
# (`replicate_source_db`, encryption is inherited from the source) and Aurora Serverless v1
# (`engine_mode = "serverless"`, always encrypted). An unevaluated expression
# (`storage_encrypted = var.encrypted`) is not reported.
package thoth.terraform.rds

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-AWS-RDS-001": {
		"title": "Database storage not encrypted",
		"description": "`storage_encrypted` is missing or false (the provider default is false). Data, automated backups, read replicas and snapshots are stored unencrypted, and encryption cannot be turned on later without a snapshot-restore migration.",
		"remediation": "Set `storage_encrypted = true` and `kms_key_id` to a customer-managed KMS key when the database is created.",
	},
	"THOTH-AWS-RDS-002": {
		"title": "Database publicly accessible",
		"description": "`publicly_accessible = true` gives the instance a public IP address and DNS name resolving to it; only the security group stands between the database and the internet.",
		"remediation": "Set `publicly_accessible = false`, put the database in private subnets, and reach it through the application, a bastion or Session Manager port forwarding.",
	},
}

encrypted_types := {"aws_db_instance", "aws_rds_cluster", "aws_docdb_cluster", "aws_neptune_cluster"}

public_types := {"aws_db_instance", "aws_rds_cluster_instance", "aws_neptune_cluster_instance"}

exempt_from_encryption(r) if r.config.replicate_source_db

exempt_from_encryption(r) if r.config.engine_mode == "serverless"

deny_db_unencrypted contains result if {
	some r in tf.resources
	r.type in encrypted_types
	value := object.get(r.config, "storage_encrypted", false)
	not util.is_true(value)
	not util.is_expression(value)
	not exempt_from_encryption(r)
	result := {
		"msg": sprintf("%s does not encrypt its storage (storage_encrypted is %v)", [r.address, value]),
		"id": "THOTH-AWS-RDS-001",
		"severity": "high",
		"pattern": "unencrypted_databases",
		"resource": r.address,
	}
}

deny_db_public contains result if {
	some r in tf.resources
	r.type in public_types
	util.is_true(r.config.publicly_accessible)
	result := {
		"msg": sprintf("%s is publicly accessible (publicly_accessible = true)", [r.address]),
		"id": "THOTH-AWS-RDS-002",
		"severity": "critical",
		"resource": r.address,
	}
}
