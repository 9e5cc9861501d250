output "assets_bucket" {
  description = "Name of the assets bucket"
  value       = aws_s3_bucket.assets.bucket
}

output "db_endpoint" {
  description = "Connection endpoint of the orders database"
  value       = aws_db_instance.orders.endpoint
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret holding the database master password"
  value       = aws_db_instance.orders.master_user_secret[0].secret_arn
}
