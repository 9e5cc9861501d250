# SOC2: no public S3 buckets.
package soc2

import rego.v1

deny contains res if {
	some name, bucket in input.resource.aws_s3_bucket
	bucket.acl in {"public-read", "public-read-write"}
	res := {
		"msg": sprintf("aws_s3_bucket.%s is public", [name]),
		"id": "SOC2-S3-PUBLIC",
		"resource": sprintf("aws_s3_bucket.%s", [name]),
	}
}
