//! A generated Terraform tree shaped like a public module repository (the one the performance
//! issue measured: 548 `.tf` files, 46k lines): modules of `main.tf` (resources with nested and
//! dynamic blocks, locals, data sources), `variables.tf` (typed variables with descriptions and
//! validations), `outputs.tf` and `versions.tf`, some of them under `examples/`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// What [`generate`] wrote.
pub struct Tree {
    pub files: usize,
    pub lines: usize,
}

fn main_tf(m: usize, resources: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "locals {{\n  name   = \"svc-{m}\"\n  create = var.create && var.putin_khuylo\n  tags   = merge(var.tags, {{ Module = \"m{m}\" }})\n}}\n\ndata \"aws_caller_identity\" \"current\" {{}}\ndata \"aws_partition\" \"current\" {{}}\n"
    );
    for r in 0..resources {
        let public = (m + r).is_multiple_of(9);
        let open = (m + r).is_multiple_of(13);
        let _ = write!(
            s,
            r#"resource "aws_s3_bucket" "this_{r}" {{
  count = local.create ? 1 : 0

  bucket        = "${{local.name}}-bucket-{r}"
  force_destroy = var.force_destroy
  acl           = "{acl}"

  versioning {{
    enabled = {versioning}
  }}

  server_side_encryption_configuration {{
    rule {{
      apply_server_side_encryption_by_default {{
        sse_algorithm     = "aws:kms"
        kms_master_key_id = var.kms_key_arn
      }}
    }}
  }}

  tags = local.tags
}}

resource "aws_security_group" "this_{r}" {{
  name        = "${{local.name}}-sg-{r}"
  description = "Managed by Terraform"
  vpc_id      = var.vpc_id

  ingress {{
    description = "TLS"
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["{cidr}"]
  }}

  dynamic "egress" {{
    for_each = var.egress_rules
    content {{
      from_port   = egress.value.from_port
      to_port     = egress.value.to_port
      protocol    = egress.value.protocol
      cidr_blocks = egress.value.cidr_blocks
    }}
  }}

  tags = merge(local.tags, {{ Name = "${{local.name}}-sg-{r}" }})
}}

resource "aws_iam_role" "this_{r}" {{
  name               = "${{local.name}}-role-{r}"
  assume_role_policy = data.aws_iam_policy_document.assume_{r}.json
  tags               = local.tags
}}

data "aws_iam_policy_document" "assume_{r}" {{
  statement {{
    actions = ["sts:AssumeRole"]
    principals {{
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }}
  }}
}}

"#,
            acl = if public { "public-read" } else { "private" },
            versioning = !public,
            port = if open { 22 } else { 443 },
            cidr = if open { "0.0.0.0/0" } else { "10.0.0.0/8" },
        );
    }
    s
}

fn variables_tf(vars: usize) -> String {
    let mut s = String::new();
    for v in 0..vars {
        let _ = write!(
            s,
            r#"variable "setting_{v}" {{
  description = "Setting {v} of the module: see the README for what it changes and its default."
  type        = {ty}
  default     = {default}
{validation}}}

"#,
            ty = ["string", "number", "bool", "map(string)", "list(string)"][v % 5],
            default = ["null", "0", "false", "{}", "[]"][v % 5],
            validation = if v.is_multiple_of(6) {
                format!(
                    "\n  validation {{\n    condition     = var.setting_{v} == null || length(tostring(var.setting_{v})) < 64\n    error_message = \"setting_{v} is too long.\"\n  }}\n"
                )
            } else {
                String::new()
            },
        );
    }
    s.push_str("variable \"create\" {\n  type    = bool\n  default = true\n}\n\nvariable \"putin_khuylo\" {\n  type    = bool\n  default = true\n}\n\nvariable \"tags\" {\n  type    = map(string)\n  default = {}\n}\n");
    s
}

fn outputs_tf(outputs: usize) -> String {
    let mut s = String::new();
    for o in 0..outputs {
        let _ = write!(
            s,
            "output \"value_{o}\" {{\n  description = \"Output {o} of the module\"\n  value       = try(aws_s3_bucket.this_0[0].arn, null)\n}}\n\n"
        );
    }
    s
}

const VERSIONS_TF: &str = r#"terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.46"
    }
  }
}
"#;

/// Writes `modules` module directories of four files each (every fourth under `examples/`)
/// with `resources` resource groups per `main.tf`. 137 modules x 2 groups: 548 files and
/// about 46k lines, the measured repository's size.
pub fn generate(root: &Path, modules: usize, resources: usize) -> Tree {
    let mut tree = Tree { files: 0, lines: 0 };
    for m in 0..modules {
        let dir = if m.is_multiple_of(4) {
            root.join(format!("examples/example-{m}"))
        } else {
            root.join(format!("modules/module-{m}"))
        };
        fs::create_dir_all(&dir).expect("module dir");
        let files = [
            ("main.tf", main_tf(m, resources)),
            ("variables.tf", variables_tf(16)),
            ("outputs.tf", outputs_tf(8)),
            ("versions.tf", VERSIONS_TF.to_string()),
        ];
        for (name, text) in files {
            tree.lines += text.lines().count();
            tree.files += 1;
            fs::write(dir.join(name), text).expect("write .tf");
        }
    }
    tree
}
