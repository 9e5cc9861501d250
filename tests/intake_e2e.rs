//! Hostile senders at the webhook routes, through the real server: stalled bodies, floods,
//! unauthenticated Azure DevOps bodies, replayed GitHub bodies; and what the pull request is
//! told when something fails (a short cause, never a server path).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::http::{github_delivery, request};
use support::world::*;
use thoth_bot::secret::{SecretString, basic_header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a request head announcing `length` body bytes and only `sent` of them, then stalls
/// with the connection open. The stream is returned so the caller decides when it goes away.
async fn stalled(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
    sent: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&vec![b'{'; sent]).await.expect("part");
    stream
}

/// The status of the answer on `stream`, waiting at most `within`.
async fn status_within(stream: &mut TcpStream, within: Duration) -> u16 {
    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        // The status line is all we need; the server may keep the connection open after it.
        while !raw.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&raw)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    tokio::time::timeout(within, read)
        .await
        .unwrap_or_else(|_| panic!("no answer within {within:?}"))
}

/// Polls `status()` until it answers `want`, for at most 30 s.
async fn until_status<F, Fut>(what: &str, want: u16, mut status: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let last = std::cell::Cell::new(0);
    support::poll(
        Duration::from_secs(30),
        || {
            let got = status();
            let last = &last;
            async move {
                last.set(got.await);
                (last.get() == want).then_some(())
            }
        },
        || format!("{what}: still {}, want {want}", last.get()),
    )
    .await;
}

const HOOK_USER: &str = "hook";
const HOOK_PASSWORD: &str = "hook-password";

fn with_azure_hook(cfg: &mut thoth_bot::config::ServeConfig) {
    cfg.azure.webhook_user = Some(HOOK_USER.into());
    cfg.azure.webhook_password = Some(SecretString::from(HOOK_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_and_gives_its_slot_back() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.webhook_timeout_secs = 1;
    cfg.webhook_max_concurrency = 1;
    with_azure_hook(&mut cfg);
    let app = w.start(&cfg).await;
    let auth = basic_header(HOOK_USER, HOOK_PASSWORD);
    for (path, headers) in [
        ("/webhooks/github", vec![("X-GitHub-Event", "ping")]),
        (
            "/webhooks/azure-devops",
            vec![("Authorization", auth.as_str())],
        ),
    ] {
        let mut s = stalled(app.addr, path, &headers, 1000, 10).await;
        assert_eq!(
            status_within(&mut s, Duration::from_secs(20)).await,
            408,
            "{path}"
        );
        // The only slot is free again while the stalled connection is still open.
        let (status, _) = request(app.addr, "POST", "/webhooks/github", &[], b"{}").await;
        assert_eq!(status, 401, "{path}");
        drop(s);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_are_shed_with_503() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.webhook_max_concurrency = 1;
    cfg.webhook_timeout_secs = 60;
    let app = w.start(&cfg).await;
    let hold = || {
        stalled(
            app.addr,
            "/webhooks/github",
            &[("X-GitHub-Event", "ping")],
            1000,
            1,
        )
    };
    let holder = std::cell::RefCell::new(hold().await);
    // Once the stalled request holds the only slot, every other one, on either route, is shed.
    let addr = app.addr;
    let unsigned = move || async move {
        request(addr, "POST", "/webhooks/azure-devops", &[], b"{}")
            .await
            .0
    };
    support::poll(
        Duration::from_secs(30),
        || async {
            if unsigned().await == 503 {
                return Some(());
            }
            // On a busy machine the holder can reach the server while a probe has the slot, and
            // be shed itself: it then has its answer already, and another one takes its place.
            let mut buf = [0u8; 64];
            let answered = !matches!(
                holder.borrow().try_read(&mut buf),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            );
            if answered {
                let again = hold().await;
                *holder.borrow_mut() = again;
            }
            None
        },
        || "while the slot is held: still not 503".to_string(),
    )
    .await;
    let (status, _) = request(app.addr, "POST", "/webhooks/github", &[], b"{}").await;
    assert_eq!(status, 503);
    // Health checks are not webhooks: never shed.
    let (status, _) = request(app.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(status, 200);
    // The sender goes away: its slot comes back.
    drop(holder);
    until_status("after the holder left", 401, unsigned).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_credentials_are_checked_before_the_body_is_read() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.webhook_timeout_secs = 60;
    with_azure_hook(&mut cfg);
    let app = w.start(&cfg).await;
    let wrong = basic_header(HOOK_USER, "guess");
    for headers in [vec![("Authorization", wrong.as_str())], vec![]] {
        // A huge body announced and never sent: refused on the headers alone, at once (reading
        // the body first would wait for the 60 s timeout).
        let mut s = stalled(
            app.addr,
            "/webhooks/azure-devops",
            &headers,
            20 * 1024 * 1024,
            0,
        )
        .await;
        assert_eq!(status_within(&mut s, Duration::from_secs(15)).await, 401);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_replayed_under_a_new_delivery_id_runs_nothing() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(7, &[("main.tf", INSECURE_TF)]);
    let body = w.pr_event("opened", 7, &head);
    let deliver = |id: &'static str| github_delivery(app.addr, SECRET, "pull_request", id, &body);
    assert_eq!(deliver("d-1").await, 202);
    w.wait_completed(&head).await;

    // Captured and sent again under a fresh delivery id: accepted, and nothing runs.
    assert_eq!(deliver("d-replayed").await, 202);
    // Its own redelivery is still just a duplicate.
    assert_eq!(deliver("d-1").await, 202);
    // One worker takes jobs in the order they came: once a later PR is done, a job for the
    // replay would have run before it.
    let later = w.push_pr(8, &[("main.tf", BASE_TF)]);
    assert_eq!(w.open_pr(app.addr, "d-2", 8, &later).await, 202);
    w.wait_completed(&later).await;
    let runs: Vec<_> =
        w.gh.check_runs()
            .into_iter()
            .filter(|r| r.head_sha == head)
            .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let reviews: Vec<_> =
        w.gh.reviews()
            .into_iter()
            .filter(|r| r.commit_id == head)
            .collect();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    let (_, metrics) = request(app.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("outcome=\"replay\"") && l.ends_with(" 1")),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_runs_give_a_short_cause_and_no_server_path() {
    let mut w = World::new().await;
    // A base whose decision config is over the size limit: the error names the file where the
    // bot checked it out (under /tmp here); the pull request must not see that path.
    let big = format!("enabled: true\n#{}\n", "x".repeat(1024 * 1024));
    w.base_sha = w.repo.commit(
        &[(".thothctl/ai_decision_config.yaml", big.as_str())],
        "oversized decision config",
    );
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(5, &[("main.tf", BASE_TF)]);
    assert_eq!(w.open_pr(app.addr, "p-1", 5, &head).await, 202);
    let run = w.wait_completed(&head).await;
    let comment = marked_comments(&w, 5).pop().expect("summary comment").body;
    let summary = run.summary.clone().unwrap_or_default();
    assert!(
        comment.contains(".thothctl/ai_decision_config.yaml"),
        "{comment}"
    );
    let tmp = std::env::temp_dir().display().to_string();
    for text in [&summary, &comment] {
        assert!(!text.contains(&tmp), "server path in: {text}");
        assert!(!text.contains(" /"), "absolute path in: {text}");
    }

    // A checkout the git server refuses: a short cause, not the error with its URL.
    w.repo
        .server()
        .set_credentials(Some(("x-access-token", "another-token")));
    let refused = w.push_pr(6, &[("main.tf", BASE_TF)]);
    assert_eq!(w.open_pr(app.addr, "p-2", 6, &refused).await, 202);
    let run = w.wait_completed(&refused).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let summary = run.summary.unwrap_or_default();
    assert!(
        summary.contains("refused the bot's credentials"),
        "{summary}"
    );
    assert!(
        !summary.contains("127.0.0.1") && !summary.contains(&tmp),
        "{summary}"
    );
    app.stop().await;
}
