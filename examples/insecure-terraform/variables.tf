variable "region" {
  description = "AWS region to deploy to"
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Deployment environment (dev, staging, prod)"
  type        = string
  default     = "prod"
}

variable "datadog_api_key" {
  description = "API key for the Datadog forwarder"
  type        = string
  default     = "3f9a1c0e7b2d4a6f8e0c1b3d5f7a9e2c"
}
