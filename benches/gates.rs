//! Throughput of all three gates with the built-in policy library over a generated tree of
//! 1,000 `.tf` files (plus a drift report). Run: `cargo bench --bench gates`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

use thoth_bot::check::{CheckOptions, run_check};

fn module(i: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"
resource "aws_s3_bucket" "b{i}" {{
  bucket = "dev-app-bucket-{i}"
  acl    = "{acl}"
  tags = {{
    Environment = "dev"
    Owner       = "team-{i}"
  }}
}}

resource "aws_security_group" "sg{i}" {{
  name = "dev-app-sg-{i}"
  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["{cidr}"]
  }}
}}

resource "aws_db_instance" "db{i}" {{
  identifier        = "dev-app-db-{i}"
  engine            = "postgres"
  storage_encrypted = {enc}
  password          = var.db_password
}}

module "m{i}" {{
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.{i}"
}}

variable "v{i}" {{
  type    = string
  default = "x"
}}
"#,
        acl = if i.is_multiple_of(10) {
            "public-read"
        } else {
            "private"
        },
        port = if i.is_multiple_of(7) { 22 } else { 443 },
        cidr = if i.is_multiple_of(7) {
            "0.0.0.0/0"
        } else {
            "10.0.0.0/8"
        },
        enc = !i.is_multiple_of(5),
    );
    s
}

fn generate(root: &Path, files: usize) {
    fs::write(root.join("README.md"), "# bench\n").unwrap();
    for i in 0..files {
        let dir = root.join(format!("stacks/s{}/m{}", i / 100, i % 100));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("main.tf"), module(i)).unwrap();
    }
}

fn main() {
    let files = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), files);
    let plan = include_str!("../tests/data/plans/opentofu/drift/output.json");
    fs::write(dir.path().join("drift.tfplan.json"), plan).unwrap();

    let opts = CheckOptions::new(dir.path());
    // One warm-up run, then timed runs.
    let report = run_check(&opts);
    let findings = report.findings().count();
    let runs = 5;
    let mut best = f64::MAX;
    let mut total = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = run_check(&opts);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(r.findings().count(), findings);
        best = best.min(secs);
        total += secs;
    }
    let mean = total / runs as f64;
    println!(
        "gates/all: {files} .tf files, {findings} findings, mean {:.3}s, best {:.3}s, {:.0} files/s (mean), {:.0} files/s (best)",
        mean,
        best,
        files as f64 / mean,
        files as f64 / best
    );
}
