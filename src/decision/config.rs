//! `.thothctl/ai_decision_config.yaml`: thresholds and safety limits of the decision engine.
//!
//! Two schemas are accepted and map to one [`DecisionConfig`]:
//!
//! - the documented flat schema (`enabled`, `dry_run`, `approve_thresholds`, `reject_thresholds`,
//!   `safety`, `blocking_patterns`), which is [`DecisionConfig`] itself;
//! - the nested schema ThothCTL's `configure-decisions` writes: `ai_decision:` holding `enabled`,
//!   `thresholds.{auto_approve,auto_reject,request_changes}`,
//!   `safety.{rate_limits,overrides}` and `blocking_patterns`. Like ThothCTL's own loader, the
//!   same body without the `ai_decision:` wrapper is accepted too (detected by a top-level
//!   `thresholds` key or a `safety.rate_limits` / `safety.overrides` section).
//!
//! ThothCTL writes two things thoth-bot has no use for; they are accepted so its files load:
//! `thresholds.request_changes` (`confidence_min`, `fixable_ratio_min`: thoth-bot has no
//! fixability data and REQUEST_CHANGES is simply the fallback) is ignored, and
//! `safety.overrides.bypass_approvers` must be empty (thoth-bot has `/thoth override` instead;
//! a non-empty list is an error rather than a silently dropped safety rule).
//!
//! Unknown keys anywhere are an error naming the full key path (`safety.cooldown_secs`), so a
//! typo never silently falls back to a default. A missing file means the defaults, which never
//! act automatically (`enabled: false`).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml::Value;
use thiserror::Error;

mod thothctl;
use thothctl::{NestedDecision, NestedFile};

/// Where the config lives, relative to the project root (read from the base branch).
pub const CONFIG_FILE: &str = ".thothctl/ai_decision_config.yaml";

/// A larger config file is refused: it is a few hundred bytes in practice.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The decision engine configuration (the documented flat schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionConfig {
    /// Post automatic APPROVE / REQUEST_CHANGES / REJECT. Default `false`: decisions are
    /// computed and shown, only a COMMENT is posted.
    pub enabled: bool,
    /// Compute and show everything, record nothing (no counters, no cooldown). Default `false`.
    pub dry_run: bool,
    /// When a pull request may be approved automatically.
    #[serde(deserialize_with = "null_as_default")]
    pub approve_thresholds: ApproveThresholds,
    /// When a pull request is rejected automatically.
    #[serde(deserialize_with = "null_as_default")]
    pub reject_thresholds: RejectThresholds,
    /// Rate limits and overrides applied before any automatic action.
    #[serde(deserialize_with = "null_as_default")]
    pub safety: SafetyConfig,
    /// A failing finding that maps to one of these rejects the pull request. Default
    /// `[hardcoded_secrets, public_s3_buckets, unencrypted_databases, overly_permissive_iam]`.
    #[serde(deserialize_with = "null_as_default")]
    pub blocking_patterns: Vec<String>,
    /// Whether the AI review runs for this repository (when the server has `[ai] enabled`).
    /// Unset: the server's `[ai] default_on` decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_review: Option<bool>,
}

impl Default for DecisionConfig {
    fn default() -> Self {
        DecisionConfig {
            enabled: false,
            dry_run: false,
            approve_thresholds: ApproveThresholds::default(),
            reject_thresholds: RejectThresholds::default(),
            safety: SafetyConfig::default(),
            blocking_patterns: [
                "hardcoded_secrets",
                "public_s3_buckets",
                "unencrypted_databases",
                "overly_permissive_iam",
            ]
            .map(String::from)
            .to_vec(),
            ai_review: None,
        }
    }
}

/// All conditions must hold for an automatic APPROVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApproveThresholds {
    /// Highest risk score (0..=100) that may be approved. Default 20.
    pub risk_score_max: u8,
    /// Lowest confidence (0..=1) that may be approved. Default 0.90.
    pub confidence_min: f64,
    /// Most critical findings that may be approved. Default 0.
    pub critical_issues_max: u32,
    /// Most high findings that may be approved. Default 0.
    pub high_issues_max: u32,
    /// Most medium findings that may be approved. Default: no limit of its own (the risk score
    /// already bounds them); ThothCTL writes 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium_issues_max: Option<u32>,
    /// Most compliance violations (failing structure-gate or `compliance*` findings). Default 0.
    pub compliance_violations_max: u32,
}

impl Default for ApproveThresholds {
    fn default() -> Self {
        ApproveThresholds {
            risk_score_max: 20,
            confidence_min: 0.90,
            critical_issues_max: 0,
            high_issues_max: 0,
            medium_issues_max: None,
            compliance_violations_max: 0,
        }
    }
}

/// Either condition triggers an automatic REJECT (after the blocking patterns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RejectThresholds {
    /// Risk score (1..=100) from which the pull request is rejected. Default 85.
    pub risk_score_min: u8,
    /// Confidence (0..=1) the risk-score rejection needs. Default 0.85.
    pub confidence_min: f64,
    /// This many critical findings (at least 1) reject whatever the confidence. Default 1.
    pub critical_issues_min: u32,
}

impl Default for RejectThresholds {
    fn default() -> Self {
        RejectThresholds {
            risk_score_min: 85,
            confidence_min: 0.85,
            critical_issues_min: 1,
        }
    }
}

/// Limits and overrides that downgrade an automatic action to a COMMENT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// Automatic approvals per repository per UTC day (0: none). Default 50.
    pub max_auto_approvals_per_day: u32,
    /// Automatic rejections per repository per UTC day (0: none). Default 20.
    pub max_auto_rejections_per_day: u32,
    /// Automatic change requests per repository per UTC day (0: none). Default 100: they are
    /// the common, least final action, so they get the largest budget.
    pub max_request_changes_per_day: u32,
    /// Seconds between two automatic actions on the same repository (0: no cooldown).
    /// Default 300.
    pub cooldown_between_actions: u64,
    /// A pull request carrying one of these labels (case-insensitive) gets a COMMENT only.
    /// Default `[emergency, hotfix, security-patch]`.
    #[serde(deserialize_with = "null_as_default")]
    pub emergency_labels: Vec<String>,
    /// A pull request whose author is one of these bots gets a COMMENT only (case-insensitive
    /// prefix match, `[bot]` suffix ignored). Default `[dependabot, renovate]`.
    #[serde(deserialize_with = "null_as_default")]
    pub trusted_bots: Vec<String>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            max_auto_approvals_per_day: 50,
            max_auto_rejections_per_day: 20,
            max_request_changes_per_day: 100,
            cooldown_between_actions: 300,
            emergency_labels: ["emergency", "hotfix", "security-patch"]
                .map(String::from)
                .to_vec(),
            trusted_bots: ["dependabot", "renovate"].map(String::from).to_vec(),
        }
    }
}

/// Why a config could not be used. Every variant names what to fix.
#[derive(Debug, Error)]
pub enum DecisionConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is a symbolic link, which is not followed", path.display())]
    Symlink { path: PathBuf },
    #[error("{} is larger than the {limit} byte limit", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("YAML syntax error{}: {message}", at_line(*.line, *.column))]
    Syntax {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error("unknown key `{path}`{}: {hint}", at_line(*.line, None))]
    UnknownKey {
        /// Dotted path of the key, e.g. `safety.cooldown_secs`.
        path: String,
        /// The key itself, e.g. `cooldown_secs`.
        key: String,
        /// What is accepted there, as serde words it.
        hint: String,
        line: Option<usize>,
    },
    #[error("invalid value at `{path}`{}: {message}", at_line(*.line, None))]
    Invalid {
        path: String,
        message: String,
        line: Option<usize>,
    },
    #[error("{}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<DecisionConfigError>,
    },
}

impl DecisionConfigError {
    /// The error without the file it came from.
    pub fn inner(&self) -> &DecisionConfigError {
        match self {
            DecisionConfigError::InFile { error, .. } => error.inner(),
            other => other,
        }
    }
}

fn at_line(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl DecisionConfig {
    /// Parses either schema. Empty text (or only comments) means the defaults.
    pub fn parse(text: &str) -> Result<DecisionConfig, DecisionConfigError> {
        let value: Value = serde_yaml::from_str(text).map_err(|e| DecisionConfigError::Syntax {
            line: e.location().map(|l| l.line()),
            column: e.location().map(|l| l.column()),
            message: e.to_string(),
        })?;
        let form = match &value {
            Value::Null => return Ok(DecisionConfig::default()),
            Value::Mapping(map) => Form::detect(map),
            _ => {
                return Err(DecisionConfigError::Invalid {
                    path: "(top level)".into(),
                    message: "expected a mapping of keys".into(),
                    line: Some(1),
                });
            }
        };
        let cfg = match form {
            Form::Flat => deserialize::<DecisionConfig>(value, text)?,
            Form::Nested => deserialize::<NestedFile>(value, text)?
                .ai_decision
                .into_config(form)?,
            Form::Bare => deserialize::<NestedDecision>(value, text)?.into_config(form)?,
        };
        cfg.validate(form)?;
        Ok(cfg)
    }

    /// Reads `<config_dir>/.thothctl/ai_decision_config.yaml`; a missing file means the
    /// defaults. Symlinks are not followed: the file comes from a checkout.
    pub fn load(config_dir: &Path) -> Result<DecisionConfig, DecisionConfigError> {
        let dir = config_dir.join(".thothctl");
        Ok(Self::load_file(&config_dir.join(CONFIG_FILE), Some(&dir))?.unwrap_or_default())
    }

    /// Reads the config at `path` (`dir`, its folder inside the checkout, when there is one);
    /// `Ok(None)` when it does not exist. Neither may be a symlink.
    pub fn load_file(
        path: &Path,
        dir: Option<&Path>,
    ) -> Result<Option<DecisionConfig>, DecisionConfigError> {
        let path = path.to_path_buf();
        for p in dir.iter().map(|d| d.to_path_buf()).chain([path.clone()]) {
            let p = &p;
            match std::fs::symlink_metadata(p) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(DecisionConfigError::Symlink { path: p.clone() });
                }
                Ok(meta) if *p == path && meta.len() > MAX_CONFIG_BYTES => {
                    return Err(DecisionConfigError::TooLarge {
                        path: path.clone(),
                        limit: MAX_CONFIG_BYTES,
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(None);
                }
                Err(source) => {
                    return Err(DecisionConfigError::Read {
                        path: p.clone(),
                        source,
                    });
                }
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|source| DecisionConfigError::Read {
            path: path.clone(),
            source,
        })?;
        DecisionConfig::parse(&text)
            .map(Some)
            .map_err(|e| DecisionConfigError::InFile {
                path,
                error: Box::new(e),
            })
    }

    /// The daily limit for one kind of automatic action (`approve`, `reject`,
    /// `request_changes`); 0 for anything else.
    pub fn daily_limit(&self, kind: &str) -> u32 {
        match kind {
            "approve" => self.safety.max_auto_approvals_per_day,
            "reject" => self.safety.max_auto_rejections_per_day,
            "request_changes" => self.safety.max_request_changes_per_day,
            _ => 0,
        }
    }

    /// Checks values serde cannot: ranges, and empty names that would match everything.
    fn validate(&self, form: Form) -> Result<(), DecisionConfigError> {
        let bad = |flat_path: &str, message: &str| {
            Err(DecisionConfigError::Invalid {
                path: form.path(flat_path),
                message: message.into(),
                line: None,
            })
        };
        let (a, r) = (&self.approve_thresholds, &self.reject_thresholds);
        let every_pr = "must be at least 1 (0 would reject every pull request)";
        if !(0.0..=1.0).contains(&a.confidence_min) {
            return bad(
                "approve_thresholds.confidence_min",
                "must be between 0 and 1",
            );
        }
        if !(0.0..=1.0).contains(&r.confidence_min) {
            return bad(
                "reject_thresholds.confidence_min",
                "must be between 0 and 1",
            );
        }
        if a.risk_score_max > 100 {
            return bad("approve_thresholds.risk_score_max", "must be at most 100");
        }
        if r.risk_score_min > 100 {
            return bad("reject_thresholds.risk_score_min", "must be at most 100");
        }
        if r.risk_score_min == 0 {
            return bad("reject_thresholds.risk_score_min", every_pr);
        }
        if r.critical_issues_min == 0 {
            return bad("reject_thresholds.critical_issues_min", every_pr);
        }
        let lists = [
            ("safety.emergency_labels", &self.safety.emergency_labels),
            ("safety.trusted_bots", &self.safety.trusted_bots),
            ("blocking_patterns", &self.blocking_patterns),
        ];
        for (path, list) in lists {
            if let Some(i) = list.iter().position(|s| s.trim().is_empty()) {
                return bad(
                    &format!("{path}[{i}]"),
                    "must not be empty (it would match all)",
                );
            }
        }
        Ok(())
    }
}

/// Which schema a file uses; decides the key paths named in validation errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Flat,
    /// `ai_decision:` wrapper.
    Nested,
    /// The nested body at the top level.
    Bare,
}

impl Form {
    fn detect(map: &serde_yaml::Mapping) -> Form {
        if map.contains_key("ai_decision") {
            return Form::Nested;
        }
        let nested_safety = map
            .get("safety")
            .and_then(Value::as_mapping)
            .is_some_and(|s| s.contains_key("rate_limits") || s.contains_key("overrides"));
        if map.contains_key("thresholds") || nested_safety {
            Form::Bare
        } else {
            Form::Flat
        }
    }

    /// Where a key of the flat schema lives in this form.
    fn path(self, flat: &str) -> String {
        let nested = [
            ("approve_thresholds", "thresholds.auto_approve"),
            ("reject_thresholds", "thresholds.auto_reject"),
            (
                "safety.emergency_labels",
                "safety.overrides.emergency_labels",
            ),
            ("safety.trusted_bots", "safety.overrides.trusted_bots"),
            (
                "safety.bypass_approvers",
                "safety.overrides.bypass_approvers",
            ),
        ]
        .iter()
        .find_map(|(f, n)| flat.strip_prefix(f).map(|rest| format!("{n}{rest}")))
        .unwrap_or_else(|| flat.to_string());
        match self {
            Form::Flat => flat.to_string(),
            Form::Nested => format!("ai_decision.{nested}"),
            Form::Bare => nested,
        }
    }
}

/// Deserializes one form, turning serde's error into one that names the key path and line.
fn deserialize<T: DeserializeOwned>(value: Value, text: &str) -> Result<T, DecisionConfigError> {
    let err = match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => return Ok(v),
        Err(err) => err,
    };
    // The value tree has no positions; the same failure from the text has the line.
    let line = T::deserialize(serde_yaml::Deserializer::from_str(text))
        .err()
        .and_then(|e| e.location())
        .map(|l| l.line());
    let path = match err.path().to_string() {
        p if p == "." => "(top level)".to_string(),
        p => p,
    };
    let message = err.inner().to_string();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, hint)) = rest.split_once('`')
    {
        return Err(DecisionConfigError::UnknownKey {
            path,
            key: key.to_string(),
            hint: hint.trim_start_matches(',').trim().to_string(),
            line,
        });
    }
    Err(DecisionConfigError::Invalid {
        path,
        message,
        line,
    })
}

/// A key present with no value (`safety:` with everything commented out) means its defaults.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAT: &str = "\
enabled: true
dry_run: true
approve_thresholds: {risk_score_max: 10, confidence_min: 0.95, critical_issues_max: 0, high_issues_max: 1, medium_issues_max: 2, compliance_violations_max: 3}
reject_thresholds:  {risk_score_min: 70, confidence_min: 0.8, critical_issues_min: 2}
safety:
  max_auto_approvals_per_day: 5
  max_auto_rejections_per_day: 6
  max_request_changes_per_day: 7
  cooldown_between_actions: 60
  emergency_labels: [urgent]
  trusted_bots: [my-bot]
blocking_patterns: [hardcoded_secrets]
";

    const NESTED: &str = "\
ai_decision:
  enabled: true
  dry_run: true
  thresholds:
    auto_approve: {risk_score_max: 10, confidence_min: 0.95, critical_issues_max: 0, high_issues_max: 1, medium_issues_max: 2, compliance_violations_max: 3}
    auto_reject: {risk_score_min: 70, confidence_min: 0.8, critical_issues_min: 2}
    request_changes: {confidence_min: 0.8, fixable_ratio_min: 0.8}
  safety:
    rate_limits:
      max_auto_approvals_per_day: 5
      max_auto_rejections_per_day: 6
      max_request_changes_per_day: 7
      cooldown_seconds: 60
    overrides:
      emergency_labels: [urgent]
      trusted_bots: [my-bot]
      bypass_approvers: []
  blocking_patterns: [hardcoded_secrets]
";

    fn err(text: &str) -> DecisionConfigError {
        DecisionConfig::parse(text).expect_err(text)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = DecisionConfig::default();
        assert!(!d.enabled && !d.dry_run);
        assert_eq!(d.approve_thresholds.risk_score_max, 20);
        assert_eq!(d.approve_thresholds.confidence_min, 0.90);
        assert_eq!(d.reject_thresholds.risk_score_min, 85);
        assert_eq!(d.reject_thresholds.confidence_min, 0.85);
        assert_eq!(d.reject_thresholds.critical_issues_min, 1);
        assert_eq!(d.safety.max_auto_approvals_per_day, 50);
        assert_eq!(d.safety.max_auto_rejections_per_day, 20);
        assert_eq!(d.safety.max_request_changes_per_day, 100);
        assert_eq!(d.safety.cooldown_between_actions, 300);
        assert_eq!(
            d.safety.emergency_labels,
            ["emergency", "hotfix", "security-patch"]
        );
        assert_eq!(d.safety.trusted_bots, ["dependabot", "renovate"]);
        assert_eq!(d.blocking_patterns.len(), 4);
        for text in ["", "# nothing yet\n", "safety:\n", "ai_decision:\n"] {
            assert_eq!(DecisionConfig::parse(text).unwrap(), d, "{text:?}");
        }
    }

    #[test]
    fn documented_example_parses() {
        let text = "\
enabled: false
dry_run: false
approve_thresholds: {risk_score_max: 20, confidence_min: 0.90, critical_issues_max: 0, high_issues_max: 0, compliance_violations_max: 0}
reject_thresholds:  {risk_score_min: 85, confidence_min: 0.85, critical_issues_min: 1}
safety:
  max_auto_approvals_per_day: 50  # per repository, per UTC day
  max_auto_rejections_per_day: 20
  max_request_changes_per_day: 100
  cooldown_between_actions: 300
  emergency_labels: [emergency, hotfix, security-patch]
  trusted_bots: [dependabot, renovate]
blocking_patterns: [hardcoded_secrets, public_s3_buckets, unencrypted_databases, overly_permissive_iam]
";
        assert_eq!(
            DecisionConfig::parse(text).unwrap(),
            DecisionConfig::default()
        );
    }

    #[test]
    fn both_schemas_give_the_same_config() {
        let flat = DecisionConfig::parse(FLAT).unwrap();
        assert_eq!(flat, DecisionConfig::parse(NESTED).unwrap());
        assert!(flat.enabled && flat.dry_run);
        assert_eq!(flat.approve_thresholds.medium_issues_max, Some(2));
        assert_eq!(flat.safety.cooldown_between_actions, 60);
        assert_eq!(flat.daily_limit("request_changes"), 7);
        // The same body without the wrapper, as ThothCTL's loader also accepts.
        let bare: String = NESTED
            .lines()
            .skip(1)
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        assert_eq!(DecisionConfig::parse(&bare).unwrap(), flat);
        // A flat config round-trips through its own serialization.
        let yaml = serde_yaml::to_string(&flat).unwrap();
        assert_eq!(DecisionConfig::parse(&yaml).unwrap(), flat);
    }

    #[test]
    fn thothctl_written_file_loads() {
        let text = "\
ai_decision:
  enabled: false
  thresholds:
    auto_approve:
      risk_score_max: 20
      confidence_min: 0.9
      critical_issues_max: 0
      high_issues_max: 0
      medium_issues_max: 2
      compliance_violations_max: 0
    auto_reject:
      risk_score_min: 85
      confidence_min: 0.85
      critical_issues_min: 1
    request_changes:
      confidence_min: 0.8
      fixable_ratio_min: 0.8
  safety:
    rate_limits:
      max_auto_approvals_per_day: 50
      max_auto_rejections_per_day: 20
      cooldown_between_actions: 300
    overrides:
      emergency_labels:
      - emergency
      - hotfix
      - security-patch
      trusted_bots:
      - dependabot
      - renovate
      bypass_approvers: []
";
        let cfg = DecisionConfig::parse(text).unwrap();
        let mut expected = DecisionConfig::default();
        expected.approve_thresholds.medium_issues_max = Some(2);
        assert_eq!(cfg, expected);

        let text = text.replace("bypass_approvers: []", "bypass_approvers: [alice]");
        let e = err(&text);
        assert!(
            matches!(&e, DecisionConfigError::Invalid { path, .. }
            if path == "ai_decision.safety.overrides.bypass_approvers"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_name_their_path() {
        let cases = [
            (
                "safety:\n  cooldown_secs: 3\n",
                "safety.cooldown_secs",
                Some(2),
            ),
            ("enabled: true\nenable: true\n", "enable", Some(2)),
            (
                "approve_thresholds: {risk_score_max: 1, risk_max: 2}\n",
                "approve_thresholds.risk_max",
                Some(1),
            ),
            (
                "ai_decision:\n  safety:\n    rate_limits:\n      cooldown_secs: 1\n",
                "ai_decision.safety.rate_limits.cooldown_secs",
                Some(4),
            ),
            (
                "ai_decision:\n  thresholds:\n    auto_approve: {risk: 1}\n",
                "ai_decision.thresholds.auto_approve.risk",
                Some(3),
            ),
            ("ai_decision: {}\nenabled: true\n", "enabled", Some(2)),
            (
                "thresholds:\n  auto_reject:\n    critical_min: 1\n",
                "thresholds.auto_reject.critical_min",
                Some(3),
            ),
        ];
        for (text, expected, line_no) in cases {
            match err(text) {
                DecisionConfigError::UnknownKey {
                    path, key, line, ..
                } => {
                    assert_eq!(path, expected, "{text}");
                    assert!(expected.ends_with(&key));
                    assert_eq!(line, line_no, "{text}");
                }
                other => panic!("{text}: {other}"),
            }
        }
        let message = err("safety:\n  cooldown_secs: 3\n").to_string();
        assert!(
            message.starts_with("unknown key `safety.cooldown_secs` at line 2: expected one of"),
            "{message}"
        );
        assert!(message.contains("cooldown_between_actions"), "{message}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = err("enabled: true\nsafety: bad: value\n");
        assert!(
            matches!(e, DecisionConfigError::Syntax { line: Some(2), .. }),
            "{e}"
        );
        assert!(
            e.to_string().starts_with("YAML syntax error at line 2"),
            "{e}"
        );
        // An unclosed bracket is noticed where the text ends.
        let e = err("enabled: true\nsafety: [1\n");
        assert!(
            matches!(e, DecisionConfigError::Syntax { line: Some(3), .. }),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_path() {
        let cases = [
            (
                "approve_thresholds: {risk_score_max: high}\n",
                "approve_thresholds.risk_score_max",
            ),
            (
                "reject_thresholds: {risk_score_min: 300}\n",
                "reject_thresholds.risk_score_min",
            ),
            (
                "approve_thresholds: {confidence_min: 1.5}\n",
                "approve_thresholds.confidence_min",
            ),
            (
                "reject_thresholds: {confidence_min: .nan}\n",
                "reject_thresholds.confidence_min",
            ),
            (
                "approve_thresholds: {risk_score_max: 101}\n",
                "approve_thresholds.risk_score_max",
            ),
            (
                "reject_thresholds: {risk_score_min: 0}\n",
                "reject_thresholds.risk_score_min",
            ),
            (
                "reject_thresholds: {critical_issues_min: 0}\n",
                "reject_thresholds.critical_issues_min",
            ),
            (
                "safety: {trusted_bots: [renovate, '']}\n",
                "safety.trusted_bots[1]",
            ),
            (
                "safety: {emergency_labels: [' ']}\n",
                "safety.emergency_labels[0]",
            ),
            ("blocking_patterns: ['']\n", "blocking_patterns[0]"),
            ("enabled: maybe\n", "enabled"),
            (
                "ai_decision:\n  safety:\n    overrides: {trusted_bots: ['']}\n",
                "ai_decision.safety.overrides.trusted_bots[0]",
            ),
            (
                "ai_decision:\n  thresholds:\n    auto_approve: {confidence_min: 2}\n",
                "ai_decision.thresholds.auto_approve.confidence_min",
            ),
            (
                "ai_decision:\n  safety:\n    rate_limits: {cooldown_seconds: 1, cooldown_between_actions: 2}\n",
                "ai_decision.safety.rate_limits",
            ),
            ("- a\n- b\n", "(top level)"),
        ];
        for (text, expected) in cases {
            match err(text) {
                DecisionConfigError::Invalid { path, .. } => assert_eq!(path, expected, "{text}"),
                other => panic!("{text}: {other}"),
            }
        }
    }

    #[test]
    fn load_reads_the_thothctl_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DecisionConfig::load(dir.path()).unwrap();
        assert_eq!(cfg, DecisionConfig::default());
        assert!(!cfg.enabled);

        std::fs::create_dir(dir.path().join(".thothctl")).unwrap();
        assert_eq!(
            DecisionConfig::load(dir.path()).unwrap(),
            DecisionConfig::default()
        );
        let file = dir.path().join(CONFIG_FILE);
        std::fs::write(&file, FLAT).unwrap();
        assert!(DecisionConfig::load(dir.path()).unwrap().enabled);

        std::fs::write(&file, "safety:\n  cooldown_secs: 3\n").unwrap();
        let e = DecisionConfig::load(dir.path()).unwrap_err();
        assert!(matches!(e.inner(), DecisionConfigError::UnknownKey { .. }));
        let message = e.to_string();
        assert!(
            message.contains("ai_decision_config.yaml: unknown key `safety.cooldown_secs`"),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn load_does_not_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("secret.yaml");
        std::fs::write(&target, "enabled: true\n").unwrap();
        std::fs::create_dir(dir.path().join(".thothctl")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(CONFIG_FILE)).unwrap();
        let e = DecisionConfig::load(dir.path()).unwrap_err();
        assert!(matches!(e, DecisionConfigError::Symlink { .. }), "{e}");
    }
}
