//! A hot PR (thousands of deliveries for one pull request) costs O(1) per enqueue on both stores.
//!
//! - PostgreSQL: enqueue is one statement ([`ENQUEUE_SQL`]); its plan on a PR with a long
//!   history reads no table sequentially and touches only the PR's queued job, however many
//!   finished jobs the PR has. The bound is on rows, not time.
//! - sled: enqueue follows the PR's `pr_latest` pointer to its one queued job; a burst of
//!   concurrent enqueues still leaves exactly one runnable job for the PR.
//!
//! PostgreSQL tests use a fresh database on `THOTH_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `THOTH_SKIP_POSTGRES=1` skips them loudly.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::Connection;
use thoth_bot::ids::{CommitSha, Platform, PrNumber, RepoId};
use thoth_bot::store::postgres::{ENQUEUE_SQL, RELAXED_COMMIT};
use thoth_bot::store::{self, EnqueueOutcome, JobKind, JobState, NewJob, Store};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const HISTORY: u64 = 1500;

fn job(pr: u64, i: u64) -> NewJob {
    NewJob {
        platform: Platform::GitHub,
        repo: "octo/infra".parse::<RepoId>().expect("repo"),
        pr: PrNumber(pr),
        head_sha: format!("{i:040x}").parse::<CommitSha>().expect("sha"),
        kind: JobKind::Evaluate,
        delivery: format!("hot-{pr}-{i}").parse().expect("delivery id"),
        payload: json!({"action": "synchronize", "pr": pr}),
    }
}

/// Enqueues `n` jobs for PR 1, `concurrency` at a time.
async fn burst(s: &Arc<dyn Store>, from: u64, n: u64, concurrency: u64) {
    let mut next = from;
    while next < from + n {
        let tasks: Vec<_> = (next..(next + concurrency).min(from + n))
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.enqueue(job(1, i), Utc::now()).await })
            })
            .collect();
        for t in tasks {
            let outcome = t.await.expect("task").expect("enqueue");
            assert!(matches!(outcome, EnqueueOutcome::Enqueued(_)));
        }
        next += concurrency;
    }
}

/// After a burst for one PR, claims hand out exactly one job of it: the newest.
async fn one_runnable_job(s: &Arc<dyn Store>, newest_delivery: &str) {
    let mut claimed = Vec::new();
    while let Some(j) = s
        .claim("w", Duration::from_secs(60), Utc::now())
        .await
        .expect("claim")
    {
        claimed.push(j.delivery.to_string());
    }
    assert_eq!(claimed, vec![newest_delivery.to_string()]);
    assert_eq!(s.queue_depth().await.expect("depth"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_hot_pr_keeps_one_queued_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sled:{}", dir.path().join("db").display());
    let s = store::open(&url).await.expect("open sled");
    burst(&s, 0, 400, 32).await;
    // Enqueue supersedes under the queue lock: one queued job, whatever the concurrency.
    assert_eq!(s.queue_depth().await.expect("depth"), 1);
    let superseded = s
        .jobs_by_state(JobState::Superseded, 1000)
        .await
        .expect("jobs");
    assert_eq!(superseded.len(), 399);
    let newest = s.jobs_by_state(JobState::Queued, 10).await.expect("jobs");
    let newest = newest[0].delivery.to_string();
    one_runnable_job(&s, &newest).await;
}

/// The server's URL; `None` when PostgreSQL is skipped on purpose.
fn admin_url() -> Option<String> {
    if std::env::var("THOTH_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("!!!!!!!! THOTH_SKIP_POSTGRES=1: PostgreSQL hot-PR tests SKIPPED !!!!!!!!");
        return None;
    }
    Some(std::env::var("THOTH_TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.into()))
}

/// A fresh database; `None` when PostgreSQL is skipped on purpose.
async fn postgres() -> Option<(String, String, String)> {
    let admin = admin_url()?;
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL unreachable at {admin}: {e}"));
    let name = format!("thoth_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let url = match admin.split_once('?') {
        Some((base, query)) => format!("{}/{name}?{query}", &base[..base.rfind('/').unwrap()]),
        None => format!(
            "{}/{name}",
            &admin[..admin.rfind('/').expect("database in URL")]
        ),
    };
    Some((admin, name, url))
}

async fn drop_db(admin: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// Every plan node, depth first.
fn nodes(plan: &Value, out: &mut Vec<Value>) {
    out.push(plan.clone());
    if let Some(children) = plan["Plans"].as_array() {
        for c in children {
            nodes(c, out);
        }
    }
}

async fn postgres_enqueue_is_one_bounded_statement(url: String) {
    let s = store::open(&url).await.expect("open postgres");
    // A long history for PR 1 (all but the newest superseded), concurrent as at intake.
    burst(&s, 0, HISTORY, 16).await;
    // Concurrent enqueues may leave a few older jobs queued (each skips rows another holds);
    // one more, alone, supersedes them, so the PR has exactly one queued job.
    burst(&s, HISTORY, 1, 1).await;

    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("ANALYZE jobs")
        .execute(&mut conn)
        .await
        .expect("analyze");
    // The production statement, executed for one more delivery of the hot PR.
    let sql = format!("EXPLAIN (ANALYZE, FORMAT JSON) {ENQUEUE_SQL}");
    let (plan,): (Value,) = sqlx::query_as(&sql)
        .bind(uuid::Uuid::new_v4())
        .bind("github")
        .bind("octo/infra")
        .bind(1_i64)
        .bind(format!("{:040x}", HISTORY + 1))
        .bind("evaluate")
        .bind("hot-explained")
        .bind(json!({"action": "synchronize"}).to_string())
        .bind(Utc::now())
        .fetch_one(&mut conn)
        .await
        .expect("explain enqueue");
    let mut all = Vec::new();
    nodes(&plan[0]["Plan"], &mut all);
    let scans: Vec<&Value> = all
        .iter()
        .filter(|n| n["Relation Name"] == "jobs")
        .collect();
    assert!(
        all.iter().all(|n| n["Node Type"] != "Seq Scan"),
        "a sequential scan: {plan:#}"
    );
    // Reads of the jobs table: the PR's queued job(s) only, not its history.
    let rows_read: u64 = scans
        .iter()
        .map(|n| {
            n["Actual Rows"].as_u64().unwrap_or(0)
                + n["Rows Removed by Filter"].as_u64().unwrap_or(0)
        })
        .sum();
    assert!(
        rows_read <= 4,
        "enqueue read {rows_read} rows of a PR with {HISTORY} jobs: {plan:#}"
    );
    drop(conn);

    // Coalescing still holds: the explained delivery superseded the rest, and claims hand out
    // only it (skipped rows, if any, are superseded at claim).
    one_runnable_job(&s, "hot-explained").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_hot_pr_enqueue_is_o1() {
    let Some((admin, name, url)) = postgres().await else {
        return;
    };
    let result = tokio::spawn(postgres_enqueue_is_one_bounded_statement(url)).await;
    drop_db(&admin, &name).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The body digest and delivery records are written with [`RELAXED_COMMIT`], so a delivery
/// waits for one WAL flush (its job's), not two: the setting holds inside the statement and is
/// gone after it, so the job's own commit stays synchronous.
#[tokio::test]
async fn postgres_relaxed_commit_applies_to_its_own_statement_only() {
    let Some(admin) = admin_url() else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    let setting = "SELECT current_setting('synchronous_commit')";
    let (before,): (String,) = sqlx::query_as(setting)
        .fetch_one(&mut conn)
        .await
        .expect("setting");
    let (inside,): (String,) = sqlx::query_as(&format!("{setting} FROM {RELAXED_COMMIT}"))
        .fetch_one(&mut conn)
        .await
        .expect("relaxed statement");
    let (after,): (String,) = sqlx::query_as(setting)
        .fetch_one(&mut conn)
        .await
        .expect("setting");
    assert_eq!(inside, "off");
    assert_ne!(
        before, "off",
        "the server itself runs without synchronous commits"
    );
    assert_eq!(after, before);
}
