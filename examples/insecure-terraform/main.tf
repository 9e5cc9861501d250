# A deliberately insecure web shop stack: thoth-bot's default policies should block it.
# See README.md for the findings each block is expected to raise.

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

# Unpinned registry module: no version, `terraform init` takes whatever is latest.
module "vpc" {
  source = "terraform-aws-modules/vpc/aws"

  name            = "shop-vpc"
  cidr            = "10.0.0.0/16"
  azs             = ["eu-west-1a", "eu-west-1b"]
  public_subnets  = ["10.0.1.0/24", "10.0.2.0/24"]
  private_subnets = ["10.0.11.0/24", "10.0.12.0/24"]
}

# Module from a git branch: the code changes whenever someone pushes to main.
module "logs" {
  source = "git::https://github.com/acme/terraform-modules.git//log-bucket?ref=main"

  name = "shop-logs"
}

module "uploads" {
  source = "./modules/bucket"

  name = "${var.environment}-shop-uploads"
  tags = { Environment = var.environment }
}

# Public bucket: no encryption, no public access block, a public-read ACL and no tags.
resource "aws_s3_bucket" "assets" {
  bucket = "shop-assets"
}

resource "aws_s3_bucket_acl" "assets" {
  bucket = aws_s3_bucket.assets.id
  acl    = "public-read"
}

resource "aws_security_group" "web" {
  name        = "web"
  description = "Web servers"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description = "SSH from anywhere"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = {
    Name = "web"
  }
}

resource "aws_security_group" "db" {
  name        = "prod-shop-db"
  description = "PostgreSQL"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description = "PostgreSQL from anywhere"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = {
    Environment = "prod"
    Owner       = "shop-team"
    CostCenter  = "cc-4711"
  }
}

resource "aws_db_subnet_group" "db" {
  name       = "prod-shop-db"
  subnet_ids = module.vpc.public_subnets
}

# Unencrypted, reachable from the internet, with the master password in the code.
resource "aws_db_instance" "orders" {
  identifier             = "prod-shop-orders"
  engine                 = "postgres"
  engine_version         = "16.3"
  instance_class         = "db.t4g.medium"
  allocated_storage      = 50
  username               = "shop"
  password               = "SuperSecret123!"
  db_subnet_group_name   = aws_db_subnet_group.db.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = true
  storage_encrypted      = false
  skip_final_snapshot    = true

  tags = {
    Environment = "prod"
    Owner       = "shop-team"
    CostCenter  = "cc-4711"
  }
}

# Administrator access for the application role.
resource "aws_iam_policy" "app" {
  name        = "prod-shop-app"
  description = "Permissions of the shop application"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "*"
        Resource = "*"
      },
    ]
  })
}
