//! `/thoth` comment commands end to end through the GitHub path: `issue_comment` deliveries
//! (built from the real fixtures) through the real router and workers, against the fake GitHub
//! API and a real git repository over HTTP.

mod support;

use std::time::Duration;

use sha2::{Digest, Sha256};
use support::eventually;
use support::fake_github::{Author, PullSpec};
use support::http::github_delivery;
use support::world::*;
use thoth_bot::config::OverrideAfterPush;
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
    let mut cfg = w.config(&db, 1);
    cfg.commands.override_after_push = OverrideAfterPush::KeepIfSameFindings;
    let app = w.start(&cfg).await;
    w.gh.set_permission(REPO, "maintainer1", "maintain");
    w.gh.set_permission(REPO, "reader1", "read");

    let head1 = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head1));
    assert_eq!(w.open_pr(app.addr, "p-1", 7, &head1).await, 202);
    let run1 = w.wait_completed(&head1).await;
    assert_eq!(run1.conclusion.as_deref(), Some("failure"));
    let reviews_before = w.gh.reviews().len();

    // A reader may not override: a reply says so (not who may), nothing else changes.
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
    assert!(reply.contains("not allowed"), "{reply}");
    assert!(
        !reply.contains("maintainer1") && !reply.contains("write"),
        "{reply}"
    );
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
    w.wait_idle().await;
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
    w.wait_idle().await;
    let summary = &marked_comments(&w, 7)[0].body;
    assert!(summary.contains("passed by an override"), "{summary}");
    assert!(
        summary.contains("Overridden by @\u{2060}maintainer1"),
        "{summary}"
    );

    // A push with the same failing findings keeps the override (`keep-if-same-findings`).
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

    // Several commands in one comment run in order and get one reply; quoted and fenced ones
    // do not run.
    let body = "/thoth help\n> /thoth rerun\n```\n/thoth rerun\n```\n/thoth explain THOTH-AWS-SG-001\n/thoth frobnicate\n";
    let (id, ev) = user_comment(&w, "created", "someone", body);
    github_delivery(app.addr, SECRET, "issue_comment", "h-1", &ev).await;
    let reply = eventually("the reply", || replies_to(&w, id).pop()).await;
    let help = reply
        .find("/thoth override approve|reject|request-changes")
        .expect("help");
    let explain = reply.find("How to fix").expect("explain");
    let unknown = reply.find("> /thoth frobnicate").expect("the bad command");
    assert!(help < explain && explain < unknown, "in order: {reply}");
    assert!(reply.contains("THOTH-AWS-SG-001"), "{reply}");
    assert!(reply.contains("unknown command"), "{reply}");
    assert!(w.gh.check_runs().is_empty(), "no rerun was asked for");

    // Redelivery of the same comment: nothing new.
    github_delivery(app.addr, SECRET, "issue_comment", "h-1", &ev).await;
    // An edit that adds `/thoth rerun` runs only that: a check run, no new reply (a reaction
    // acknowledges it).
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
    assert_eq!(replies_to(&w, id).len(), 1);
    assert!(reactions_on(&w, id).contains(&"rocket".to_string()));

    // The bot's own comments are ignored.
    let before = w.gh.writes().len();
    let (_, ev) = user_comment(&w, "created", "thoth-bot[bot]", "/thoth help");
    github_delivery(app.addr, SECRET, "issue_comment", "h-3", &ev).await;
    w.wait_idle().await;
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

    // Someone else is refused, and the reply does not name who may override.
    w.gh.set_permission(REPO, "outsider", "read");
    let (id, ev) = user_comment(
        &w,
        "created",
        "outsider",
        "/thoth override approve --reason trust me",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "t-0", &ev).await;
    let reply = eventually("the refusal", || replies_to(&w, id).pop()).await;
    assert!(reply.contains("not applied"), "{reply}");
    for listed in ["release-manager", "platform"] {
        assert!(!reply.contains(listed), "{listed} named in: {reply}");
    }

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

/// Audit records of the test repository in the last hour (the server must be stopped for sled).
async fn audit(store_url: &str) -> Vec<(String, String)> {
    let store = support::reopen_store(store_url).await;
    let repo: RepoId = REPO.parse().unwrap();
    store
        .decisions(
            Some(&repo),
            chrono::Utc::now() - chrono::Duration::hours(1),
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.decision, r.actor))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_capped_per_comment_and_budgeted_per_user() {
    let w = World::new().await;
    let mut cfg = w.config(&w.sled(), 1);
    cfg.commands.commands_per_hour = 2;
    let app = w.start(&cfg).await;
    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));

    // Fifteen distinct commands and repeated lines: ten run, one reply lists them and the rest.
    let mut body: String = (0..15).map(|i| format!("/thoth nope{i}\n")).collect();
    body.push_str("/thoth nope0\n/thoth nope1\n");
    let (id, ev) = user_comment(&w, "created", "flooder", &body);
    github_delivery(app.addr, SECRET, "issue_comment", "f-1", &ev).await;
    let reply = eventually("the one reply", || replies_to(&w, id).pop()).await;
    assert_eq!(replies_to(&w, id).len(), 1);
    assert_eq!(reply.matches("unknown command").count(), 10, "{reply}");
    assert_eq!(reply.matches("<!-- thoth-bot:cmd:").count(), 10, "{reply}");
    assert!(reply.contains("at most 10 commands"), "{reply}");
    assert!(reply.contains("> /thoth nope14"), "{reply}");
    assert_eq!(reactions_on(&w, id), vec!["confused"]);

    // `help` twice is within the budget of 2, the third gets one reply saying so, the fourth
    // is ignored; another user's budget is their own.
    let mut ids = Vec::new();
    for n in 0..4 {
        let (id, ev) = user_comment(&w, "created", "flooder", "/thoth help");
        github_delivery(app.addr, SECRET, "issue_comment", &format!("b-{n}"), &ev).await;
        ids.push(id);
    }
    let (other, ev) = user_comment(&w, "created", "someone-else", "/thoth help");
    github_delivery(app.addr, SECRET, "issue_comment", "b-other", &ev).await;
    // One worker runs the jobs in order: once the last one is answered, all are done.
    let answer = eventually("the other user's help", || replies_to(&w, other).pop()).await;
    assert!(answer.contains("thoth-bot commands"), "{answer}");
    for id in &ids[..2] {
        let r = replies_to(&w, *id);
        assert!(r[0].contains("thoth-bot commands"), "{r:?}");
    }
    let over = replies_to(&w, ids[2]);
    assert_eq!(over.len(), 1, "{over:?}");
    assert!(over[0].contains("@flooder"), "{}", over[0]);
    assert!(
        over[0].contains("2 `rerun`, `review`, `explain` and `help`"),
        "{}",
        over[0]
    );
    assert!(!over[0].contains("thoth-bot commands"), "{}", over[0]);
    assert!(replies_to(&w, ids[3]).is_empty(), "the fourth is ignored");
    assert!(reactions_on(&w, ids[3]).is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_by_others_do_not_run_and_planted_markers_are_not_trusted() {
    let w = World::new().await;
    let store_url = w.sled();
    let app = w.start(&w.config(&store_url, 1)).await;
    w.gh.set_permission(REPO, "maintainer1", "maintain");
    let head = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    w.gh.add_pull(REPO, 7, pull(&w, &head));

    // maintainer1 edits reader1's comment to add an override: nothing runs in either's name.
    let (id, _) = user_comment(&w, "created", "reader1", "nice");
    let mut edited: serde_json::Value = serde_json::from_slice(&w.comment_event(
        "edited",
        7,
        id,
        "reader1",
        "nice\n/thoth override approve --reason \"edited in\"",
    ))
    .unwrap();
    edited["changes"] = serde_json::json!({ "body": { "from": "nice" } });
    edited["sender"]["login"] = serde_json::json!("maintainer1");
    let edited = serde_json::to_vec(&edited).unwrap();
    github_delivery(app.addr, SECRET, "issue_comment", "e-1", &edited).await;

    // A participant plants the reply marker the next command's answer will carry; the command
    // still runs and is answered.
    let line = "/thoth help";
    let next =
        w.gh.add_comment(REPO, 7, line, Author::User("someone".into()));
    let cmd = format!(
        "<!-- thoth-bot:cmd:{next}:{}-0 -->",
        hex(&Sha256::digest(line.as_bytes())[..4])
    );
    let reply_marker = format!(
        "<!-- thoth-bot:reply:{next}:{} -->",
        hex(&Sha256::digest(format!("{cmd}\n").as_bytes())[..6])
    );
    w.gh.add_comment(
        REPO,
        7,
        &format!("{reply_marker}\n{cmd}\nalready answered, bot"),
        Author::User("mallory".into()),
    );
    let ev = w.comment_event("created", 7, next, "someone", line);
    github_delivery(app.addr, SECRET, "issue_comment", "e-2", &ev).await;
    let answer = eventually("the help reply", || {
        w.gh.comments(REPO, 7)
            .into_iter()
            .find(|c| c.body.contains(&reply_marker) && c.author == Author::App)
    })
    .await;
    assert!(
        answer.body.contains("thoth-bot commands"),
        "{}",
        answer.body
    );

    // The edit (handled before, one worker) left no trace on the PR but the audit record.
    assert!(replies_to(&w, id).is_empty());
    assert!(reactions_on(&w, id).is_empty());
    assert!(w.gh.check_runs().is_empty());
    app.stop().await;
    let records = audit(&store_url).await;
    assert!(
        records.contains(&(
            "command-refused:edited-by-other".into(),
            "maintainer1".into()
        )),
        "{records:?}"
    );
    assert!(
        !records.iter().any(|(d, _)| d.starts_with("override:")),
        "{records:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_bind_to_the_head_seen_and_end_on_a_push_and_pushers_may_not_override() {
    let w = World::new().await;
    let app = w.start(&w.config(&w.sled(), 1)).await;
    w.gh.set_permission(REPO, "maintainer1", "maintain");
    w.gh.set_permission(REPO, "helper", "write");

    let head1 = w.push_pr(7, &[("main.tf", SG_ONLY_TF)]);
    let mut spec = pull(&w, &head1);
    spec.pushers = vec!["Codertocat".into(), "helper".into()];
    w.gh.add_pull(REPO, 7, spec.clone());
    assert_eq!(w.open_pr(app.addr, "o-1", 7, &head1).await, 202);
    let run1 = w.wait_completed(&head1).await;
    assert_eq!(run1.conclusion.as_deref(), Some("failure"));

    // Someone who pushed a commit to the PR is one of its authors: refused despite write access.
    let (pusher, ev) = user_comment(
        &w,
        "created",
        "helper",
        "/thoth override approve --reason \"my own fix\"",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "o-2", &ev).await;
    let reply = eventually("the pusher's refusal", || replies_to(&w, pusher).pop()).await;
    assert!(reply.contains("you pushed commits"), "{reply}");

    // A maintainer's override applies to the head they saw.
    let (_, ev) = user_comment(
        &w,
        "created",
        "maintainer1",
        "/thoth override approve --reason \"SEC-42\"",
    );
    github_delivery(app.addr, SECRET, "issue_comment", "o-3", &ev).await;
    eventually("the overriding check run", || {
        w.completed_runs(&head1)
            .into_iter()
            .find(|r| r.conclusion.as_deref() == Some("success"))
    })
    .await;

    // A push with the same findings ends it (the default `drop`).
    let head2 = w.push_pr(7, &[("README.md", "# infra, now documented\n")]);
    spec.head_sha = head2.clone();
    w.gh.add_pull(REPO, 7, spec.clone());
    let body = w.pr_event("synchronize", 7, &head2);
    github_delivery(app.addr, SECRET, "pull_request", "o-4", &body).await;
    let run2 = w.wait_completed(&head2).await;
    assert_eq!(run2.conclusion.as_deref(), Some("failure"));
    let summary = &marked_comments(&w, 7)[0].body;
    assert!(summary.contains("commits were pushed"), "{summary}");

    // An override written while head2 was shown, handled after head3 was pushed: it is not
    // applied to head3, which its author never saw.
    let (late, ev) = user_comment(
        &w,
        "created",
        "maintainer1",
        "/thoth override approve --reason \"SEC-43\"",
    );
    let head3 = w.push_pr(7, &[("notes.md", "more\n")]);
    spec.head_sha = head3.clone();
    w.gh.add_pull(REPO, 7, spec);
    github_delivery(app.addr, SECRET, "issue_comment", "o-5", &ev).await;
    let reply = eventually("the stale override's refusal", || {
        replies_to(&w, late).pop()
    })
    .await;
    assert!(reply.contains("commits were pushed after"), "{reply}");
    assert!(
        w.completed_runs(&head3).is_empty(),
        "{:#?}",
        w.gh.check_runs()
    );
    assert_eq!(reactions_on(&w, late), vec!["confused"]);
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
    let repo = REPO.parse::<RepoId>().unwrap();
    support::poll(
        Duration::from_secs(60),
        || async {
            let state = jobs
                .pr_state(
                    thoth_bot::ids::Platform::GitHub,
                    &repo,
                    thoth_bot::ids::PrNumber(7),
                )
                .await
                .unwrap();
            state.and_then(|s| s.check_run_id)
        },
        || "the worker never started".to_string(),
    )
    .await;
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
