//! `/thoth` comment commands end to end through the GitHub path: `issue_comment` deliveries
//! (built from the real fixtures) through the real router and workers, against the fake GitHub
//! API and a real git repository over HTTP.

mod support;

use std::time::Duration;

use support::eventually;
use support::fake_github::{Author, PullSpec};
use support::http::github_delivery;
use support::world::*;
use thoth_bot::ids::RepoId;
use thoth_bot::store;

/// One security group open to the world on SSH: a failing finding with a file and line.
const SG_ONLY_TF: &str = include_str!("data/terraform/open-ssh.tf");

fn pull(w: &World, head: &str) -> PullSpec {
    PullSpec {
        head_sha: head.into(),
        base_sha: w.base_sha.clone(),
        head_ref: "feature".into(),
        base_ref: "main".into(),
        author: "Codertocat".into(),
        ..PullSpec::default()
    }
}

/// Seeds `login`'s comment on PR 7 in the fake (so it can be reacted to) and builds its
/// delivery; returns (comment id, delivery body).
fn user_comment(w: &World, action: &str, login: &str, body: &str) -> (u64, Vec<u8>) {
    let author = if login.ends_with("[bot]") {
        Author::OtherApp(login.to_string())
    } else {
        Author::User(login.to_string())
    };
    let id = w.gh.add_comment(REPO, 7, body, author);
    (id, w.comment_event(action, 7, id, login, body))
}

fn replies_to(w: &World, comment_id: u64) -> Vec<String> {
    let marker = format!("thoth-bot:reply:{comment_id}:");
    w.gh.comments(REPO, 7)
        .into_iter()
        .filter(|c| c.body.contains(&marker))
        .map(|c| c.body)
        .collect()
}

fn reactions_on(w: &World, comment_id: u64) -> Vec<String> {
    w.gh.reactions()
        .into_iter()
        .filter(|r| r.comment_id == comment_id)
        .map(|r| r.content)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_is_authorized_applied_sticky_and_dropped_on_a_new_finding() {
    let w = World::new().await;
    let db = postgres_url().await;
    let app = w.start(&w.config(&db, 1)).await;
    w.gh.set_permission(REPO, "maintainer1", "maintain");
    w.gh.set_permission(REPO, "reader1", "read");

    let head1 = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head1));
    assert_eq!(w.open_pr(app.addr, "p-1", 7, &head1).await, 202);
    let run1 = w.wait_completed(&head1).await;
    assert_eq!(run1.conclusion.as_deref(), Some("failure"));
    let reviews_before = w.gh.reviews().len();

    // A reader may not override: a reply says who may, nothing else changes.
    let (id_5001, refused) = user_comment(
        &w,
        "created",
        "reader1",
        "/thoth override approve --reason \"looks fine to me\"",
    );
    assert_eq!(
        github_delivery(app.addr, SECRET, "issue_comment", "c-1", &refused).await,
        202
    );
    let reply = eventually("the refusal", || replies_to(&w, id_5001).pop()).await;
    assert!(reply.contains("not applied"), "{reply}");
    assert!(reply.contains("write, maintain or admin"), "{reply}");
    assert_eq!(reactions_on(&w, id_5001), vec!["confused"]);
    // So is the PR author, even with write access.
    w.gh.set_permission(REPO, "Codertocat", "admin");
    let (id_5002, own) = user_comment(
        &w,
        "created",
        "Codertocat",
        "/thoth override approve --reason mine",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "c-2", &own).await;
    let reply = eventually("the self-override refusal", || {
        replies_to(&w, id_5002).pop()
    })
    .await;
    assert!(reply.contains("author of a pull request"), "{reply}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.completed_runs(&head1).len(), 1, "no new check run");
    assert_eq!(w.gh.reviews().len(), reviews_before, "no new review");

    // A maintainer's override: the check passes and the review approves, for this head.
    let (id_5003, accepted) = user_comment(
        &w,
        "created",
        "maintainer1",
        "LGTM with the ticket.\n/thoth override approve --reason \"SEC-42: bastion only, accepted risk\"",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "c-3", &accepted).await;
    let run2 = eventually("the overriding check run", || {
        w.completed_runs(&head1)
            .into_iter()
            .find(|r| r.id != run1.id)
    })
    .await;
    assert_eq!(run2.conclusion.as_deref(), Some("success"));
    assert!(run2.title.unwrap_or_default().contains("maintainer1"));
    let review = eventually("the approving review", || {
        w.gh.reviews()
            .into_iter()
            .skip(reviews_before)
            .find(|r| r.event == "APPROVE")
    })
    .await;
    assert!(review.body.contains("SEC-42"), "{}", review.body);
    assert_eq!(reactions_on(&w, id_5003), vec!["+1"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = &marked_comments(&w, 7)[0].body;
    assert!(summary.contains("passed by an override"), "{summary}");
    assert!(
        summary.contains("Overridden by @\u{2060}maintainer1"),
        "{summary}"
    );

    // A push with the same failing findings keeps the override.
    let head2 = w.push_pr(7, &[("README.md", "# infra, now documented\n")]);
    w.gh.add_pull(REPO, 7, pull(&w, &head2));
    let body = w.pr_event("synchronize", 7, &head2);
    github_delivery(app.addr, SECRET, "pull_request", "p-2", &body).await;
    let run3 = w.wait_completed(&head2).await;
    assert_eq!(
        run3.conclusion.as_deref(),
        Some("success"),
        "override is sticky"
    );

    // A new failing finding drops it, and the summary says so.
    let head3 = w.push_pr(7, &[("db.tf", "resource \"aws_db_instance\" \"orders\" {\n  identifier        = \"dev-orders-db\"\n  storage_encrypted = false\n}\n")]);
    w.gh.add_pull(REPO, 7, pull(&w, &head3));
    let body = w.pr_event("synchronize", 7, &head3);
    github_delivery(app.addr, SECRET, "pull_request", "p-3", &body).await;
    let run4 = w.wait_completed(&head3).await;
    assert_eq!(run4.conclusion.as_deref(), Some("failure"));
    let summary = &marked_comments(&w, 7)[0].body;
    assert!(summary.contains("no longer applies"), "{summary}");

    app.stop().await;

    // The audit trail has the refusals, the override and its application.
    let store = store::open(&db).await.unwrap();
    let repo: RepoId = REPO.parse().unwrap();
    let records = store
        .decisions(
            Some(&repo),
            chrono::Utc::now() - chrono::Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    let kinds: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.decision.clone(), r.actor.clone()))
        .collect();
    for wanted in [
        ("override-refused:approve", "reader1"),
        ("override-refused:approve", "Codertocat"),
        ("override:approve", "maintainer1"),
        ("override-applied:approve", "maintainer1"),
    ] {
        assert!(
            kinds.contains(&(wanted.0.to_string(), wanted.1.to_string())),
            "{wanted:?} missing from {kinds:?}"
        );
    }
    assert!(
        store
            .get_override(
                thoth_bot::ids::Platform::GitHub,
                &repo,
                thoth_bot::ids::PrNumber(7)
            )
            .await
            .unwrap()
            .is_none(),
        "the dropped override is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_explain_rerun_bad_commands_edits_and_bots() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));

    // Several commands in one comment run in order; quoted and fenced ones do not.
    let body = "/thoth help\n> /thoth rerun\n```\n/thoth rerun\n```\n/thoth explain THOTH-AWS-SG-001\n/thoth frobnicate\n";
    let (id, ev) = user_comment(&w, "created", "someone", body);
    github_delivery(app.addr, SECRET, "issue_comment", "h-1", &ev).await;
    let replies = eventually("three replies", || {
        let r = replies_to(&w, id);
        (r.len() == 3).then_some(r)
    })
    .await;
    assert!(replies[0].contains("/thoth override approve|reject|request-changes"));
    assert!(replies[1].contains("THOTH-AWS-SG-001"), "{}", replies[1]);
    assert!(replies[1].contains("How to fix"), "{}", replies[1]);
    assert!(replies[2].contains("> /thoth frobnicate"), "{}", replies[2]);
    assert!(replies[2].contains("unknown command"), "{}", replies[2]);
    assert!(w.gh.check_runs().is_empty(), "no rerun was asked for");

    // Redelivery of the same comment: nothing new.
    github_delivery(app.addr, SECRET, "issue_comment", "h-1", &ev).await;
    // An edit that adds `/thoth rerun` runs only that: a check run, no new replies.
    let mut edited: serde_json::Value = serde_json::from_slice(&w.comment_event(
        "edited",
        7,
        id,
        "someone",
        &format!("{body}/thoth rerun\n"),
    ))
    .unwrap();
    edited["changes"] = serde_json::json!({ "body": { "from": body } });
    let edited = serde_json::to_vec(&edited).unwrap();
    github_delivery(app.addr, SECRET, "issue_comment", "h-2", &edited).await;
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(replies_to(&w, id).len(), 3);
    assert!(reactions_on(&w, id).contains(&"rocket".to_string()));

    // The bot's own comments are ignored.
    let before = w.gh.writes().len();
    let (_, ev) = user_comment(&w, "created", "thoth-bot[bot]", "/thoth help");
    github_delivery(app.addr, SECRET, "issue_comment", "h-3", &ev).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        w.gh.writes().len(),
        before,
        "{:#?}",
        &w.gh.writes()[before..]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_users_and_team_members_may_override() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.commands.override_users = vec!["@release-manager".into()];
    cfg.commands.override_teams = vec!["platform".into()];
    let app = w.start(&cfg).await;
    // Neither has any permission on the repository itself.
    w.gh.add_team_member("acme", "platform", "teamlead");

    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));
    assert_eq!(w.open_pr(app.addr, "t-1", 7, &head).await, 202);
    let first = w.wait_completed(&head).await;
    assert_eq!(first.conclusion.as_deref(), Some("failure"));

    let (_, ev) = user_comment(
        &w,
        "created",
        "release-manager",
        "/thoth override approve --reason release freeze exception",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "t-2", &ev).await;
    let approved = eventually("the configured user's override", || {
        w.completed_runs(&head)
            .into_iter()
            .find(|r| r.conclusion.as_deref() == Some("success"))
    })
    .await;
    assert!(
        approved
            .title
            .unwrap_or_default()
            .contains("release-manager")
    );

    let (_, ev) = user_comment(
        &w,
        "created",
        "teamlead",
        "/thoth override request-changes --reason \"not during the freeze\"",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "t-3", &ev).await;
    let review = eventually("the team member's review", || {
        w.gh.reviews()
            .into_iter()
            .find(|r| r.event == "REQUEST_CHANGES" && r.body.contains("not during the freeze"))
    })
    .await;
    assert_eq!(review.commit_id, head);
    let runs = w.completed_runs(&head);
    assert_eq!(runs.len(), 3, "one check run per evaluation: {runs:#?}");
    app.stop().await;
}

/// A job whose holders all died ends with a "could not complete" check run (the run its crashed
/// attempt left in progress, not a second one), and `/thoth rerun` evaluates the head again: the
/// dead job does not hold the new one back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_after_a_dead_job_evaluates_again() {
    let w = World::new().await;
    let db = postgres_url().await;
    let mut cfg = w.config(&db, 1);
    cfg.max_attempts = 1;
    // The first process stalls in the clone and crashes there.
    w.repo
        .server()
        .set_upload_pack_delay(Duration::from_secs(4));
    let first = w.start(&cfg).await;
    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));
    assert_eq!(w.open_pr(first.addr, "dead-1", 7, &head).await, 202);
    // Crash only once the in-progress run is recorded in the PR state, as a real crash mid-clone
    // would find it.
    let jobs = store::open(&db).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let state = jobs
            .pr_state(
                thoth_bot::ids::Platform::GitHub,
                &REPO.parse::<RepoId>().unwrap(),
                thoth_bot::ids::PrNumber(7),
            )
            .await
            .unwrap();
        if state.is_some_and(|s| s.check_run_id.is_some()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.abort();
    w.repo.server().set_upload_pack_delay(Duration::ZERO);

    // The restarted process finds the job's only attempt used up once the lease runs out.
    let second = w.start(&cfg).await;
    let dead_run = w.wait_completed(&head).await;
    assert_eq!(dead_run.conclusion.as_deref(), Some("failure"));
    assert_eq!(
        dead_run.title.as_deref(),
        Some("Evaluation could not complete")
    );
    let summary = dead_run.summary.clone().unwrap_or_default();
    assert!(summary.contains("`/thoth rerun`"), "{summary}");
    assert!(
        summary.contains("did not complete after 1 attempt"),
        "{summary}"
    );
    assert_eq!(
        w.gh.check_runs().len(),
        1,
        "the in-progress run is completed, not doubled: {:#?}",
        w.gh.check_runs()
    );
    let dead = jobs.jobs_by_state(store::JobState::Dead, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert!(marked_comments(&w, 7).is_empty(), "nothing was evaluated");

    let (id, ev) = user_comment(&w, "created", "someone", "/thoth rerun");
    assert_eq!(
        github_delivery(second.addr, SECRET, "issue_comment", "dead-2", &ev).await,
        202
    );
    let rerun = eventually("the rerun's check run", || {
        w.completed_runs(&head)
            .into_iter()
            .find(|r| r.id != dead_run.id)
    })
    .await;
    assert_eq!(rerun.conclusion.as_deref(), Some("failure"));
    assert_ne!(rerun.title, dead_run.title, "a real result this time");
    assert!(reactions_on(&w, id).contains(&"rocket".to_string()));
    eventually("the summary comment", || {
        (marked_comments(&w, 7).len() == 1).then_some(())
    })
    .await;
    assert_eq!(w.gh.check_runs().len(), 2);
    second.stop().await;
}
