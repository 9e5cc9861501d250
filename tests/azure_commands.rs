//! `/thoth` comment commands end to end through the Azure DevOps path: comment service hooks
//! through the real router and workers, against the fake Azure DevOps API and a real git
//! repository served over HTTP with PAT auth.

mod support;

use serde_json::json;
use support::azure_world::*;
use support::eventually;
use support::http::request;
use support::world::BASE_TF;
use thoth_bot::config::ServeConfig;
use thoth_bot::event::{JobPayload, PullRequestRef};

const LEAD: &str = "lead@example.com";

const INSECURE_TF: &str = r#"resource "aws_db_instance" "orders" {
  identifier        = "dev-orders-db"
  storage_encrypted = false
  password          = "hunter2hunter2"
}
"#;

/// The server config with `LEAD` allowed to override.
fn config(w: &World) -> ServeConfig {
    let mut cfg = w.config();
    cfg.commands.override_users = vec![LEAD.into()];
    cfg
}

/// The pull request of every evaluation job in a (stopped) server's store, by delivery.
async fn evaluations(w: &World) -> Vec<(String, PullRequestRef)> {
    use thoth_bot::store::JobState;
    let store =
        support::reopen_store(&format!("sled:{}", w.dir.path().join("store").display())).await;
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
    let app = w.start(&config(&w)).await;
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
    // `text` (the enum name the crate writes; the API also takes its number, 1).
    assert_eq!(posted.body["commentType"], json!("text"));

    // The same delivery again (deduplicated at intake), and the same comment under a new
    // delivery id (the reply marker is found): still one reply.
    assert_eq!(hook(app.addr, &ev).await, 202);
    let again = w.user_comment_event("help-2", 8, thread, "someone@example.com", "/thoth help");
    assert_eq!(hook(app.addr, &again).await, 202);
    w.wait_idle().await;
    assert_eq!(w.replies(thread).len(), 1, "{:#?}", w.replies(thread));

    // The bot's reply fires the comment event too; it holds `/thoth` lines but is ours.
    let writes = w.ado.writes().len();
    let own = w.user_comment_event("own-1", 8, thread, "thoth-bot", &reply);
    assert_eq!(hook(app.addr, &own).await, 202);
    w.wait_idle().await;
    assert_eq!(w.ado.writes().len(), writes, "{:#?}", w.ado.writes());
    assert!(w.final_states(8).is_empty(), "help evaluates nothing");

    // Explain checks out the target branch with the PAT; rerun is acknowledged in the reply
    // (no reactions on Azure DevOps) and evaluates the source commit. One reply lists both.
    let (thread, ev) = w.comment(
        "cmd-3",
        8,
        "someone@example.com",
        "/thoth explain THOTH-AWS-SG-001\n/thoth rerun",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let replies = eventually("one reply", || {
        let r = w.replies(thread);
        (r.len() == 1).then_some(r)
    })
    .await;
    assert!(replies[0].contains("How to fix"), "{}", replies[0]);
    assert!(replies[0].contains("> /thoth rerun"), "{}", replies[0]);
    eventually("the rerun's status", || {
        (!w.final_states(8).is_empty()).then_some(())
    })
    .await;
    assert_eq!(w.final_states(8), ["succeeded"], "{:#?}", w.ado.statuses());

    // An edit adds a command. Azure DevOps sends the whole comment again without its previous
    // text: only the new command runs (the reply lists the others), no second rerun.
    let text = "/thoth explain THOTH-AWS-SG-001\n/thoth rerun\n/thoth help";
    w.ado.edit_comment(thread, 1, text);
    let edited = w.user_comment_event(
        "cmd-3-edit",
        8,
        thread,
        "someone@example.com",
        "/thoth explain THOTH-AWS-SG-001\n/thoth rerun\n/thoth help",
    );
    assert_eq!(hook(app.addr, &edited).await, 202);
    let replies = eventually("the new command's reply", || {
        let r = w.replies(thread);
        (r.len() == 2).then_some(r)
    })
    .await;
    assert!(replies[1].contains("/thoth override approve|reject|request-changes"));
    assert!(!replies[1].contains("How to fix"), "{}", replies[1]);
    w.wait_idle().await;
    assert_eq!(w.replies(thread).len(), 2);
    app.stop().await;
    let jobs = evaluations(&w).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].0, "cmd-3#cmd1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_by_a_listed_user_approves_and_anyone_else_is_refused() {
    let w = World::new().await;
    let app = w.start(&config(&w)).await;
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
    w.wait_idle().await;

    // Someone not in `override_users`: a reply says so (not who may), nothing else changes.
    let (refused, ev) = w.comment(
        "ovr-1",
        6,
        "someone@example.com",
        "/thoth override approve --reason \"fine by me\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the refusal", || w.replies(refused).pop()).await;
    assert!(reply.contains("not applied"), "{reply}");
    assert!(!reply.contains(LEAD), "{reply}");
    w.wait_idle().await;
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

    // Intake, the API client, the pipeline's stages and its decisions are counted.
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
        // Decisions are counted in the flow both forges share (this binary runs no GitHub job).
        r#"thoth_decisions_total{kind="reject"}"#,
        r#"thoth_decisions_total{kind="approve"}"#,
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
    // The title comes with the delivery only (the details page takes it from the PR's earlier
    // evaluation), so it is the one field a command's follow-up does not carry.
    let untitled = |mut pr: PullRequestRef| {
        pr.title = None;
        pr
    };
    assert_eq!(untitled(by("ovr-2#cmd0")), untitled(by("pr-1")));
    assert_eq!(by("pr-1").title.as_deref(), Some("my first pull request"));
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_configured_group_may_override() {
    let w = World::new().await;
    let mut cfg = w.config();
    cfg.commands.override_teams = vec!["[Infra Team]\\Platform Admins".into()];
    let app = w.start(&cfg).await;
    w.ado
        .add_group_member("ops@example.com", "[Infra Team]\\Platform Admins");
    w.ado
        .add_group_member("dev@example.com", "[Infra Team]\\Contributors");
    let head = w.push_pr(9, &[("main.tf", INSECURE_TF)]);
    let created = w.pr_event("git.pullrequest.created", "grp-pr", 9, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    eventually("the failed status", || {
        (w.final_states(9) == ["failed"]).then_some(())
    })
    .await;

    // A member of another group is refused; the reply does not name the group that may.
    let (refused, ev) = w.comment(
        "grp-1",
        9,
        "dev@example.com",
        "/thoth override approve --reason \"looks fine\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the refusal", || w.replies(refused).pop()).await;
    assert!(reply.contains("not allowed"), "{reply}");
    assert!(!reply.contains("Platform Admins"), "{reply}");

    // A member of the configured group overrides.
    let (_, ev) = w.comment(
        "grp-2",
        9,
        "ops@example.com",
        "/thoth override approve --reason \"SEC-77: accepted\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    eventually("the succeeded status", || {
        (w.final_states(9) == ["failed", "succeeded"]).then_some(())
    })
    .await;
    // The vote follows the status: wait for it rather than read it at once.
    eventually("the approving vote", || {
        (w.ado.vote(REPO, 9) == Some(10)).then_some(())
    })
    .await;
    let lookups: Vec<String> = w
        .ado
        .calls()
        .into_iter()
        .filter(|c| c.path.ends_with("/_apis/identities"))
        .map(|c| c.query)
        .collect();
    assert!(
        lookups
            .iter()
            // Enum values are case-insensitive; the crate writes `expanded`.
            .any(|q| q.to_ascii_lowercase().contains("querymembership=expanded")),
        "{lookups:#?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_marker_does_not_stop_a_command() {
    use sha2::{Digest, Sha256};
    let w = World::new().await;
    let app = w.start(&config(&w)).await;
    w.push_pr(8, &[("main.tf", BASE_TF)]);

    // The command's thread exists; before its delivery is handled, a participant posts the
    // hidden marker the bot's answer to it will carry, hoping the bot takes it as answered.
    let line = "/thoth help";
    let (thread, ev) = w.comment("plant-1", 8, "someone@example.com", line);
    let hash: String = Sha256::digest(line.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let planted = format!("<!-- thoth-bot:cmd:{thread}/1:{hash}-0 -->");
    w.ado
        .add_user_thread(REPO, 8, &format!("{planted}\nalready answered"));
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the help reply", || w.replies(thread).pop()).await;
    assert!(reply.contains(&planted), "{reply}");
    assert!(
        reply.contains("/thoth override approve|reject|request-changes"),
        "{reply}"
    );
    app.stop().await;
}

/// The delivery names `LEAD` as the author of someone else's comment: the API's author is the
/// one judged, and refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_body_claiming_an_allowed_author_is_judged_by_the_apis_author() {
    let w = World::new().await;
    let app = w.start(&config(&w)).await;
    let head = w.push_pr(6, &[("main.tf", INSECURE_TF)]);
    let created = w.pr_event("git.pullrequest.created", "pr-1", 6, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    eventually("the failed status", || {
        (w.final_states(6) == ["failed"]).then_some(())
    })
    .await;

    let text = "/thoth override approve --reason \"trust me\"";
    let thread = w
        .ado
        .add_user_thread_by(REPO, 6, "mallory@example.com", text);
    let ev = w.user_comment_event("lie-1", 6, thread, LEAD, text);
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the refusal", || w.replies(thread).pop()).await;
    assert!(reply.contains("not applied"), "{reply}");
    assert!(reply.contains("mallory@example.com"), "{reply}");
    assert!(!reply.contains(LEAD), "{reply}");
    w.wait_idle().await;
    assert_eq!(w.final_states(6), ["failed"]);
    assert_eq!(w.ado.vote(REPO, 6), Some(-10));
    app.stop().await;
}

/// Group overrides: only `[Project]\Group` names of the PR's project count, and only when the
/// identity search pins the commenter to exactly one identity, the comment's author.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_overrides_need_a_qualified_name_and_one_matching_identity() {
    let w = World::new().await;
    let mut cfg = w.config();
    cfg.commands.override_teams = vec![
        "Platform Admins".into(),
        "[Other Team]\\Release Admins".into(),
        "[Infra Team]\\Platform Admins".into(),
    ];
    let app = w.start(&cfg).await;
    // Under the unqualified name (and another project's group) only.
    w.ado
        .add_group_member("short@example.com", "[Other Team]\\Platform Admins");
    w.ado
        .add_group_member("other@example.com", "[Other Team]\\Release Admins");
    // In the right group, but the search is ambiguous, or finds someone else.
    for user in ["dup@example.com", "alias@example.com", "ops@example.com"] {
        w.ado
            .add_group_member(user, "[Infra Team]\\Platform Admins");
    }
    w.ado.duplicate_identity("dup@example.com");
    w.ado
        .set_identity_id("alias@example.com", "9e9e9e9e-0000-4000-8000-000000000001");
    let head = w.push_pr(9, &[("main.tf", INSECURE_TF)]);
    let created = w.pr_event("git.pullrequest.created", "grp-pr", 9, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    eventually("the failed status", || {
        (w.final_states(9) == ["failed"]).then_some(())
    })
    .await;

    let text = "/thoth override approve --reason \"SEC-77: accepted\"";
    for user in [
        "short@example.com",
        "other@example.com",
        "dup@example.com",
        "alias@example.com",
    ] {
        let (thread, ev) = w.comment(&format!("grp-{user}"), 9, user, text);
        assert_eq!(hook(app.addr, &ev).await, 202);
        let reply = eventually("the refusal", || w.replies(thread).pop()).await;
        assert!(reply.contains("not allowed"), "{user}: {reply}");
    }
    assert_eq!(w.final_states(9), ["failed"]);

    // The same group, one identity that is the author: the override applies.
    let (_, ev) = w.comment("grp-ops", 9, "ops@example.com", text);
    assert_eq!(hook(app.addr, &ev).await, 202);
    eventually("the succeeded status", || {
        (w.final_states(9) == ["failed", "succeeded"]).then_some(())
    })
    .await;
    assert_eq!(w.ado.vote(REPO, 9), Some(10));
    app.stop().await;
}

/// A delivery naming a comment the API does not know is ignored: no reply, no evaluation, and
/// the job ends done rather than being retried until it dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_the_api_does_not_know_is_ignored() {
    use thoth_bot::store::JobState;
    let w = World::new().await;
    let app = w.start(&config(&w)).await;
    w.push_pr(6, &[("main.tf", BASE_TF)]);
    let ev = w.user_comment_event(
        "ghost-1",
        6,
        999,
        LEAD,
        "/thoth override approve --reason x",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let store = w.dir.path().join("store");
    eventually("the lookup of the unknown comment", || {
        w.ado
            .calls()
            .iter()
            .any(|c| c.path.ends_with("/threads/999/comments/1"))
            .then_some(())
    })
    .await;
    w.wait_idle().await;
    app.stop().await;
    let jobs = all_jobs(&store).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].state, JobState::Done, "{jobs:#?}");
    assert!(w.ado.writes().is_empty(), "{:#?}", w.ado.writes());
}

/// Whoever pushed commits to the pull request is one of its authors: even a listed overrider
/// may not override it (matched by the commit's e-mail, which Azure DevOps unique names are).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_user_who_pushed_commits_may_not_override() {
    let w = World::new().await;
    let app = w.start(&config(&w)).await;
    let head = w.push_pr(6, &[("main.tf", INSECURE_TF)]);
    w.ado.add_pull_commit(REPO, 6, "Lead@Example.com");
    let created = w.pr_event("git.pullrequest.created", "pr-1", 6, &head);
    assert_eq!(hook(app.addr, &created).await, 202);
    eventually("the failed status", || {
        (w.final_states(6) == ["failed"]).then_some(())
    })
    .await;

    let (refused, ev) = w.comment(
        "ovr-push",
        6,
        LEAD,
        "/thoth override approve --reason \"my own change\"",
    );
    assert_eq!(hook(app.addr, &ev).await, 202);
    let reply = eventually("the refusal", || w.replies(refused).pop()).await;
    assert!(reply.contains("you pushed commits"), "{reply}");
    assert_eq!(w.final_states(6), ["failed"]);
    assert_eq!(w.ado.vote(REPO, 6), Some(-10));
    app.stop().await;
}
