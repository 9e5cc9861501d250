//! The metric families the bot exports and their label sets.
//!
//! Every family is a field of [`Families`] and every label set a struct deriving
//! `EncodeLabelSet`, so a family or label that is not declared here is a compile error. Label
//! values from a closed vocabulary are enums ([`Stage`], [`JobOutcome`], [`WaitSource`]).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the stage histogram, in seconds: from a fast gate to a slow clone.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Declares a label-value enum with its snake_case label text.
macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The label text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    };
}

label_enum!(
    /// A timed stage of a job (`thoth_job_stage_duration_seconds{stage}`).
    Stage {
        /// Fetching the pull request into the mirror cache.
        Checkout => "checkout",
        /// The sandboxed gate child as a whole.
        Gates => "gates",
        /// The structure gate inside the child.
        GateStructure => "gate_structure",
        /// The Rego gate inside the child.
        GateRego => "gate_rego",
        /// The drift gate inside the child.
        GateDrift => "gate_drift",
        /// Posting the result to the forge.
        Publish => "publish",
        /// A whole job, claim to finish.
        Job => "job",
    }
);

impl Stage {
    /// The stage named `name` (as reported by the gate child), if it is one.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.iter().copied().find(|s| s.as_str() == name)
    }
}

label_enum!(
    /// How a job left the worker (`thoth_jobs_total{outcome}`).
    JobOutcome {
        /// Finished.
        Done => "done",
        /// Failed and queued again.
        Retry => "retry",
        /// Failed for the last time.
        Dead => "dead",
        /// Handed back at shutdown.
        Released => "released",
        /// Another worker took the job over.
        LeaseLost => "lease_lost",
    }
);

label_enum!(
    /// Why a forge request waited (`thoth_rate_limit_waits_total{source}`).
    WaitSource {
        /// The forge answered with a rate limit.
        Forge => "forge",
        /// Our own write budget.
        Budget => "budget",
    }
);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub platform: String,
    pub event: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabels {
    pub platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: Stage,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub outcome: JobOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DowngradeLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ForgeCallLabels {
    pub platform: String,
    pub status: String,
}

label_enum!(
    /// Which side of an AI call tokens were counted on (`thoth_ai_tokens_total{direction}`).
    TokenDirection {
        /// The prompt.
        Input => "input",
        /// The answer.
        Output => "output",
    }
);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub direction: TokenDirection,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WaitLabels {
    pub platform: String,
    pub source: WaitSource,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScanLabels {
    pub scan: String,
}

/// A counter of seconds (fractional).
pub type SecondsCounter = Counter<f64, AtomicU64>;
/// The stage histogram family; its constructor sets the buckets.
pub type StageHistogram = Family<StageLabels, Histogram, fn() -> Histogram>;

fn stage_histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

/// The process-wide families, registered in [`Families::registry`].
pub struct Families {
    pub webhooks: Family<WebhookLabels, Counter>,
    pub signature_failures: Family<PlatformLabels, Counter>,
    pub duplicates: Family<PlatformLabels, Counter>,
    pub stage_seconds: StageHistogram,
    /// Seconds per stage in this process, not exported: the gate child hands them to its
    /// parent (a histogram does not expose its sum).
    pub stage_totals: Family<StageLabels, SecondsCounter>,
    pub jobs: Family<JobLabels, Counter>,
    pub decisions: Family<DecisionLabels, Counter>,
    pub downgrades: Family<DowngradeLabels, Counter>,
    pub forge_calls: Family<ForgeCallLabels, Counter>,
    pub rate_limit_waits: Family<WaitLabels, Counter>,
    pub rate_limit_wait_seconds: Family<WaitLabels, SecondsCounter>,
    pub redeliveries: Counter,
    pub reconciled: Family<PlatformLabels, Counter>,
    pub ai_requests: Counter,
    pub ai_tokens: Family<TokenLabels, Counter>,
    pub ai_cost_usd: Counter<f64, AtomicU64>,
    pub ai_skipped_budget: Counter,
    pub registry: Registry,
}

impl Families {
    /// Declares every family with its help text. The registry appends the final period. The
    /// names carry their `_total` suffix already, so `register` is given them without it.
    pub fn declare() -> Families {
        let mut registry = Registry::default();
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("thoth_build_info", "The running version", build_info);

        let f = Families {
            webhooks: Family::default(),
            signature_failures: Family::default(),
            duplicates: Family::default(),
            stage_seconds: Family::new_with_constructor(stage_histogram),
            stage_totals: Family::default(),
            jobs: Family::default(),
            decisions: Family::default(),
            downgrades: Family::default(),
            forge_calls: Family::default(),
            rate_limit_waits: Family::default(),
            rate_limit_wait_seconds: Family::default(),
            redeliveries: Counter::default(),
            reconciled: Family::default(),
            ai_requests: Counter::default(),
            ai_tokens: Family::default(),
            ai_cost_usd: Counter::default(),
            ai_skipped_budget: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "thoth_webhooks",
            "Webhook deliveries by platform, event and outcome (accepted, duplicate, ignored, unauthorized, bad_request, unavailable)",
            f.webhooks.clone(),
        );
        registry.register(
            "thoth_webhook_signature_failures",
            "Deliveries refused because their signature or credentials were missing or wrong",
            f.signature_failures.clone(),
        );
        registry.register(
            "thoth_webhook_duplicates",
            "Redeliveries ignored because their delivery id was already seen",
            f.duplicates.clone(),
        );
        registry.register(
            "thoth_job_stage_duration_seconds",
            "Time spent in each stage of a job (checkout, gate_structure, gate_rego, gate_drift, publish, job)",
            f.stage_seconds.clone(),
        );
        registry.register(
            "thoth_jobs",
            "Jobs finished by outcome (done, retry, dead, released, lease_lost)",
            f.jobs.clone(),
        );
        registry.register(
            "thoth_decisions",
            "Decisions posted, by kind (after the safety guard)",
            f.decisions.clone(),
        );
        registry.register(
            "thoth_decision_downgrades",
            "Decisions downgraded to a comment by the safety guard, by reason",
            f.downgrades.clone(),
        );
        registry.register(
            "thoth_forge_api_calls",
            "Forge API requests by platform and HTTP status (`error` when no answer came)",
            f.forge_calls.clone(),
        );
        registry.register(
            "thoth_rate_limit_waits",
            "Waits before a forge request: source `forge` (the forge answered with a rate limit) or `budget` (our own write budget)",
            f.rate_limit_waits.clone(),
        );
        registry.register(
            "thoth_rate_limit_wait_seconds",
            "Seconds spent in those waits",
            f.rate_limit_wait_seconds.clone(),
        );
        registry.register(
            "thoth_redeliveries_requested",
            "Failed GitHub webhook deliveries the bot asked GitHub to deliver again",
            f.redeliveries.clone(),
        );
        registry.register(
            "thoth_reconciled",
            "Evaluation jobs created by reconciliation for pull requests without a thoth result, by platform",
            f.reconciled.clone(),
        );
        registry.register(
            "thoth_ai_requests",
            "HTTP requests sent to the AI model API",
            f.ai_requests.clone(),
        );
        registry.register(
            "thoth_ai_tokens",
            "Tokens the AI model reported in its usage, by direction (input, output)",
            f.ai_tokens.clone(),
        );
        registry.register(
            "thoth_ai_cost_usd",
            "US dollars the AI model calls cost, priced from the [ai.pricing] table",
            f.ai_cost_usd.clone(),
        );
        registry.register(
            "thoth_ai_reviews_skipped_over_budget",
            "AI reviews skipped because the owner's daily or monthly budget was spent",
            f.ai_skipped_budget.clone(),
        );
        Families { registry, ..f }
    }
}

/// The gauges read from the store at scrape time, in a registry of their own built per scrape.
pub fn scrape_registry(queue_depth: Option<u64>, scan_ages: &[(&str, f64)]) -> Registry {
    let mut registry = Registry::default();
    if let Some(depth) = queue_depth {
        let gauge = Gauge::<i64>::default();
        gauge.set(i64::try_from(depth).unwrap_or(i64::MAX));
        registry.register(
            "thoth_queue_depth",
            "Jobs waiting in the queue (all replicas)",
            gauge,
        );
    }
    let ages = Family::<ScanLabels, Gauge<f64, AtomicU64>>::default();
    for (scan, age) in scan_ages {
        ages.get_or_create(&ScanLabels {
            scan: (*scan).to_string(),
        })
        .set(*age);
    }
    registry.register(
        "thoth_recovery_last_success_age_seconds",
        "Seconds since each recovery scan (github_redeliver, github_reconcile, azure_reconcile) last completed (all replicas)",
        ages,
    );
    registry
}
