//! End-to-end time from a signed `pull_request.opened` delivery to the completed `thoth` check
//! run, on a mid-size repository (200 Terraform files in 40 modules, 40 Kubernetes manifests,
//! 10 Dockerfiles), through the real server, a real git clone over loopback HTTP and the fake
//! GitHub API. Run: `cargo bench --bench e2e [-- RUNS]`.
//!
//! Each run is a new pull request on the same repository, so the first run pays the full clone
//! and later runs fetch only the new head into the warm mirror, as a long-running bot does.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use support::http::github_delivery;
use support::world::{SECRET, World};

fn terraform(m: usize, f: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"resource "aws_s3_bucket" "b{m}_{f}" {{
  bucket = "dev-svc{m}-bucket-{f}"
  tags = {{
    Environment = "dev"
    Owner       = "team-{m}"
    CostCenter  = "cc-{m}"
  }}
}}

resource "aws_security_group" "sg{m}_{f}" {{
  name = "dev-svc{m}-sg-{f}"
  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}

module "net{m}_{f}" {{
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  name    = "dev-svc{m}-net-{f}"
}}
"#
    );
    s
}

fn manifest(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc{i}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/svc{i}:1.{i}.0\n          resources:\n            limits: {{cpu: 500m, memory: 256Mi}}\n          securityContext:\n            runAsNonRoot: true\n"
    )
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let w = World::new().await;
        let mut files: Vec<(String, String)> = Vec::new();
        for m in 0..40 {
            for f in 0..5 {
                files.push((format!("modules/svc{m}/main{f}.tf"), terraform(m, f)));
            }
            files.push((format!("k8s/svc{m}.yaml"), manifest(m)));
        }
        for d in 0..10 {
            files.push((
                format!("images/app{d}/Dockerfile"),
                format!("FROM debian:12.{d}\nUSER 10001\nCMD [\"/app\"]\n"),
            ));
        }
        let bytes: usize = files.iter().map(|(_, c)| c.len()).sum();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let app = w.start(&w.config(&w.sled(), 2)).await;
        println!(
            "repository: {} files, {} KiB; {runs} pull requests",
            files.len(),
            bytes / 1024
        );
        let mut times = Vec::new();
        for n in 1..=runs as u64 {
            let mut pr_files = refs.clone();
            let readme = format!("# change {n}\n");
            pr_files.push(("README.md", &readme));
            let head = w.push_pr(100 + n, &pr_files);
            let body = w.pr_event("opened", 100 + n, &head);
            let start = Instant::now();
            let status = github_delivery(
                app.addr,
                SECRET,
                "pull_request",
                &format!("bench-{n}"),
                &body,
            )
            .await;
            assert_eq!(status, 202);
            let deadline = start + Duration::from_secs(120);
            loop {
                if !w.completed_runs(&head).is_empty() {
                    break;
                }
                assert!(Instant::now() < deadline, "no check run for PR {n}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let took = start.elapsed();
            println!(
                "PR {n}: delivery -> completed check run in {:.0} ms{}",
                took.as_secs_f64() * 1000.0,
                if n == 1 {
                    " (cold mirror: full clone)"
                } else {
                    ""
                }
            );
            times.push(took);
        }
        if times.len() > 1 {
            let warm = &times[1..];
            let mean = warm.iter().map(Duration::as_secs_f64).sum::<f64>() / warm.len() as f64;
            println!("warm mean: {:.0} ms", mean * 1000.0);
        }
        // Where the time went, from the server's own stage histograms.
        let (_, metrics) = support::http::request(app.addr, "GET", "/metrics", &[], b"").await;
        for line in metrics.lines().filter(|l| {
            l.starts_with("thoth_job_stage_duration_seconds_sum")
                || l.starts_with("thoth_job_stage_duration_seconds_count")
        }) {
            println!("  {line}");
        }
        app.stop().await;
    });
}
