//! The figures of the dashboard and of `thoth-bot report`, computed from stored evaluations and
//! decision records: pass rate per repository, top failing rules over 7 and 30 days, open
//! overrides, and the median time from a finding's first appearance on a PR to its fix.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::ids::{Platform, PrNumber, RepoId};
use crate::store::evaluation::StoredFinding;
use crate::store::{DecisionRecord, EvaluationRecord, Override, Store, StoreError};

/// Evaluations read for the figures; a busier period is summarised from the newest this many.
pub const MAX_EVALUATIONS: usize = 5_000;
/// Rows of the recent-evaluations and top-rules lists.
pub const TOP: usize = 15;

/// The key that says "the same finding" across evaluations of a PR: it survives moved lines.
pub fn finding_key(f: &StoredFinding) -> (String, String, String) {
    (
        f.rule_id.clone(),
        f.file.clone().unwrap_or_default(),
        f.message.clone(),
    )
}

/// Whether a stored finding fails the gate.
pub fn is_blocking(f: &StoredFinding) -> bool {
    matches!(f.level.as_str(), "error" | "failure")
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RepoRate {
    pub repo: String,
    pub evaluations: u32,
    pub passed: u32,
    /// 0..=100.
    pub pass_rate: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleCount {
    pub rule_id: String,
    pub last_7_days: u32,
    pub last_30_days: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpenOverride {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub actor: String,
    pub decision: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecentEvaluation {
    pub id: String,
    pub at: DateTime<Utc>,
    pub repo: String,
    pub pr: u64,
    pub decision: String,
    pub conclusion: String,
    pub findings: usize,
}

/// Everything the dashboard and `report` show.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub days: i64,
    pub generated_at: DateTime<Utc>,
    pub evaluations: usize,
    pub recent: Vec<RecentEvaluation>,
    pub pass_rates: Vec<RepoRate>,
    pub top_rules: Vec<RuleCount>,
    pub open_overrides: Vec<OpenOverride>,
    /// Fixed findings the median is taken over.
    pub fixes: usize,
    /// Median seconds from a finding's first appearance on a PR to the evaluation without it.
    pub median_time_to_fix_secs: Option<i64>,
    pub queue_depth: Option<u64>,
    pub workers: Option<usize>,
    pub store: String,
}

/// Reads the store and computes the figures of the last `days` days.
pub async fn gather(
    store: &dyn Store,
    store_kind: &str,
    workers: Option<usize>,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let since = now - TimeDelta::days(days.max(1));
    let evals = store.evaluations(since, MAX_EVALUATIONS).await?;
    let decisions = store.decisions(None, since, MAX_EVALUATIONS).await?;
    let open = open_overrides(store, &decisions).await?;
    let mut f = compute(&evals, open, days, now);
    f.queue_depth = store.queue_depth().await.ok();
    f.workers = workers;
    f.store = store_kind.to_string();
    Ok(f)
}

/// Overrides given in the period that are still stored for their PR (not cleared by a push or
/// new findings).
async fn open_overrides(
    store: &dyn Store,
    decisions: &[DecisionRecord],
) -> Result<Vec<OpenOverride>, StoreError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in decisions
        .iter()
        .filter(|d| d.decision.starts_with("override:"))
    {
        if !seen.insert((d.platform, d.repo.clone(), d.pr)) {
            continue;
        }
        if let Some(o) = store.get_override(d.platform, &d.repo, d.pr).await? {
            out.push(open_of(o));
        }
    }
    Ok(out)
}

fn open_of(o: Override) -> OpenOverride {
    OpenOverride {
        platform: o.platform,
        repo: o.repo,
        pr: o.pr,
        actor: o.actor,
        decision: o.decision.to_string(),
        reason: o.reason,
        at: o.at,
    }
}

/// The pure part of [`gather`]; `evals` newest first.
pub fn compute(
    evals: &[EvaluationRecord],
    open_overrides: Vec<OpenOverride>,
    days: i64,
    now: DateTime<Utc>,
) -> Figures {
    let recent = evals
        .iter()
        .take(TOP)
        .map(|e| RecentEvaluation {
            id: e.id.to_string(),
            at: e.at,
            repo: e.repo.to_string(),
            pr: e.pr.0,
            decision: e.decision.clone(),
            conclusion: e.conclusion.clone(),
            findings: e.findings_total,
        })
        .collect();

    let mut per_repo: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for e in evals {
        let r = per_repo.entry(e.repo.to_string()).or_default();
        r.0 += 1;
        r.1 += u32::from(e.conclusion == "success");
    }
    let pass_rates = per_repo
        .into_iter()
        .map(|(repo, (n, ok))| RepoRate {
            repo,
            evaluations: n,
            passed: ok,
            pass_rate: (ok * 100).checked_div(n).unwrap_or(0),
        })
        .collect();

    let week = now - TimeDelta::days(7);
    let mut rules: HashMap<String, (u32, u32)> = HashMap::new();
    for e in evals {
        for f in e.findings.iter().filter(|f| is_blocking(f)) {
            let c = rules.entry(f.rule_id.clone()).or_default();
            c.1 += 1;
            c.0 += u32::from(e.at >= week);
        }
    }
    let mut top_rules: Vec<RuleCount> = rules
        .into_iter()
        .map(|(rule_id, (w, m))| RuleCount {
            rule_id,
            last_7_days: w,
            last_30_days: m,
        })
        .collect();
    top_rules.sort_by(|a, b| {
        (b.last_30_days, b.last_7_days)
            .cmp(&(a.last_30_days, a.last_7_days))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    top_rules.truncate(TOP);

    let fix_times = time_to_fix(evals);
    Figures {
        days,
        generated_at: now,
        evaluations: evals.len(),
        recent,
        pass_rates,
        top_rules,
        open_overrides,
        fixes: fix_times.len(),
        median_time_to_fix_secs: median(fix_times),
        queue_depth: None,
        workers: None,
        store: String::new(),
    }
}

/// Seconds from each blocking finding's first appearance on a PR to the first later evaluation
/// of that PR without it. `evals` in any order.
pub fn time_to_fix(evals: &[EvaluationRecord]) -> Vec<i64> {
    let mut by_pr: HashMap<(Platform, &RepoId, PrNumber), Vec<&EvaluationRecord>> = HashMap::new();
    for e in evals {
        by_pr
            .entry((e.platform, &e.repo, e.pr))
            .or_default()
            .push(e);
    }
    let mut out = Vec::new();
    for list in by_pr.values_mut() {
        list.sort_by_key(|e| e.at);
        let mut open: HashMap<(String, String, String), DateTime<Utc>> = HashMap::new();
        for e in list.iter() {
            // A capped record cannot say a finding is gone: it may only be past the cap.
            let complete = e.findings.len() == e.findings_total;
            let now: HashSet<_> = e
                .findings
                .iter()
                .filter(|f| is_blocking(f))
                .map(finding_key)
                .collect();
            if complete {
                open.retain(|k, first| {
                    let fixed = !now.contains(k);
                    if fixed {
                        out.push((e.at - *first).num_seconds());
                    }
                    !fixed
                });
            }
            for k in now {
                open.entry(k).or_insert(e.at);
            }
        }
    }
    out
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// `3d 4h`, `2h 5m`, `40s`.
pub fn human_duration(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_durations() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
        assert_eq!(human_duration(40), "40s");
        assert_eq!(human_duration(3_700), "1h 1m");
        assert_eq!(human_duration(90_000), "1d 1h");
    }
}
