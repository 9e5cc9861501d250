output "assets_bucket" {
  description = "Name of the public assets bucket"
  value       = aws_s3_bucket.assets.bucket
}

output "db_endpoint" {
  description = "Connection endpoint of the orders database"
  value       = aws_db_instance.orders.endpoint
}

output "web_security_group_id" {
  value = aws_security_group.web.id
}
