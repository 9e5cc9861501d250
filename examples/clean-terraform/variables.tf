variable "region" {
  description = "AWS region to deploy to (must be in the allowed regions)"
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Deployment environment, the first part of every resource name"
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "datadog_api_key" {
  description = "API key for the Datadog forwarder, passed from the pipeline's secret store"
  type        = string
  sensitive   = true
}

variable "access_log_bucket" {
  description = "Bucket that receives the S3 server access logs of the account"
  type        = string
}
