variable "name" {
  description = "Bucket name, following {env}-{service}-{name}"
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key used to encrypt objects"
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket that receives the bucket's S3 server access logs"
  type        = string
}

variable "tags" {
  description = "Tags applied to the bucket (must include Environment, Owner, CostCenter)"
  type        = map(string)
}
