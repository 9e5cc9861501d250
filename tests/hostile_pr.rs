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
    // Far below the hog's 1.9 GB, with room for an ordinary job: the debug binary maps about
    // 70 MiB of code, the gate thread a 64 MiB stack and the second malloc arena 64 MiB, so at
    // 256 MiB an ordinary job sometimes ran out of address space too (a flaky failure).
    cfg.gate_memory_mb = 512;
    let app = w.start(&cfg).await;

    let hog = w.push_pr(1, &[("hog.json", r#"{"hog": true}"#)]);
    assert_eq!(w.open_pr(app.addr, "hog-1", 1, &hog).await, 202);
    let run = w.wait_completed(&hog).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let text = format!("{run:?}");
    assert!(text.contains("memory limit of 512 MiB"), "{text}");
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

/// The peak resident memory of this process (the server runs in it), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_file_at_once_is_named_and_the_server_stays_up() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 2)).await;

    // Alias bomb: a literal list of 2,000, then two levels of 2,000 aliases (8e9 nodes).
    let items = vec!["x"; 2000].join(",");
    let level1 = vec!["*a"; 2000].join(",");
    let level2 = vec!["*b"; 2000].join(",");
    let bomb = format!("a: &a [{items}]\nb: &b [{level1}]\nc: [{level2}]\n");
    let deep_tf = format!("x = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let deep_json = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let mut big = String::from("resource \"aws_s3_bucket\" \"b\" {\n  acl = \"public-read\"\n}\n");
    while big.len() < 6 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let lfs = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
    let files: Vec<(&str, &str)> = vec![
        ("main.tf", BASE_TF),
        ("bomb.yaml", bomb.as_str()),
        ("deep.tf", deep_tf.as_str()),
        ("deep.json", deep_json.as_str()),
        ("big.tf", big.as_str()),
        ("lfs.tf", lfs),
        ("blob.yaml", "a: \u{0}\u{1}\u{2}\n"),
        (
            ".terraform/modules/open/main.tf",
            "resource \"x\" \"y\" {}\n",
        ),
    ];
    let head = w.push_pr(9, &files);
    let started = std::time::Instant::now();
    assert_eq!(w.open_pr(app.addr, "hostile-9", 9, &head).await, 202);

    // /healthz keeps answering while the job runs.
    let addr = app.addr;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = done.clone();
    let watcher = tokio::spawn(async move {
        let mut answers = 0u32;
        while !watching.load(std::sync::atomic::Ordering::Relaxed) {
            assert_eq!(healthz(addr).await, 200, "/healthz stopped answering");
            answers += 1;
            tokio::task::yield_now().await;
        }
        answers
    });
    let run = w.wait_completed(&head).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    assert!(started.elapsed() < support::STATE_WAIT);
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:?}");
    let text = format!("{run:?}");
    for (file, _) in &files[1..] {
        assert!(text.contains(file), "{file} is not named: {text}");
    }
    let peak = peak_rss();
    assert!(peak < 1024 * 1024 * 1024, "peak memory {peak} bytes");
    eprintln!(
        "hostile PR judged in {:.2} s; peak RSS of the server process {} MiB",
        started.elapsed().as_secs_f64(),
        peak >> 20
    );
    app.stop().await;
}
