//! Prometheus metrics, served as text at `GET /metrics` (the Prometheus text format 0.0.4). A
//! family without a series yet is left out of the text (the crate's encoder does so).
//!
//! The families live in a `prometheus-client` registry ([`families`]): each is a typed field
//! with a typed label set, so an undeclared family or label does not compile.
//!
//! Callers use one-line functions: [`webhook`], [`stage_timer`], [`job`], [`decision`],
//! [`forge_call`], [`rate_limit_wait`]. Label values come from the bot's own vocabulary (stage
//! names, outcomes, status codes, event names after the signature was verified), never from
//! unauthenticated input, so the number of series stays bounded.

mod families;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use prometheus_client::encoding::prometheus_text;

use families::{
    DecisionLabels, DowngradeLabels, Families, ForgeCallLabels, JobLabels, PlatformLabels,
    StageLabels, WaitLabels, WebhookLabels,
};
pub use families::{JobOutcome, Stage, WaitSource};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

static FAMILIES: LazyLock<Families> = LazyLock::new(Families::declare);

fn platform(platform: &str) -> PlatformLabels {
    PlatformLabels {
        platform: platform.to_string(),
    }
}

/// A webhook delivery and what intake did with it. `event` is the platform's event name once
/// the delivery is authenticated (pass `-` before that). `unauthorized` also counts a signature
/// failure and `duplicate` a duplicate.
pub fn webhook(platform_name: &str, event: &str, outcome: &str) {
    // Event names come from the sender: anything that is not a plain event name is counted as
    // `other`, so a sender cannot grow the series without bound or garble the label.
    let plain = event.len() <= 64
        && event
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let event = if plain { event } else { "other" };
    let f = &*FAMILIES;
    f.webhooks
        .get_or_create(&WebhookLabels {
            platform: platform_name.to_string(),
            event: event.to_string(),
            outcome: outcome.to_string(),
        })
        .inc();
    match outcome {
        "unauthorized" => {
            f.signature_failures
                .get_or_create(&platform(platform_name))
                .inc();
        }
        "duplicate" => {
            f.duplicates.get_or_create(&platform(platform_name)).inc();
        }
        _ => {}
    }
}

/// Records the time spent in `stage`.
pub fn observe_stage(stage: Stage, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let labels = StageLabels { stage };
    FAMILIES.stage_seconds.get_or_create(&labels).observe(secs);
    FAMILIES.stage_totals.get_or_create(&labels).inc_by(secs);
}

/// Total seconds recorded per stage in this process: the gate child sends them to its parent,
/// which records them with [`observe_stage`] (the child's registry dies with it).
pub fn stage_totals() -> Vec<(String, f64)> {
    Stage::ALL
        .iter()
        .filter_map(|&stage| {
            let total = FAMILIES.stage_totals.get(&StageLabels { stage })?.get();
            Some((stage.as_str().to_string(), total))
        })
        .collect()
}

/// Times `stage` until dropped: `let _t = metrics::stage_timer(Stage::Checkout);`. A stage
/// that fails is timed too (it still took that long).
#[must_use = "the stage is timed until this guard is dropped"]
pub struct StageTimer {
    stage: Stage,
    start: Instant,
}

pub fn stage_timer(stage: Stage) -> StageTimer {
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

/// A job left the worker.
pub fn job(outcome: JobOutcome) {
    FAMILIES.jobs.get_or_create(&JobLabels { outcome }).inc();
}

/// A decision as posted: its kind, and the downgrade reason if the safety guard made it a
/// comment (short, bounded labels chosen by the caller).
pub fn decision(kind: &str, downgrade: Option<&str>) {
    FAMILIES
        .decisions
        .get_or_create(&DecisionLabels {
            kind: kind.to_string(),
        })
        .inc();
    if let Some(reason) = downgrade {
        FAMILIES
            .downgrades
            .get_or_create(&DowngradeLabels {
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// One forge API request and its HTTP status (`None`: no answer, a transport error).
pub fn forge_call(platform: &str, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    FAMILIES
        .forge_calls
        .get_or_create(&ForgeCallLabels {
            platform: platform.to_string(),
            status,
        })
        .inc();
}

/// A wait before a forge request, and why.
pub fn rate_limit_wait(platform: &str, source: WaitSource, wait: Duration) {
    let labels = WaitLabels {
        platform: platform.to_string(),
        source,
    };
    FAMILIES.rate_limit_waits.get_or_create(&labels).inc();
    FAMILIES
        .rate_limit_wait_seconds
        .get_or_create(&labels)
        .inc_by(wait.as_secs_f64());
}

/// GitHub accepted a request to deliver a failed webhook delivery again.
pub fn redelivery_requested() {
    FAMILIES.redeliveries.inc();
}

/// Reconciliation enqueued an evaluation job on `platform`.
pub fn reconciled(platform_name: &str) {
    FAMILIES
        .reconciled
        .get_or_create(&platform(platform_name))
        .inc();
}

/// One HTTP request to the AI model API.
pub fn ai_request() {
    FAMILIES.ai_requests.inc();
}

/// Tokens one AI review used.
pub fn ai_tokens(usage: crate::ai::Usage) {
    use families::{TokenDirection, TokenLabels};
    for &direction in TokenDirection::ALL {
        let n = match direction {
            TokenDirection::Input => usage.input_tokens,
            TokenDirection::Output => usage.output_tokens,
        };
        FAMILIES
            .ai_tokens
            .get_or_create(&TokenLabels { direction })
            .inc_by(n);
    }
}

/// What one AI review cost, priced from the `[ai.pricing]` table (0 for an unpriced model).
pub fn ai_cost_usd(micro_usd: u64) {
    FAMILIES.ai_cost_usd.inc_by(micro_usd as f64 / 1e6);
}

/// An AI review skipped because its owner's budget was spent (or could not be read).
pub fn ai_skipped_over_budget() {
    FAMILIES.ai_skipped_budget.inc();
}

/// The text exposition of everything counted so far, plus the gauges the caller reads from the
/// store at scrape time (shared by all replicas): `queue_depth` (`None` when the store did not
/// answer: the gauge is left out rather than reported as zero) and the seconds since each
/// recovery scan last completed, `(scan, age)` (a scan that never completed is left out).
pub fn render(queue_depth: Option<u64>, scan_ages: &[(&str, f64)]) -> String {
    let mut out = String::new();
    let scraped = families::scrape_registry(queue_depth, scan_ages);
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &FAMILIES.registry);
    let _ = prometheus_text::encode(&mut out, &scraped);
    out
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
        let before = render(None, &[]);
        let series = r#"thoth_webhooks_total{platform="unit",event="push",outcome="duplicate"}"#;
        let dup = r#"thoth_webhook_duplicates_total{platform="unit"}"#;
        let n0 = value(&before, series).unwrap_or(0.0);
        let d0 = value(&before, dup).unwrap_or(0.0);
        webhook("unit", "push", "duplicate");
        webhook("unit", "push", "duplicate");
        let after = render(Some(3), &[("unit_scan", 2.5)]);
        assert_eq!(value(&after, series), Some(n0 + 2.0), "{after}");
        assert_eq!(value(&after, dup), Some(d0 + 2.0));
        assert_eq!(value(&after, "thoth_queue_depth"), Some(3.0));
        let age = r#"thoth_recovery_last_success_age_seconds{scan="unit_scan"}"#;
        assert_eq!(value(&after, age), Some(2.5), "{after}");
        assert!(!render(None, &[]).contains("thoth_queue_depth "));
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_totals_kept() {
        let before = stage_totals();
        observe_stage(Stage::GateDrift, Duration::from_millis(20));
        observe_stage(Stage::GateDrift, Duration::from_secs(7));
        observe_stage(Stage::GateDrift, Duration::from_secs(1000));
        let text = render(None, &[]);
        let b = |le: &str| {
            value(
                &text,
                &format!(
                    r#"thoth_job_stage_duration_seconds_bucket{{stage="gate_drift",le="{le}"}}"#
                ),
            )
        };
        assert_eq!(b("0.01"), Some(0.0), "{text}");
        assert_eq!(b("0.025"), Some(1.0));
        assert_eq!(b("10"), Some(2.0));
        assert_eq!(b("300"), Some(2.0));
        assert_eq!(b("+Inf"), Some(3.0));
        let count = value(
            &text,
            r#"thoth_job_stage_duration_seconds_count{stage="gate_drift"}"#,
        );
        assert_eq!(count, Some(3.0));
        let total = |t: &[(String, f64)]| {
            t.iter()
                .find(|(s, _)| s == "gate_drift")
                .map_or(0.0, |(_, v)| *v)
        };
        assert!(total(&stage_totals()) - total(&before) >= 1007.0);
    }

    #[test]
    fn stage_names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::from_name(stage.as_str()), Some(*stage));
        }
        assert_eq!(Stage::from_name("bogus"), None);
    }

    #[test]
    fn decisions_and_downgrades_are_counted() {
        let text = |d: &str| value(&render(None, &[]), d).unwrap_or(0.0);
        let kind = r#"thoth_decisions_total{kind="unit_kind"}"#;
        let reason = r#"thoth_decision_downgrades_total{reason="unit_reason"}"#;
        let (k0, r0) = (text(kind), text(reason));
        decision("unit_kind", Some("unit_reason"));
        decision("unit_kind", None);
        assert_eq!(text(kind), k0 + 2.0);
        assert_eq!(text(reason), r0 + 1.0);
    }

    #[test]
    fn labels_are_escaped() {
        forge_call("unit\"x", None);
        let text = render(None, &[]);
        assert!(
            text.contains(r#"thoth_forge_api_calls_total{platform="unit\"x",status="error"} 1"#),
            "{text}"
        );
    }
}
