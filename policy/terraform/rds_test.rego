package thoth.terraform.rds_test

import rego.v1

import data.thoth.terraform.rds

ids(results) := {r.id | some r in results}

db(attrs) := {"resource": {"aws_db_instance": {"orders": object.union(
	{
		"identifier": "prod-shop-orders",
		"engine": "postgres",
		"engine_version": "16.3",
		"instance_class": "db.t4g.medium",
		"allocated_storage": 50,
		"username": "app",
		"manage_master_user_password": true,
		"db_subnet_group_name": "${aws_db_subnet_group.private.name}",
	},
	attrs,
)}}}

# --- THOTH-AWS-RDS-001 ---

test_rds_001_missing_storage_encrypted if {
	results := rds.deny_db_unencrypted with input as db({})
	some r in results
	r.id == "THOTH-AWS-RDS-001"
	r.severity == "high"
	r.pattern == "unencrypted_databases"
	r.resource == "aws_db_instance.orders"
}

test_rds_001_explicit_false if {
	results := rds.deny_db_unencrypted with input as db({"storage_encrypted": false})
	"THOTH-AWS-RDS-001" in ids(results)
}

test_rds_001_aurora_cluster if {
	results := rds.deny_db_unencrypted with input as {"resource": {"aws_rds_cluster": {"main": {
		"cluster_identifier": "prod-shop-aurora",
		"engine": "aurora-postgresql",
		"master_username": "app",
		"manage_master_user_password": true,
	}}}}
	some r in results
	r.resource == "aws_rds_cluster.main"
}

test_rds_001_encrypted_passes if {
	count(rds.deny_db_unencrypted) == 0 with input as db({"storage_encrypted": true, "kms_key_id": "${aws_kms_key.rds.arn}"})
}

test_rds_001_replica_and_serverless_v1_are_exempt if {
	count(rds.deny_db_unencrypted) == 0 with input as {"resource": {
		"aws_db_instance": {"replica": {"replicate_source_db": "${aws_db_instance.orders.identifier}", "instance_class": "db.t4g.medium"}},
		"aws_rds_cluster": {"sls": {"engine": "aurora-mysql", "engine_mode": "serverless"}},
	}}
}

test_rds_001_expression_is_not_reported if {
	count(rds.deny_db_unencrypted) == 0 with input as db({"storage_encrypted": "${var.encrypted}"})
}

# --- THOTH-AWS-RDS-002 ---

test_rds_002_publicly_accessible if {
	results := rds.deny_db_public with input as db({"storage_encrypted": true, "publicly_accessible": true})
	some r in results
	r.id == "THOTH-AWS-RDS-002"
	r.severity == "critical"
	r.resource == "aws_db_instance.orders"
}

test_rds_002_cluster_instance if {
	results := rds.deny_db_public with input as {"resource": {"aws_rds_cluster_instance": {"one": {
		"cluster_identifier": "${aws_rds_cluster.main.id}",
		"instance_class": "db.r6g.large",
		"publicly_accessible": true,
	}}}}
	"THOTH-AWS-RDS-002" in ids(results)
}

test_rds_002_private_passes if {
	count(rds.deny_db_public) == 0 with input as db({"publicly_accessible": false})
	count(rds.deny_db_public) == 0 with input as db({})
}

test_plan_input if {
	results := rds.deny_db_unencrypted with input as {"format_version": "1.2", "resource_changes": [{
		"address": "module.db.aws_db_instance.this[0]",
		"mode": "managed",
		"type": "aws_db_instance",
		"name": "this",
		"change": {"actions": ["create"], "after": {"storage_encrypted": false, "publicly_accessible": false}},
	}]}
	{r.resource | some r in results} == {"module.db.aws_db_instance.this[0]"}
}

test_other_documents_are_ignored if {
	count(rds.deny_db_unencrypted) == 0 with input as [{"Cmd": "from", "Value": ["postgres:16"]}]
	count(rds.deny_db_public) == 0 with input as {"resource": {"aws_db_instance": ["${x}"]}}
}

test_docs_cover_every_id if {
	every id in {"THOTH-AWS-RDS-001", "THOTH-AWS-RDS-002"} {
		rds.docs[id].title
		rds.docs[id].remediation
	}
}
