# SOC2: no public S3 buckets (CloudFormation).
package soc2

import rego.v1

deny contains res if {
	some name, resource in input.Resources
	resource.Type == "AWS::S3::Bucket"
	resource.Properties.AccessControl in {"PublicRead", "PublicReadWrite"}
	res := {"msg": sprintf("%s is public", [name]), "id": "SOC2-CFN-S3-PUBLIC", "resource": name}
}
