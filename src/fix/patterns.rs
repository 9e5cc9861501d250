//! The 13 deterministic fix patterns, each an edit of the resource block a built-in rule flagged.
//!
//! Edits are whole lines: an attribute line rewritten in place (its text up to `=` is kept, so
//! alignment survives), a line inserted after a block's header, or a block appended after a
//! resource's closing brace. Where a fix needs something only the team knows (the access-log
//! bucket, a KMS key, a dead-letter queue, a code-signing config) it references a variable and
//! declares it once per folder, without a default, so `terraform plan` asks for it rather than
//! guessing.

use std::collections::BTreeSet;
use std::path::Path;

use super::Fix;
use super::outline::{Block, Outline, Val};

/// One fix pattern: the built-in rule it answers and ThothCTL's Checkov check for the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    pub rule_id: &'static str,
    pub checkov_id: &'static str,
    pub title: &'static str,
}

/// The patterns, in ThothCTL's order.
pub const PATTERNS: &[Pattern] = &[
    p(
        "THOTH-AWS-S3-007",
        "CKV_AWS_18",
        "Enable S3 bucket access logging",
    ),
    p(
        "THOTH-AWS-S3-001",
        "CKV_AWS_19",
        "Enable S3 bucket encryption (AES256)",
    ),
    p(
        "THOTH-AWS-S3-006",
        "CKV_AWS_21",
        "Enable S3 bucket versioning",
    ),
    p(
        "THOTH-AWS-S3-005",
        "CKV_AWS_145",
        "Enable S3 bucket encryption (KMS)",
    ),
    p(
        "THOTH-AWS-SG-005",
        "CKV_AWS_23",
        "Add security group description",
    ),
    p(
        "THOTH-AWS-SG-001",
        "CKV_AWS_24",
        "Restrict SSH ingress CIDR",
    ),
    p(
        "THOTH-AWS-SG-002",
        "CKV_AWS_25",
        "Restrict RDP ingress CIDR",
    ),
    p(
        "THOTH-AWS-RDS-001",
        "CKV_AWS_16",
        "Enable RDS encryption at rest",
    ),
    p(
        "THOTH-AWS-RDS-002",
        "CKV_AWS_17",
        "Disable RDS public access",
    ),
    p(
        "THOTH-AWS-CW-001",
        "CKV_AWS_158",
        "Enable CloudWatch Log Group encryption",
    ),
    p(
        "THOTH-AWS-EBS-001",
        "CKV_AWS_3",
        "Enable EBS volume encryption",
    ),
    p(
        "THOTH-AWS-LAMBDA-001",
        "CKV_AWS_116",
        "Add Lambda dead letter config",
    ),
    p(
        "THOTH-AWS-LAMBDA-002",
        "CKV_AWS_272",
        "Enable Lambda code signing",
    ),
];

const fn p(rule_id: &'static str, checkov_id: &'static str, title: &'static str) -> Pattern {
    Pattern {
        rule_id,
        checkov_id,
        title,
    }
}

/// The source range an open ingress rule is narrowed to: private address space, which no
/// internet host can come from. The team replaces it with its VPN or bastion range.
const PRIVATE_V4: &str = "10.0.0.0/8";
const PRIVATE_V6: &str = "fd00::/8";
const NARROWED: &str =
    "# thoth-bot fix: was open to the internet; narrow to your VPN or bastion range";

/// Names already taken in one folder (one Terraform module): resources (`TYPE.NAME`) and
/// variables, including the ones this run's fixes add.
#[derive(Debug, Default)]
pub(crate) struct DirIndex {
    resources: BTreeSet<String>,
    variables: BTreeSet<String>,
}

impl DirIndex {
    /// Scans the `.tf` files of `dir` (relative to the project) for `resource "T" "N"` and
    /// `variable "N"` headers. Symlinks and oversized files are passed over.
    pub fn scan(project_dir: &Path, dir: &str, max_bytes: u64) -> DirIndex {
        let mut index = DirIndex::default();
        let Ok(entries) = std::fs::read_dir(project_dir.join(dir)) else {
            return index;
        };
        for entry in entries
            .filter_map(Result::ok)
            .take(super::MAX_INDEXED_FILES)
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if !is_file || !name.ends_with(".tf") {
                continue;
            }
            let Ok(text) = crate::workspace::read_bounded(&entry.path(), &name, max_bytes) else {
                continue;
            };
            for line in text.lines() {
                let words: Vec<&str> = line.split_whitespace().take(3).collect();
                let unquote = |w: &str| w.trim_matches('"').to_string();
                match words.as_slice() {
                    ["resource", t, n, ..] => {
                        index
                            .resources
                            .insert(format!("{}.{}", unquote(t), unquote(n)));
                    }
                    ["variable", n, ..] => {
                        index.variables.insert(unquote(n));
                    }
                    _ => {}
                }
            }
        }
        index
    }

    /// Claims a resource name for a new block; false when the folder already has it.
    fn claim_resource(&mut self, address: &str) -> bool {
        self.resources.insert(address.to_string())
    }
}

/// An edit before it becomes a [`Fix`]: lines `start..=end` become `replacement`.
struct Edit {
    start: u32,
    end: u32,
    replacement: String,
}

/// The fixes of one pattern for one resource of one file.
pub(crate) fn fixes_for(
    rule_id: &str,
    resource: &str,
    file: &str,
    o: &Outline,
    index: &mut DirIndex,
) -> Vec<Fix> {
    let Some(pattern) = PATTERNS.iter().find(|p| p.rule_id == rule_id) else {
        return Vec::new();
    };
    let Some(block) = o.resource(resource) else {
        return Vec::new();
    };
    let name = &block.labels[1];
    let mut edits: Vec<Edit> = Vec::new();
    match rule_id {
        "THOTH-AWS-S3-001" if block.labels[0] == "aws_s3_bucket" => {
            let text = format!(
                "resource \"aws_s3_bucket_server_side_encryption_configuration\" \"{name}\" {{\n  bucket = aws_s3_bucket.{name}.id\n\n  rule {{\n    apply_server_side_encryption_by_default {{\n      sse_algorithm = \"AES256\"\n    }}\n  }}\n}}"
            );
            if index.claim_resource(&format!(
                "aws_s3_bucket_server_side_encryption_configuration.{name}"
            )) {
                edits.extend(append_after(o, block, &text));
            }
        }
        "THOTH-AWS-S3-005" => edits.extend(kms_instead_of_aes(o, block)),
        "THOTH-AWS-S3-006" if block.labels[0] == "aws_s3_bucket" => {
            if let Some(inline) = block.blocks_named("versioning").next() {
                edits.extend(set_attr(o, inline, "enabled", "true"));
            } else if index.claim_resource(&format!("aws_s3_bucket_versioning.{name}")) {
                let text = format!(
                    "resource \"aws_s3_bucket_versioning\" \"{name}\" {{\n  bucket = aws_s3_bucket.{name}.id\n\n  versioning_configuration {{\n    status = \"Enabled\"\n  }}\n}}"
                );
                edits.extend(append_after(o, block, &text));
            }
        }
        // The name check comes last in the guard: it claims the name.
        "THOTH-AWS-S3-007"
            if block.labels[0] == "aws_s3_bucket"
                && index.claim_resource(&format!("aws_s3_bucket_logging.{name}")) =>
        {
            let text = format!(
                "resource \"aws_s3_bucket_logging\" \"{name}\" {{\n  bucket = aws_s3_bucket.{name}.id\n\n  target_bucket = var.access_log_bucket\n  target_prefix = \"s3/{name}/\"\n}}"
            );
            edits.extend(append_after(o, block, &text));
            edits.extend(declare(
                o,
                block,
                index,
                "access_log_bucket",
                "Name of the bucket that receives S3 server access logs (added by thoth-bot fix)",
            ));
        }
        "THOTH-AWS-SG-005" => edits.extend(set_attr(
            o,
            block,
            "description",
            "\"Managed by Terraform\"",
        )),
        "THOTH-AWS-SG-001" => edits.extend(narrow_ingress(o, block, 22)),
        "THOTH-AWS-SG-002" => edits.extend(narrow_ingress(o, block, 3389)),
        "THOTH-AWS-RDS-001" => edits.extend(set_attr(o, block, "storage_encrypted", "true")),
        // Only `publicly_accessible = true` fires the rule: the attribute is there to rewrite.
        "THOTH-AWS-RDS-002" if block.attr("publicly_accessible").is_some() => {
            edits.extend(set_attr(o, block, "publicly_accessible", "false"));
        }
        "THOTH-AWS-CW-001" => {
            let var = "cloudwatch_logs_kms_key_arn";
            edits.extend(set_attr(o, block, "kms_key_id", &format!("var.{var}")));
            if !edits.is_empty() {
                edits.extend(declare(
                    o,
                    block,
                    index,
                    var,
                    "ARN of the KMS key that encrypts CloudWatch log groups; its key policy must allow logs.<region>.amazonaws.com (added by thoth-bot fix)",
                ));
            }
        }
        "THOTH-AWS-EBS-001" => edits.extend(set_attr(o, block, "encrypted", "true")),
        "THOTH-AWS-LAMBDA-001" => {
            let var = "lambda_dead_letter_target_arn";
            let indent = body_indent(o, block);
            let dlq = format!(
                "{indent}dead_letter_config {{\n{indent}  target_arn = var.{var}\n{indent}}}\n"
            );
            edits.extend(insert_after_header(o, block, &dlq));
            if !edits.is_empty() {
                edits.extend(declare(
                    o,
                    block,
                    index,
                    var,
                    "ARN of the SQS queue or SNS topic that receives failed asynchronous Lambda invocations (added by thoth-bot fix)",
                ));
            }
        }
        "THOTH-AWS-LAMBDA-002" => {
            let var = "lambda_code_signing_config_arn";
            edits.extend(set_attr(
                o,
                block,
                "code_signing_config_arn",
                &format!("var.{var}"),
            ));
            if !edits.is_empty() {
                edits.extend(declare(
                    o,
                    block,
                    index,
                    var,
                    "ARN of the aws_lambda_code_signing_config Lambda functions must be signed for (added by thoth-bot fix)",
                ));
            }
        }
        _ => {}
    }
    edits
        .into_iter()
        .map(|e| Fix {
            file: file.to_string(),
            start_line: e.start,
            end_line: e.end,
            original: o.text(e.start, e.end),
            replacement: e.replacement,
            rule_id: pattern.rule_id.to_string(),
            title: pattern.title.to_string(),
            resource: resource.to_string(),
        })
        .collect()
}

/// Sets `key = value` in a block: rewrites the attribute's lines when it exists, else inserts it
/// after the header.
fn set_attr(o: &Outline, block: &Block, key: &str, value: &str) -> Option<Edit> {
    if let Some(a) = block.attr(key) {
        let first = o.line(a.start);
        let eq = first.find('=')?;
        return Some(Edit {
            start: a.start,
            end: a.end,
            replacement: format!("{}= {value}", &first[..eq]),
        });
    }
    let indent = body_indent(o, block);
    insert_after_header(o, block, &format!("{indent}{key} = {value}"))
}

/// Inserts lines right after a block's header line. Refused for a block on one line or a header
/// line that holds more than the opening brace.
fn insert_after_header(o: &Outline, block: &Block, text: &str) -> Option<Edit> {
    let header = o.line(block.open);
    if block.open >= block.close || !header.trim_end().ends_with('{') {
        return None;
    }
    Some(Edit {
        start: block.open,
        end: block.open,
        replacement: format!("{header}\n{}", text.trim_end_matches('\n')),
    })
}

/// Appends a top-level block after a resource's closing brace, with a blank line between.
fn append_after(o: &Outline, block: &Block, text: &str) -> Option<Edit> {
    let close = o.line(block.close);
    let rest = close.trim_start().strip_prefix('}')?.trim();
    if block.open >= block.close
        || !(rest.is_empty() || rest.starts_with('#') || rest.starts_with("//"))
    {
        return None;
    }
    Some(Edit {
        start: block.close,
        end: block.close,
        replacement: format!("{close}\n\n{text}"),
    })
}

/// Declares `variable "NAME"` after the resource unless the folder already has it.
fn declare(
    o: &Outline,
    block: &Block,
    index: &mut DirIndex,
    name: &str,
    description: &str,
) -> Option<Edit> {
    if !index.variables.insert(name.to_string()) {
        return None;
    }
    let text = format!(
        "variable \"{name}\" {{\n  description = \"{description}\"\n  type        = string\n}}"
    );
    append_after(o, block, &text)
}

/// Indentation of a block's body: that of its first attribute or nested block, else the
/// header's plus two spaces.
fn body_indent(o: &Outline, block: &Block) -> String {
    let first = block
        .attrs
        .iter()
        .map(|a| a.start)
        .chain(block.blocks.iter().map(|b| b.open))
        .filter(|l| *l > block.open)
        .min();
    let indent_of = |line: &str| -> String {
        line.chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect()
    };
    match first {
        Some(line) => indent_of(o.line(line)),
        None => format!("{}  ", indent_of(o.line(block.open))),
    }
}

/// Every `sse_algorithm = "AES256"` in the resource (inline v3 blocks or the v4+ companion
/// resource) becomes `"aws:kms"`: the AWS-managed `aws/s3` key unless `kms_master_key_id` says
/// otherwise.
fn kms_instead_of_aes(o: &Outline, block: &Block) -> Vec<Edit> {
    let mut out = Vec::new();
    let mut stack = vec![block];
    while let Some(b) = stack.pop() {
        if let Some(a) = b.attr("sse_algorithm")
            && a.value == Val::Str("AES256".into())
        {
            out.extend(set_attr(o, b, "sse_algorithm", "\"aws:kms\""));
        }
        stack.extend(b.blocks.iter());
    }
    out.sort_by_key(|e| e.start);
    out
}

/// Narrows the world-open CIDRs of the ingress rules of a resource that cover `port`.
fn narrow_ingress(o: &Outline, block: &Block, port: u32) -> Vec<Edit> {
    let rules: Vec<&Block> = match block.labels[0].as_str() {
        "aws_security_group" => block.blocks_named("ingress").collect(),
        "aws_security_group_rule"
            if block.attr("type").map(|a| &a.value) == Some(&Val::Str("ingress".into())) =>
        {
            vec![block]
        }
        "aws_vpc_security_group_ingress_rule" => vec![block],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for rule in rules.into_iter().filter(|r| covers(r, port)) {
        for key in ["cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"] {
            let Some(a) = rule.attr(key) else { continue };
            let narrowed = match &a.value {
                Val::Str(s) if is_world(s) => format!("\"{}\"", private_for(s)),
                Val::List(items)
                    if items
                        .iter()
                        .any(|v| matches!(v, Val::Str(s) if is_world(s))) =>
                {
                    let mut seen: Vec<String> = Vec::new();
                    for v in items {
                        // Only literal lists are rewritten: an expression in the list could be
                        // anything.
                        let Val::Str(s) = v else { return Vec::new() };
                        let s = if is_world(s) {
                            private_for(s).to_string()
                        } else {
                            s.clone()
                        };
                        if !seen.contains(&s) {
                            seen.push(s);
                        }
                    }
                    let quoted: Vec<String> = seen.iter().map(|s| format!("\"{s}\"")).collect();
                    format!("[{}]", quoted.join(", "))
                }
                _ => continue,
            };
            let first = o.line(a.start);
            let Some(eq) = first.find('=') else { continue };
            let indent: String = first.chars().take_while(|c| c.is_whitespace()).collect();
            out.push(Edit {
                start: a.start,
                end: a.end,
                replacement: format!("{indent}{NARROWED}\n{}= {narrowed}", &first[..eq]),
            });
        }
    }
    out
}

/// Whether an ingress rule's literal port range covers `port` on a protocol other than "all"
/// (protocol -1 is THOTH-AWS-SG-003, which has no deterministic fix).
fn covers(rule: &Block, port: u32) -> bool {
    let num = |key: &str| match rule.attr(key).map(|a| &a.value) {
        Some(Val::Num(n)) => Some(*n),
        Some(Val::Str(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    let protocol = match rule
        .attr("protocol")
        .or_else(|| rule.attr("ip_protocol"))
        .map(|a| &a.value)
    {
        Some(Val::Str(s)) => s.to_ascii_lowercase(),
        Some(Val::Num(n)) => n.to_string(),
        _ => "tcp".into(),
    };
    if matches!(protocol.as_str(), "-1" | "all") {
        return false;
    }
    let port = f64::from(port);
    matches!((num("from_port"), num("to_port")), (Some(f), Some(t)) if f <= port && port <= t)
}

fn is_world(cidr: &str) -> bool {
    cidr == "0.0.0.0/0" || cidr == "::/0"
}

fn private_for(cidr: &str) -> &'static str {
    if cidr.contains(':') {
        PRIVATE_V6
    } else {
        PRIVATE_V4
    }
}
