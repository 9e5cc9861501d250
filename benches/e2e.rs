//! End-to-end time from a signed `pull_request.opened` delivery to the completed `thoth` check
//! run, on a mid-size repository (200 Terraform files in 40 modules, 40 Kubernetes manifests,
//! 10 Dockerfiles), through the real server, a real git clone over loopback HTTP and the fake
//! GitHub API. Run: `cargo bench --bench e2e [-- RUNS]`.
//!
//! Each run is a new pull request on the same repository, so the first run pays the full clone
//! and later runs fetch only the new head into the warm mirror, as a long-running bot does.
//!
//! `cargo bench --bench e2e -- module-repo [RUNS] [single]` uses the 548-file module repository
//! of the gates bench instead and sends two pull requests at once, so both workers judge it
//! together (`single`: one at a time); it also samples the resident memory of the server
//! process and its gate children.

#[path = "support/tf_repo.rs"]
mod tf_repo;

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

/// Resident set of this process plus its live children (the gate sandboxes), in KiB. Read from
/// /proc because the children are short-lived processes the bench does not own.
fn tree_rss_kib() -> u64 {
    let me = std::process::id();
    let rss = |pid: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    };
    let mut total = rss("self");
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(me) {
            total += rss(pid);
        }
    }
    total
}

/// The server's GitHub write budget (60 a minute by default, the tests' 600) spaces the writes
/// of back-to-back pull requests by design; the bench measures the pipeline, so it lifts it.
fn unbudgeted(mut cfg: thoth_bot::config::ServeConfig) -> thoth_bot::config::ServeConfig {
    cfg.github.writes_per_minute = 600_000;
    cfg
}

fn module_repo_files() -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = tf_repo::generate(dir.path(), 137, 2);
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir.path()).expect("under root");
                let text = std::fs::read_to_string(&p).expect("read");
                files.push((rel.to_string_lossy().into_owned(), text));
            }
        }
    }
    assert_eq!(files.len(), tree.files);
    files
}

/// The first number among the arguments, else `default`.
fn count_arg(default: usize) -> usize {
    std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Where the time went, from the server's own stage histograms.
async fn print_stages(addr: std::net::SocketAddr) {
    let (_, metrics) = support::http::request(addr, "GET", "/metrics", &[], b"").await;
    for line in metrics.lines().filter(|l| {
        l.starts_with("thoth_job_stage_duration_seconds_sum")
            || l.starts_with("thoth_job_stage_duration_seconds_count")
    }) {
        println!("  {line}");
    }
}

fn main() {
    let module_repo = std::env::args().any(|a| a == "module-repo");
    if module_repo {
        return module_repo_main();
    }
    let runs = count_arg(5);
    runtime().block_on(async move {
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
        let app = w.start(&unbudgeted(w.config(&w.sled(), 2))).await;
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
        print_stages(app.addr).await;
        app.stop().await;
    });
}

/// Two pull requests at once (one with `single`) on the 548-file repository, `RUNS` rounds; p50
/// of the warm rounds and the peak resident memory seen while the workers judge.
fn module_repo_main() {
    let per_round: u64 = if std::env::args().any(|a| a == "single") {
        1
    } else {
        2
    };
    let rounds = count_arg(4);
    runtime().block_on(async move {
        let w = World::new().await;
        let files = module_repo_files();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let app = w.start(&unbudgeted(w.config(&w.sled(), 2))).await;
        let idle_rss = tree_rss_kib();
        println!(
            "repository: {} files; {rounds} rounds of {per_round} pull request(s) at once; RSS before: {} MiB",
            files.len(),
            idle_rss / 1024
        );
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (peak.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(tree_rss_kib(), std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let mut warm = Vec::new();
        for round in 0..rounds as u64 {
            let mut heads = Vec::new();
            for k in 0..per_round {
                let n = 200 + round * 2 + k;
                let mut pr_files = refs.clone();
                let readme = format!("# change {n}\n");
                pr_files.push(("README.md", &readme));
                heads.push((n, w.push_pr(n, &pr_files)));
            }
            let start = Instant::now();
            for (n, head) in &heads {
                let body = w.pr_event("opened", *n, head);
                let status =
                    github_delivery(app.addr, SECRET, "pull_request", &format!("mr-{n}"), &body)
                        .await;
                assert_eq!(status, 202);
            }
            let mut done: Vec<Option<Duration>> = vec![None; heads.len()];
            let deadline = start + Duration::from_secs(300);
            while done.iter().any(Option::is_none) {
                for (i, (_, head)) in heads.iter().enumerate() {
                    if done[i].is_none() && !w.completed_runs(head).is_empty() {
                        done[i] = Some(start.elapsed());
                    }
                }
                assert!(Instant::now() < deadline, "no check run in round {round}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let took: Vec<Duration> = done.into_iter().flatten().collect();
            println!(
                "round {round}: {} ms{}",
                took.iter()
                    .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
                    .collect::<Vec<_>>()
                    .join(" / "),
                if round == 0 { " (cold mirror)" } else { "" }
            );
            if round > 0 {
                warm.extend(took);
            }
        }
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let _ = sampler.join();
        warm.sort();
        if let Some(p50) = warm.get(warm.len() / 2) {
            println!(
                "warm p50: {:.0} ms over {} pull requests",
                p50.as_secs_f64() * 1000.0,
                warm.len()
            );
        }
        println!(
            "peak RSS (server process + gate children): {} MiB",
            peak.load(std::sync::atomic::Ordering::Relaxed) / 1024
        );
        print_stages(app.addr).await;
        app.stop().await;
    });
}
