//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! A small process-global registry instead of a metrics crate: the bot needs counters and one
//! histogram family, and the text format is a few lines to write. Every family is declared in
//! [`FAMILIES`] (name, help, type), so a scrape lists all of them even before the first event,
//! and a typo in a family name panics in tests instead of silently creating a new series.
//!
//! Callers use one-line functions: [`webhook`], [`stage_timer`], [`job`], [`decision`],
//! [`forge_call`], [`rate_limit_wait`]. Label values come from the bot's own vocabulary (stage
//! names, outcomes, status codes, event names after the signature was verified), never from
//! unauthenticated input, so the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::decision::Decision;
use crate::decision::safety::Downgrade;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Histogram,
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
}

const fn counter(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Counter,
    }
}

const WEBHOOKS: &str = "thoth_webhooks_total";
const SIGNATURE_FAILURES: &str = "thoth_webhook_signature_failures_total";
const DUPLICATES: &str = "thoth_webhook_duplicates_total";
const STAGE_SECONDS: &str = "thoth_job_stage_duration_seconds";
const JOBS: &str = "thoth_jobs_total";
const DECISIONS: &str = "thoth_decisions_total";
const DOWNGRADES: &str = "thoth_decision_downgrades_total";
const FORGE_CALLS: &str = "thoth_forge_api_calls_total";
const RATE_LIMIT_WAITS: &str = "thoth_rate_limit_waits_total";
const RATE_LIMIT_WAIT_SECONDS: &str = "thoth_rate_limit_wait_seconds_total";
const REDELIVERIES: &str = "thoth_redeliveries_requested_total";
const RECONCILED: &str = "thoth_reconciled_total";

/// Every family the bot exports (plus `thoth_queue_depth` and `thoth_build_info`, computed at
/// scrape time).
const FAMILIES: &[Family] = &[
    counter(
        WEBHOOKS,
        "Webhook deliveries by platform, event and outcome (accepted, duplicate, ignored, unauthorized, bad_request, unavailable).",
    ),
    counter(
        SIGNATURE_FAILURES,
        "Deliveries refused because their signature or credentials were missing or wrong.",
    ),
    counter(
        DUPLICATES,
        "Redeliveries ignored because their delivery id was already seen.",
    ),
    Family {
        name: STAGE_SECONDS,
        help: "Time spent in each stage of a job (checkout, gate_structure, gate_rego, gate_drift, publish, job).",
        kind: Kind::Histogram,
    },
    counter(
        JOBS,
        "Jobs finished by outcome (done, retry, dead, released, lease_lost).",
    ),
    counter(
        DECISIONS,
        "Decisions posted, by kind (after the safety guard).",
    ),
    counter(
        DOWNGRADES,
        "Decisions downgraded to a comment by the safety guard, by reason.",
    ),
    counter(
        FORGE_CALLS,
        "Forge API requests by platform and HTTP status (`error` when no answer came).",
    ),
    counter(
        RATE_LIMIT_WAITS,
        "Waits before a forge request: source `forge` (the forge answered with a rate limit) or `budget` (our own write budget).",
    ),
    counter(RATE_LIMIT_WAIT_SECONDS, "Seconds spent in those waits."),
    counter(
        REDELIVERIES,
        "Failed GitHub webhook deliveries the bot asked GitHub to deliver again.",
    ),
    counter(
        RECONCILED,
        "Evaluation jobs created by reconciliation for pull requests without a thoth result, by platform.",
    ),
];

/// Upper bounds of the stage histogram, in seconds: from a fast gate to a slow clone.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

type Labels = Vec<(&'static str, String)>;

struct Histogram {
    /// Per bucket (not cumulative); the `+Inf` bucket is `count`.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves consistent numbers behind: keep counting.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn family(name: &str) -> &'static Family {
    FAMILIES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("metric family {name} is not declared"))
}

fn add(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    debug_assert!(family(name).kind == Kind::Counter);
    let key = (name, own(labels));
    *registry().counters.entry(key).or_insert(0.0) += value;
}

fn own(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// A webhook delivery and what intake did with it. `event` is the platform's event name once
/// the delivery is authenticated (pass `-` before that). `unauthorized` also counts a signature
/// failure and `duplicate` a duplicate.
pub fn webhook(platform: &str, event: &str, outcome: &str) {
    // Event names come from the sender: anything that is not a plain event name is counted as
    // `other`, so a sender cannot grow the series without bound or garble the label.
    let plain = event.len() <= 64
        && event
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let event = if plain { event } else { "other" };
    add(
        WEBHOOKS,
        &[
            ("platform", platform),
            ("event", event),
            ("outcome", outcome),
        ],
        1.0,
    );
    match outcome {
        "unauthorized" => add(SIGNATURE_FAILURES, &[("platform", platform)], 1.0),
        "duplicate" => add(DUPLICATES, &[("platform", platform)], 1.0),
        _ => {}
    }
}

/// Records the time spent in `stage`.
pub fn observe_stage(stage: &str, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let mut reg = registry();
    let h = reg
        .histograms
        .entry((STAGE_SECONDS, vec![("stage", stage.to_string())]))
        .or_insert_with(|| Histogram {
            buckets: vec![0; BUCKETS.len()],
            sum: 0.0,
            count: 0,
        });
    if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
        h.buckets[i] += 1;
    }
    h.sum += secs;
    h.count += 1;
}

/// Total seconds recorded per stage in this process: the gate child sends them to its parent,
/// which records them with [`observe_stage`] (the child's registry dies with it).
pub fn stage_totals() -> Vec<(String, f64)> {
    registry()
        .histograms
        .iter()
        .filter(|((name, _), _)| *name == STAGE_SECONDS)
        .filter_map(|((_, labels), h)| {
            let stage = labels.iter().find(|(k, _)| *k == "stage")?;
            Some((stage.1.clone(), h.sum))
        })
        .collect()
}

/// Times `stage` until dropped: `let _t = metrics::stage_timer("checkout");`. A stage that
/// fails is timed too (it still took that long).
#[must_use = "the stage is timed until this guard is dropped"]
pub struct StageTimer {
    stage: &'static str,
    start: Instant,
}

pub fn stage_timer(stage: &'static str) -> StageTimer {
    StageTimer {
        stage,
        start: Instant::now(),
    }
}

impl StageTimer {
    /// Time since the stage started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stops timing without recording (a stage that was cut short says nothing about its
    /// duration).
    pub fn discard(self) {
        std::mem::forget(self);
    }
}

impl Drop for StageTimer {
    fn drop(&mut self) {
        observe_stage(self.stage, self.start.elapsed());
    }
}

/// A job left the worker: `done`, `retry`, `dead`, `released` (shutdown) or `lease_lost`.
pub fn job(outcome: &str) {
    add(JOBS, &[("outcome", outcome)], 1.0);
}

/// A decision as posted, and its downgrade reason if the safety guard made it a comment.
pub fn decision(d: &Decision) {
    add(DECISIONS, &[("kind", d.kind.as_str())], 1.0);
    if let Some(why) = &d.downgrade {
        add(DOWNGRADES, &[("reason", downgrade_reason(why))], 1.0);
    }
}

/// A short, bounded label for a downgrade (the Display text names labels and authors).
pub fn downgrade_reason(d: &Downgrade) -> &'static str {
    match d {
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

/// One forge API request and its HTTP status (`None`: no answer, a transport error).
pub fn forge_call(platform: &str, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    add(
        FORGE_CALLS,
        &[("platform", platform), ("status", &status)],
        1.0,
    );
}

/// A wait before a forge request: `source` is `forge` (rate-limit answer) or `budget` (our
/// write budget).
pub fn rate_limit_wait(platform: &str, source: &str, wait: Duration) {
    let labels = [("platform", platform), ("source", source)];
    add(RATE_LIMIT_WAITS, &labels, 1.0);
    add(RATE_LIMIT_WAIT_SECONDS, &labels, wait.as_secs_f64());
}

/// GitHub accepted a request to deliver a failed webhook delivery again.
pub fn redelivery_requested() {
    add(REDELIVERIES, &[], 1.0);
}

/// Reconciliation enqueued an evaluation job on `platform`.
pub fn reconciled(platform: &str) {
    add(RECONCILED, &[("platform", platform)], 1.0);
}

/// The gauge of seconds since each recovery scan last completed, computed by the caller at
/// scrape time from the store (shared by all replicas): `(scan, age)`; a scan that never
/// completed is left out.
pub fn render_scan_ages(ages: &[(&str, f64)]) -> String {
    let mut out = String::from(
        "# HELP thoth_recovery_last_success_age_seconds Seconds since each recovery scan (github_redeliver, github_reconcile, azure_reconcile) last completed (all replicas).\n# TYPE thoth_recovery_last_success_age_seconds gauge\n",
    );
    for (scan, age) in ages {
        let _ = writeln!(
            out,
            "thoth_recovery_last_success_age_seconds{{scan=\"{}\"}} {age}",
            escape(scan)
        );
    }
    out
}

/// The Prometheus text exposition of everything counted so far. `queue_depth` is read from the
/// store by the caller (`None` when the store did not answer: the gauge is left out rather
/// than reported as zero).
pub fn render(queue_depth: Option<u64>) -> String {
    let reg = registry();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP thoth_build_info The running version.\n# TYPE thoth_build_info gauge\nthoth_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(depth) = queue_depth {
        let _ = writeln!(
            out,
            "# HELP thoth_queue_depth Jobs waiting in the queue (all replicas).\n# TYPE thoth_queue_depth gauge\nthoth_queue_depth {depth}"
        );
    }
    for f in FAMILIES {
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(
            out,
            "# HELP {} {}\n# TYPE {} {kind}",
            f.name, f.help, f.name
        );
        for ((name, labels), value) in reg.counters.iter().filter(|((n, _), _)| *n == f.name) {
            let _ = writeln!(out, "{name}{} {value}", label_set(labels, None));
        }
        for ((name, labels), h) in reg.histograms.iter().filter(|((n, _), _)| *n == f.name) {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&h.buckets) {
                cumulative += n;
                let le = bound.to_string();
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {cumulative}",
                    label_set(labels, Some(&le))
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                label_set(labels, Some("+Inf")),
                h.count
            );
            let _ = writeln!(out, "{name}_sum{} {}", label_set(labels, None), h.sum);
            let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), h.count);
        }
    }
    out
}

fn label_set(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// Label values escape backslash, double quote and newline (the text format's rule).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of one exact series line in `text`.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counters_and_derived_counters() {
        let before = render(None);
        let series = r#"thoth_webhooks_total{platform="unit",event="push",outcome="duplicate"}"#;
        let dup = r#"thoth_webhook_duplicates_total{platform="unit"}"#;
        let n0 = value(&before, series).unwrap_or(0.0);
        let d0 = value(&before, dup).unwrap_or(0.0);
        webhook("unit", "push", "duplicate");
        webhook("unit", "push", "duplicate");
        let after = render(Some(3));
        assert_eq!(value(&after, series), Some(n0 + 2.0), "{after}");
        assert_eq!(value(&after, dup), Some(d0 + 2.0));
        assert_eq!(value(&after, "thoth_queue_depth"), Some(3.0));
        assert!(!render(None).contains("thoth_queue_depth "));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        observe_stage("unit_stage", Duration::from_millis(20));
        observe_stage("unit_stage", Duration::from_secs(7));
        observe_stage("unit_stage", Duration::from_secs(1000));
        let text = render(None);
        let b = |le: &str| {
            value(
                &text,
                &format!(
                    r#"thoth_job_stage_duration_seconds_bucket{{stage="unit_stage",le="{le}"}}"#
                ),
            )
        };
        assert_eq!(b("0.01"), Some(0.0));
        assert_eq!(b("0.025"), Some(1.0));
        assert_eq!(b("10"), Some(2.0));
        assert_eq!(b("300"), Some(2.0));
        assert_eq!(b("+Inf"), Some(3.0));
        let count = value(
            &text,
            r#"thoth_job_stage_duration_seconds_count{stage="unit_stage"}"#,
        );
        assert_eq!(count, Some(3.0));
    }

    #[test]
    fn every_family_is_listed_and_labels_are_escaped() {
        forge_call("unit\"x", None);
        let text = render(None);
        for f in FAMILIES {
            assert!(text.contains(&format!("# TYPE {} ", f.name)), "{}", f.name);
        }
        assert!(
            text.contains(r#"thoth_forge_api_calls_total{platform="unit\"x",status="error"} 1"#),
            "{text}"
        );
    }
}
