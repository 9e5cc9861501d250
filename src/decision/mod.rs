//! The decision engine: turns the findings of all three gates into a risk score, a confidence
//! and a proposed review (APPROVE / REQUEST_CHANGES / REJECT), which [`safety::guard`] may then
//! downgrade to a COMMENT.
//!
//! The review is advisory. The merge gate (check run / PR status) follows the gates, not this
//! engine: a blocking finding fails the check even when the review is downgraded to a comment,
//! and an APPROVE here never turns a failing check green.
//!
//! # What counts
//!
//! - Findings of every gate count. A Failure or Error counts with its severity; a Warning counts
//!   with its severity too (the risk is real even if the gate lets it pass) but is never a
//!   blocking pattern nor a compliance violation; Info-level findings never count. A failing
//!   finding whose severity is `info` counts as `low`: a failed rule is never weightless.
//! - **Risk** (0..=100): `min(100, 2 × (10·critical + 7·high + 4·medium + 1·low))`.
//! - **Confidence** (0..=1), how complete the evidence is. All findings come from deterministic
//!   rules, so it only drops when evidence is missing: `1.00 − 0.25 × (gates that did not run or
//!   reported an Error-level finding) − 0.05 × (parse-error findings)`, floored at 0. It is
//!   computed in hundredths, so `0.90` compares exactly with a configured `0.90`.
//! - **Compliance violations**: failing findings of the structure gate (the project layout is
//!   the organisation's compliance baseline), failing findings mapped to a control of a
//!   selected framework (`compliance/<framework>/mapping.yaml`), and failing findings of any
//!   gate whose rule id or `pattern` mentions `compliance`.
//! - **Blocking patterns** ([`blocking_pattern`]): only failing findings (Failure / Error). The
//!   finding's `pattern` metadata decides when set (it must name a configured pattern).
//!   Otherwise its rule id maps to a configured pattern when it contains the pattern's name
//!   (ignoring case and separators: `deny-public-s3-buckets`), or by a conservative keyword
//!   table ([`KEYWORD_PATTERNS`]: e.g. `s3`/`bucket` + `public`). Policy authors should set
//!   `pattern`; the table is a fallback.
//!
//! # Order
//!
//! 1. A blocking pattern => REJECT.
//! 2. `risk >= reject.risk_score_min` with `confidence >= reject.confidence_min`, or
//!    `criticals >= reject.critical_issues_min` => REJECT.
//! 3. Risk, criticals, highs, mediums (when limited), compliance violations within the approve
//!    limits and `confidence >= approve.confidence_min` => APPROVE.
//! 4. Otherwise REQUEST_CHANGES.
//!
//! [`findings_digest`] fingerprints the failing findings so an override can stay sticky only
//! while they are unchanged.

pub mod ai;
pub mod config;
pub mod human;
pub mod org_default;
mod patterns;
pub mod projects;
pub mod safety;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::finding::{CheckReport, Finding, Gate, Level, Severity};

pub use config::{DecisionConfig, DecisionConfigError};
pub use patterns::{KEYWORD_PATTERNS, blocking_pattern};
pub use safety::{
    ActionLedger, BurstLimiter, Downgrade, LedgerVerdict, MemoryLedger, PrContext, guard,
};

/// What the bot does with the pull request review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    RequestChanges,
    Reject,
    /// Comment only: no approval, no change request, no vote.
    Comment,
}

impl DecisionKind {
    /// Stable identifier used by the ledger and in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::RequestChanges => "request_changes",
            DecisionKind::Reject => "reject",
            DecisionKind::Comment => "comment",
        }
    }

    /// Whether posting it is an automatic action the safety guard must allow.
    pub fn is_action(self) -> bool {
        !matches!(self, DecisionKind::Comment)
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecisionKind::Approve => "approve",
            DecisionKind::RequestChanges => "request changes",
            DecisionKind::Reject => "reject",
            DecisionKind::Comment => "comment",
        })
    }
}

/// Counted findings by severity (see the module doc for what counts), plus compliance
/// violations, which the approve thresholds also limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub compliance_violations: u32,
}

impl SeverityCounts {
    /// `10·critical + 7·high + 4·medium + 1·low`.
    pub fn weighted_sum(&self) -> u64 {
        10 * u64::from(self.critical)
            + 7 * u64::from(self.high)
            + 4 * u64::from(self.medium)
            + u64::from(self.low)
    }

    /// `min(100, 2 × weighted_sum)`.
    pub fn risk_score(&self) -> u8 {
        u8::try_from(self.weighted_sum().saturating_mul(2).min(100)).unwrap_or(100)
    }
}

/// The engine's verdict on one head commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What is posted (COMMENT when the safety guard downgraded [`Decision::proposed`]).
    pub kind: DecisionKind,
    /// What the findings call for, before safety.
    pub proposed: DecisionKind,
    /// 0..=100.
    pub risk: u8,
    /// 0..=1.
    pub confidence: f64,
    /// Human-readable, deciding reasons first.
    pub reasons: Vec<String>,
    /// Why [`Decision::kind`] is a COMMENT although something else was proposed.
    pub downgrade: Option<Downgrade>,
    /// See [`findings_digest`].
    pub findings_digest: String,
    pub counts: SeverityCounts,
}

impl Decision {
    /// This decision, posted as a COMMENT for `why`.
    pub fn downgraded(mut self, why: Downgrade) -> Decision {
        self.kind = DecisionKind::Comment;
        self.downgrade = Some(why);
        self
    }
}

/// Confidence penalty, in hundredths, per gate that did not run or could not run.
pub const GATE_PENALTY: u32 = 25;
/// Confidence penalty, in hundredths, per `parse-error` finding.
pub const PARSE_ERROR_PENALTY: u32 = 5;
/// At most this many blocking findings are listed in the reasons.
const MAX_LISTED: usize = 10;

/// Decides on a report. Pure: no safety rules, no I/O.
pub fn evaluate(report: &CheckReport, cfg: &DecisionConfig) -> Decision {
    let counts = count_findings(report);
    let risk = counts.risk_score();
    let (confidence, confidence_notes) = confidence(report);
    let (approve, reject) = (&cfg.approve_thresholds, &cfg.reject_thresholds);

    let blocking: Vec<(&str, &Finding)> = report
        .findings()
        .filter_map(|f| blocking_pattern(f, &cfg.blocking_patterns).map(|p| (p, f)))
        .collect();

    let mut reasons = Vec::new();
    let proposed = if !blocking.is_empty() {
        for (pattern, f) in blocking.iter().take(MAX_LISTED) {
            reasons.push(format!("blocking pattern {pattern}: {}", describe(f)));
        }
        if blocking.len() > MAX_LISTED {
            reasons.push(format!(
                "and {} more blocking findings",
                blocking.len() - MAX_LISTED
            ));
        }
        DecisionKind::Reject
    } else if risk >= reject.risk_score_min && confidence >= reject.confidence_min {
        reasons.push(format!(
            "risk score {risk} >= reject threshold {} (confidence {confidence:.2} >= {:.2})",
            reject.risk_score_min, reject.confidence_min
        ));
        DecisionKind::Reject
    } else if counts.critical >= reject.critical_issues_min {
        reasons.push(format!(
            "{} critical finding(s) >= reject threshold {}",
            counts.critical, reject.critical_issues_min
        ));
        DecisionKind::Reject
    } else {
        let mut unmet = Vec::new();
        if risk > approve.risk_score_max {
            unmet.push(format!(
                "risk score {risk} > approve limit {}",
                approve.risk_score_max
            ));
        }
        let limits = [
            (
                "critical",
                counts.critical,
                Some(approve.critical_issues_max),
            ),
            ("high", counts.high, Some(approve.high_issues_max)),
            ("medium", counts.medium, approve.medium_issues_max),
            (
                "compliance violation",
                counts.compliance_violations,
                Some(approve.compliance_violations_max),
            ),
        ];
        for (what, n, max) in limits {
            if let Some(max) = max.filter(|max| n > *max) {
                unmet.push(format!("{n} {what} finding(s) > approve limit {max}"));
            }
        }
        if confidence < approve.confidence_min {
            unmet.push(format!(
                "confidence {confidence:.2} < approve minimum {:.2}",
                approve.confidence_min
            ));
        }
        if risk >= reject.risk_score_min {
            unmet.push(format!(
                "risk score {risk} reaches the reject threshold {} but confidence \
                 {confidence:.2} < {:.2} is too low to reject",
                reject.risk_score_min, reject.confidence_min
            ));
        }
        if unmet.is_empty() {
            reasons.push(format!(
                "risk score {risk} <= {}, confidence {confidence:.2} >= {:.2}, findings within \
                 the approve limits",
                approve.risk_score_max, approve.confidence_min
            ));
            DecisionKind::Approve
        } else {
            reasons.extend(unmet);
            DecisionKind::RequestChanges
        }
    };
    reasons.push(format!(
        "risk {risk}/100 from {} critical, {} high, {} medium, {} low finding(s); {} compliance \
         violation(s)",
        counts.critical, counts.high, counts.medium, counts.low, counts.compliance_violations
    ));
    if !confidence_notes.is_empty() {
        reasons.push(format!(
            "confidence {confidence:.2}: {}",
            confidence_notes.join("; ")
        ));
    }

    Decision {
        kind: proposed,
        proposed,
        risk,
        confidence,
        reasons,
        downgrade: None,
        findings_digest: findings_digest(report),
        counts,
    }
}

/// `rule X (resource) in file:line`, for reasons.
fn describe(f: &Finding) -> String {
    let mut s = format!("rule {}", f.rule_id);
    if let Some(r) = &f.resource {
        s.push_str(&format!(" ({r})"));
    }
    match (&f.file, f.line) {
        (Some(file), Some(line)) => s.push_str(&format!(" in {file}:{line}")),
        (Some(file), None) => s.push_str(&format!(" in {file}")),
        _ => {}
    }
    s
}

/// Counts findings by severity, and compliance violations (see the module doc).
pub fn count_findings(report: &CheckReport) -> SeverityCounts {
    let mut c = SeverityCounts::default();
    for f in report.findings() {
        let severity = match (f.level, f.severity) {
            (Level::Info, _) => continue,
            (Level::Warning, Severity::Info) => continue,
            (_, Severity::Info) => Severity::Low,
            (_, s) => s,
        };
        let slot = match severity {
            Severity::Critical => &mut c.critical,
            Severity::High => &mut c.high,
            Severity::Medium => &mut c.medium,
            Severity::Low | Severity::Info => &mut c.low,
        };
        *slot = slot.saturating_add(1);
        if is_compliance_violation(f) {
            c.compliance_violations = c.compliance_violations.saturating_add(1);
        }
    }
    c
}

fn is_compliance_violation(f: &Finding) -> bool {
    f.level.is_blocking()
        && (f.gate == Gate::Structure
            || !f.controls.is_empty()
            || f.rule_id.to_lowercase().contains("compliance")
            || f.pattern
                .as_deref()
                .is_some_and(|p| p.to_lowercase().contains("compliance")))
}

/// The confidence and, when below 1, why (see the module doc for the formula).
pub fn confidence(report: &CheckReport) -> (f64, Vec<String>) {
    let mut penalty = 0u32;
    let mut notes = Vec::new();
    for gate in Gate::ALL {
        let mut reports = report.gates.iter().filter(|g| g.gate == gate).peekable();
        if reports.peek().is_none() {
            penalty += GATE_PENALTY;
            notes.push(format!("the {gate} gate did not run"));
        } else if reports.any(|g| g.findings.iter().any(|f| f.level == Level::Error)) {
            penalty += GATE_PENALTY;
            notes.push(format!("the {gate} gate could not run completely"));
        }
    }
    let parse_errors = report
        .findings()
        .filter(|f| f.rule_id == "parse-error")
        .count();
    if parse_errors > 0 {
        let n = u32::try_from(parse_errors).unwrap_or(u32::MAX);
        penalty = penalty.saturating_add(n.saturating_mul(PARSE_ERROR_PENALTY));
        notes.push(format!("{parse_errors} file(s) could not be parsed"));
    }
    (f64::from(100u32.saturating_sub(penalty)) / 100.0, notes)
}

/// SHA-256 (hex) over the sorted, de-duplicated failing findings (Failure / Error): gate, rule
/// id, file, resource and message. Line numbers are left out, and `line N` / `column N` in a
/// message are masked, so moving code does not change it; a new failing finding does.
pub fn findings_digest(report: &CheckReport) -> String {
    let mut items: Vec<String> = report
        .findings()
        .filter(|f| f.level.is_blocking())
        .map(|f| {
            // A JSON array per item: unambiguous whatever the fields contain.
            serde_json::json!([
                f.gate.as_str(),
                f.rule_id,
                f.file,
                f.resource,
                mask_positions(&f.message)
            ])
            .to_string()
        })
        .collect();
    items.sort();
    items.dedup();
    let mut hasher = Sha256::new();
    hasher.update(b"thoth-findings-v1\n");
    for item in &items {
        hasher.update(item.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Replaces the number after `line`, `lines`, `column` or `col` (optionally followed by `:`
/// or spaces) with `#`.
fn mask_positions(message: &str) -> String {
    const WORDS: [&str; 4] = ["line", "lines", "column", "col"];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let trimmed = out.trim_end_matches([' ', ':']);
            let word_start = trimmed
                .char_indices()
                .rev()
                .find(|(_, c)| !c.is_ascii_alphabetic())
                .map_or(0, |(i, c)| i + c.len_utf8());
            let word = trimmed[word_start..].to_ascii_lowercase();
            if trimmed.len() < out.len() && WORDS.contains(&word.as_str()) {
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                out.push('#');
                rest = &rest[end..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::patterns::words;
    use super::*;
    use crate::finding::GateReport;

    fn report(findings: Vec<Finding>) -> CheckReport {
        report_of(&Gate::ALL, findings)
    }

    /// A report where only `gates` ran.
    fn report_of(gates: &[Gate], findings: Vec<Finding>) -> CheckReport {
        CheckReport::new(
            gates
                .iter()
                .map(|g| {
                    let own = findings.iter().filter(|f| f.gate == *g).cloned().collect();
                    GateReport::new(*g, 1, own)
                })
                .collect(),
        )
    }

    fn fail(gate: Gate, rule: &str, severity: Severity) -> Finding {
        Finding::new(
            gate,
            rule,
            Level::Failure,
            severity,
            format!("{rule} failed"),
        )
    }

    fn decide(findings: Vec<Finding>) -> Decision {
        evaluate(&report(findings), &DecisionConfig::default())
    }

    fn has_reason(d: &Decision, needle: &str) -> bool {
        d.reasons.iter().any(|r| r.contains(needle))
    }

    #[test]
    fn clean_report_is_approved_with_full_confidence() {
        let d = decide(vec![]);
        assert_eq!(d.kind, DecisionKind::Approve);
        assert_eq!(d.proposed, DecisionKind::Approve);
        assert_eq!((d.risk, d.confidence), (0, 1.0));
        assert_eq!(d.downgrade, None);
        assert_eq!(d.findings_digest.len(), 64);
    }

    #[test]
    fn low_findings_within_limits_are_approved() {
        let d = decide(vec![
            fail(Gate::Rego, "tags.missing", Severity::Low),
            fail(Gate::Drift, "drift.tags", Severity::Low),
        ]);
        assert_eq!(d.kind, DecisionKind::Approve, "{:?}", d.reasons);
        assert_eq!(d.risk, 4);
        assert_eq!(d.counts.low, 2);
    }

    #[test]
    fn blocking_pattern_metadata_rejects_with_location() {
        let f = fail(Gate::Rego, "X", Severity::Low)
            .at("main.tf", Some(12))
            .with_pattern("hardcoded_secrets");
        let d = decide(vec![f]);
        assert_eq!(d.kind, DecisionKind::Reject);
        assert_eq!(d.risk, 2, "a blocking pattern rejects whatever the risk");
        assert_eq!(
            d.reasons[0],
            "blocking pattern hardcoded_secrets: rule X in main.tf:12"
        );
    }

    #[test]
    fn blocking_pattern_from_rule_id_name_and_keywords() {
        let cfg = DecisionConfig::default();
        let cases = [
            ("aws.s3.deny_public_s3_buckets", "public_s3_buckets"),
            ("deny-public-s3-buckets", "public_s3_buckets"),
            ("s3_bucket_public_read", "public_s3_buckets"),
            ("detect_hardcoded_password", "hardcoded_secrets"),
            ("HardcodedSecret", "hardcoded_secrets"),
            ("rds_storage_encrypted", "unencrypted_databases"),
            ("iam_policy_wildcard_action", "overly_permissive_iam"),
        ];
        for (rule, pattern) in cases {
            let f = fail(Gate::Rego, rule, Severity::Medium);
            assert_eq!(
                blocking_pattern(&f, &cfg.blocking_patterns),
                Some(pattern),
                "{rule}"
            );
        }
        for rule in ["kms_secret_rotation", "iam_password_policy_length", "tags"] {
            let f = fail(Gate::Rego, rule, Severity::Medium);
            assert_eq!(blocking_pattern(&f, &cfg.blocking_patterns), None, "{rule}");
        }
    }

    #[test]
    fn blocking_pattern_needs_a_failing_finding_and_a_configured_pattern() {
        let patterns = DecisionConfig::default().blocking_patterns;
        let warning = Finding::new(
            Gate::Rego,
            "s3_bucket_public",
            Level::Warning,
            Severity::High,
            "m",
        );
        assert_eq!(blocking_pattern(&warning, &patterns), None);
        // Explicit metadata wins over the rule id, and must be configured.
        let f = fail(Gate::Rego, "s3_bucket_public", Severity::High).with_pattern("other");
        assert_eq!(blocking_pattern(&f, &patterns), None);
        let f = fail(Gate::Rego, "x", Severity::High).with_pattern("Public-S3-Buckets");
        assert_eq!(blocking_pattern(&f, &patterns), Some("public_s3_buckets"));
        let f = fail(Gate::Rego, "open_sg_ingress", Severity::High);
        assert_eq!(blocking_pattern(&f, &patterns), None);
        let custom = vec!["unrestricted_security_groups".to_string()];
        assert_eq!(
            blocking_pattern(&f, &custom),
            Some("unrestricted_security_groups")
        );
    }

    #[test]
    fn high_risk_with_confidence_rejects() {
        let d = decide(vec![fail(Gate::Rego, "r", Severity::High); 7]);
        assert_eq!(d.risk, 98);
        assert_eq!(d.kind, DecisionKind::Reject);
        assert!(has_reason(&d, "risk score 98 >= reject threshold 85"));
    }

    #[test]
    fn high_risk_without_confidence_requests_changes() {
        // The drift gate did not run: confidence 0.75 < 0.85.
        let r = report_of(
            &[Gate::Structure, Gate::Rego],
            vec![fail(Gate::Rego, "r", Severity::High); 7],
        );
        let d = evaluate(&r, &DecisionConfig::default());
        assert_eq!(d.confidence, 0.75);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
        assert!(has_reason(&d, "too low to reject"), "{:?}", d.reasons);
        assert!(has_reason(&d, "the drift gate did not run"));
    }

    #[test]
    fn one_critical_rejects_whatever_the_score() {
        let d = decide(vec![fail(Gate::Drift, "drift.db", Severity::Critical)]);
        assert_eq!(d.risk, 20);
        assert_eq!(d.kind, DecisionKind::Reject);
        assert!(has_reason(
            &d,
            "1 critical finding(s) >= reject threshold 1"
        ));
    }

    #[test]
    fn between_thresholds_requests_changes() {
        let d = decide(vec![fail(Gate::Rego, "r", Severity::Medium); 4]);
        assert_eq!(d.risk, 32);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
        assert!(has_reason(&d, "risk score 32 > approve limit 20"));

        let d = decide(vec![fail(Gate::Rego, "r", Severity::High)]);
        assert_eq!(d.risk, 14);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
        assert!(has_reason(&d, "1 high finding(s) > approve limit 0"));
    }

    #[test]
    fn low_confidence_blocks_approval() {
        let r = report_of(&[Gate::Structure, Gate::Rego], vec![]);
        let d = evaluate(&r, &DecisionConfig::default());
        assert_eq!(d.risk, 0);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
        assert!(has_reason(&d, "confidence 0.75 < approve minimum 0.90"));
    }

    #[test]
    fn confidence_formula() {
        let parse_error =
            |file: &str| fail(Gate::Rego, "parse-error", Severity::High).at(file, None);
        let (c, notes) = confidence(&report(vec![parse_error("a.tf"), parse_error("b.tf")]));
        assert_eq!(
            c, 0.90,
            "exact hundredths, comparable with a configured 0.90"
        );
        assert_eq!(notes, ["2 file(s) could not be parsed"]);

        let err = Finding::error(Gate::Rego, "policy-error", "bad policy");
        assert_eq!(confidence(&report(vec![err])).0, 0.75);
        assert_eq!(confidence(&report_of(&[], vec![])).0, 0.25);
        let many = (0..40).map(|i| parse_error(&format!("{i}.tf"))).collect();
        assert_eq!(confidence(&report(many)).0, 0.0);
    }

    #[test]
    fn what_counts() {
        let c = count_findings(&report(vec![
            Finding::new(Gate::Rego, "w", Level::Warning, Severity::High, "m"),
            Finding::new(Gate::Rego, "i", Level::Info, Severity::Critical, "m"),
            Finding::new(Gate::Rego, "wi", Level::Warning, Severity::Info, "m"),
            fail(Gate::Rego, "fi", Severity::Info),
            fail(Gate::Structure, "structure.missing", Severity::Medium),
            Finding::new(Gate::Structure, "s", Level::Warning, Severity::Low, "m"),
            fail(Gate::Rego, "compliance.cis.1_2", Severity::Low),
        ]));
        assert_eq!(
            c,
            SeverityCounts {
                critical: 0,
                high: 1,
                medium: 1,
                low: 3,
                compliance_violations: 2,
            }
        );
        // A warning of high severity is still a high issue for approval.
        let d = decide(vec![Finding::new(
            Gate::Rego,
            "w",
            Level::Warning,
            Severity::High,
            "m",
        )]);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
    }

    #[test]
    fn compliance_violation_blocks_approval() {
        let d = decide(vec![fail(
            Gate::Structure,
            "structure.readme",
            Severity::Low,
        )]);
        assert_eq!(d.risk, 2);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
        assert!(has_reason(
            &d,
            "1 compliance violation finding(s) > approve limit 0"
        ));
    }

    #[test]
    fn medium_limit_applies_only_when_set() {
        let findings = vec![fail(Gate::Rego, "r", Severity::Medium)];
        assert_eq!(decide(findings.clone()).kind, DecisionKind::Approve);
        let mut cfg = DecisionConfig::default();
        cfg.approve_thresholds.medium_issues_max = Some(0);
        let d = evaluate(&report(findings), &cfg);
        assert_eq!(d.kind, DecisionKind::RequestChanges);
    }

    #[test]
    fn score_is_capped_at_100() {
        let d = decide(vec![fail(Gate::Rego, "r", Severity::Critical); 20]);
        assert_eq!(d.risk, 100);
        let huge = SeverityCounts {
            critical: u32::MAX,
            high: u32::MAX,
            medium: u32::MAX,
            low: u32::MAX,
            compliance_violations: 0,
        };
        assert_eq!(huge.risk_score(), 100);
    }

    #[test]
    fn many_blocking_findings_are_summarised() {
        let f = fail(Gate::Rego, "r", Severity::Low).with_pattern("hardcoded_secrets");
        let d = decide(vec![f; 15]);
        assert_eq!(d.kind, DecisionKind::Reject);
        assert!(has_reason(&d, "and 5 more blocking findings"));
    }

    #[test]
    fn digest_ignores_line_moves_and_order() {
        let a = fail(Gate::Rego, "r1", Severity::High)
            .at("main.tf", Some(3))
            .with_resource("aws_s3_bucket.b");
        let mut b = fail(Gate::Rego, "parse-error", Severity::High).at("x.yaml", Some(4));
        b.message = "cannot parse x.yaml: bad indent at line 4 column 2".into();
        let before = findings_digest(&report(vec![a.clone(), b.clone()]));

        let mut a2 = a.clone();
        a2.line = Some(40);
        let mut b2 = b.clone();
        b2.line = Some(9);
        b2.message = "cannot parse x.yaml: bad indent at line 9 column 7".into();
        assert_eq!(before, findings_digest(&report(vec![b2, a2])));

        let warning = Finding::new(Gate::Rego, "w", Level::Warning, Severity::High, "m");
        assert_eq!(
            before,
            findings_digest(&report(vec![a.clone(), b.clone(), warning]))
        );

        let new = fail(Gate::Drift, "drift.sg", Severity::Low);
        assert_ne!(before, findings_digest(&report(vec![a, b, new])));
    }

    #[test]
    fn masking_positions() {
        assert_eq!(
            mask_positions("bad at line 12 column 3, port 22"),
            "bad at line # column #, port 22"
        );
        assert_eq!(mask_positions("Line: 7 é col 1"), "Line: # é col #");
        assert_eq!(mask_positions("é7 online 5"), "é7 online 5");
        assert_eq!(
            words("denyPublic_s3-Bucket"),
            ["deny", "public", "s3", "bucket"]
        );
    }
}
