//! The safety guard: the last word before an automatic APPROVE / REQUEST_CHANGES / REJECT is
//! posted. Any rule that fires downgrades the decision to a COMMENT and says why.
//!
//! Rules, in order (the first that fires wins): automatic decisions disabled, dry run, draft
//! pull request, emergency label, trusted bot author, in-process burst limiter, then the
//! persistent [`ActionLedger`] (per-repository daily limit per kind, and cooldown between
//! actions). The ledger is consulted last and only when nothing else fired, so a downgraded
//! decision never consumes a daily slot or starts a cooldown; a dry run records nothing at all.
//! A COMMENT proposal passes through untouched.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use super::{Decision, DecisionConfig, DecisionKind};

/// The pull request the decision is about, as far as the safety rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrContext {
    /// Canonical repository id (`owner/name`, or `org/project/repo` on Azure DevOps); the key of
    /// every limit.
    pub repo: String,
    /// Author login (`dependabot[bot]`).
    pub author: String,
    pub labels: Vec<String>,
    pub draft: bool,
}

/// Why an automatic action was posted as a COMMENT instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downgrade {
    /// `enabled: false` (the default).
    Disabled,
    /// `dry_run: true` or `--dry-run`.
    DryRun,
    /// The pull request carries this emergency label (as written on the PR).
    EmergencyLabel(String),
    /// The author (login as given) is a trusted bot.
    TrustedBot(String),
    /// The pull request is a draft.
    Draft,
    /// The repository used up its daily budget for this kind of action.
    DailyLimit { kind: DecisionKind, limit: u32 },
    /// Another automatic action on the repository was too recent.
    Cooldown { remaining_secs: u64 },
    /// Too many automatic actions on the repository within the last minute (this process).
    BurstLimited,
}

impl Downgrade {
    /// A short, bounded name for metrics (the Display text names labels and authors).
    pub fn reason(&self) -> &'static str {
        match self {
            Downgrade::Disabled => "disabled",
            Downgrade::DryRun => "dry_run",
            Downgrade::EmergencyLabel(_) => "emergency_label",
            Downgrade::TrustedBot(_) => "trusted_bot",
            Downgrade::Draft => "draft",
            Downgrade::DailyLimit { .. } => "daily_limit",
            Downgrade::Cooldown { .. } => "cooldown",
            Downgrade::BurstLimited => "burst_limited",
        }
    }
}

impl fmt::Display for Downgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Downgrade::Disabled => write!(
                f,
                "automatic decisions are disabled for this repository (set `enabled: true` in \
                 {}), so this is a comment only",
                super::config::CONFIG_FILE
            ),
            Downgrade::DryRun => f.write_str(
                "dry run: the decision is shown as a comment only, and nothing is recorded",
            ),
            Downgrade::EmergencyLabel(label) => write!(
                f,
                "the pull request carries the emergency label `{label}`: a human decides, so \
                 this is a comment only"
            ),
            Downgrade::TrustedBot(author) => write!(
                f,
                "the author `{author}` is a trusted bot: its pull requests get a comment only"
            ),
            Downgrade::Draft => f.write_str(
                "the pull request is a draft: a comment only until it is ready for review",
            ),
            Downgrade::DailyLimit { kind, limit } => write!(
                f,
                "the daily limit of {limit} automatic `{kind}` decision(s) for this repository \
                 is reached (resets at 00:00 UTC), so this is a comment only"
            ),
            Downgrade::Cooldown { remaining_secs } => write!(
                f,
                "another automatic decision was posted on this repository recently; the \
                 cooldown has {remaining_secs} s left, so this is a comment only"
            ),
            Downgrade::BurstLimited => f.write_str(
                "too many automatic decisions on this repository in the last minute, so this \
                 is a comment only",
            ),
        }
    }
}

/// Persistent limits. The store implements it transactionally so the limits hold across
/// replicas; [`MemoryLedger`] is the single-process version.
#[async_trait::async_trait]
pub trait ActionLedger: Send + Sync {
    /// Atomic check-and-update of the per-repo, per-UTC-day, per-kind counter and the per-repo cooldown.
    async fn try_record_action(
        &self,
        repo: &str,
        kind: &str,
        now: chrono::DateTime<chrono::Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> anyhow::Result<LedgerVerdict>;
}

/// The ledger's answer; only [`LedgerVerdict::Allowed`] recorded anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerVerdict {
    Allowed,
    DailyLimitReached { limit: u32, used: u32 },
    CooldownRunning { remaining_secs: u64 },
}

/// An in-memory [`ActionLedger`] (tests, `check --decide`, a single replica without a store).
///
/// The daily limit is checked before the cooldown, so a repository out of budget says so
/// rather than showing a cooldown that would not help. A clock that went backwards counts as
/// no time elapsed.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// (repo, UTC day, kind) => actions recorded.
    counts: HashMap<(String, NaiveDate, String), u32>,
    /// repo => time of the last recorded action.
    last: HashMap<String, DateTime<Utc>>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Actions of `kind` recorded for `repo` on the UTC day of `day`.
    pub fn used(&self, repo: &str, kind: &str, day: DateTime<Utc>) -> u32 {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .counts
            .get(&(repo.to_string(), day.date_naive(), kind.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Whether nothing was ever recorded (or everything recorded has expired).
    pub fn is_empty(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.counts.is_empty() && state.last.is_empty()
    }
}

#[async_trait::async_trait]
impl ActionLedger for MemoryLedger {
    async fn try_record_action(
        &self,
        repo: &str,
        kind: &str,
        now: DateTime<Utc>,
        daily_limit: u32,
        cooldown_secs: u64,
    ) -> anyhow::Result<LedgerVerdict> {
        // The state is only ever updated whole, so a panic elsewhere cannot leave it torn.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let today = now.date_naive();
        // Keep yesterday too, so a clock a little behind (another replica's) still counts.
        let keep_from = today.pred_opt().unwrap_or(today);
        state.counts.retain(|(_, day, _), _| *day >= keep_from);

        let key = (repo.to_string(), today, kind.to_string());
        let used = state.counts.get(&key).copied().unwrap_or(0);
        if used >= daily_limit {
            return Ok(LedgerVerdict::DailyLimitReached {
                limit: daily_limit,
                used,
            });
        }
        if let Some(last) = state.last.get(repo) {
            let elapsed = u64::try_from((now - *last).num_seconds()).unwrap_or(0);
            if elapsed < cooldown_secs {
                return Ok(LedgerVerdict::CooldownRunning {
                    remaining_secs: cooldown_secs - elapsed,
                });
            }
        }
        state.counts.insert(key, used + 1);
        state.last.insert(repo.to_string(), now);
        Ok(LedgerVerdict::Allowed)
    }
}

/// Default for [`BurstLimiter`]: automatic actions per minute per repository.
pub const DEFAULT_BURST_PER_MINUTE: u32 = 10;

/// In-process limiter of automatic actions per repository per minute: a cheap brake against a
/// loop (a webhook storm, a bot fighting the bot) before the persistent ledger is touched.
pub struct BurstLimiter {
    /// `None`: configured with 0, every automatic action is limited.
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl BurstLimiter {
    /// `per_minute` actions per repository, replenished evenly over the minute; 0 allows none
    /// (like the daily limits).
    pub fn new(per_minute: u32) -> Self {
        BurstLimiter {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Takes one slot for `repo`; false when none is left.
    pub fn check(&self, repo: &str) -> bool {
        let Some(limiter) = &self.limiter else {
            return false;
        };
        let allowed = limiter.check_key(&repo.to_string()).is_ok();
        // Forget repositories whose bucket is full again, so the map stays small.
        if limiter.len() > 4096 {
            limiter.retain_recent();
        }
        allowed
    }
}

impl Default for BurstLimiter {
    fn default() -> Self {
        BurstLimiter::new(DEFAULT_BURST_PER_MINUTE)
    }
}

impl fmt::Debug for BurstLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BurstLimiter")
            .field("repos", &self.limiter.as_ref().map_or(0, |l| l.len()))
            .finish()
    }
}

/// Applies the safety rules (see the module doc) to an evaluated decision.
///
/// An `Err` means the ledger could not be asked: nothing is known to be recorded, and the caller
/// should post a comment only.
pub async fn guard(
    decision: Decision,
    ctx: &PrContext,
    cfg: &DecisionConfig,
    ledger: &dyn ActionLedger,
    burst: &BurstLimiter,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let kind = decision.kind;
    if !kind.is_action() {
        return Ok(decision);
    }
    if let Some(why) = static_downgrade(ctx, cfg) {
        return Ok(decision.downgraded(why));
    }
    if !burst.check(&ctx.repo) {
        return Ok(decision.downgraded(Downgrade::BurstLimited));
    }
    let verdict = ledger
        .try_record_action(
            &ctx.repo,
            kind.as_str(),
            now,
            cfg.daily_limit(kind.as_str()),
            cfg.safety.cooldown_between_actions,
        )
        .await
        .with_context(|| format!("recording the automatic {kind} on {}", ctx.repo))?;
    Ok(match verdict {
        LedgerVerdict::Allowed => decision,
        LedgerVerdict::DailyLimitReached { limit, .. } => {
            decision.downgraded(Downgrade::DailyLimit { kind, limit })
        }
        LedgerVerdict::CooldownRunning { remaining_secs } => {
            decision.downgraded(Downgrade::Cooldown { remaining_secs })
        }
    })
}

/// The rules that need no state, in order.
fn static_downgrade(ctx: &PrContext, cfg: &DecisionConfig) -> Option<Downgrade> {
    if !cfg.enabled {
        return Some(Downgrade::Disabled);
    }
    if cfg.dry_run {
        return Some(Downgrade::DryRun);
    }
    if ctx.draft {
        return Some(Downgrade::Draft);
    }
    if let Some(label) = emergency_label(&ctx.labels, &cfg.safety.emergency_labels) {
        return Some(Downgrade::EmergencyLabel(label.to_string()));
    }
    if is_trusted_bot(&ctx.author, &cfg.safety.trusted_bots) {
        return Some(Downgrade::TrustedBot(ctx.author.clone()));
    }
    None
}

/// The first PR label that is an emergency label (case-insensitive, surrounding space ignored).
pub fn emergency_label<'a>(labels: &'a [String], emergency: &[String]) -> Option<&'a str> {
    labels
        .iter()
        .find(|l| {
            let l = l.trim().to_lowercase();
            emergency.iter().any(|e| e.trim().to_lowercase() == l)
        })
        .map(String::as_str)
}

/// Whether `author` equals or starts with a trusted bot name, ignoring case and a `[bot]`
/// suffix on either (`dependabot[bot]` and `dependabot-preview` match `dependabot`).
pub fn is_trusted_bot(author: &str, trusted: &[String]) -> bool {
    fn base(s: &str) -> String {
        let s = s.trim().to_lowercase();
        s.strip_suffix("[bot]").map_or(s.clone(), str::to_string)
    }
    let author = base(author);
    !author.is_empty()
        && trusted.iter().any(|t| {
            let t = base(t);
            !t.is_empty() && author.starts_with(&t)
        })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::decision::evaluate;
    use crate::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};

    /// Counts calls, delegating to a [`MemoryLedger`].
    #[derive(Default)]
    struct CountingLedger {
        inner: MemoryLedger,
        calls: AtomicUsize,
    }

    impl CountingLedger {
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait::async_trait]
    impl ActionLedger for CountingLedger {
        async fn try_record_action(
            &self,
            repo: &str,
            kind: &str,
            now: DateTime<Utc>,
            daily_limit: u32,
            cooldown_secs: u64,
        ) -> anyhow::Result<LedgerVerdict> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner
                .try_record_action(repo, kind, now, daily_limit, cooldown_secs)
                .await
        }
    }

    struct BrokenLedger;

    #[async_trait::async_trait]
    impl ActionLedger for BrokenLedger {
        async fn try_record_action(
            &self,
            _: &str,
            _: &str,
            _: DateTime<Utc>,
            _: u32,
            _: u64,
        ) -> anyhow::Result<LedgerVerdict> {
            anyhow::bail!("store unreachable")
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn report(findings: Vec<Finding>) -> CheckReport {
        CheckReport::new(
            Gate::ALL
                .iter()
                .map(|g| {
                    let own = findings.iter().filter(|f| f.gate == *g).cloned().collect();
                    GateReport::new(*g, 1, own)
                })
                .collect(),
        )
    }

    fn approve() -> Decision {
        let d = evaluate(&report(vec![]), &DecisionConfig::default());
        assert_eq!(d.kind, DecisionKind::Approve);
        d
    }

    fn reject() -> Decision {
        let f = Finding::new(Gate::Rego, "r", Level::Failure, Severity::Critical, "m");
        let d = evaluate(&report(vec![f]), &DecisionConfig::default());
        assert_eq!(d.kind, DecisionKind::Reject);
        d
    }

    fn enabled() -> DecisionConfig {
        DecisionConfig {
            enabled: true,
            ..DecisionConfig::default()
        }
    }

    fn pr() -> PrContext {
        PrContext {
            repo: "acme/infra".into(),
            author: "alice".into(),
            labels: vec!["terraform".into()],
            draft: false,
        }
    }

    /// Guards `decision`, returning it and how often the ledger was asked.
    async fn run(
        decision: Decision,
        ctx: &PrContext,
        cfg: &DecisionConfig,
    ) -> (Decision, CountingLedger) {
        let ledger = CountingLedger::default();
        let d = guard(decision, ctx, cfg, &ledger, &BurstLimiter::default(), t0())
            .await
            .unwrap();
        (d, ledger)
    }

    fn assert_downgraded(d: &Decision, proposed: DecisionKind, why: Downgrade) {
        assert_eq!(d.kind, DecisionKind::Comment);
        assert_eq!(d.proposed, proposed);
        assert_eq!(d.downgrade.as_ref(), Some(&why));
    }

    #[tokio::test]
    async fn allowed_action_is_recorded() {
        let (d, ledger) = run(approve(), &pr(), &enabled()).await;
        assert_eq!(d.kind, DecisionKind::Approve);
        assert_eq!(d.downgrade, None);
        assert_eq!(ledger.inner.used("acme/infra", "approve", t0()), 1);
    }

    #[tokio::test]
    async fn disabled_downgrades_without_touching_the_ledger() {
        let (d, ledger) = run(reject(), &pr(), &DecisionConfig::default()).await;
        assert_downgraded(&d, DecisionKind::Reject, Downgrade::Disabled);
        assert_eq!(ledger.calls(), 0);
        assert!(d.downgrade.unwrap().to_string().contains("enabled: true"));
    }

    #[tokio::test]
    async fn dry_run_records_nothing() {
        let cfg = DecisionConfig {
            dry_run: true,
            ..enabled()
        };
        let (d, ledger) = run(approve(), &pr(), &cfg).await;
        assert_downgraded(&d, DecisionKind::Approve, Downgrade::DryRun);
        assert_eq!(ledger.calls(), 0);
        assert!(ledger.inner.is_empty());
    }

    #[tokio::test]
    async fn draft_pull_requests_get_a_comment() {
        let ctx = PrContext {
            draft: true,
            labels: vec!["hotfix".into()],
            ..pr()
        };
        let (d, ledger) = run(approve(), &ctx, &enabled()).await;
        assert_downgraded(&d, DecisionKind::Approve, Downgrade::Draft);
        assert_eq!(ledger.calls(), 0);
    }

    #[tokio::test]
    async fn emergency_label_matches_case_insensitively() {
        let ctx = PrContext {
            labels: vec!["infra".into(), "HotFix".into()],
            author: "dependabot[bot]".into(),
            ..pr()
        };
        let (d, ledger) = run(reject(), &ctx, &enabled()).await;
        assert_downgraded(
            &d,
            DecisionKind::Reject,
            Downgrade::EmergencyLabel("HotFix".into()),
        );
        assert_eq!(ledger.calls(), 0);
        assert!(d.downgrade.unwrap().to_string().contains("`HotFix`"));
    }

    #[tokio::test]
    async fn trusted_bot_author_gets_a_comment() {
        for author in [
            "dependabot[bot]",
            "Renovate[bot]",
            "renovate-bot",
            "dependabot",
        ] {
            let ctx = PrContext {
                author: author.into(),
                ..pr()
            };
            let (d, ledger) = run(approve(), &ctx, &enabled()).await;
            assert_downgraded(
                &d,
                DecisionKind::Approve,
                Downgrade::TrustedBot(author.into()),
            );
            assert_eq!(ledger.calls(), 0);
        }
        let trusted = DecisionConfig::default().safety.trusted_bots;
        for author in ["octocat", "depend", "", "[bot]", "github-actions[bot]"] {
            assert!(!is_trusted_bot(author, &trusted), "{author}");
        }
        assert!(is_trusted_bot("my-bot", &["My-Bot[bot]".to_string()]));
    }

    #[tokio::test]
    async fn daily_limit_per_kind_and_utc_day() {
        let mut cfg = enabled();
        cfg.safety.max_auto_approvals_per_day = 2;
        cfg.safety.cooldown_between_actions = 0;
        let ledger = CountingLedger::default();
        let burst = BurstLimiter::default();
        let at = |mins: i64| t0() + Duration::minutes(mins);
        for i in 0..2 {
            let d = guard(approve(), &pr(), &cfg, &ledger, &burst, at(i))
                .await
                .unwrap();
            assert_eq!(d.kind, DecisionKind::Approve);
        }
        let d = guard(approve(), &pr(), &cfg, &ledger, &burst, at(2))
            .await
            .unwrap();
        let why = Downgrade::DailyLimit {
            kind: DecisionKind::Approve,
            limit: 2,
        };
        assert_downgraded(&d, DecisionKind::Approve, why.clone());
        assert!(
            why.to_string()
                .contains("daily limit of 2 automatic `approve`")
        );
        // Other kinds and other repositories have their own budgets.
        let d = guard(reject(), &pr(), &cfg, &ledger, &burst, at(3))
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Reject);
        let other = PrContext {
            repo: "acme/other".into(),
            ..pr()
        };
        let d = guard(approve(), &other, &cfg, &ledger, &burst, at(4))
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Approve);
        // The next UTC day starts afresh.
        let tomorrow = Utc.with_ymd_and_hms(2025, 3, 2, 0, 0, 1).unwrap();
        let d = guard(approve(), &pr(), &cfg, &ledger, &burst, tomorrow)
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Approve);
    }

    #[tokio::test]
    async fn cooldown_between_actions_on_a_repository() {
        let cfg = enabled();
        let ledger = CountingLedger::default();
        let burst = BurstLimiter::default();
        let d = guard(approve(), &pr(), &cfg, &ledger, &burst, t0())
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Approve);
        let later = t0() + Duration::seconds(100);
        let d = guard(reject(), &pr(), &cfg, &ledger, &burst, later)
            .await
            .unwrap();
        assert_downgraded(
            &d,
            DecisionKind::Reject,
            Downgrade::Cooldown {
                remaining_secs: 200,
            },
        );
        assert_eq!(ledger.inner.used("acme/infra", "reject", later), 0);
        let after = t0() + Duration::seconds(300);
        let d = guard(reject(), &pr(), &cfg, &ledger, &burst, after)
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Reject);
    }

    #[tokio::test]
    async fn burst_limiter_stops_before_the_ledger() {
        let mut cfg = enabled();
        cfg.safety.cooldown_between_actions = 0;
        let ledger = CountingLedger::default();
        let burst = BurstLimiter::new(1);
        let d = guard(approve(), &pr(), &cfg, &ledger, &burst, t0())
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Approve);
        let d = guard(approve(), &pr(), &cfg, &ledger, &burst, t0())
            .await
            .unwrap();
        assert_downgraded(&d, DecisionKind::Approve, Downgrade::BurstLimited);
        assert_eq!(
            ledger.calls(),
            1,
            "the burst-limited action consumed nothing"
        );
        assert_eq!(ledger.inner.used("acme/infra", "approve", t0()), 1);
        // Per repository.
        let other = PrContext {
            repo: "acme/other".into(),
            ..pr()
        };
        let d = guard(approve(), &other, &cfg, &ledger, &burst, t0())
            .await
            .unwrap();
        assert_eq!(d.kind, DecisionKind::Approve);
        assert!(!BurstLimiter::new(0).check("acme/infra"));
    }

    #[tokio::test]
    async fn comment_passes_through_untouched() {
        let mut d = approve();
        d.kind = DecisionKind::Comment;
        d.proposed = DecisionKind::Comment;
        let (out, ledger) = run(d.clone(), &pr(), &DecisionConfig::default()).await;
        assert_eq!(out, d);
        assert_eq!(ledger.calls(), 0);
    }

    #[tokio::test]
    async fn ledger_failure_is_an_error() {
        let e = guard(
            approve(),
            &pr(),
            &enabled(),
            &BrokenLedger,
            &BurstLimiter::default(),
            t0(),
        )
        .await
        .unwrap_err();
        let message = format!("{e:#}");
        assert!(message.contains("acme/infra") && message.contains("store unreachable"));
    }

    #[tokio::test]
    async fn memory_ledger_edge_cases() {
        let ledger = MemoryLedger::new();
        assert_eq!(
            ledger
                .try_record_action("r", "approve", t0(), 0, 0)
                .await
                .unwrap(),
            LedgerVerdict::DailyLimitReached { limit: 0, used: 0 }
        );
        assert!(ledger.is_empty());
        let v = ledger.try_record_action("r", "approve", t0(), 5, 60).await;
        assert_eq!(v.unwrap(), LedgerVerdict::Allowed);
        // A clock that went backwards counts as no time elapsed.
        let earlier = t0() - Duration::seconds(30);
        assert_eq!(
            ledger
                .try_record_action("r", "reject", earlier, 5, 60)
                .await
                .unwrap(),
            LedgerVerdict::CooldownRunning { remaining_secs: 60 }
        );
    }

    #[test]
    fn downgrade_messages_say_why() {
        let cases = [
            (Downgrade::DryRun, "dry run"),
            (Downgrade::Draft, "draft"),
            (
                Downgrade::TrustedBot("renovate[bot]".into()),
                "`renovate[bot]`",
            ),
            (Downgrade::Cooldown { remaining_secs: 42 }, "42 s left"),
            (Downgrade::BurstLimited, "last minute"),
        ];
        for (d, needle) in cases {
            let text = d.to_string();
            assert!(text.contains(needle) && text.contains("comment"), "{text}");
        }
    }
}
