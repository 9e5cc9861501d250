# Project rules that read the long forms of intrinsic functions.
package project.cfn

import rego.v1

deny contains res if {
	some name, r in input.Resources
	r.Type == "AWS::S3::Bucket"
	not r.Properties.BucketName["Fn::Sub"]
	res := {"msg": sprintf("%s: BucketName must be built with Fn::Sub", [name]), "id": "PRJ-CFN-SUB", "resource": name}
}

deny contains res if {
	some name, r in input.Resources
	r.Type == "AWS::Lambda::Function"
	not r.Properties.Role["Fn::GetAtt"][1] == "Arn"
	res := {"msg": sprintf("%s: Role must be a GetAtt of a role in this template", [name]), "id": "PRJ-CFN-ROLE", "resource": name}
}
