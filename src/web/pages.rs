//! `GET /runs/{evaluation}?exp=..&sig=..`: the details page of one evaluation. A missing,
//! tampered or expired signature is 403; an unknown evaluation behind a valid link is 404.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::WebState;
use super::chart::Chart;
use super::figures::finding_key;
use crate::ids::Platform;
use crate::store::evaluation::StoredFinding;
use crate::store::{EvaluationId, EvaluationRecord, Override, Store, StoreError};

/// Earlier evaluations of the PR listed on the page.
const HISTORY: usize = 20;
/// Rules in the chart.
const CHART_RULES: usize = 12;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    exp: Option<i64>,
    sig: Option<String>,
}

/// One finding as the page shows it.
pub struct FindingView {
    pub level: String,
    pub severity: String,
    pub rule_id: String,
    pub message: String,
    pub line: Option<u32>,
    /// The file at the evaluated commit on the forge, at the line.
    pub link: Option<String>,
    pub resource: Option<String>,
    pub pattern: Option<String>,
    pub explain: Option<String>,
}

/// Findings of one file (or of no file).
pub struct FileGroup {
    pub file: String,
    pub findings: Vec<FindingView>,
}

pub struct StageView {
    pub stage: String,
    pub seconds: String,
    /// Bar length, 0..=100.
    pub pct: u32,
}

pub struct OverrideView {
    pub actor: String,
    pub decision: String,
    pub reason: String,
    pub at: String,
    pub applies: bool,
}

pub struct HistoryView {
    pub link: String,
    pub at: String,
    pub head: String,
    pub decision: String,
    pub conclusion: String,
    pub findings: usize,
    pub new: usize,
    pub fixed: usize,
    pub current: bool,
}

/// The details page.
#[derive(Template)]
#[template(path = "details.html")]
pub struct DetailsPage {
    pub e: EvaluationRecord,
    pub at: String,
    pub head: String,
    pub base: String,
    pub confidence: String,
    pub groups: Vec<FileGroup>,
    pub not_stored: usize,
    pub blocking_patterns: Vec<String>,
    pub stages: Vec<StageView>,
    pub overrides: Vec<OverrideView>,
    pub history: Vec<HistoryView>,
    pub chart: Chart,
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// `/runs/{id}` with the signature of the page being shown: links between evaluations of a PR
/// expire with the link that was opened.
fn sibling_link(state: &WebState, id: EvaluationId, exp: i64) -> String {
    let (_, sig) = state
        .key
        .sign(id, DateTime::from_timestamp(exp, 0).unwrap_or_default());
    super::links::path(id, exp, &sig)
}

/// The file at `sha` on the forge, at `line`. Only http(s) bases make links.
pub fn file_link(e: &EvaluationRecord, file: &str, line: Option<u32>) -> Option<String> {
    let base = e
        .web_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))?;
    let path: String = file
        .split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/");
    let sha = e.head_sha.as_str();
    Some(match e.platform {
        Platform::GitHub => match line {
            Some(l) => format!("{base}/blob/{sha}/{path}#L{l}"),
            None => format!("{base}/blob/{sha}/{path}"),
        },
        Platform::AzureDevOps => {
            let mut u = format!("{base}?path=/{path}&version=GC{sha}");
            if let Some(l) = line {
                u.push_str(&format!(
                    "&line={l}&lineEnd={l}&lineStartColumn=1&lineEndColumn=1"
                ));
            }
            u
        }
    })
}

fn group(e: &EvaluationRecord) -> Vec<FileGroup> {
    let mut by_file: BTreeMap<String, Vec<&StoredFinding>> = BTreeMap::new();
    for f in &e.findings {
        by_file
            .entry(f.file.clone().unwrap_or_default())
            .or_default()
            .push(f);
    }
    // Findings without a file come last.
    let no_file = by_file.remove("");
    by_file
        .into_iter()
        .chain(no_file.map(|fs| (String::new(), fs)))
        .map(|(file, mut fs)| {
            fs.sort_by_key(|f| (f.line.unwrap_or(0), f.rule_id.clone()));
            FileGroup {
                findings: fs
                    .into_iter()
                    .map(|f| FindingView {
                        level: f.level.clone(),
                        severity: f.severity.clone(),
                        rule_id: f.rule_id.clone(),
                        message: f.message.clone(),
                        line: f.line,
                        link: f.file.as_deref().and_then(|p| file_link(e, p, f.line)),
                        resource: f.resource.clone(),
                        pattern: f.pattern.clone(),
                        explain: f.explain.clone(),
                    })
                    .collect(),
                file: if file.is_empty() {
                    "(no file)".into()
                } else {
                    file
                },
            }
        })
        .collect()
}

fn chart(e: &EvaluationRecord) -> Chart {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for f in &e.findings {
        *counts.entry(f.rule_id.clone()).or_default() += 1;
    }
    Chart::bars(counts.into_iter().collect(), CHART_RULES)
}

fn stages(e: &EvaluationRecord) -> Vec<StageView> {
    let total: f64 = e.stages.iter().map(|s| s.seconds).sum::<f64>().max(0.001);
    e.stages
        .iter()
        .map(|s| StageView {
            stage: s.stage.clone(),
            seconds: format!("{:.3}", s.seconds),
            pct: ((s.seconds / total) * 100.0).round().clamp(1.0, 100.0) as u32,
        })
        .collect()
}

/// Overrides of the PR from the audit trail, and whether each still applies (it is the PR's
/// stored override and was given for this evaluation's head or findings).
async fn overrides(
    store: &dyn Store,
    e: &EvaluationRecord,
) -> Result<Vec<OverrideView>, StoreError> {
    let current: Option<Override> = store.get_override(e.platform, &e.repo, e.pr).await?;
    let since = e.at - chrono::TimeDelta::days(90);
    let given = store.decisions(Some(&e.repo), since, 1_000).await?;
    let mut out: Vec<OverrideView> = given
        .into_iter()
        .filter(|d| d.pr == e.pr && d.platform == e.platform)
        .filter(|d| d.decision.starts_with("override:"))
        .map(|d| {
            let decision = d.decision.trim_start_matches("override:").to_string();
            let applies = current.as_ref().is_some_and(|o| {
                o.actor == d.actor
                    && o.decision.as_str() == decision
                    && (o.head_sha == e.head_sha || o.findings_digest == e.findings_digest)
            });
            OverrideView {
                actor: d.actor,
                decision,
                reason: d.reasons.join("; "),
                at: time(d.at),
                applies,
            }
        })
        .collect();
    if out.is_empty()
        && let Some(o) = &e.applied_override
    {
        out.push(OverrideView {
            actor: o.actor.clone(),
            decision: o.decision.clone(),
            reason: o.reason.clone(),
            at: time(o.at),
            applies: current.is_some(),
        });
    }
    Ok(out)
}

/// The PR's evaluations, newest first, with what each added and fixed since the one before.
fn history(
    state: &WebState,
    e: &EvaluationRecord,
    all: &[EvaluationRecord],
    exp: i64,
) -> Vec<HistoryView> {
    all.iter()
        .enumerate()
        .map(|(i, h)| {
            let keys: HashSet<_> = h.findings.iter().map(finding_key).collect();
            let (new, fixed) = match all.get(i + 1) {
                Some(prev) => {
                    let before: HashSet<_> = prev.findings.iter().map(finding_key).collect();
                    (
                        keys.difference(&before).count(),
                        before.difference(&keys).count(),
                    )
                }
                None => (keys.len(), 0),
            };
            HistoryView {
                link: sibling_link(state, h.id, exp),
                at: time(h.at),
                head: short(h.head_sha.as_str()),
                decision: h.decision.clone(),
                conclusion: h.conclusion.clone(),
                findings: h.findings_total,
                new,
                fixed,
                current: h.id == e.id,
            }
        })
        .collect()
}

/// Renders the page of `e`, opened with a link expiring at `exp`.
pub async fn render(
    state: &WebState,
    e: EvaluationRecord,
    exp: i64,
) -> Result<String, anyhow::Error> {
    let all = state
        .store
        .pr_evaluations(e.platform, &e.repo, e.pr, HISTORY)
        .await?;
    let overrides = overrides(state.store.as_ref(), &e).await?;
    let mut e = e;
    if e.title.is_none() {
        // A re-evaluation started by a comment does not carry the title; an earlier one may.
        e.title = all.iter().find_map(|h| h.title.clone());
    }
    let mut patterns: Vec<String> = e
        .findings
        .iter()
        .filter_map(|f| f.pattern.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    patterns.truncate(20);
    let page = DetailsPage {
        at: time(e.at),
        head: e.head_sha.to_string(),
        base: e
            .base_sha
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "(unknown)".into()),
        confidence: format!("{:.2}", e.confidence),
        groups: group(&e),
        not_stored: e.findings_total.saturating_sub(e.findings.len()),
        blocking_patterns: patterns,
        stages: stages(&e),
        overrides,
        history: history(state, &e, &all, exp),
        chart: chart(&e),
        e,
    };
    Ok(page.render()?)
}

/// The handler.
pub async fn details(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let Ok(id) = id.parse::<EvaluationId>() else {
        return (StatusCode::NOT_FOUND, "no such evaluation").into_response();
    };
    let (Some(exp), Some(sig)) = (q.exp, q.sig.as_deref()) else {
        return forbidden("this page needs the signed link the bot posted");
    };
    if let Err(e) = state.key.verify(id, exp, sig, Utc::now()) {
        return forbidden(&e.to_string());
    }
    let rec = match state.store.evaluation(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such evaluation").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the evaluation");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
        }
    };
    match render(&state, rec, exp).await {
        Ok(html) => (super::page_headers(), html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the details page");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot render the page").into_response()
        }
    }
}

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("403 Forbidden: {why}\n")).into_response()
}
