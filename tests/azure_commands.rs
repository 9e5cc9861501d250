//! `/thoth` comment commands end to end through the Azure DevOps path: comment service hooks
//! through the real router and workers, against the fake Azure DevOps API and a real git
//! repository served over HTTP with PAT auth.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::TestRepo;
use support::eventually;
use support::fake_azure::FakeAzure;
use support::http::request;
use thoth_bot::config::ServeConfig;
use thoth_bot::event::{JobPayload, PullRequestRef};
use thoth_bot::server::{self, Running};
use thoth_bot::webhook::signature::{Secret, basic_header};

const PAT: &str = "ado-cmd-personal-access-token";
const HOOK_USER: &str = "ado-hook";
const HOOK_PASSWORD: &str = "ado-hook-password";
/// `project/repository` as the fake names it; the bot's id is `org/Infra Team/infra`.
const REPO: &str = "Infra Team/infra";
const LEAD: &str = "lead@example.com";

const BASE_TF: &str = r#"resource "aws_sns_topic" "alerts" {
  name = "dev-infra-alerts"
  tags = {
    Environment = "dev"
    Owner       = "platform"
    CostCenter  = "cc-1"
  }
}
"#;
const INSECURE_TF: &str = r#"resource "aws_db_instance" "orders" {
  identifier        = "dev-orders-db"
  storage_encrypted = false
  password          = "hunter2hunter2"
}
"#;

struct World {
    ado: FakeAzure,
    repo: TestRepo,
    dir: tempfile::TempDir,
    base_sha: String,
}

impl World {
    async fn new() -> World {
        let ado = FakeAzure::start(PAT).await;
        let repo = TestRepo::new();
        repo.server().set_credentials(Some(("thoth-bot", PAT)));
        let base_sha = repo.commit(
            &[
                ("main.tf", BASE_TF),
                (".thothctl/ai_decision_config.yaml", "enabled: true\n"),
            ],
            "base",
        );
        World {
            ado,
            repo,
            dir: tempfile::tempdir().unwrap(),
            base_sha,
        }
    }

    async fn start(&self) -> Running {
        let mut cfg = ServeConfig {
            store: format!("sled:{}", self.dir.path().join("store").display()),
            workers: 1,
            cache_dir: self.dir.path().join("cache"),
            lease_secs: 5,
            ..ServeConfig::default()
        };
        cfg.azure.org_url = Some(self.ado.url().to_string());
        cfg.azure.token = Some(Secret::new(PAT));
        cfg.azure.webhook_user = Some(HOOK_USER.into());
        cfg.azure.webhook_password = Some(Secret::new(HOOK_PASSWORD));
        cfg.commands.override_users = vec![LEAD.into()];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        server::start(&cfg, listener).await.unwrap()
    }

    /// Commits on the PR's source branch, records the push as an iteration and makes the fake
    /// answer `GET .../pullRequests/{n}` with the same pull request the event carries.
    fn push_pr(&self, n: u64, files: &[(&str, &str)]) -> String {
        self.repo.switch_branch("feature");
        let sha = self.repo.commit(files, "change");
        self.ado.push_iteration(REPO, n, &sha);
        let event: Value =
            serde_json::from_slice(&self.pr_event("git.pullrequest.updated", "x", n, &sha))
                .unwrap();
        self.ado.set_pull(REPO, n, event["resource"].clone());
        sha
    }

    fn pr_event(&self, event: &str, id: &str, n: u64, head: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "data/fixtures/azure-devops/docs/git.pullrequest.created.json"
        ))
        .unwrap();
        v["subscriptionId"] = json!("6c3d2a43-0a3a-4b8b-9b0e-6a1c0e4a1d11");
        v["id"] = json!(id);
        v["eventType"] = json!(event);
        let r = &mut v["resource"];
        r["repository"]["name"] = json!("infra");
        r["repository"]["project"]["name"] = json!("Infra Team");
        r["repository"]["remoteUrl"] = json!(self.repo.url());
        r["pullRequestId"] = json!(n);
        r["status"] = json!("active");
        r["sourceRefName"] = json!("refs/heads/feature");
        r["targetRefName"] = json!("refs/heads/main");
        r["lastMergeSourceCommit"]["commitId"] = json!(head);
        r["lastMergeTargetCommit"]["commitId"] = json!(self.base_sha);
        serde_json::to_vec(&v).unwrap()
    }

    /// `author` writes `content` as a new thread on PR `n` (in the fake, so replies can land
    /// in it); returns the thread id and the comment event.
    fn comment(&self, id: &str, n: u64, author: &str, content: &str) -> (u64, Vec<u8>) {
        let thread = self.ado.add_user_thread(REPO, n, content);
        (thread, self.comment_event(id, n, thread, author, content))
    }

    fn comment_event(&self, id: &str, n: u64, thread: u64, author: &str, content: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(include_str!(
            "data/fixtures/azure-devops/tingle-dependabot/git-pullrequest-comment-event-1.json"
        ))
        .unwrap();
        v["id"] = json!(id);
        let r = &mut v["resource"];
        r["comment"]["id"] = json!(1);
        r["comment"]["content"] = json!(content);
        r["comment"]["author"]["uniqueName"] = json!(author);
        r["comment"]["_links"]["threads"]["href"] = json!(format!(
            "https://ado/_apis/git/repositories/r/pullRequests/{n}/threads/{thread}"
        ));
        r["pullRequest"]["pullRequestId"] = json!(n);
        r["pullRequest"]["repository"]["name"] = json!("infra");
        r["pullRequest"]["repository"]["project"]["name"] = json!("Infra Team");
        r["pullRequest"]["repository"]["remoteUrl"] = json!(self.repo.url());
        serde_json::to_vec(&v).unwrap()
    }

    /// The comments after the first of a thread (the bot's replies).
    fn replies(&self, thread: u64) -> Vec<String> {
        self.ado
            .threads()
            .into_iter()
            .find(|t| t.id == thread)
            .map(|t| t.comments[1..].to_vec())
            .unwrap_or_default()
    }

    fn final_states(&self, n: u64) -> Vec<String> {
        self.ado
            .statuses()
            .into_iter()
            .filter(|s| s.pr == n && s.state != "pending")
            .map(|s| s.state)
            .collect()
    }
}

async fn hook(addr: std::net::SocketAddr, body: &[u8]) -> u16 {
    let auth = basic_header(HOOK_USER, HOOK_PASSWORD);
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    request(addr, "POST", "/webhooks/azure-devops", &headers, body)
        .await
        .0
}

/// Long enough for a worker (polling every 200 ms) to have run anything queued.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

/// The pull request of every evaluation job in a (stopped) server's store, by delivery.
async fn evaluations(w: &World) -> Vec<(String, PullRequestRef)> {
    use thoth_bot::store::JobState;
    let store = thoth_bot::store::open(&format!("sled:{}", w.dir.path().join("store").display()))
        .await
        .unwrap();
    let mut out = Vec::new();
    for state in [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ] {
        for job in store.jobs_by_state(state, 100).await.unwrap() {
            if let Ok(JobPayload::Evaluate { pr, .. }) = serde_json::from_value(job.payload) {
                out.push((job.delivery.as_str().to_string(), pr));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_is_answered_once_in_its_thread_and_own_comments_are_ignored() {
    let w = World::new().await;
    let app = w.start().await;
    w.push_pr(8, &[("main.tf", BASE_TF)]);

    let (thread, ev) = w.comment("help-1", 8, "someone@example.com", "/thoth help");
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the help reply", || w.replies(thread).pop()).await;
    assert!(
        reply.contains(&format!("<!-- thoth-bot:reply:{thread}/1:")),
        "{reply}"
    );
    assert!(reply.contains("/thoth override approve|reject|request-changes"));
    let posted = w
        .ado
        .writes()
        .into_iter()
        .find(|c| c.path.ends_with(&format!("/threads/{thread}/comments")))
        .expect("a reply in the command's thread");
    assert_eq!(posted.body["parentCommentId"], json!(1));
    assert_eq!(posted.body["commentType"], json!(1));

    // The same delivery again (deduplicated at intake), and the same comment under a new
    // delivery id (the reply marker is found): still one reply.
    assert_eq!(hook(app.addr, &ev).await, 202);
    let again = w.comment_event("help-2", 8, thread, "someone@example.com", "/thoth help");
    assert_eq!(hook(app.addr, &again).await, 202);
    settle().await;
    assert_eq!(w.replies(thread).len(), 1, "{:#?}", w.replies(thread));

    // The bot's reply fires the comment event too; it holds `/thoth` lines but is ours.
    let writes = w.ado.writes().len();
    let own = w.comment_event("own-1", 8, thread, "thoth-bot", &reply);
    assert_eq!(hook(app.addr, &own).await, 202);
    settle().await;
    assert_eq!(w.ado.writes().len(), writes, "{:#?}", w.ado.writes());
    assert!(w.final_states(8).is_empty(), "help evaluates nothing");

    // Explain checks out the target branch with the PAT; rerun is acknowledged by a reply
    // (no reactions on Azure DevOps) and evaluates the source commit.
    let (thread, ev) = w.comment(
        "cmd-3",
        8,
        "someone@example.com",
        "/thoth explain THOTH-AWS-SG-001\n/thoth rerun",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let replies = eventually("two replies", || {
        let r = w.replies(thread);
        (r.len() == 2).then_some(r)
    })
    .await;
    assert!(replies[0].contains("How to fix"), "{}", replies[0]);
    assert!(replies[1].contains("> /thoth rerun"), "{}", replies[1]);
    eventually("the rerun's status", || {
        (!w.final_states(8).is_empty()).then_some(())
    })
    .await;
    assert_eq!(w.final_states(8), ["succeeded"], "{:#?}", w.ado.statuses());

    // An edit adds a command. Azure DevOps sends the whole comment again without its previous
    // text: only the new command runs (the others left their replies), no second rerun.
    let edited = w.comment_event(
        "cmd-3-edit",
        8,
        thread,
        "someone@example.com",
        "/thoth explain THOTH-AWS-SG-001\n/thoth rerun\n/thoth help",
    );
    assert_eq!(hook(app.addr, &edited).await, 202);
    let replies = eventually("the new command's reply", || {
        let r = w.replies(thread);
        (r.len() == 3).then_some(r)
    })
    .await;
    assert!(replies[2].contains("/thoth override approve|reject|request-changes"));
    settle().await;
    assert_eq!(w.replies(thread).len(), 3);
    app.stop().await;
    let jobs = evaluations(&w).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].0, "cmd-3#cmd1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_by_a_listed_user_approves_and_anyone_else_is_refused() {
    let w = World::new().await;
    let app = w.start().await;
    let head = w.push_pr(6, &[("main.tf", INSECURE_TF)]);
    let created = w.pr_event("git.pullrequest.created", "pr-1", 6, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    eventually("the rejection", || {
        (w.ado.vote(REPO, 6) == Some(-10)).then_some(())
    })
    .await;
    eventually("the failed status", || {
        (w.final_states(6) == ["failed"]).then_some(())
    })
    .await;
    settle().await;

    // Someone not in `override_users`: a reply says who may, nothing else changes.
    let (refused, ev) = w.comment(
        "ovr-1",
        6,
        "someone@example.com",
        "/thoth override approve --reason \"fine by me\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the refusal", || w.replies(refused).pop()).await;
    assert!(reply.contains("not applied"), "{reply}");
    assert!(reply.contains(LEAD), "{reply}");
    settle().await;
    assert_eq!(w.final_states(6), ["failed"]);
    assert_eq!(w.ado.vote(REPO, 6), Some(-10));

    // A listed user: acknowledged with a reply, re-evaluated, approved.
    let (accepted, ev) = w.comment(
        "ovr-2",
        6,
        LEAD,
        "/thoth override approve --reason \"SEC-42: accepted risk\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    eventually("the approval", || {
        (w.ado.vote(REPO, 6) == Some(10)).then_some(())
    })
    .await;
    eventually("the succeeded status", || {
        (w.final_states(6) == ["failed", "succeeded"]).then_some(())
    })
    .await;
    let ack = w.replies(accepted).pop().unwrap_or_default();
    assert!(ack.contains("recorded"), "{ack}");

    // Intake, the API client and the Azure pipeline's stages are counted.
    assert_eq!(hook(app.addr, &created).await, 202, "a redelivery");
    let (status, _) = request(app.addr, "POST", "/webhooks/azure-devops", &[], &created).await;
    assert_eq!(status, 401);
    let (_, text) = request(app.addr, "GET", "/metrics", &[], b"").await;
    for name in [
        r#"thoth_webhooks_total{platform="azure-devops",event="git.pullrequest.created",outcome="accepted"}"#,
        r#"thoth_webhooks_total{platform="azure-devops",event="git.pullrequest.created",outcome="duplicate"}"#,
        r#"thoth_webhooks_total{platform="azure-devops",event="ms.vss-code.git-pullrequest-comment-event",outcome="accepted"}"#,
        r#"thoth_webhooks_total{platform="azure-devops",event="-",outcome="unauthorized"}"#,
        r#"thoth_forge_api_calls_total{platform="azure-devops",status="200"}"#,
        r#"thoth_job_stage_duration_seconds_count{stage="checkout"}"#,
        r#"thoth_job_stage_duration_seconds_count{stage="publish"}"#,
    ] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok());
        assert!(value.is_some_and(|v| v >= 1.0), "{name} missing in\n{text}");
    }
    app.stop().await;

    // The follow-up evaluation names the pull request exactly as the created event did.
    let jobs = evaluations(&w).await;
    let by = |d: &str| {
        jobs.iter()
            .find(|(delivery, _)| delivery == d)
            .map(|(_, pr)| pr.clone())
            .unwrap_or_else(|| panic!("no evaluation {d}: {jobs:#?}"))
    };
    assert_eq!(by("ovr-2#cmd0"), by("pr-1"));
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
}
