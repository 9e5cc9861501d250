//! The org policy repository from git: pinned to the commit its tag, branch or id names,
//! fetched again only after the refresh interval, offered the forge's credentials on the same
//! origin only, and failing closed (library level and end to end through a GitHub PR).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::TestRepo;
use support::world::*;
use thoth_bot::checkout::policy_repo::{GitPolicyRepo, PolicyRepo};
use thoth_bot::checkout::{CheckoutError, CheckoutLimits, MirrorCache};

/// An org rule that fires on any SNS topic, so a pull request shows whether it ran.
const SNS_RULE: &str = r#"package org.sns

import rego.v1

deny contains res if {
	some name, _ in input.resource.aws_sns_topic
	res := {"msg": sprintf("aws_sns_topic.%s: the org forbids SNS topics", [name]), "id": "ORG-SNS-001"}
}
"#;

fn limits() -> CheckoutLimits {
    CheckoutLimits {
        timeout: Duration::from_secs(60),
        ..CheckoutLimits::default()
    }
}

fn policy_repo(server: &Arc<support::GitHttpServer>) -> TestRepo {
    TestRepo::on(server.clone(), "acme/org-iac-policies")
}

#[test]
fn a_tag_is_pinned_and_a_moved_tag_is_picked_up_after_the_refresh_interval() {
    let repo = TestRepo::new();
    let org = policy_repo(repo.server());
    let v1 = org.commit(&[("shared/policy/hcl/sns.rego", SNS_RULE)], "v1");
    org.set_ref("refs/tags/v1.4.0", &v1);
    let dir = tempfile::tempdir().unwrap();
    let mirrors = MirrorCache::new(dir.path().join("mirrors")).unwrap();
    let refresh = Duration::from_secs(300);
    let g = GitPolicyRepo::new(&org.url(), "v1.4.0", refresh, dir.path().join("policy"));
    let creds = org.checkout_credentials();
    let t0 = Instant::now();

    let pinned = g.pin(&mirrors, Some(&creds), &limits(), t0).unwrap();
    assert_eq!(pinned.commit.as_deref(), Some(v1.as_str()));
    assert!(pinned.dir.join("shared/policy/hcl/sns.rego").is_file());
    assert_eq!(pinned.source, format!("{}@v1.4.0", org.url()));
    assert!(
        pinned.describe().contains(&v1[..12]),
        "{}",
        pinned.describe()
    );

    // The tag moves; within the interval the pinned commit stays, and nothing is fetched.
    let v2 = org.commit(&[("shared/policy/hcl/extra.rego", "package x\n")], "v2");
    org.set_ref("refs/tags/v1.4.0", &v2);
    repo.server().clear_requests();
    let again = g
        .pin(
            &mirrors,
            Some(&creds),
            &limits(),
            t0 + Duration::from_secs(299),
        )
        .unwrap();
    assert_eq!(again.commit.as_deref(), Some(v1.as_str()));
    assert!(repo.server().requests().is_empty());
    // The old tree is never changed under an evaluation that pinned it.
    assert!(!again.dir.join("shared/policy/hcl/extra.rego").exists());

    let later = g
        .pin(
            &mirrors,
            Some(&creds),
            &limits(),
            t0 + Duration::from_secs(301),
        )
        .unwrap();
    assert_eq!(later.commit.as_deref(), Some(v2.as_str()));
    assert!(later.dir.join("shared/policy/hcl/extra.rego").is_file());
    assert!(pinned.dir.join("shared/policy/hcl/sns.rego").is_file());
    assert_eq!(g.last_pinned().unwrap().commit, later.commit);
}

#[test]
fn branches_and_commit_ids_resolve_and_unknown_refs_fail() {
    let repo = TestRepo::new();
    let org = policy_repo(repo.server());
    let first = org.commit(&[("shared/policy/hcl/sns.rego", SNS_RULE)], "one");
    let second = org.commit(&[("README.md", "# policies\n")], "two");
    let dir = tempfile::tempdir().unwrap();
    let mirrors = MirrorCache::new(dir.path().join("mirrors")).unwrap();
    let creds = org.checkout_credentials();
    let pin = |reference: &str| {
        GitPolicyRepo::new(&org.url(), reference, Duration::ZERO, dir.path().join("p")).pin(
            &mirrors,
            Some(&creds),
            &limits(),
            Instant::now(),
        )
    };
    assert_eq!(
        pin("main").unwrap().commit.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(pin(&first).unwrap().commit.as_deref(), Some(first.as_str()));
    match pin("v9.9.9") {
        Err(CheckoutError::NotFound(m)) => assert!(m.contains("v9.9.9"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fetch_failures_are_errors_never_fewer_policies() {
    let repo = TestRepo::new();
    let org = policy_repo(repo.server());
    org.commit(&[("shared/policy/hcl/sns.rego", SNS_RULE)], "v1");
    let dir = tempfile::tempdir().unwrap();
    let mirrors = MirrorCache::new(dir.path().join("mirrors")).unwrap();
    // No credentials where the server wants some.
    let g = GitPolicyRepo::new(&org.url(), "main", Duration::ZERO, dir.path().join("p"));
    assert!(matches!(
        g.pin(&mirrors, None, &limits(), Instant::now()),
        Err(CheckoutError::Auth(_))
    ));
    assert!(g.last_pinned().is_none());
    // A repository that does not exist.
    let url = org.url().replace("org-iac-policies", "missing");
    let g = GitPolicyRepo::new(&url, "main", Duration::ZERO, dir.path().join("p"));
    assert!(
        g.pin(
            &mirrors,
            Some(&org.checkout_credentials()),
            &limits(),
            Instant::now()
        )
        .is_err()
    );
}

#[test]
fn forge_credentials_go_to_the_pull_requests_origin_only() {
    let repo = TestRepo::new();
    let org = policy_repo(repo.server());
    org.commit(&[("shared/policy/hcl/sns.rego", SNS_RULE)], "v1");
    let dir = tempfile::tempdir().unwrap();
    let mirrors = MirrorCache::new(dir.path().join("mirrors")).unwrap();
    let p = PolicyRepo::Git(GitPolicyRepo::new(
        &org.url(),
        "main",
        Duration::ZERO,
        dir.path().join("p"),
    ));
    let creds = org.checkout_credentials();
    // The PR lives elsewhere: its token is not offered, and the server refuses the fetch.
    assert!(matches!(
        p.pin(
            &mirrors,
            Some("https://elsewhere.example/acme/infra.git"),
            Some(&creds),
            &limits()
        ),
        Err(CheckoutError::Auth(_))
    ));
    assert!(
        p.pin(&mirrors, Some(&repo.url()), Some(&creds), &limits())
            .is_ok()
    );
    assert!(repo.server().requests().iter().any(|r| r.auth_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_is_judged_by_the_pinned_org_repository_and_fails_closed_without_it() {
    let w = World::new().await;
    let org = TestRepo::on(w.repo.server().clone(), "acme/org-iac-policies");
    let v1 = org.commit(&[("shared/policy/hcl/sns.rego", SNS_RULE)], "v1");
    org.set_ref("refs/tags/v1.4.0", &v1);

    let mut cfg = w.config(&w.sled(), 1);
    cfg.policy_repo = Some(org.url());
    cfg.policy_repo_ref = "v1.4.0".into();
    let app = w.start(&cfg).await;
    let head = w.push_pr(7, &[("main.tf", &BASE_TF.replace("alerts", "alarms"))]);
    assert_eq!(w.open_pr(app.addr, "d-org-1", 7, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let comment = marked_comments(&w, 7).pop().expect("summary").body;
    assert!(comment.contains("ORG-SNS-001"), "{comment}");
    // The summary names the source and the commit (`@` is kept from mentioning anyone).
    let line = comment
        .lines()
        .find(|l| l.starts_with("Policy sets: org policy repository "))
        .unwrap_or_else(|| panic!("{comment}"));
    assert!(line.contains(&org.url().replace(".git", "")), "{line}");
    assert!(line.contains(&format!("v1.4.0 ({})", &v1[..12])), "{line}");
    app.stop().await;

    // The policy repository is gone: the check fails closed and says why.
    let mut cfg = w.config(&format!("sled:{}", w.dir.path().join("s2").display()), 1);
    cfg.policy_repo = Some(org.url().replace("org-iac-policies", "moved-away"));
    cfg.policy_repo_ref = "v1.4.0".into();
    cfg.cache_dir = w.dir.path().join("cache2");
    let app = w.start(&cfg).await;
    let head = w.push_pr(8, &[("main.tf", &BASE_TF.replace("alerts", "alarms2"))]);
    assert_eq!(w.open_pr(app.addr, "d-org-2", 8, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let text = format!("{:?} {:?}", run.title, run.summary);
    assert!(
        text.contains("org policy repository could not be fetched"),
        "{text}"
    );
    app.stop().await;
}
