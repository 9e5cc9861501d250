package thoth.lib.terraform_test

import rego.v1

import data.thoth.lib.terraform as tf

test_is_config_for_terraform_documents if {
	tf.is_config with input as {"resource": {"aws_s3_bucket": {"b": {}}}}
	tf.is_config with input as {"terraform": [{"required_version": ">= 1.6"}], "locals": [{"a": 1}]}
	tf.is_config with input as {"variable": {"region": {"default": "eu-west-1"}}, "output": {"x": {"value": "${var.region}"}}}
}

test_is_config_rejects_other_documents if {
	# an Azure DevOps webhook payload has a top-level `resource` object too
	not tf.is_config with input as {"eventType": "git.push", "resource": {"repository": {"project": {"name": "Core"}}}}
	not tf.is_config with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
	not tf.is_config with input as {}
	not tf.is_config with input as [{"Cmd": "from"}]
	not tf.is_config with input as "resource"
}

test_resources_object_conftest_and_plan_shapes if {
	object_shape := {"resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}}
	{r.address | some r in tf.resources} == {"aws_s3_bucket.b"} with input as object_shape
	conftest_shape := {"resource": {"aws_s3_bucket": {"b": [{"bucket": "x"}]}}}
	{r.address | some r in tf.resources} == {"aws_s3_bucket.b"} with input as conftest_shape
	plan := {"format_version": "1.2", "resource_changes": [
		{"address": "module.m.aws_s3_bucket.b[0]", "mode": "managed", "type": "aws_s3_bucket", "name": "b", "change": {"actions": ["create"], "after": {"bucket": "x"}}},
		{"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity", "name": "me", "change": {"actions": ["read"], "after": {}}},
		{"address": "aws_s3_bucket.gone", "mode": "managed", "type": "aws_s3_bucket", "name": "gone", "change": {"actions": ["delete"], "after": null}},
	]}
	{[r.address, r.source] | some r in tf.resources} == {["module.m.aws_s3_bucket.b[0]", "plan"]} with input as plan
}

test_references if {
	tf.references("${aws_s3_bucket.logs.id}", "aws_s3_bucket", "logs")
	tf.references("${aws_s3_bucket.logs[0].id}", "aws_s3_bucket", "logs")
	tf.references("${aws_s3_bucket.logs[\"a\"].arn}", "aws_s3_bucket", "logs")
	not tf.references("${aws_s3_bucket.logs_archive.id}", "aws_s3_bucket", "logs")
	not tf.references("${module.x_aws_s3_bucket.logs.id}", "aws_s3_bucket", "logs")
	not tf.references("logs", "aws_s3_bucket", "logs")
	not tf.references(42, "aws_s3_bucket", "logs")
}

test_tags if {
	tf.tags({"tags": {"a": "b"}}) == {"a": "b"}
	tf.tags({"tags": {"a": "b"}, "tags_all": {"a": "b", "c": "d"}}) == {"a": "b", "c": "d"}
	tf.tags({"tags": "${local.tags}"}) == {}
	tf.tags({}) == {}
	tf.tags_unknown({"tags": "${local.tags}"})
	not tf.tags_unknown({"tags": {}})
}
