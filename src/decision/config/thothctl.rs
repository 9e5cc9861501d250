//! ThothCTL's nested schema (`ai_decision:` with `thresholds`, `safety.rate_limits`,
//! `safety.overrides`), mapped onto [`DecisionConfig`]. Each struct denies unknown keys, so a
//! typo is named with its path like in the flat schema.

use serde::Deserialize;

use super::{
    ApproveThresholds, DecisionConfig, DecisionConfigError, Form, RejectThresholds, SafetyConfig,
    null_as_default,
};

/// ThothCTL's file: everything under `ai_decision:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NestedFile {
    /// The whole config. Default: all defaults.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) ai_decision: NestedDecision,
}

/// The body of `ai_decision:`; defaults as in [`DecisionConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct NestedDecision {
    /// `enabled`. Default `false`.
    enabled: bool,
    /// `dry_run` (ThothCTL does not write it; accepted so both forms can say it). Default `false`.
    dry_run: bool,
    /// `approve_thresholds` / `reject_thresholds`.
    #[serde(deserialize_with = "null_as_default")]
    thresholds: NestedThresholds,
    /// `safety`, split in two.
    #[serde(deserialize_with = "null_as_default")]
    safety: NestedSafety,
    /// `blocking_patterns`. Default: the four documented patterns.
    #[serde(deserialize_with = "null_as_default")]
    blocking_patterns: Vec<String>,
    /// `ai_review` (thoth-bot's): the AI review for this repository.
    ai_review: Option<bool>,
}

impl Default for NestedDecision {
    fn default() -> Self {
        let d = DecisionConfig::default();
        NestedDecision {
            enabled: d.enabled,
            dry_run: d.dry_run,
            thresholds: NestedThresholds::default(),
            safety: NestedSafety::default(),
            blocking_patterns: d.blocking_patterns,
            ai_review: None,
        }
    }
}

impl NestedDecision {
    pub(super) fn into_config(self, form: Form) -> Result<DecisionConfig, DecisionConfigError> {
        let NestedSafety {
            rate_limits: r,
            overrides: o,
        } = self.safety;
        if !o.bypass_approvers.is_empty() {
            return Err(DecisionConfigError::Invalid {
                path: form.path("safety.bypass_approvers"),
                message: "not supported by thoth-bot (use `/thoth override`); leave it empty"
                    .into(),
                line: None,
            });
        }
        Ok(DecisionConfig {
            enabled: self.enabled,
            dry_run: self.dry_run,
            approve_thresholds: self.thresholds.auto_approve,
            reject_thresholds: self.thresholds.auto_reject,
            safety: SafetyConfig {
                max_auto_approvals_per_day: r.max_auto_approvals_per_day,
                max_auto_rejections_per_day: r.max_auto_rejections_per_day,
                max_request_changes_per_day: r.max_request_changes_per_day,
                cooldown_between_actions: r.cooldown_between_actions,
                emergency_labels: o.emergency_labels,
                trusted_bots: o.trusted_bots,
            },
            blocking_patterns: self.blocking_patterns,
            ai_review: self.ai_review,
        })
    }
}

/// `thresholds`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct NestedThresholds {
    /// `approve_thresholds`. Default: see [`ApproveThresholds`].
    #[serde(deserialize_with = "null_as_default")]
    auto_approve: ApproveThresholds,
    /// `reject_thresholds`. Default: see [`RejectThresholds`].
    #[serde(deserialize_with = "null_as_default")]
    auto_reject: RejectThresholds,
    /// Written by ThothCTL, validated and ignored (see the `config` module doc).
    #[serde(deserialize_with = "null_as_default")]
    #[allow(dead_code)] // Parsed only so that its keys are checked.
    request_changes: ThothctlRequestChanges,
}

/// ThothCTL's request-changes thresholds: thoth-bot has no fixability data and requests changes
/// whenever it neither rejects nor approves, so neither value has an effect.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
#[allow(dead_code)] // Parsed only so that its keys are checked.
struct ThothctlRequestChanges {
    /// Ignored. No default.
    confidence_min: Option<f64>,
    /// Ignored. No default.
    fixable_ratio_min: Option<f64>,
}

/// `safety`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct NestedSafety {
    /// The daily limits and the cooldown.
    #[serde(deserialize_with = "null_as_default")]
    rate_limits: RateLimits,
    /// The emergency labels and trusted bots.
    #[serde(deserialize_with = "null_as_default")]
    overrides: Overrides,
}

/// `safety.rate_limits`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RateLimits {
    /// `safety.max_auto_approvals_per_day`. Default 50.
    max_auto_approvals_per_day: u32,
    /// `safety.max_auto_rejections_per_day`. Default 20.
    max_auto_rejections_per_day: u32,
    /// `safety.max_request_changes_per_day` (not written by ThothCTL). Default 100.
    max_request_changes_per_day: u32,
    /// `safety.cooldown_between_actions`, also spelt `cooldown_seconds`. Default 300.
    #[serde(alias = "cooldown_seconds")]
    cooldown_between_actions: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        let s = SafetyConfig::default();
        RateLimits {
            max_auto_approvals_per_day: s.max_auto_approvals_per_day,
            max_auto_rejections_per_day: s.max_auto_rejections_per_day,
            max_request_changes_per_day: s.max_request_changes_per_day,
            cooldown_between_actions: s.cooldown_between_actions,
        }
    }
}

/// `safety.overrides`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Overrides {
    /// `safety.emergency_labels`. Default `[emergency, hotfix, security-patch]`.
    #[serde(deserialize_with = "null_as_default")]
    emergency_labels: Vec<String>,
    /// `safety.trusted_bots`. Default `[dependabot, renovate]`.
    #[serde(deserialize_with = "null_as_default")]
    trusted_bots: Vec<String>,
    /// Must be empty: ThothCTL writes `[]`; thoth-bot has `/thoth override` instead, and a
    /// non-empty list is refused rather than silently not honoured.
    #[serde(deserialize_with = "null_as_default")]
    bypass_approvers: Vec<String>,
}

impl Default for Overrides {
    fn default() -> Self {
        let s = SafetyConfig::default();
        Overrides {
            emergency_labels: s.emergency_labels,
            trusted_bots: s.trusted_bots,
            bypass_approvers: Vec::new(),
        }
    }
}
