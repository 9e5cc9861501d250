# The same web shop stack, written to pass every deny rule of thoth-bot's default policies.

terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

locals {
  name_prefix = "${var.environment}-shop"

  # Required tags (Environment, Owner, CostCenter), merged into every resource's tags.
  common_tags = {
    Environment = var.environment
    Owner       = "shop-team"
    CostCenter  = "cc-4711"
    ManagedBy   = "terraform"
  }
}

# Registry module pinned to one exact version.
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"

  name            = "${local.name_prefix}-vpc"
  cidr            = "10.0.0.0/16"
  azs             = ["eu-west-1a", "eu-west-1b"]
  public_subnets  = ["10.0.1.0/24", "10.0.2.0/24"]
  private_subnets = ["10.0.11.0/24", "10.0.12.0/24"]

  tags = local.common_tags
}

# Git module pinned to a release tag.
module "logs" {
  source = "git::https://github.com/acme/terraform-modules.git//log-bucket?ref=v2.3.0"

  name = "${local.name_prefix}-logs"
  tags = local.common_tags
}

module "uploads" {
  source = "./modules/bucket"

  name              = "${local.name_prefix}-uploads"
  kms_key_arn       = aws_kms_key.data.arn
  access_log_bucket = var.access_log_bucket
  tags              = local.common_tags
}

resource "aws_kms_key" "data" {
  description         = "Encryption key for shop data (S3, RDS)"
  enable_key_rotation = true

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-data" })
}

# Private, encrypted assets bucket; public content is served through CloudFront (not shown).
resource "aws_s3_bucket" "assets" {
  bucket = "${local.name_prefix}-assets"

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-assets" })
}

resource "aws_s3_bucket_ownership_controls" "assets" {
  bucket = aws_s3_bucket.assets.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "assets" {
  bucket = aws_s3_bucket.assets.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "assets" {
  bucket = aws_s3_bucket.assets.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "assets" {
  bucket = aws_s3_bucket.assets.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "assets" {
  bucket = aws_s3_bucket.assets.id

  target_bucket = var.access_log_bucket
  target_prefix = "s3/assets/"
}

# HTTPS from the internet is fine for the load balancer; no SSH, use Session Manager instead.
resource "aws_security_group" "web" {
  name        = "${local.name_prefix}-web"
  description = "Web load balancer"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "To the VPC"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["10.0.0.0/16"]
  }

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-web" })
}

resource "aws_security_group" "db" {
  name        = "${local.name_prefix}-db"
  description = "PostgreSQL, reachable from the web tier only"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description     = "PostgreSQL from the web tier"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.web.id]
  }

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-db" })
}

resource "aws_db_subnet_group" "db" {
  name       = "${local.name_prefix}-db"
  subnet_ids = module.vpc.private_subnets

  tags = local.common_tags
}

# Encrypted with a customer-managed key, private, password managed by RDS in Secrets Manager.
resource "aws_db_instance" "orders" {
  identifier                  = "${local.name_prefix}-orders"
  engine                      = "postgres"
  engine_version              = "16.3"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  username                    = "shop"
  manage_master_user_password = true
  db_subnet_group_name        = aws_db_subnet_group.db.name
  vpc_security_group_ids      = [aws_security_group.db.id]
  publicly_accessible         = false
  storage_encrypted           = true
  kms_key_id                  = aws_kms_key.data.arn
  backup_retention_period     = 7
  deletion_protection         = true

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-orders" })
}

# Least privilege: the application reads and writes its own bucket, nothing else.
data "aws_iam_policy_document" "app" {
  statement {
    sid       = "AssetsReadWrite"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.assets.arn}/*"]
  }

  statement {
    sid       = "AssetsList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.assets.arn]
  }
}

resource "aws_iam_policy" "app" {
  name        = "${local.name_prefix}-app"
  description = "Permissions of the shop application"
  policy      = data.aws_iam_policy_document.app.json

  tags = local.common_tags
}
