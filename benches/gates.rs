//! Throughput of all three gates with the built-in policy library. Run: `cargo bench --bench
//! gates [-- CASE]` with CASE `flat` or `module-repo` (default: both).
//!
//! - `flat`: a generated tree of 1,000 small `.tf` files (`BENCH_FILES`) plus a drift report.
//! - `module-repo`: a tree shaped like a public Terraform module repository, 548 `.tf` files and
//!   about 46k lines (`support/tf_repo.rs`), timed as `thoth-bot check` runs it, then profiled
//!   stage by stage: workspace and parse, policy load, conversion of the inputs to engine values,
//!   Rego evaluation (all packages, then each package alone), findings.

#[path = "support/tf_repo.rs"]
mod tf_repo;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use thoth_bot::check::{CheckOptions, policy_sources, run_check};
use thoth_bot::gates::rego::{self, LoadOptions, PolicySet};
use thoth_bot::inputs::{self, Inputs};
use thoth_bot::workspace::Workspace;

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

/// Mean and best wall time of `runs` calls (after one warm-up call whose result is returned).
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, f64, f64) {
    let first = f();
    let mut best = f64::MAX;
    let mut total = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        let _ = f();
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        total += secs;
    }
    (first, total / runs as f64, best)
}

fn flat() {
    let files = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), files);
    let plan = include_str!("../tests/data/plans/opentofu/drift/output.json");
    fs::write(dir.path().join("drift.tfplan.json"), plan).unwrap();

    let opts = CheckOptions::new(dir.path());
    let (report, mean, best) = timed(5, || run_check(&opts));
    let findings = report.findings().count();
    assert_eq!(run_check(&opts).findings().count(), findings);
    println!(
        "gates/flat: {files} .tf files, {findings} findings, mean {mean:.3}s, best {best:.3}s, {:.0} files/s (mean), {:.0} files/s (best)",
        files as f64 / mean,
        files as f64 / best
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn module_repo() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tf_repo::generate(dir.path(), 137, 2);
    let mut opts = CheckOptions::new(dir.path());
    opts.with_builtin = true;
    let (report, mean, best) = timed(5, || run_check(&opts));
    let findings = report.findings().count();
    println!(
        "gates/module-repo: {} .tf files, {} lines, {findings} findings, mean {mean:.3}s, best {best:.3}s",
        tree.files, tree.lines
    );

    // Where the time goes, stage by stage (best of 3 each).
    let best_of = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let mut parsed = Inputs::default();
    let parse = best_of(&mut || {
        let ws = Workspace::open_with(&opts.project_dir, &[], opts.limits).unwrap();
        parsed = inputs::parse_workspace(
            &ws,
            opts.input_shape,
            &["policy".to_string()],
            &opts.parse_limits,
        );
    });
    let (sources, _) = policy_sources(&opts, &Default::default());
    let mut set = PolicySet::load(&sources, LoadOptions::default());
    let load = best_of(&mut || set = PolicySet::load(&sources, LoadOptions::default()));
    let convert = best_of(&mut || {
        for d in &parsed.docs {
            std::hint::black_box(regorus::Value::from(d.value.clone()));
        }
    });
    let mut rego_findings = 0;
    let eval = best_of(&mut || rego_findings = rego::run(&set, &parsed).findings.len());
    println!(
        "  stages: workspace+parse {:.0} ms ({} documents), policy load {:.0} ms, JSON->engine values {:.0} ms, rego {:.0} ms ({rego_findings} findings)",
        ms(parse),
        parsed.docs.len(),
        ms(load),
        ms(convert),
        ms(eval)
    );
    let mut per_package: Vec<(Duration, String, usize)> = set
        .packages
        .iter()
        .map(|p| {
            let mut one = set.clone();
            one.packages.retain(|q| q.package == p.package);
            let mut n = 0;
            let t = best_of(&mut || n = rego::run(&one, &parsed).findings.len());
            (t, p.package.clone(), n)
        })
        .collect();
    per_package.sort_by_key(|p| std::cmp::Reverse(p.0));
    println!("  rego per package alone (slowest first; each includes the input conversion):");
    for (t, pkg, n) in per_package.iter().take(10) {
        println!("    {:>7.1} ms  {pkg} ({n} findings)", ms(*t));
    }
}

fn main() {
    let case = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    match case.as_deref() {
        Some("flat") => flat(),
        Some("module-repo") => module_repo(),
        // Writes the module repository to a folder, to profile `thoth-bot check` on it.
        Some("write-module-repo") => {
            let out = std::env::args()
                .skip(2)
                .find(|a| !a.starts_with('-'))
                .expect("write-module-repo DIR");
            let tree = tf_repo::generate(std::path::Path::new(&out), 137, 2);
            println!("{out}: {} .tf files, {} lines", tree.files, tree.lines);
        }
        _ => {
            flat();
            module_repo();
        }
    }
}
