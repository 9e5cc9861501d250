//! The store: the durable job queue, delivery dedupe, the decision audit trail, per-repository
//! safety counters, overrides and per-PR publishing state, behind one [`Store`] trait.
//!
//! Two backends implement it and pass the same contract tests (`tests/store_contract.rs`):
//! - [`sled`](self::sled): embedded, the default, for a single replica (sled allows one process
//!   per database).
//! - [`postgres`](self::postgres): for several replicas sharing one database; claims use
//!   `FOR UPDATE SKIP LOCKED` and the safety counters use row locks, so limits hold across replicas.
//!
//! [`open`] picks one from a URL. Times are passed in by the caller (`now`) rather than read from
//! the clock, so the queue and the counters can be tested without sleeping; every stored time is
//! cut to whole microseconds, the precision of PostgreSQL's `timestamptz`, so both backends give
//! back exactly the same values.

pub mod ai_usage;
pub mod evaluation;
pub mod ledger;
pub mod postgres;
pub mod pushed;
pub mod sled;

pub use scan::{ScanCursor, lease_is_free};

mod rules;
mod scan;
pub use ai_usage::AiUsage;
pub use evaluation::{EvaluationId, EvaluationRecord};
pub use pushed::{PrHead, PushToken, PushTokenId, PushedKind, PushedReport, TokenScope};
pub(crate) use rules::{action_verdict, clean_text, lease_deadline, micros, redact};

use crate::ids::{CommitSha, DecisionId, DeliveryId, JobId, Platform, PrNumber, RepoId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Where the store lives when nothing is configured.
pub const DEFAULT_STORE_URL: &str = "sled:./thoth-data";

/// Errors callers branch on. Backend errors keep their source for the logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `--store` URL names no backend we have.
    #[error("unsupported store URL `{0}`: expected `sled:PATH` or `postgres://...`")]
    UnsupportedUrl(String),
    /// The store could not be opened (path locked by another process, server unreachable,
    /// migrations failed). Fatal at startup.
    #[error("cannot open the store at {location}: {reason}")]
    Open { location: String, reason: String },
    /// The embedded database failed.
    #[error("sled: {0}")]
    Sled(#[from] ::sled::Error),
    /// PostgreSQL failed or is unreachable; usually worth retrying later.
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored record cannot be read back (written by a newer version or damaged).
    #[error("corrupt {what} record: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// A value cannot be stored as given (a lease too long, a PR number beyond `i64`).
    #[error("invalid value: {0}")]
    Invalid(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: impl fmt::Display) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// What a job asks the worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Evaluate the PR head with the gates and publish. Coalesced per PR: only the newest runs.
    Evaluate,
    /// A `/thoth` comment command. Never coalesced.
    Command,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker (possibly not before `run_after`).
    Queued,
    /// Leased by a worker until `lease_until`.
    Running,
    /// Finished successfully.
    Done,
    /// Failed too often (or permanently); `last_error` says why. Kept for the audit view.
    Dead,
    /// A newer `Evaluate` job for the same PR replaced it before it ran.
    Superseded,
}

/// Implements `as_str`, `Display` and `FromStr` for a unit enum from a table of names.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The stable lowercase name used in storage.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(StoreError::corrupt(stringify!($ty), format!("unknown `{other}`"))),
                }
            }
        }
    };
}

named_enum!(JobKind { Evaluate => "evaluate", Command => "command" });
named_enum!(JobState {
    Queued => "queued",
    Running => "running",
    Done => "done",
    Dead => "dead",
    Superseded => "superseded",
});

/// A job as intake hands it to the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    pub kind: JobKind,
    /// The webhook delivery that caused it; at most one job per delivery (redeliveries are
    /// `Duplicate`). A delivery that needs several things done carries them in its payload.
    pub delivery: DeliveryId,
    /// The platform-neutral event, opaque to the store.
    pub payload: serde_json::Value,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    pub kind: JobKind,
    pub delivery: DeliveryId,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Claims so far, including the current one; a `release` gives one back.
    pub attempts: u32,
    /// Not claimed before this time (retry backoff).
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `enqueue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// Stored durably under this id.
    Enqueued(JobId),
    /// A job for the same delivery already exists (a redelivery); nothing was stored.
    Duplicate,
}

/// Audit record of one decision, downgrade or override. A plain record: the decision engine
/// owns the meaning of `decision` and `reasons`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: DecisionId,
    pub at: DateTime<Utc>,
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    pub decision: String,
    /// 0..=100.
    pub risk: u8,
    /// 0.0..=1.0.
    pub confidence: f64,
    pub reasons: Vec<String>,
    pub findings_digest: String,
    /// `thoth` for automatic decisions, the user for overrides.
    pub actor: String,
    /// The decision before the safety guard downgraded it, if it did.
    pub downgraded_from: Option<String>,
    pub dry_run: bool,
}

/// What the bot remembers about a PR between evaluations, so it edits in place instead of
/// posting again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrState {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub summary_comment_id: Option<String>,
    pub last_findings_digest: Option<String>,
    pub last_head_sha: Option<CommitSha>,
    pub check_run_id: Option<String>,
}

/// A human's `/thoth override`, sticky while the findings digest stays the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    pub decision: crate::decision::human::OverrideDecision,
    pub reason: String,
    pub actor: String,
    pub findings_digest: String,
    pub at: DateTime<Utc>,
}

/// Answer of [`Store::try_record_action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionVerdict {
    /// Counted; go ahead.
    Allowed,
    /// `used` actions of this kind today (UTC) already reached `limit`.
    DailyLimitReached { limit: u32, used: u32 },
    /// The previous automatic action on this repository was too recent.
    CooldownRunning { remaining_secs: u64 },
}

/// The store. Object safe; used as `Arc<dyn Store>`.
///
/// Queue semantics (both backends):
/// - `claim` hands out the runnable job with the earliest `run_after` (ties: enqueue order):
///   `Queued` with `run_after <= now`, or `Running` with `lease_until < now` (its worker died).
///   A job is never handed to a second worker while its lease is valid.
/// - A worker keeps its lease (for `heartbeat`, `complete`, `fail`, `release`) until another
///   worker claims the job; a lapsed lease that nobody re-claimed yet is still held.
/// - Coalescing: enqueuing an `Evaluate` job supersedes the `Queued` `Evaluate` jobs of the same
///   PR. An older `Evaluate` job that would go back to the queue (retry, release, lapsed lease)
///   while a newer one exists for its PR is superseded instead, so an old head is never
///   evaluated after a newer one was enqueued.
#[async_trait]
pub trait Store: Send + Sync {
    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Remembers a webhook delivery; `true` the first time it is seen.
    async fn record_delivery(
        &self,
        key: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Remembers that `delivery` carried a body with this digest (SHA-256, hex) and answers the
    /// delivery that carried it first: `delivery` itself the first time and for its own
    /// redeliveries, another one when the body is replayed under a new delivery id.
    async fn record_body(
        &self,
        digest: &str,
        delivery: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<DeliveryId, StoreError>;

    /// Forgets deliveries and body digests seen before `older_than`; returns how many.
    async fn prune_deliveries(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Stores a job durably (dedupe on `job.delivery`, coalescing per PR for `Evaluate`).
    async fn enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<EnqueueOutcome, StoreError>;

    /// Leases the oldest runnable job to `worker` until `now + lease`, counting an attempt.
    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError>;

    /// Extends the lease to `now + lease`; `false` if `worker` no longer holds it.
    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks the job `Done`; `false` if `worker` no longer holds the lease (the caller must not
    /// publish: another worker owns the job now).
    async fn complete(&self, id: JobId, worker: &str) -> Result<bool, StoreError>;

    /// Records a failure: back to `Queued` at `retry_at`, or `Dead` when `retry_at` is `None`.
    /// `false` if `worker` no longer holds the lease.
    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;

    /// Graceful shutdown: back to `Queued` right away, the attempt not counted.
    async fn release(&self, id: JobId, worker: &str) -> Result<bool, StoreError>;

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Jobs in `state`, in enqueue order, at most `limit`.
    async fn jobs_by_state(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// Forgets finished jobs (`Done`, `Superseded`, `Dead`) last updated before `before`;
    /// returns how many. A job is also its delivery's dedupe record, so this bounds how long a
    /// redelivery is recognised (the server keeps them 7 days).
    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Jobs waiting in the queue (`Queued`, due or not).
    async fn queue_depth(&self) -> Result<u64, StoreError>;

    /// Appends an audit record (idempotent on its id).
    async fn record_decision(&self, rec: &DecisionRecord) -> Result<(), StoreError>;

    /// Audit records at or after `since`, newest first, optionally of one repository.
    async fn decisions(
        &self,
        repo: Option<&RepoId>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>, StoreError>;

    /// Atomic check-and-count of an automatic action (`kind`: approve, reject, ...): at most
    /// `daily_limit` per repository, kind and UTC day, and `cooldown_secs` between any two
    /// actions on the repository. Counts and stamps `now` only when allowed.
    async fn try_record_action(
        &self,
        repo: &RepoId,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> Result<ActionVerdict, StoreError>;

    /// Atomically adds one to the counter `key` of the window starting at `window` and returns
    /// the new count (saturating). Used for per-user budgets of comment commands, so replicas
    /// share them; windows before the one asked about are forgotten by [`Store::prune_counters`].
    async fn bump_counter(&self, key: &str, window: DateTime<Utc>) -> Result<u32, StoreError>;

    /// Forgets counter windows that started before `before`; returns how many.
    async fn prune_counters(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Stores the override of a PR, replacing any previous one.
    async fn put_override(&self, o: &Override) -> Result<(), StoreError>;
    async fn get_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<Override>, StoreError>;
    async fn clear_override(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<(), StoreError>;

    async fn pr_state(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<PrState>, StoreError>;
    /// Replaces the PR's state whole.
    async fn put_pr_state(&self, s: &PrState) -> Result<(), StoreError>;

    /// Takes the scan lease `name` for `owner` until `now + lease`, or renews it when `owner`
    /// holds it already: `true` when `owner` holds it afterwards. A lease held by another owner
    /// is taken only once it expired (`lease_until < now`), so one replica scans at a time.
    async fn acquire_scan_lease(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives the scan lease back; `false` if `owner` did not hold it.
    async fn release_scan_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError>;

    /// Where the scan `name` stopped last time, and when it last completed.
    async fn scan_cursor(&self, name: &str) -> Result<Option<ScanCursor>, StoreError>;

    /// Replaces the scan's cursor whole.
    async fn put_scan_cursor(&self, name: &str, cursor: &ScanCursor) -> Result<(), StoreError>;
    /// Stores an evaluation (replacing one with the same id), cut to its bounds
    /// ([`EvaluationRecord::bounded`]).
    async fn put_evaluation(&self, rec: &EvaluationRecord) -> Result<(), StoreError>;
    async fn evaluation(&self, id: EvaluationId) -> Result<Option<EvaluationRecord>, StoreError>;
    /// The evaluations of one pull request, newest first, at most `limit`.
    async fn pr_evaluations(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
        limit: usize,
    ) -> Result<Vec<EvaluationRecord>, StoreError>;
    /// Evaluations at or after `since`, newest first, at most `limit`.
    async fn evaluations(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<EvaluationRecord>, StoreError>;
    /// Forgets evaluations made before `before`; returns how many.
    async fn prune_evaluations(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Adds `usage` to the row with its key (day, owner, repository, model); durable on return.
    async fn add_ai_usage(&self, usage: &AiUsage) -> Result<(), StoreError>;
    /// Usage rows of days at or after `since`, by day, owner, repository and model.
    async fn ai_usage(&self, since: chrono::NaiveDate) -> Result<Vec<AiUsage>, StoreError>;

    /// Stores a push token (only its secret's hash), replacing one with the same id.
    async fn put_push_token(&self, token: &PushToken) -> Result<(), StoreError>;
    async fn push_token(&self, id: &PushTokenId) -> Result<Option<PushToken>, StoreError>;
    /// Forgets a push token; `true` when it existed.
    async fn revoke_push_token(&self, id: &PushTokenId) -> Result<bool, StoreError>;
    /// Stores a pushed plan or drift report, replacing the one of the same repository and
    /// [`PushedKind`] key (commit and project, or environment). Durable on return.
    async fn put_pushed_report(&self, report: &PushedReport) -> Result<(), StoreError>;
    /// What an evaluation of `head_sha` uses: the plans pushed for that commit (one per
    /// project) and the latest drift report of each environment of the repository.
    async fn pushed_reports(
        &self,
        repo: &RepoId,
        head_sha: &CommitSha,
    ) -> Result<Vec<PushedReport>, StoreError>;
    /// Forgets pushed reports and PR heads stored before `before`; returns how many.
    async fn prune_pushed(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Remembers the head a pull request is being evaluated at, replacing its previous one.
    async fn put_pr_head(&self, head: &PrHead) -> Result<(), StoreError>;
    /// The pull requests of `repo` (either platform) last evaluated at `head_sha`.
    async fn prs_at_head(
        &self,
        repo: &RepoId,
        head_sha: &CommitSha,
    ) -> Result<Vec<PrHead>, StoreError>;
}

/// Opens the store named by `url`: `sled:PATH` or `postgres://...` / `postgresql://...`.
/// PostgreSQL migrations are applied before it returns.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sled:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let store = self::sled::SledStore::open(path).await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = self::postgres::PgStore::connect(url).await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    #[test]
    fn verdict_rules() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(action_verdict(0, None, t0, 1, 300), ActionVerdict::Allowed);
        assert_eq!(
            action_verdict(1, None, t0, 1, 0),
            ActionVerdict::DailyLimitReached { limit: 1, used: 1 }
        );
        let later = t0 + TimeDelta::milliseconds(100_500);
        assert_eq!(
            action_verdict(0, Some(t0), later, 5, 300),
            ActionVerdict::CooldownRunning {
                remaining_secs: 200
            }
        );
        // Skewed clock: the full cooldown remains.
        assert_eq!(
            action_verdict(0, Some(later), t0, 5, 300),
            ActionVerdict::CooldownRunning {
                remaining_secs: 300
            }
        );
        assert_eq!(
            action_verdict(0, Some(t0), t0 + TimeDelta::seconds(300), 5, 300),
            ActionVerdict::Allowed
        );
    }

    #[test]
    fn urls_are_redacted_and_rejected() {
        assert_eq!(
            redact("postgres://thoth:s3cret@db:5432/thoth"),
            "postgres://thoth:***@db:5432/thoth"
        );
        assert_eq!(redact("postgres://db/thoth"), "postgres://db/thoth");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for bad in ["mysql://x", "sled:", "./data"] {
            let err = rt.block_on(open(bad)).err().expect("must fail");
            assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
            JobState::Superseded,
        ] {
            assert_eq!(s.as_str().parse::<JobState>().ok(), Some(s));
            assert_eq!(serde_json::to_string(&s).ok(), Some(format!("\"{s}\"")));
        }
        assert!("evaluate".parse::<JobKind>().is_ok());
        assert!("other".parse::<JobKind>().is_err());
    }
}
