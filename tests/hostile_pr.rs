//! A pull request cannot take the bot down: each job's gates run in a child process under
//! memory and time limits, and a child that overruns is a failing check naming the limit, while
//! the server and the other pull requests carry on.

mod support;

use support::http::request;
use support::world::*;

/// Allocates far beyond any limit, but only for inputs that ask for it.
const HOG_REGO: &str = r#"package hog
import rego.v1

deny contains "never reached" if {
	input.hog == true
	xs := numbers.range(1, 80000000)
	count(xs) < 0
}

deny contains "never reached either" if {
	input.slow == true
	some i in numbers.range(1, 4000)
	some j in numbers.range(1, 4000)
	i * j < 0
}
"#;

/// A world whose base branch carries the hog policy.
fn with_hog_policy(w: &mut World) {
    w.base_sha = w.repo.commit(&[("policy/hog.rego", HOG_REGO)], "policy");
}

async fn healthz(addr: std::net::SocketAddr) -> u16 {
    request(addr, "GET", "/healthz", &[], b"").await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_child_over_its_memory_limit_fails_the_check_and_the_server_carries_on() {
    let mut w = World::new().await;
    with_hog_policy(&mut w);
    let mut cfg = w.config(&w.sled(), 2);
    cfg.gate_memory_mb = 256;
    let app = w.start(&cfg).await;

    let hog = w.push_pr(1, &[("hog.json", r#"{"hog": true}"#)]);
    assert_eq!(w.open_pr(app.addr, "hog-1", 1, &hog).await, 202);
    let run = w.wait_completed(&hog).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let text = format!("{run:?}");
    assert!(text.contains("memory limit of 256 MiB"), "{text}");
    assert!(text.contains("gate-limit"), "{text}");
    assert_eq!(healthz(app.addr).await, 200);

    // The same server judges the next pull request as usual.
    let fine = w.push_pr(2, &[("main.tf", BASE_TF), ("hog.json", "{}")]);
    assert_eq!(w.open_pr(app.addr, "fine-2", 2, &fine).await, 202);
    let run = w.wait_completed(&fine).await;
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_child_past_its_deadline_is_killed_and_named() {
    let mut w = World::new().await;
    with_hog_policy(&mut w);
    let mut cfg = w.config(&w.sled(), 1);
    cfg.gate_timeout_secs = 1;
    let app = w.start(&cfg).await;

    let head = w.push_pr(3, &[("slow.json", r#"{"slow": true}"#)]);
    assert_eq!(w.open_pr(app.addr, "slow-3", 3, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let text = format!("{run:?}");
    assert!(text.contains("wall-clock deadline of 1 s"), "{text}");
    assert!(text.contains("while evaluating the policies"), "{text}");
    assert_eq!(healthz(app.addr).await, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_file_is_a_failing_check_that_names_it() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let deep = format!("x = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let head = w.push_pr(4, &[("deep.tf", deep.as_str())]);
    assert_eq!(w.open_pr(app.addr, "deep-4", 4, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let text = format!("{run:?}");
    assert!(text.contains("deep.tf"), "{text}");
    assert_eq!(healthz(app.addr).await, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_too_large_to_read_is_not_skipped_silently() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    // A public bucket first, then 6 MB of padding: over the 5 MiB checkout limit.
    let mut big = String::from(
        "resource \"aws_s3_bucket_acl\" \"open\" {\n  bucket = \"x\"\n  acl    = \"public-read-write\"\n}\n",
    );
    while big.len() < 6 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let head = w.push_pr(5, &[("main.tf", BASE_TF), ("s3.tf", big.as_str())]);
    assert_eq!(w.open_pr(app.addr, "big-5", 5, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:?}");
    let text = format!("{run:?}");
    assert!(
        text.contains("s3.tf is larger than the 5 MiB file limit"),
        "{text}"
    );
    let comments = marked_comments(&w, 5);
    assert!(comments[0].body.contains("s3.tf"), "{}", comments[0].body);
    app.stop().await;
}
