//! The store contract: one suite, written once against `Arc<dyn Store>`, run on both backends.
//!
//! - sled: a fresh temporary directory per test.
//! - PostgreSQL: a fresh database per test (`thoth_test_<uuid>`), created through
//!   `THOTH_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped
//!   afterwards, even when the test fails. An unreachable server FAILS these tests; set
//!   `THOTH_SKIP_POSTGRES=1` to skip them on purpose (a loud line says so).
//!
//! Each contract test gets two handles on one store: for PostgreSQL two separate pools, as two
//! replicas would have; for sled (one process per database) the same handle twice.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use sqlx::Connection;
use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use thoth_bot::ids::{CommitSha, DecisionId, DeliveryId, JobId, Platform, PrNumber, RepoId};
use thoth_bot::queue::{self, Claimed, FailOutcome, Worker};
use thoth_bot::store::evaluation::{
    AppliedOverride, EvaluationId, EvaluationRecord, PolicySetRun, StageTime, StoredFinding,
};
use thoth_bot::store::{
    self, ActionVerdict, DecisionRecord, EnqueueOutcome, Job, JobKind, JobState, NewJob, Override,
    PrState, ScanCursor, Store,
};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const LEASE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Two handles on the same store.
#[derive(Clone)]
struct Stores {
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
}

/// A throwaway PostgreSQL database.
struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a fresh database; `None` only when `THOTH_SKIP_POSTGRES=1`.
    async fn create(test: &str) -> Option<TestDb> {
        if std::env::var("THOTH_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!(
                "!!!!!!!! THOTH_SKIP_POSTGRES=1: PostgreSQL contract test `{test}` SKIPPED !!!!!!!!"
            );
            return None;
        }
        let admin_url =
            std::env::var("THOTH_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL unreachable at {admin_url}: {e}\n\
                 Start it (pg_ctlcluster <version> main start) or set THOTH_SKIP_POSTGRES=1 to \
                 skip the PostgreSQL tests explicitly."
                )
            });
        let name = format!("thoth_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(TestDb {
            admin_url,
            name,
            url,
        })
    }

    /// Best effort: a leftover `thoth_test_*` database is harmless.
    async fn drop_db(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = sqlx::query(&sql).execute(&mut admin).await {
                eprintln!("could not drop {}: {e}", self.name);
            }
            let _ = admin.close().await;
        }
    }
}

/// `url` with its database name replaced (query string kept).
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs `body` in its own task so a failing assertion still lets us clean up, then re-raises.
async fn run_guarded<Fut>(body: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Err(e) = tokio::spawn(body).await {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn sled_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sled:{}", dir.path().join("db").display());
    store::open(&url).await.expect("open sled store")
}

async fn run_sled<F, Fut>(body: F)
where
    F: FnOnce(Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let a = sled_store(&dir).await;
    let stores = Stores { b: a.clone(), a };
    run_guarded(body(stores)).await;
}

/// Runs `body` with the URL of a fresh database, dropping it afterwards even if `body` panics.
async fn with_postgres_db<F, Fut>(test: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create(test).await else {
        return;
    };
    let result = tokio::spawn(body(db.url.clone())).await;
    db.drop_db().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn run_postgres<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Stores) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_db(test, |url| async move {
        // Two pools, as two replicas would have.
        let a = store::open(&url).await.expect("open postgres store");
        let b = store::open(&url).await.expect("open postgres store");
        body(Stores { a, b }).await;
    })
    .await;
}

/// Generates `sled::NAME` and `postgres::NAME` tests for each contract test function.
macro_rules! contract_tests {
    ($($name:ident),+ $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::run_sled(crate::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::run_postgres(stringify!($name), crate::$name).await;
                }
            )+
        }
    };
}

contract_tests!(
    ping_works,
    delivery_dedupe_and_prune,
    body_digests_name_the_first_delivery,
    enqueue_is_durable_and_dedupes_on_delivery,
    prune_forgets_finished_jobs_only,
    coalescing_supersedes_queued_but_not_running,
    stale_evaluate_jobs_are_not_requeued,
    claim_lease_heartbeat_complete,
    claim_order_follows_run_after,
    expired_lease_is_reclaimed_and_old_worker_loses,
    fail_with_retry_then_dead,
    retry_policy_ends_in_dead,
    crashed_job_ends_dead_after_max_attempts,
    crashes_and_failures_share_the_attempt_limit,
    release_does_not_count_the_attempt,
    queue_depth_and_jobs_by_state,
    decisions_newest_first_with_repo_filter,
    action_daily_limit_cooldown_and_new_day,
    overrides_put_get_clear,
    pr_state_upsert,
    concurrent_claims_run_each_job_once,
    concurrent_actions_respect_the_daily_limit,
    ten_thousand_enqueues_with_duplicates,
    counters_count_per_key_and_window_and_prune,
    concurrent_counter_bumps_all_count,
    scan_lease_has_one_holder_until_it_expires,
    concurrent_scan_lease_claims_have_one_winner,
    scan_cursor_round_trips,
    evaluations_by_id_pr_and_time_bounded_and_pruned,
    ai_usage_adds_per_key_and_reads_since,
    concurrent_ai_usage_adds_all_count,
    push_tokens_put_get_revoke,
    pushed_reports_replace_per_key_and_prune,
    pr_heads_find_prs_at_a_head,
);

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0)
        .single()
        .expect("valid time")
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

fn repo(name: &str) -> RepoId {
    name.parse().expect("repo id")
}

fn sha(n: u64) -> CommitSha {
    format!("{n:040x}").parse().expect("sha")
}

fn job_for(pr: u64, head: u64, kind: JobKind, delivery: &str) -> NewJob {
    NewJob {
        platform: Platform::GitHub,
        repo: repo("octo/infra"),
        pr: PrNumber(pr),
        head_sha: sha(head),
        kind,
        delivery: delivery.parse().expect("delivery id"),
        payload: json!({"action": "synchronize", "pr": pr}),
    }
}

async fn enqueue(s: &dyn Store, job: NewJob, now: DateTime<Utc>) -> JobId {
    match s.enqueue(job, now).await.expect("enqueue") {
        EnqueueOutcome::Enqueued(id) => id,
        EnqueueOutcome::Duplicate => panic!("unexpected duplicate"),
    }
}

async fn get(s: &dyn Store, id: JobId) -> Job {
    s.job(id).await.expect("job").expect("job exists")
}

async fn state(s: &dyn Store, id: JobId) -> JobState {
    get(s, id).await.state
}

// ---------------------------------------------------------------------------------------------
// Contract tests
// ---------------------------------------------------------------------------------------------

async fn ping_works(s: Stores) {
    s.a.ping().await.expect("ping");
    s.b.ping().await.expect("ping");
}

async fn delivery_dedupe_and_prune(s: Stores) {
    let d1: DeliveryId = "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().expect("id");
    let d2: DeliveryId = "ado-7b1c".parse().expect("id");
    assert!(s.a.record_delivery(&d1, t0()).await.expect("record"));
    assert!(!s.b.record_delivery(&d1, at(5)).await.expect("record"));
    assert!(s.a.record_delivery(&d2, at(86_400)).await.expect("record"));

    // Strictly older than the cutoff goes; d2 stays.
    assert_eq!(s.a.prune_deliveries(t0()).await.expect("prune"), 0);
    assert_eq!(s.a.prune_deliveries(at(3_600)).await.expect("prune"), 1);
    assert!(!s.a.record_delivery(&d2, at(90_000)).await.expect("record"));
    // Forgotten deliveries count as new again.
    assert!(s.a.record_delivery(&d1, at(90_000)).await.expect("record"));
    assert_eq!(s.a.prune_deliveries(at(1_000_000)).await.expect("prune"), 2);
}

async fn body_digests_name_the_first_delivery(s: Stores) {
    let (d1, d2): (DeliveryId, DeliveryId) = (
        "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().expect("id"),
        "0b9ab2f0-cc79-11e3-8d4b-5a1b2c3d4e5f".parse().expect("id"),
    );
    let (h1, h2) = ("a".repeat(64), "b".repeat(64));
    assert_eq!(s.a.record_body(&h1, &d1, t0()).await.expect("record"), d1);
    // Its own redelivery still names it; another delivery with the same body is a replay.
    assert_eq!(s.b.record_body(&h1, &d1, at(5)).await.expect("record"), d1);
    assert_eq!(s.b.record_body(&h1, &d2, at(6)).await.expect("record"), d1);
    assert_eq!(
        s.a.record_body(&h2, &d2, at(86_400)).await.expect("record"),
        d2
    );

    // Pruned by age with the deliveries: strictly older than the cutoff goes.
    assert_eq!(s.a.prune_deliveries(t0()).await.expect("prune"), 0);
    assert_eq!(s.a.prune_deliveries(at(3_600)).await.expect("prune"), 1);
    assert_eq!(
        s.b.record_body(&h2, &d1, at(90_000)).await.expect("record"),
        d2
    );
    // A forgotten body counts as new again, under whichever delivery brings it.
    assert_eq!(
        s.b.record_body(&h1, &d2, at(90_000)).await.expect("record"),
        d2
    );
    assert_eq!(s.a.prune_deliveries(at(1_000_000)).await.expect("prune"), 2);
}

async fn enqueue_is_durable_and_dedupes_on_delivery(s: Stores) {
    let mut new = job_for(7, 1, JobKind::Evaluate, "delivery-1");
    // Opaque payloads survive as given, NUL characters included.
    new.payload = json!({"body": "nul \u{0} inside", "nested": [1, 2.5, null, {"k": true}]});
    let id = enqueue(&*s.a, new.clone(), t0()).await;

    let job = get(&*s.b, id).await;
    assert_eq!(job.id, id);
    assert_eq!(
        (job.platform, &job.repo, job.pr, &job.head_sha),
        (new.platform, &new.repo, new.pr, &new.head_sha)
    );
    assert_eq!(
        (job.kind, &job.delivery),
        (JobKind::Evaluate, &new.delivery)
    );
    assert_eq!(job.payload, new.payload);
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!(
        (job.run_after, job.created_at, job.updated_at),
        (t0(), t0(), t0())
    );
    assert_eq!(
        (job.lease_owner, job.lease_until, job.last_error),
        (None, None, None)
    );

    // A redelivery (same delivery id) is a duplicate, whatever it carries, from either handle.
    let again =
        s.b.enqueue(job_for(8, 2, JobKind::Command, "delivery-1"), at(1))
            .await;
    assert_eq!(again.expect("enqueue"), EnqueueOutcome::Duplicate);
    assert_eq!(s.a.queue_depth().await.expect("depth"), 1);
}

async fn prune_forgets_finished_jobs_only(s: Stores) {
    let st = &*s.a;
    let done = enqueue(st, job_for(1, 1, JobKind::Evaluate, "prune-done"), t0()).await;
    let claimed = st.claim("w1", LEASE, at(1)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(done));
    assert!(st.complete(done, "w1").await.expect("complete"));
    let dead = enqueue(st, job_for(2, 1, JobKind::Command, "prune-dead"), at(2)).await;
    let claimed = st.claim("w1", LEASE, at(3)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(dead));
    assert!(st.fail(dead, "w1", "boom", None).await.expect("fail"));
    let old = enqueue(
        st,
        job_for(3, 1, JobKind::Evaluate, "prune-old-head"),
        at(4),
    )
    .await;
    let new = enqueue(
        st,
        job_for(3, 2, JobKind::Evaluate, "prune-new-head"),
        at(5),
    )
    .await;
    assert_eq!(state(st, old).await, JobState::Superseded);

    // Everything finished after this cutoff: nothing goes.
    let early = t0() - TimeDelta::days(1);
    assert_eq!(st.prune_jobs(early).await.expect("prune"), 0);
    // Done, dead and superseded jobs go (from the other handle); the queued one stays.
    let late = Utc::now() + TimeDelta::seconds(5);
    assert_eq!(s.b.prune_jobs(late).await.expect("prune"), 3);
    for id in [done, dead, old] {
        assert!(st.job(id).await.expect("job").is_none(), "{id} kept");
    }
    assert_eq!(state(st, new).await, JobState::Queued);
    assert_eq!(st.queue_depth().await.expect("depth"), 1);
    assert_eq!(st.prune_jobs(late).await.expect("prune"), 0);

    // A pruned job's delivery is no longer known; the queued job's still is.
    let again = st.enqueue(job_for(1, 1, JobKind::Evaluate, "prune-done"), at(6));
    assert!(matches!(
        again.await.expect("enqueue"),
        EnqueueOutcome::Enqueued(_)
    ));
    let dup = st.enqueue(job_for(3, 2, JobKind::Evaluate, "prune-new-head"), at(6));
    assert_eq!(dup.await.expect("enqueue"), EnqueueOutcome::Duplicate);
    // PR 3's newest job is still the one that runs.
    let claimed = st.claim("w2", LEASE, at(7)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(new));
}

async fn coalescing_supersedes_queued_but_not_running(s: Stores) {
    let s = &*s.a;
    let running = enqueue(s, job_for(1, 1, JobKind::Evaluate, "e1"), at(0)).await;
    let claimed = s.claim("w1", LEASE, at(1)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(running));

    let older = enqueue(s, job_for(1, 2, JobKind::Evaluate, "e2"), at(2)).await;
    let other_pr = enqueue(s, job_for(2, 9, JobKind::Evaluate, "o1"), at(3)).await;
    let command = enqueue(s, job_for(1, 2, JobKind::Command, "c1"), at(4)).await;
    assert_eq!(state(s, older).await, JobState::Queued);

    let newest = enqueue(s, job_for(1, 3, JobKind::Evaluate, "e3"), at(5)).await;
    assert_eq!(state(s, older).await, JobState::Superseded);
    assert_eq!(
        state(s, running).await,
        JobState::Running,
        "running jobs finish"
    );
    assert_eq!(state(s, newest).await, JobState::Queued);
    assert_eq!(
        state(s, other_pr).await,
        JobState::Queued,
        "other PRs untouched"
    );
    assert_eq!(
        state(s, command).await,
        JobState::Queued,
        "commands never coalesce"
    );

    // Same PR number on another platform is another PR.
    let mut ado = job_for(1, 4, JobKind::Evaluate, "a1");
    ado.platform = Platform::AzureDevOps;
    enqueue(s, ado, at(6)).await;
    assert_eq!(state(s, newest).await, JobState::Queued);

    let mut claimed = Vec::new();
    while let Some(job) = s.claim("w2", LEASE, at(10)).await.expect("claim") {
        claimed.push(job.id);
    }
    assert!(!claimed.contains(&older));
    assert_eq!(claimed.len(), 4);
}

async fn stale_evaluate_jobs_are_not_requeued(s: Stores) {
    let s = &*s.a;
    // fail with retry while a newer head is queued: superseded, not retried.
    let a = enqueue(s, job_for(1, 1, JobKind::Evaluate, "a"), at(0)).await;
    assert!(s.claim("w", LEASE, at(0)).await.expect("claim").is_some());
    let b = enqueue(s, job_for(1, 2, JobKind::Evaluate, "b"), at(1)).await;
    assert!(s.fail(a, "w", "boom", Some(at(30))).await.expect("fail"));
    let failed = get(s, a).await;
    assert_eq!(failed.state, JobState::Superseded);
    assert_eq!(failed.last_error.as_deref(), Some("boom"));

    // release while a newer head exists (b, now running): superseded too.
    assert_eq!(
        s.claim("w", LEASE, at(2))
            .await
            .expect("claim")
            .map(|j| j.id),
        Some(b)
    );
    let c = enqueue(s, job_for(1, 3, JobKind::Evaluate, "c"), at(3)).await;
    assert!(s.release(b, "w").await.expect("release"));
    assert_eq!(state(s, b).await, JobState::Superseded);

    // A lapsed lease of an old head is not re-run once a newer head exists.
    assert_eq!(
        s.claim("w", LEASE, at(4))
            .await
            .expect("claim")
            .map(|j| j.id),
        Some(c)
    );
    let d = enqueue(s, job_for(1, 4, JobKind::Evaluate, "d"), at(5)).await;
    let next = s.claim("w2", LEASE, at(4 + 61)).await.expect("claim");
    assert_eq!(next.map(|j| j.id), Some(d), "d is due first");
    // c's lease has lapsed: the next claim finds it, supersedes it and hands out nothing.
    assert!(
        s.claim("w2", LEASE, at(4 + 61))
            .await
            .expect("claim")
            .is_none()
    );
    assert_eq!(state(s, c).await, JobState::Superseded);
    assert!(!s.complete(c, "w").await.expect("complete"));

    // Without a newer head, a failed Evaluate job is retried as usual.
    assert!(s.fail(d, "w2", "flaky", Some(at(100))).await.expect("fail"));
    assert_eq!(state(s, d).await, JobState::Queued);
}

async fn claim_lease_heartbeat_complete(s: Stores) {
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Evaluate, "d1"), t0()).await;
    let job =
        s.a.claim("w1", LEASE, at(1))
            .await
            .expect("claim")
            .expect("a job");
    assert_eq!(job.id, id);
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.lease_owner.as_deref(), Some("w1"));
    assert_eq!(job.lease_until, Some(at(61)));
    assert_eq!(job.attempts, 1);
    assert_eq!(get(&*s.b, id).await, job, "claim returns the stored job");

    assert!(
        s.b.claim("w2", LEASE, at(2))
            .await
            .expect("claim")
            .is_none()
    );
    assert!(
        !s.b.heartbeat(id, "w2", LEASE, at(30))
            .await
            .expect("heartbeat")
    );
    assert!(
        s.a.heartbeat(id, "w1", LEASE, at(30))
            .await
            .expect("heartbeat")
    );
    assert_eq!(get(&*s.a, id).await.lease_until, Some(at(90)));
    // Past the original lease, within the extended one: still not claimable.
    assert!(
        s.b.claim("w2", LEASE, at(70))
            .await
            .expect("claim")
            .is_none()
    );

    assert!(!s.b.complete(id, "w2").await.expect("complete"));
    assert!(s.a.complete(id, "w1").await.expect("complete"));
    let done = get(&*s.b, id).await;
    assert_eq!((done.state, done.lease_until), (JobState::Done, None));
    assert!(
        !s.a.complete(id, "w1").await.expect("complete"),
        "only once"
    );
    assert!(
        !s.a.heartbeat(id, "w1", LEASE, at(80))
            .await
            .expect("heartbeat")
    );
    assert!(
        s.a.claim("w1", LEASE, at(1_000))
            .await
            .expect("claim")
            .is_none()
    );
}

async fn claim_order_follows_run_after(s: Stores) {
    let s = &*s.a;
    let late = enqueue(s, job_for(1, 1, JobKind::Command, "late"), at(20)).await;
    let first = enqueue(s, job_for(2, 1, JobKind::Command, "first"), at(10)).await;
    let second = enqueue(s, job_for(3, 1, JobKind::Command, "second"), at(10)).await;
    assert!(
        s.claim("w", LEASE, at(5)).await.expect("claim").is_none(),
        "nothing due"
    );
    let mut order = Vec::new();
    while let Some(job) = s.claim("w", LEASE, at(30)).await.expect("claim") {
        order.push(job.id);
    }
    assert_eq!(
        order,
        vec![first, second, late],
        "run_after, then enqueue order"
    );
}

async fn expired_lease_is_reclaimed_and_old_worker_loses(s: Stores) {
    let short = Duration::from_secs(10);
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Evaluate, "d1"), t0()).await;
    assert!(s.a.claim("w1", short, t0()).await.expect("claim").is_some());
    assert!(
        s.b.claim("w2", short, at(10))
            .await
            .expect("claim")
            .is_none(),
        "lease still valid at its end"
    );
    let job =
        s.b.claim("w2", short, at(11))
            .await
            .expect("claim")
            .expect("reclaimed");
    assert_eq!((job.id, job.attempts), (id, 2));
    assert_eq!(job.lease_owner.as_deref(), Some("w2"));

    // The old worker learns it lost the job, whatever it tries.
    assert!(
        !s.a.heartbeat(id, "w1", short, at(12))
            .await
            .expect("heartbeat")
    );
    assert!(!s.a.complete(id, "w1").await.expect("complete"));
    assert!(!s.a.fail(id, "w1", "late", None).await.expect("fail"));
    assert!(!s.a.release(id, "w1").await.expect("release"));
    assert!(s.b.complete(id, "w2").await.expect("complete"));
    assert_eq!(state(&*s.a, id).await, JobState::Done);
}

async fn fail_with_retry_then_dead(s: Stores) {
    let s = &*s.a;
    let id = enqueue(s, job_for(1, 1, JobKind::Evaluate, "d1"), t0()).await;
    assert!(s.claim("w", LEASE, t0()).await.expect("claim").is_some());
    assert!(
        s.fail(id, "w", "git fetch timed out", Some(at(30)))
            .await
            .expect("fail")
    );
    let job = get(s, id).await;
    assert_eq!(
        (job.state, job.attempts, job.run_after),
        (JobState::Queued, 1, at(30))
    );
    assert_eq!(job.last_error.as_deref(), Some("git fetch timed out"));
    assert_eq!(
        (job.lease_until, s.queue_depth().await.expect("depth")),
        (None, 1)
    );

    assert!(
        s.claim("w", LEASE, at(29)).await.expect("claim").is_none(),
        "backing off"
    );
    let job = s
        .claim("w", LEASE, at(30))
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(job.attempts, 2);
    assert!(
        s.fail(id, "w", "policy error\0 with NUL", None)
            .await
            .expect("fail")
    );
    let dead = get(s, id).await;
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("policy error\u{fffd} with NUL")
    );
    assert!(
        !s.fail(id, "w", "again", None).await.expect("fail"),
        "not running any more"
    );
    assert!(
        s.claim("w", LEASE, at(10_000))
            .await
            .expect("claim")
            .is_none()
    );
    let dead_jobs = s.jobs_by_state(JobState::Dead, 10).await.expect("dead");
    assert_eq!(dead_jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(s.queue_depth().await.expect("depth"), 0);
}

async fn retry_policy_ends_in_dead(s: Stores) {
    let worker = Worker::new(s.a.clone(), "w-policy").with_lease(LEASE);
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Command, "d1"), t0()).await;
    let mut now = t0();
    let mut outcomes = Vec::new();
    while let Some(claimed) = worker.claim(now).await.expect("claim") {
        let Claimed::Run(job) = claimed else {
            panic!("a job that reported every failure is never exhausted: {claimed:?}");
        };
        let outcome = worker.fail(&job, "always fails", now).await.expect("fail");
        if let FailOutcome::Retrying { at } = outcome {
            let wait = at - now;
            let ceiling = queue::backoff_ceiling(job.attempts);
            assert!(wait >= TimeDelta::zero() && wait.to_std().expect("wait") <= ceiling);
            now = at;
        }
        outcomes.push(outcome);
    }
    assert_eq!(outcomes.len(), queue::MAX_ATTEMPTS as usize);
    assert_eq!(outcomes.last(), Some(&FailOutcome::Dead));
    let job = get(&*s.a, id).await;
    assert_eq!(
        (job.state, job.attempts),
        (JobState::Dead, queue::MAX_ATTEMPTS)
    );
    assert_eq!(job.last_error.as_deref(), Some("always fails"));
    // A worker that lost its lease records nothing.
    let other = Worker::new(s.a.clone(), "w-other");
    let lost = other.fail(&job, "x", now).await.expect("fail");
    assert_eq!(lost, FailOutcome::LeaseLost);
}

/// A job whose holders all vanish (the process crashed on it, was killed, or lost its lease)
/// is handed out `max_attempts` times, alternately to two replicas; the next claim finds it
/// exhausted and marks it dead instead of running it, and nobody gets it again.
async fn crashed_job_ends_dead_after_max_attempts(s: Stores) {
    const SHORT: Duration = Duration::from_secs(5);
    let max = queue::MAX_ATTEMPTS;
    let replicas = [
        Worker::new(s.a.clone(), "w-a").with_lease(SHORT),
        Worker::new(s.b.clone(), "w-b").with_lease(SHORT),
    ];
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Evaluate, "d-poison"), t0()).await;
    // Another PR's job, enqueued later, must not be held up by the poison job.
    let later = enqueue(&*s.a, job_for(2, 1, JobKind::Evaluate, "d-fine"), at(1)).await;
    let mut now = at(2);
    for attempt in 1..=max {
        let worker = &replicas[attempt as usize % 2];
        match worker.claim(now).await.expect("claim") {
            Some(Claimed::Run(job)) => {
                assert_eq!((job.id, job.attempts), (id, attempt));
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
        // The holder dies; nothing is recorded. Just before the lease runs out it is still held.
        now += TimeDelta::seconds(4);
        let interim = worker.claim(now).await.expect("claim");
        if attempt == 1 {
            // The other job runs (and completes) meanwhile.
            let Some(Claimed::Run(job)) = interim else {
                panic!("the other job: {interim:?}");
            };
            assert_eq!(job.id, later);
            assert!(worker.complete(&job).await.expect("complete"));
        } else {
            assert_eq!(interim, None, "attempt {attempt}: the lease is still valid");
        }
        now += TimeDelta::seconds(2);
    }
    let worker = &replicas[(max as usize + 1) % 2];
    match worker.claim(now).await.expect("claim") {
        Some(Claimed::Exhausted(job)) => {
            assert_eq!((job.id, job.state), (id, JobState::Dead));
            assert_eq!(job.last_error, Some(queue::exhausted_error(max)));
        }
        other => panic!("not exhausted after {max} attempts: {other:?}"),
    }
    for s in [&*s.a, &*s.b] {
        let job = get(s, id).await;
        assert_eq!((job.state, job.attempts), (JobState::Dead, max + 1));
        let error = job.last_error.expect("error kept");
        assert!(
            error.contains(&format!("did not complete after {max} attempts")),
            "{error}"
        );
        assert_eq!(job.lease_until, None);
    }
    for w in &replicas {
        assert_eq!(
            w.claim(now + TimeDelta::hours(1)).await.expect("claim"),
            None
        );
    }
    assert_eq!(s.a.queue_depth().await.expect("depth"), 0);
}

/// Crashes and reported failures count against the same limit, and a lower `max_attempts`
/// takes effect at the next claim.
async fn crashes_and_failures_share_the_attempt_limit(s: Stores) {
    let worker = Worker::new(s.a.clone(), "w")
        .with_lease(LEASE)
        .with_max_attempts(3);
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Command, "d1"), t0()).await;
    let Some(Claimed::Run(first)) = worker.claim(at(1)).await.expect("claim") else {
        panic!("first claim");
    };
    let FailOutcome::Retrying { at: retry } =
        worker.fail(&first, "boom", at(1)).await.expect("fail")
    else {
        panic!("first failure is retried");
    };
    // Second attempt: the holder crashes.
    let Some(Claimed::Run(second)) = worker.claim(retry).await.expect("claim") else {
        panic!("second claim");
    };
    assert_eq!(second.attempts, 2);
    let after_lease = retry + TimeDelta::seconds(61);
    // Third attempt fails for good: it is the last one.
    let Some(Claimed::Run(third)) = worker.claim(after_lease).await.expect("claim") else {
        panic!("third claim");
    };
    assert_eq!(third.attempts, 3);
    assert_eq!(
        worker
            .fail(&third, "boom", after_lease)
            .await
            .expect("fail"),
        FailOutcome::Dead
    );
    assert_eq!(state(&*s.a, id).await, JobState::Dead);

    // A job that crashed twice, then meets a limit lowered to 1, is dead at its next claim.
    let strict = Worker::new(s.b.clone(), "w-strict").with_lease(LEASE);
    let id2 = enqueue(&*s.a, job_for(2, 1, JobKind::Evaluate, "d2"), at(10_000)).await;
    let mut now = at(10_000);
    for _ in 0..2 {
        assert!(matches!(
            strict.claim(now).await.expect("claim"),
            Some(Claimed::Run(_))
        ));
        now += TimeDelta::seconds(61);
    }
    let strict = strict.with_max_attempts(1);
    assert!(matches!(
        strict.claim(now).await.expect("claim"),
        Some(Claimed::Exhausted(j)) if j.id == id2
    ));
    assert_eq!(state(&*s.b, id2).await, JobState::Dead);
}

async fn release_does_not_count_the_attempt(s: Stores) {
    let id = enqueue(&*s.a, job_for(1, 1, JobKind::Evaluate, "d1"), t0()).await;
    assert!(
        s.a.claim("w1", LEASE, at(1))
            .await
            .expect("claim")
            .is_some()
    );
    assert!(
        !s.b.release(id, "w2").await.expect("release"),
        "not the holder"
    );
    assert!(s.a.release(id, "w1").await.expect("release"));
    let job = get(&*s.b, id).await;
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!((job.lease_until, job.run_after), (None, t0()));
    // Claimable again right away, by anyone.
    let again =
        s.b.claim("w2", LEASE, at(2))
            .await
            .expect("claim")
            .expect("job");
    assert_eq!((again.id, again.attempts), (id, 1));
}

async fn queue_depth_and_jobs_by_state(s: Stores) {
    let s = &*s.a;
    assert_eq!(s.queue_depth().await.expect("depth"), 0);
    let mut ids = Vec::new();
    for pr in 1..=4 {
        ids.push(
            enqueue(
                s,
                job_for(pr, 1, JobKind::Evaluate, &format!("d{pr}")),
                at(pr as i64),
            )
            .await,
        );
    }
    // Not yet due still counts as queued.
    enqueue(s, job_for(9, 1, JobKind::Command, "future"), at(3_600)).await;
    assert_eq!(s.queue_depth().await.expect("depth"), 5);

    let first = s
        .claim("w", LEASE, at(10))
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(first.id, ids[0]);
    assert!(s.complete(first.id, "w").await.expect("complete"));
    assert!(s.claim("w", LEASE, at(10)).await.expect("claim").is_some());
    assert_eq!(s.queue_depth().await.expect("depth"), 3);

    let queued = s.jobs_by_state(JobState::Queued, 2).await.expect("queued");
    assert_eq!(
        queued.iter().map(|j| j.id).collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
    let running = s
        .jobs_by_state(JobState::Running, 10)
        .await
        .expect("running");
    assert_eq!(
        running.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    let done = s.jobs_by_state(JobState::Done, 10).await.expect("done");
    assert_eq!(done.len(), 1);
    assert!(
        s.jobs_by_state(JobState::Superseded, 10)
            .await
            .expect("none")
            .is_empty()
    );
}

fn decision(repo_name: &str, secs: i64, decision: &str) -> DecisionRecord {
    DecisionRecord {
        id: DecisionId::new(),
        at: at(secs),
        platform: Platform::GitHub,
        repo: repo(repo_name),
        pr: PrNumber(12),
        head_sha: sha(5),
        decision: decision.into(),
        risk: 42,
        confidence: 0.87,
        reasons: vec!["2 high findings".into(), "drift on aws_s3_bucket.b".into()],
        findings_digest: "sha256:abc".into(),
        actor: "thoth".into(),
        downgraded_from: (decision == "COMMENT").then(|| "APPROVE".into()),
        dry_run: secs % 2 == 1,
    }
}

async fn decisions_newest_first_with_repo_filter(s: Stores) {
    let r1 = decision("octo/a", 0, "APPROVE");
    let r2 = decision("octo/b", 3_600, "REJECT");
    let r3 = decision("octo/a", 7_201, "COMMENT");
    for rec in [&r2, &r1, &r3] {
        s.a.record_decision(rec).await.expect("record");
    }
    s.b.record_decision(&r3).await.expect("idempotent");

    let all = s.b.decisions(None, t0(), 10).await.expect("decisions");
    assert_eq!(all, vec![r3.clone(), r2.clone(), r1.clone()]);
    let a =
        s.b.decisions(Some(&repo("octo/a")), t0(), 10)
            .await
            .expect("decisions");
    assert_eq!(a, vec![r3.clone(), r1.clone()]);
    let recent = s.b.decisions(None, at(3_600), 10).await.expect("decisions");
    assert_eq!(recent, vec![r3.clone(), r2.clone()], "since is inclusive");
    let limited = s.b.decisions(None, t0(), 1).await.expect("decisions");
    assert_eq!(limited, vec![r3]);
    // A repository whose name extends another's is not mixed in.
    let none =
        s.b.decisions(Some(&repo("octo/a2")), t0(), 10)
            .await
            .expect("decisions");
    assert!(none.is_empty());
}

fn evaluation(repo_name: &str, pr: u64, secs: i64) -> EvaluationRecord {
    EvaluationRecord {
        id: EvaluationId::new(),
        at: at(secs) + TimeDelta::nanoseconds(1_234_567),
        platform: Platform::GitHub,
        repo: repo(repo_name),
        pr: PrNumber(pr),
        title: Some("<script>alert(1)</script> \u{0} title".into()),
        head_sha: sha(secs as u64 + 1),
        base_sha: Some(sha(1)),
        web_url: Some("https://github.com/octo/infra".into()),
        decision: "comment".into(),
        proposed: "approve".into(),
        downgrade: Some("cooldown: 120 s left".into()),
        conclusion: "failure".into(),
        risk: 37,
        confidence: 0.85,
        counts: [0, 2, 1, 0, 1],
        reasons: vec!["risk score 37 > approve limit 20".into()],
        notes: vec!["Overridden by @alice (approve): known".into()],
        findings_digest: "sha256:1".into(),
        findings: vec![StoredFinding {
            gate: "rego".into(),
            rule_id: "THOTH-AWS-001".into(),
            level: "failure".into(),
            severity: "high".into(),
            message: "m\u{0}".repeat(3_000),
            file: Some("main.tf".into()),
            line: Some(3),
            resource: None,
            pattern: Some("public_s3_buckets".into()),
            explain: Some("Fix it".into()),
        }],
        findings_total: 1,
        policy_sets: vec![PolicySetRun {
            kind: "built-in".into(),
            label: "built-in".into(),
            commit: None,
            policies: 12,
        }],
        stages: vec![StageTime {
            stage: "gates".into(),
            seconds: 0.125,
        }],
        applied_override: Some(AppliedOverride {
            actor: "alice".into(),
            decision: "approve".into(),
            reason: "known".into(),
            at: at(secs - 10),
        }),
    }
}

async fn evaluations_by_id_pr_and_time_bounded_and_pruned(s: Stores) {
    let e1 = evaluation("octo/a", 1, 0);
    let e2 = evaluation("octo/a", 1, 3_600);
    let e3 = evaluation("octo/b", 2, 7_200);
    let other = evaluation("octo/a2", 1, 100);
    for e in [&e2, &e1, &e3, &other] {
        s.a.put_evaluation(e).await.expect("put");
    }
    // Stored bounded, times cut to microseconds; a second put replaces the record.
    let got = s.b.evaluation(e1.id).await.expect("get").expect("stored");
    assert_eq!(got, e1.clone().bounded());
    assert_eq!(
        got.findings[0].message.chars().count(),
        store::evaluation::MAX_TEXT_CHARS
    );
    let mut e1b = got.clone();
    e1b.stages.push(StageTime {
        stage: "publish".into(),
        seconds: 1.5,
    });
    s.a.put_evaluation(&e1b).await.expect("replace");
    assert_eq!(s.b.evaluation(e1.id).await.expect("get"), Some(e1b.clone()));
    assert_eq!(
        s.b.evaluation(EvaluationId::new()).await.expect("get"),
        None
    );

    let of_pr =
        s.b.pr_evaluations(Platform::GitHub, &repo("octo/a"), PrNumber(1), 10)
            .await
            .expect("pr");
    assert_eq!(
        of_pr.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![e2.id, e1.id],
        "newest first, no other repository mixed in"
    );
    let limited =
        s.b.pr_evaluations(Platform::GitHub, &repo("octo/a"), PrNumber(1), 1)
            .await
            .expect("pr");
    assert_eq!(limited.len(), 1);
    assert!(
        s.b.pr_evaluations(Platform::AzureDevOps, &repo("octo/a"), PrNumber(1), 10)
            .await
            .expect("pr")
            .is_empty()
    );
    let recent = s.b.evaluations(at(3_600), 10).await.expect("recent");
    assert_eq!(
        recent.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![e3.id, e2.id]
    );
    assert_eq!(s.b.prune_evaluations(at(3_600)).await.expect("prune"), 2);
    assert_eq!(s.b.evaluation(e1.id).await.expect("get"), None);
    let left =
        s.b.pr_evaluations(Platform::GitHub, &repo("octo/a"), PrNumber(1), 10)
            .await
            .expect("pr");
    assert_eq!(left.iter().map(|e| e.id).collect::<Vec<_>>(), vec![e2.id]);
}

async fn action_daily_limit_cooldown_and_new_day(s: Stores) {
    let r = repo("octo/infra");
    let act = |store: Arc<dyn Store>, kind: &'static str, secs: i64, limit: u32| {
        let r = r.clone();
        async move {
            store
                .try_record_action(&r, kind, at(secs), limit, 300)
                .await
                .expect("try_record_action")
        }
    };
    assert_eq!(
        act(s.a.clone(), "approve", 0, 2).await,
        ActionVerdict::Allowed
    );
    assert_eq!(
        act(s.b.clone(), "approve", 10, 2).await,
        ActionVerdict::CooldownRunning {
            remaining_secs: 290
        }
    );
    // The cooldown spans kinds.
    assert_eq!(
        act(s.b.clone(), "reject", 100, 2).await,
        ActionVerdict::CooldownRunning {
            remaining_secs: 200
        }
    );
    assert_eq!(
        act(s.b.clone(), "approve", 300, 2).await,
        ActionVerdict::Allowed
    );
    assert_eq!(
        act(s.a.clone(), "approve", 900, 2).await,
        ActionVerdict::DailyLimitReached { limit: 2, used: 2 }
    );
    // Refused attempts are not counted and do not restart the cooldown.
    assert_eq!(
        act(s.a.clone(), "reject", 900, 2).await,
        ActionVerdict::Allowed
    );
    // Another repository has its own counters and clock.
    let other =
        s.a.try_record_action(&repo("octo/other"), "approve", at(901), 2, 300)
            .await;
    assert_eq!(other.expect("other repo"), ActionVerdict::Allowed);
    // 14 hours after 10:00 UTC is a new UTC day: the count starts over.
    assert_eq!(
        act(s.a.clone(), "approve", 14 * 3_600, 2).await,
        ActionVerdict::Allowed
    );
    assert_eq!(
        act(s.a.clone(), "approve", 14 * 3_600 + 300, 1).await,
        ActionVerdict::DailyLimitReached { limit: 1, used: 1 }
    );
    assert_eq!(
        act(s.a.clone(), "approve", 20 * 3_600, 0).await,
        ActionVerdict::DailyLimitReached { limit: 0, used: 1 }
    );
}

async fn overrides_put_get_clear(s: Stores) {
    let r = repo("org/project/repo");
    let mut o = Override {
        platform: Platform::AzureDevOps,
        repo: r.clone(),
        pr: PrNumber(3),
        head_sha: sha(1),
        decision: thoth_bot::decision::human::OverrideDecision::Approve,
        reason: "reviewed by hand".into(),
        actor: "alice".into(),
        findings_digest: "sha256:1".into(),
        at: at(0),
    };
    let get = |st: Arc<dyn Store>, platform, pr| {
        let r = r.clone();
        async move {
            st.get_override(platform, &r, PrNumber(pr))
                .await
                .expect("get")
        }
    };
    assert_eq!(get(s.a.clone(), Platform::AzureDevOps, 3).await, None);
    s.a.put_override(&o).await.expect("put");
    assert_eq!(
        get(s.b.clone(), Platform::AzureDevOps, 3).await,
        Some(o.clone())
    );
    assert_eq!(
        get(s.b.clone(), Platform::GitHub, 3).await,
        None,
        "per platform"
    );
    assert_eq!(
        get(s.b.clone(), Platform::AzureDevOps, 4).await,
        None,
        "per PR"
    );

    o.decision = thoth_bot::decision::human::OverrideDecision::Reject;
    o.actor = "bob".into();
    o.at = at(60);
    s.b.put_override(&o).await.expect("replace");
    assert_eq!(
        get(s.a.clone(), Platform::AzureDevOps, 3).await,
        Some(o.clone())
    );
    s.a.clear_override(Platform::AzureDevOps, &r, PrNumber(3))
        .await
        .expect("clear");
    assert_eq!(get(s.b.clone(), Platform::AzureDevOps, 3).await, None);
    s.a.clear_override(Platform::AzureDevOps, &r, PrNumber(3))
        .await
        .expect("clear twice");
}

async fn pr_state_upsert(s: Stores) {
    let r = repo("octo/infra");
    assert_eq!(
        s.a.pr_state(Platform::GitHub, &r, PrNumber(5))
            .await
            .expect("get"),
        None
    );
    let mut st = PrState {
        platform: Platform::GitHub,
        repo: r.clone(),
        pr: PrNumber(5),
        summary_comment_id: Some("IC_kwDOA".into()),
        last_findings_digest: Some("sha256:9".into()),
        last_head_sha: Some(sha(7)),
        check_run_id: None,
    };
    s.a.put_pr_state(&st).await.expect("put");
    assert_eq!(
        s.b.pr_state(Platform::GitHub, &r, PrNumber(5))
            .await
            .expect("get"),
        Some(st.clone())
    );
    st.check_run_id = Some("123456".into());
    st.last_head_sha = None;
    s.b.put_pr_state(&st).await.expect("replace");
    assert_eq!(
        s.a.pr_state(Platform::GitHub, &r, PrNumber(5))
            .await
            .expect("get"),
        Some(st)
    );
    assert_eq!(
        s.a.pr_state(Platform::AzureDevOps, &r, PrNumber(5))
            .await
            .expect("get"),
        None
    );
}

async fn concurrent_claims_run_each_job_once(s: Stores) {
    const JOBS: u64 = 200;
    for pr in 0..JOBS {
        enqueue(
            &*s.a,
            job_for(pr, 1, JobKind::Evaluate, &format!("d{pr}")),
            t0(),
        )
        .await;
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = if worker % 2 == 0 {
            s.a.clone()
        } else {
            s.b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let name = format!("worker-{worker}");
            let mut done = Vec::new();
            while let Some(job) = store.claim(&name, LEASE, at(1)).await.expect("claim") {
                assert!(
                    store.complete(job.id, &name).await.expect("complete"),
                    "lease lost"
                );
                done.push(job.id);
            }
            done
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("worker task"));
    }
    let distinct: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS as usize, "every job completed exactly once");
    assert_eq!(distinct.len(), JOBS as usize);
    let done =
        s.a.jobs_by_state(JobState::Done, 1_000)
            .await
            .expect("done");
    assert_eq!(done.len(), JOBS as usize);
    assert!(done.iter().all(|j| j.attempts == 1));
}

async fn concurrent_actions_respect_the_daily_limit(s: Stores) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { s.a.clone() } else { s.b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .try_record_action(&repo("octo/race"), "approve", at(i), 5, 0)
                .await
                .expect("try_record_action")
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        match task.await.expect("task") {
            ActionVerdict::Allowed => allowed += 1,
            ActionVerdict::DailyLimitReached { limit: 5, used: 5 } => {}
            other => panic!("unexpected verdict {other:?}"),
        }
    }
    assert_eq!(allowed, 5);
}

async fn counters_count_per_key_and_window_and_prune(s: Stores) {
    let hour = at(0);
    let next = at(3600);
    assert_eq!(s.a.bump_counter("pr-7/alice", hour).await.unwrap(), 1);
    // Shared by replicas.
    assert_eq!(s.b.bump_counter("pr-7/alice", hour).await.unwrap(), 2);
    assert_eq!(s.a.bump_counter("pr-7/bob", hour).await.unwrap(), 1);
    assert_eq!(s.a.bump_counter("pr-7/alice", next).await.unwrap(), 1);
    // Windows before `next` go; the current one stays.
    assert_eq!(s.a.prune_counters(next).await.unwrap(), 2);
    assert_eq!(s.b.bump_counter("pr-7/alice", next).await.unwrap(), 2);
    assert_eq!(s.b.bump_counter("pr-7/alice", hour).await.unwrap(), 1);
}

async fn concurrent_counter_bumps_all_count(s: Stores) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { s.a.clone() } else { s.b.clone() };
        tasks.push(tokio::spawn(async move {
            store.bump_counter("race", at(0)).await.expect("bump")
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=20).collect::<Vec<u32>>());
}

fn usage(day: &str, repo_name: &str, model: &str, cost: u64) -> store::AiUsage {
    store::AiUsage {
        day: day.parse().unwrap(),
        owner: repo_name.split('/').next().unwrap().to_string(),
        repo: repo_name.to_string(),
        model: model.to_string(),
        requests: 1,
        input_tokens: 1000,
        output_tokens: 200,
        cost_micro_usd: cost,
    }
}

async fn ai_usage_adds_per_key_and_reads_since(s: Stores) {
    s.a.add_ai_usage(&usage("2026-11-30", "acme/infra", "gpt-4o", 10))
        .await
        .unwrap();
    s.a.add_ai_usage(&usage("2026-12-01", "acme/infra", "gpt-4o", 1500))
        .await
        .unwrap();
    // Same key from another replica: added, not replaced.
    s.b.add_ai_usage(&usage("2026-12-01", "acme/infra", "gpt-4o", 500))
        .await
        .unwrap();
    s.b.add_ai_usage(&usage("2026-12-01", "acme/infra", "llama3", 0))
        .await
        .unwrap();
    s.a.add_ai_usage(&usage("2026-12-01", "other/app", "gpt-4o", 7))
        .await
        .unwrap();
    let rows = s.b.ai_usage("2026-12-01".parse().unwrap()).await.unwrap();
    let mut got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.day.to_string(),
                r.repo.clone(),
                r.model.clone(),
                r.requests,
                r.input_tokens,
                r.output_tokens,
                r.cost_micro_usd,
            )
        })
        .collect();
    got.sort();
    let row = |repo: &str, model: &str, n: u64, cost: u64| {
        (
            "2026-12-01".to_string(),
            repo.to_string(),
            model.to_string(),
            n,
            1000 * n,
            200 * n,
            cost,
        )
    };
    assert_eq!(
        got,
        [
            row("acme/infra", "gpt-4o", 2, 2000),
            row("acme/infra", "llama3", 1, 0),
            row("other/app", "gpt-4o", 1, 7),
        ]
    );
    assert_eq!(rows.iter().filter(|r| r.owner == "acme").count(), 2);
    assert_eq!(
        s.a.ai_usage("2026-11-01".parse().unwrap())
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn concurrent_ai_usage_adds_all_count(s: Stores) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { s.a.clone() } else { s.b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .add_ai_usage(&usage("2026-12-01", "acme/infra", "gpt-4o", 3))
                .await
                .expect("add")
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let rows = s.a.ai_usage("2026-12-01".parse().unwrap()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].requests, rows[0].cost_micro_usd), (20, 60));
}

async fn scan_lease_has_one_holder_until_it_expires(s: Stores) {
    let name = "github-redeliver";
    let lease = Duration::from_secs(60);
    assert!(
        s.a.acquire_scan_lease(name, "r1", lease, at(0))
            .await
            .unwrap()
    );
    // Held: another replica cannot take it, not even at the last microsecond of the lease.
    assert!(
        !s.b.acquire_scan_lease(name, "r2", lease, at(30))
            .await
            .unwrap()
    );
    assert!(
        !s.b.acquire_scan_lease(name, "r2", lease, at(60))
            .await
            .unwrap()
    );
    // Other scans have their own lease.
    assert!(
        s.b.acquire_scan_lease("other", "r2", lease, at(30))
            .await
            .unwrap()
    );
    // The holder renews it: now until 90.
    assert!(
        s.a.acquire_scan_lease(name, "r1", lease, at(30))
            .await
            .unwrap()
    );
    assert!(
        !s.b.acquire_scan_lease(name, "r2", lease, at(89))
            .await
            .unwrap()
    );
    // Expired: taken over, and the old holder can neither renew nor release it.
    assert!(
        s.b.acquire_scan_lease(name, "r2", lease, at(91))
            .await
            .unwrap()
    );
    assert!(
        !s.a.acquire_scan_lease(name, "r1", lease, at(92))
            .await
            .unwrap()
    );
    assert!(!s.a.release_scan_lease(name, "r1").await.unwrap());
    // Released: free at once.
    assert!(s.b.release_scan_lease(name, "r2").await.unwrap());
    assert!(!s.b.release_scan_lease(name, "r2").await.unwrap());
    assert!(
        s.a.acquire_scan_lease(name, "r1", lease, at(93))
            .await
            .unwrap()
    );
}

async fn concurrent_scan_lease_claims_have_one_winner(s: Stores) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { s.a.clone() } else { s.b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .acquire_scan_lease("reconcile", &format!("r{i}"), LEASE, at(0))
                .await
                .expect("acquire")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.expect("task"));
    }
    assert_eq!(winners, 1);
}

async fn scan_cursor_round_trips(s: Stores) {
    assert_eq!(s.a.scan_cursor("github-redeliver").await.unwrap(), None);
    let first = ScanCursor {
        position: "12345678901".into(),
        last_success: None,
    };
    s.a.put_scan_cursor("github-redeliver", &first)
        .await
        .unwrap();
    assert_eq!(
        s.b.scan_cursor("github-redeliver").await.unwrap(),
        Some(first)
    );
    // Replaced whole; times come back at the store's precision.
    let done = ScanCursor {
        position: String::new(),
        last_success: Some(at(5) + TimeDelta::nanoseconds(1500)),
    };
    s.b.put_scan_cursor("github-redeliver", &done)
        .await
        .unwrap();
    let back = s.a.scan_cursor("github-redeliver").await.unwrap().unwrap();
    assert_eq!(back.position, "");
    assert_eq!(back.last_success, Some(at(5) + TimeDelta::microseconds(1)));
    assert_eq!(s.a.scan_cursor("azure-reconcile").await.unwrap(), None);
}

async fn ten_thousand_enqueues_with_duplicates(s: Stores) {
    const ENQUEUES: usize = 10_000;
    const TASKS: usize = 8;
    // Delivery ids drawn with replacement from a smaller pool: many redeliveries. Each delivery
    // id maps to its own PR, so coalescing never interferes.
    let picks: Vec<u64> = (0..ENQUEUES)
        .map(|_| rand::random_range(0..7_000))
        .collect();
    let expected: BTreeSet<u64> = picks.iter().copied().collect();
    let picks = Arc::new(picks);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = if t % 2 == 0 { s.a.clone() } else { s.b.clone() };
        let picks = picks.clone();
        tasks.push(tokio::spawn(async move {
            let mut enqueued = 0usize;
            for &n in picks.iter().skip(t).step_by(TASKS) {
                let job = job_for(n, n, JobKind::Evaluate, &format!("delivery-{n}"));
                if let EnqueueOutcome::Enqueued(_) =
                    store.enqueue(job, t0()).await.expect("enqueue")
                {
                    enqueued += 1;
                }
            }
            enqueued
        }));
    }
    let mut enqueued = 0;
    for task in tasks {
        enqueued += task.await.expect("task");
    }
    assert_eq!(enqueued, expected.len());
    assert_eq!(
        s.a.queue_depth().await.expect("depth"),
        expected.len() as u64
    );
    let jobs =
        s.b.jobs_by_state(JobState::Queued, ENQUEUES)
            .await
            .expect("jobs");
    let prs: BTreeSet<u64> = jobs.iter().map(|j| j.pr.0).collect();
    assert_eq!(prs, expected);
}

// ---------------------------------------------------------------------------------------------
// Backend-specific tests
// ---------------------------------------------------------------------------------------------

/// Every file in `migrations/` is embedded, in order, under its own version.
#[test]
fn embedded_migrations_match_the_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let embedded = store::postgres::MIGRATIONS;
    assert_eq!(files.len(), embedded.len(), "{files:?}");
    // Ascending, not contiguous: parallel branches reserve numbers (5 is another change's).
    let mut previous = 0;
    for (file, (version, _, sql)) in files.iter().zip(embedded) {
        assert!(
            *version > previous,
            "{file}: version {version} after {previous}"
        );
        previous = *version;
        assert!(
            file.starts_with(&format!("{version:04}_")),
            "{file} vs version {version}"
        );
        let on_disk = std::fs::read_to_string(dir.join(file)).expect("read migration");
        assert_eq!(&on_disk, sql, "{file} differs from the embedded copy");
    }
}

/// A database at schema version 1 with data in it is upgraded by `open` and the data reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_from_v1_keeps_data() {
    with_postgres_db("postgres_upgrade_from_v1_keeps_data", |url| async move {
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        let v1 = store::postgres::migrator(Some(1)).await.expect("migrator");
        v1.run(&pool).await.expect("apply 0001 only");

        let job_id = uuid::Uuid::new_v4();
        let decision_id = uuid::Uuid::new_v4();
        let statements = [
            format!(
                "INSERT INTO jobs (id, platform, repo, pr, head_sha, kind, delivery, payload, \
                 state, attempts, run_after, ready_at, created_at, updated_at) VALUES \
                 ('{job_id}', 'github', 'octo/infra', 7, '{sha}', 'evaluate', 'old-delivery', \
                 '{{\"action\": \"opened\"}}', 'queued', 0, '{t}', '{t}', '{t}', '{t}')",
                sha = sha(1),
                t = t0().to_rfc3339(),
            ),
            format!(
                "INSERT INTO decisions (id, at, platform, repo, pr, head_sha, decision, risk, \
                 confidence, reasons, findings_digest, actor, downgraded_from) VALUES \
                 ('{decision_id}', '{t}', 'github', 'octo/infra', 7, '{sha}', 'APPROVE', 10, \
                 0.95, ARRAY['clean'], 'sha256:0', 'thoth', NULL)",
                sha = sha(1),
                t = t0().to_rfc3339(),
            ),
            format!(
                "INSERT INTO pr_states (platform, repo, pr, summary_comment_id, \
                 last_findings_digest, last_head_sha) VALUES \
                 ('github', 'octo/infra', 7, 'IC_1', 'sha256:0', '{}')",
                sha(1)
            ),
            format!(
                "INSERT INTO deliveries (key, seen_at) VALUES ('old-delivery', '{}')",
                t0().to_rfc3339()
            ),
        ];
        for sql in &statements {
            sqlx::query(sql)
                .execute(&pool)
                .await
                .expect("insert v1 data");
        }
        pool.close().await;

        let s = store::open(&url)
            .await
            .expect("open upgrades to the latest version");
        let check = sqlx::PgPool::connect(&url).await.expect("connect");
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&check)
                .await
                .expect("versions");
        let latest: Vec<i64> = store::postgres::MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(versions, latest);
        check.close().await;

        let job = get(&*s, JobId(job_id)).await;
        assert_eq!(
            (job.state, job.pr, job.head_sha.clone()),
            (JobState::Queued, PrNumber(7), sha(1))
        );
        assert_eq!(job.payload, json!({"action": "opened"}));
        let decisions = s.decisions(None, t0(), 10).await.expect("decisions");
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].id, DecisionId(decision_id));
        assert!(!decisions[0].dry_run, "0002's default applies to old rows");
        assert_eq!(decisions[0].reasons, vec!["clean".to_string()]);
        let st = s
            .pr_state(Platform::GitHub, &repo("octo/infra"), PrNumber(7))
            .await
            .expect("pr state");
        let st = st.expect("kept");
        assert_eq!(
            (st.summary_comment_id.as_deref(), st.check_run_id.as_deref()),
            (Some("IC_1"), None)
        );
        let key: DeliveryId = "old-delivery".parse().expect("id");
        assert!(!s.record_delivery(&key, at(1)).await.expect("record"));

        // The old job still goes through the queue, and the new columns are writable.
        let claimed = s
            .claim("w", LEASE, at(1))
            .await
            .expect("claim")
            .expect("old job");
        assert_eq!(claimed.id, JobId(job_id));
        let again = s
            .enqueue(job_for(8, 2, JobKind::Command, "old-delivery"), at(2))
            .await;
        assert_eq!(again.expect("enqueue"), EnqueueOutcome::Duplicate);
        s.put_pr_state(&PrState {
            check_run_id: Some("99".into()),
            ..st.clone()
        })
        .await
        .expect("put");
        let st2 = s
            .pr_state(Platform::GitHub, &repo("octo/infra"), PrNumber(7))
            .await
            .expect("get");
        assert_eq!(st2.and_then(|s| s.check_run_id).as_deref(), Some("99"));
    })
    .await;
}

/// Jobs, dedupe and audit survive closing and reopening a sled store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_reopen_keeps_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = decision("octo/infra", 0, "APPROVE");
    let id = {
        let s = sled_store(&dir).await;
        let id = enqueue(&*s, job_for(1, 1, JobKind::Evaluate, "d1"), t0()).await;
        s.record_decision(&rec).await.expect("record");
        id
    };
    // sled lets go of its directory lock a moment after the last handle drops (its flusher
    // thread): reopen once the lock is free, as a restarted process would.
    let url = format!("sled:{}", dir.path().join("db").display());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let s = loop {
        match store::open(&url).await {
            Ok(s) => break s,
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::task::yield_now().await
            }
            Err(e) => panic!("open sled store: {e:?}"),
        }
    };
    let job = get(&*s, id).await;
    assert_eq!((job.state, job.delivery.as_str()), (JobState::Queued, "d1"));
    assert_eq!(
        s.decisions(None, t0(), 10).await.expect("decisions"),
        vec![rec]
    );
    let again = s
        .enqueue(job_for(1, 1, JobKind::Evaluate, "d1"), at(1))
        .await;
    assert_eq!(again.expect("enqueue"), EnqueueOutcome::Duplicate);
    let claimed = s.claim("w", LEASE, at(1)).await.expect("claim");
    assert_eq!(claimed.map(|j| j.id), Some(id));
}

/// sled is single-process: a second open of the same directory is refused, not shared.
#[tokio::test]
async fn sled_refuses_a_second_open_of_the_same_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = sled_store(&dir).await;
    let url = format!("sled:{}", dir.path().join("db").display());
    match store::open(&url).await {
        Err(store::StoreError::Open { .. }) => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("second open of a locked sled directory succeeded"),
    }
}

// ---------------------------------------------------------------------------------------------
// Push API records
// ---------------------------------------------------------------------------------------------

async fn push_tokens_put_get_revoke(s: Stores) {
    use store::{PushToken, PushTokenId, TokenScope};
    let id: PushTokenId = "0123456789abcdef".parse().unwrap();
    let token = PushToken {
        id: id.clone(),
        scope: TokenScope::Repo(repo("acme/infra")),
        secret_sha256: "ab".repeat(32),
        created_at: t0(),
    };
    assert_eq!(s.a.push_token(&id).await.unwrap(), None);
    s.a.put_push_token(&token).await.unwrap();
    assert_eq!(s.b.push_token(&id).await.unwrap(), Some(token.clone()));
    let owner = PushToken {
        id: "fedcba9876543210".parse().unwrap(),
        scope: TokenScope::Owner("org/Project".into()),
        ..token.clone()
    };
    s.b.put_push_token(&owner).await.unwrap();
    assert_eq!(
        s.a.push_token(&owner.id).await.unwrap(),
        Some(owner.clone())
    );
    assert!(s.b.revoke_push_token(&id).await.unwrap());
    assert!(!s.a.revoke_push_token(&id).await.unwrap());
    assert_eq!(s.a.push_token(&id).await.unwrap(), None);
    assert!(s.a.push_token(&owner.id).await.unwrap().is_some());
}

async fn pushed_reports_replace_per_key_and_prune(s: Stores) {
    use store::{PushedKind, PushedReport};
    let infra = repo("acme/infra");
    let report = |kind, body: &str, secs| PushedReport {
        repo: infra.clone(),
        kind,
        body: body.into(),
        at: at(secs),
    };
    let plan = |head: u64, project: &str| PushedKind::Plan {
        head_sha: sha(head),
        project: project.into(),
    };
    let drift = |env: &str| PushedKind::Drift {
        environment: env.into(),
    };
    s.a.put_pushed_report(&report(plan(1, ""), "root v1", 0))
        .await
        .unwrap();
    s.a.put_pushed_report(&report(plan(1, ""), "root v2", 10))
        .await
        .unwrap();
    s.b.put_pushed_report(&report(plan(1, "envs/prod"), "prod", 20))
        .await
        .unwrap();
    s.b.put_pushed_report(&report(plan(2, ""), "other head", 30))
        .await
        .unwrap();
    s.a.put_pushed_report(&report(drift("prod"), "drift v1", 5))
        .await
        .unwrap();
    s.a.put_pushed_report(&report(drift("prod"), "drift v2", 40))
        .await
        .unwrap();
    s.b.put_pushed_report(&report(drift("dev"), "dev", 50))
        .await
        .unwrap();
    // Another repository's reports are never mixed in.
    let mut elsewhere = report(drift("prod"), "elsewhere", 60);
    elsewhere.repo = repo("acme/other");
    s.a.put_pushed_report(&elsewhere).await.unwrap();

    let bodies =
        |v: Vec<PushedReport>| -> BTreeSet<String> { v.into_iter().map(|r| r.body).collect() };
    let got = s.b.pushed_reports(&infra, &sha(1)).await.unwrap();
    assert!(got.iter().all(|r| r.repo == infra));
    let full = got.iter().find(|r| r.body == "prod").cloned().unwrap();
    assert_eq!(full, report(plan(1, "envs/prod"), "prod", 20));
    assert_eq!(
        bodies(got),
        ["root v2", "prod", "drift v2", "dev"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        bodies(s.a.pushed_reports(&infra, &sha(2)).await.unwrap()),
        ["other head", "drift v2", "dev"].map(String::from).into()
    );

    // Pruned by age: what was stored before the cutoff goes, newer pushes stay.
    assert_eq!(s.a.prune_pushed(at(25)).await.unwrap(), 2);
    assert_eq!(
        bodies(s.b.pushed_reports(&infra, &sha(1)).await.unwrap()),
        ["drift v2", "dev"].map(String::from).into()
    );
    assert_eq!(s.a.prune_pushed(at(25)).await.unwrap(), 0);
}

async fn pr_heads_find_prs_at_a_head(s: Stores) {
    use store::PrHead;
    let infra = repo("acme/infra");
    let head = |platform, r: &str, pr: u64, head: u64, secs| PrHead {
        platform,
        repo: repo(r),
        pr: PrNumber(pr),
        head_sha: sha(head),
        pull_request: json!({ "pr": pr, "head": head }),
        at: at(secs),
    };
    s.a.put_pr_head(&head(Platform::GitHub, "acme/infra", 1, 1, 0))
        .await
        .unwrap();
    s.b.put_pr_head(&head(Platform::GitHub, "acme/infra", 2, 1, 10))
        .await
        .unwrap();
    s.a.put_pr_head(&head(Platform::GitHub, "acme/infra", 3, 2, 20))
        .await
        .unwrap();
    s.a.put_pr_head(&head(Platform::GitHub, "acme/other", 4, 1, 20))
        .await
        .unwrap();
    let prs = |v: Vec<PrHead>| -> BTreeSet<u64> { v.into_iter().map(|h| h.pr.0).collect() };
    let at_one = s.b.prs_at_head(&infra, &sha(1)).await.unwrap();
    assert!(at_one.contains(&head(Platform::GitHub, "acme/infra", 2, 1, 10)));
    assert_eq!(prs(at_one), [1, 2].into());
    // A PR that moved on to a new head is found at that head only.
    s.b.put_pr_head(&head(Platform::GitHub, "acme/infra", 1, 3, 30))
        .await
        .unwrap();
    assert_eq!(
        prs(s.a.prs_at_head(&infra, &sha(1)).await.unwrap()),
        [2].into()
    );
    assert_eq!(
        prs(s.a.prs_at_head(&infra, &sha(3)).await.unwrap()),
        [1].into()
    );
    assert_eq!(
        prs(s.a.prs_at_head(&infra, &sha(9)).await.unwrap()),
        [].into()
    );
    // Pruned with the pushed reports.
    assert_eq!(s.a.prune_pushed(at(15)).await.unwrap(), 1);
    assert_eq!(
        prs(s.a.prs_at_head(&infra, &sha(1)).await.unwrap()),
        [].into()
    );
    assert_eq!(
        prs(s.a.prs_at_head(&infra, &sha(2)).await.unwrap()),
        [3].into()
    );
}
