//! The stored record of one evaluation: what the details page (`GET /runs/{evaluation}`), the
//! dashboard and `thoth-bot report` show. A plain, bounded record: findings past
//! [`MAX_STORED_FINDINGS`] are counted, not kept, and every text is cut to a few KiB, so one PR
//! with thousands of findings cannot blow up the store.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{CommitSha, Platform, PrNumber, RepoId};

/// Findings kept per evaluation; the rest are only counted in [`EvaluationRecord::findings_total`].
pub const MAX_STORED_FINDINGS: usize = 500;
/// Characters kept of one message, reason or explanation.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Reasons, notes, policy sets and stages kept per evaluation.
pub const MAX_LIST_ITEMS: usize = 50;

/// The id of an evaluation, the `{evaluation}` of its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvaluationId(pub Uuid);

impl EvaluationId {
    pub fn new() -> Self {
        EvaluationId(Uuid::new_v4())
    }
}

impl Default for EvaluationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EvaluationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for EvaluationId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(EvaluationId)
    }
}

/// One finding as stored with its evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// `structure`, `rego`, `drift`.
    pub gate: String,
    pub rule_id: String,
    /// `error`, `failure`, `warning`, `info`.
    pub level: String,
    /// `critical` ... `info`.
    pub severity: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub resource: Option<String>,
    /// The blocking pattern the finding maps to, if any.
    pub pattern: Option<String>,
    /// The rule's `explain` text (title, description, remediation), when the policies have it.
    pub explain: Option<String>,
}

/// A policy set that ran: where it came from and how much it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySetRun {
    /// `built-in`, `org`, `project`, or `dir`.
    pub kind: String,
    /// How the source is named in messages (`policy`, `org:aws`, `built-in`).
    pub label: String,
    /// The org policy repository's commit, when it is a git checkout.
    pub commit: Option<String>,
    /// Rego files in the set.
    pub policies: u32,
}

/// The time one stage of the evaluation took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    /// `checkout`, `gates`, `decide`, `publish`, ...
    pub stage: String,
    pub seconds: f64,
}

/// The override applied to this evaluation, as it stood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOverride {
    pub actor: String,
    pub decision: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One evaluation of a pull request head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    pub id: EvaluationId,
    pub at: DateTime<Utc>,
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub title: Option<String>,
    pub head_sha: CommitSha,
    pub base_sha: Option<CommitSha>,
    /// Where the repository lives on the forge (`https://github.com/acme/infra`), for file links.
    pub web_url: Option<String>,
    /// What was posted: `approve`, `reject`, `request-changes`, `comment`.
    pub decision: String,
    /// What the findings called for, before the safety guard.
    pub proposed: String,
    /// The safety guard's outcome when it changed the decision ("cooldown: ...").
    pub downgrade: Option<String>,
    /// The merge-gate conclusion: `success`, `failure`, ...
    pub conclusion: String,
    pub risk: u8,
    pub confidence: f64,
    /// Critical, high, medium, low findings and compliance violations, as the decision counted.
    pub counts: [u32; 5],
    pub reasons: Vec<String>,
    /// Notes shown under the decision (override applied or dropped, config ignored).
    pub notes: Vec<String>,
    pub findings_digest: String,
    /// At most [`MAX_STORED_FINDINGS`].
    pub findings: Vec<StoredFinding>,
    /// All findings, including those not stored.
    pub findings_total: usize,
    pub policy_sets: Vec<PolicySetRun>,
    pub stages: Vec<StageTime>,
    pub applied_override: Option<AppliedOverride>,
}

fn cut(s: &mut String) {
    if s.chars().count() > MAX_TEXT_CHARS {
        let mut t: String = s.chars().take(MAX_TEXT_CHARS - 1).collect();
        t.push('…');
        *s = t;
    }
}

fn cut_opt(s: &mut Option<String>) {
    if let Some(s) = s {
        cut(s);
    }
}

fn cut_list(v: &mut Vec<String>) {
    v.truncate(MAX_LIST_ITEMS);
    v.iter_mut().for_each(cut);
}

impl EvaluationRecord {
    /// The record cut to the stored bounds (idempotent).
    pub fn bounded(mut self) -> Self {
        if self.findings.len() > MAX_STORED_FINDINGS {
            self.findings.truncate(MAX_STORED_FINDINGS);
        }
        self.findings_total = self.findings_total.max(self.findings.len());
        for f in &mut self.findings {
            cut(&mut f.message);
            cut(&mut f.rule_id);
            cut_opt(&mut f.file);
            cut_opt(&mut f.resource);
            cut_opt(&mut f.explain);
        }
        cut_list(&mut self.reasons);
        cut_list(&mut self.notes);
        cut_opt(&mut self.title);
        cut_opt(&mut self.downgrade);
        self.policy_sets.truncate(MAX_LIST_ITEMS);
        self.stages.truncate(MAX_LIST_ITEMS);
        if let Some(o) = &mut self.applied_override {
            cut(&mut o.reason);
        }
        self.at = super::micros(self.at);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_caps_findings_and_text() {
        let f = StoredFinding {
            gate: "rego".into(),
            rule_id: "R".into(),
            level: "failure".into(),
            severity: "high".into(),
            message: "x".repeat(10_000),
            file: None,
            line: None,
            resource: None,
            pattern: None,
            explain: None,
        };
        let rec = EvaluationRecord {
            id: EvaluationId::new(),
            at: Utc::now(),
            platform: Platform::GitHub,
            repo: "a/b".parse().unwrap(),
            pr: PrNumber(1),
            title: None,
            head_sha: "a".repeat(40).parse().unwrap(),
            base_sha: None,
            web_url: None,
            decision: "comment".into(),
            proposed: "comment".into(),
            downgrade: None,
            conclusion: "success".into(),
            risk: 0,
            confidence: 1.0,
            counts: [0; 5],
            reasons: vec!["r".into(); 80],
            notes: vec![],
            findings_digest: String::new(),
            findings: vec![f; MAX_STORED_FINDINGS + 7],
            findings_total: MAX_STORED_FINDINGS + 7,
            policy_sets: vec![],
            stages: vec![],
            applied_override: None,
        }
        .bounded();
        assert_eq!(rec.findings.len(), MAX_STORED_FINDINGS);
        assert_eq!(rec.findings_total, MAX_STORED_FINDINGS + 7);
        assert_eq!(rec.findings[0].message.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(rec.reasons.len(), MAX_LIST_ITEMS);
    }
}
