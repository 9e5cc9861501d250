//! Drift gate: judges drift reports (`terraform show -json` / `tofu show -json` of a plan)
//! against `.driftpolicy` (design.md §2.3).
//!
//! **What is drift.** Every `resource_drift` entry whose actions are not `["no-op"]` (a no-op
//! entry is a move without a change, which refresh-only plans list). Where the plan was made with
//! `-refresh-only`, its non-`no-op` `resource_changes` are drift too. Terraform and OpenTofu do
//! not record the plan mode in the JSON, so [`is_refresh_only`] recognises such a plan by its
//! shape: `planned_values` holds no managed resource while `prior_state` holds some, and no
//! change deletes or forgets anything. A normal plan lists every resource that will exist after
//! apply in `planned_values`; a destroy plan deletes. Real CLI refresh-only plans have no
//! `resource_changes` at all (Terraform refuses to build one with changes), so for them drift is
//! `resource_drift` alone; the rule matters for reports made by other tools. An `update` whose
//! before and after are equal is not drift (Terraform 0.15 listed every resource in
//! `resource_drift` once any had drifted). Data sources never drift.
//!
//! **What happens to it.** The first matching rule decides (no match: `alert`):
//!
//! | action         | finding                                  | counted as            |
//! |----------------|------------------------------------------|-----------------------|
//! | `block_deploy` | `drift.block_deploy`, failure            | drifted               |
//! | `alert`        | `drift.alert`, warning                   | drifted               |
//! | `auto_accept`  | none                                     | accepted (no drift)   |
//! | `ignore`       | none                                     | nothing: not a resource of the report |
//!
//! **Coverage** per report = 100 × (total − drifted) / total (100 when total is 0). Total is the
//! managed resources of `prior_state` (root and child modules), or, without a `prior_state`,
//! the distinct managed addresses of `resource_changes` and `resource_drift`; either way plus the
//! drifted addresses (a resource deleted outside Terraform is gone from the refreshed prior state
//! yet is one of the resources) and minus the ignored ones. Below `coverage_threshold`: one
//! `drift.coverage` failure.

mod paths;
mod policy;
mod severity;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde_json::Value;

use crate::finding::{Finding, Gate, GateReport, Level, Severity};
use crate::inputs::{InputDoc, InputKind};

pub use paths::changed_paths;
pub use policy::{
    DEFAULT_REPORTS, DriftAction, DriftConfigError, DriftPolicy, DriftRule, POLICY_FILE,
};
pub use severity::default_severity;

/// Rule ids of the findings this gate produces.
pub mod rule_ids {
    pub const BLOCK_DEPLOY: &str = "drift.block_deploy";
    pub const ALERT: &str = "drift.alert";
    pub const COVERAGE: &str = "drift.coverage";
    pub const NOT_A_PLAN: &str = "drift.not-a-plan";
}

/// How many changed paths a finding's message lists before "and N more".
const MAX_LISTED_PATHS: usize = 10;

/// The numbers of one drift report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DriftStats {
    /// Resources the report covers (ignored ones excluded).
    pub total: usize,
    /// Drifted resources that alert or block.
    pub drifted: usize,
    /// Drifted resources accepted by an `auto_accept` rule.
    pub accepted: usize,
    /// Drifted resources removed by an `ignore` rule.
    pub ignored: usize,
    /// % of `total` without drift.
    pub coverage: f64,
}

/// One drifted resource, as read from the plan.
#[derive(Debug)]
struct DriftEntry<'a> {
    address: &'a str,
    previous_address: Option<&'a str>,
    resource_type: &'a str,
    actions: Vec<String>,
    paths: Vec<String>,
}

/// Runs the gate over the plan documents that are drift reports under `policy`.
///
/// `checked` is the number of resources evaluated (the sum of each report's total).
pub fn run(policy: &DriftPolicy, docs: &[InputDoc]) -> GateReport {
    let mut findings = Vec::new();
    let mut checked = 0;
    for doc in docs.iter().filter(|d| policy.is_report(&d.file)) {
        match doc.kind {
            InputKind::Plan => {
                let (mut found, stats) = evaluate_plan(policy, &doc.file, &doc.value);
                findings.append(&mut found);
                checked += stats.total;
            }
            // A report path that holds some other JSON is most likely a broken pipeline step:
            // say so rather than report "no drift".
            InputKind::Json => findings.push(
                Finding::new(
                    Gate::Drift,
                    rule_ids::NOT_A_PLAN,
                    Level::Warning,
                    Severity::Medium,
                    format!(
                        "{} matches the drift report globs but is not a plan JSON \
                         (`terraform show -json`); it was not evaluated",
                        doc.file
                    ),
                )
                .at(&doc.file, None),
            ),
            _ => {}
        }
    }
    GateReport::new(Gate::Drift, checked, findings)
}

/// Evaluates one plan JSON: its findings (in report order, the coverage finding last) and stats.
pub fn evaluate_plan(policy: &DriftPolicy, file: &str, plan: &Value) -> (Vec<Finding>, DriftStats) {
    let entries = drift_entries(plan);
    let mut findings = Vec::new();
    let mut stats = DriftStats::default();
    let mut judged_addresses = BTreeSet::new();
    let mut ignored_addresses = BTreeSet::new();

    for entry in &entries {
        let rule = policy.matching_rule(entry.address, &entry.paths);
        let action = rule.map(|r| r.action).unwrap_or_default();
        let (rule_id, level) = match action {
            DriftAction::Ignore => {
                stats.ignored += 1;
                ignored_addresses.insert(entry.address);
                continue;
            }
            DriftAction::AutoAccept => {
                stats.accepted += 1;
                judged_addresses.insert(entry.address);
                continue;
            }
            DriftAction::BlockDeploy => (rule_ids::BLOCK_DEPLOY, Level::Failure),
            DriftAction::Alert => (rule_ids::ALERT, Level::Warning),
        };
        stats.drifted += 1;
        judged_addresses.insert(entry.address);
        let severity = rule
            .and_then(|r| r.severity_override)
            .unwrap_or_else(|| default_severity(entry.resource_type, &entry.actions));
        findings.push(
            Finding::new(Gate::Drift, rule_id, level, severity, message(entry, rule))
                .at(file, None)
                .with_resource(entry.address),
        );
    }

    let mut resources = managed_addresses(plan);
    resources.extend(judged_addresses);
    resources.retain(|a| !ignored_addresses.contains(a));
    stats.total = resources.len();
    stats.coverage = if stats.total == 0 {
        100.0
    } else {
        100.0 * stats.total.saturating_sub(stats.drifted) as f64 / stats.total as f64
    };

    if let Some(threshold) = policy.coverage_threshold
        && stats.coverage < threshold
    {
        findings.push(
            Finding::new(
                Gate::Drift,
                rule_ids::COVERAGE,
                Level::Failure,
                Severity::High,
                format!(
                    "drift coverage {:.1}% is below the {threshold:.1}% threshold: {} of {} \
                     resources drifted ({} accepted, {} ignored)",
                    stats.coverage, stats.drifted, stats.total, stats.accepted, stats.ignored
                ),
            )
            .at(file, None),
        );
    }
    (findings, stats)
}

fn message(entry: &DriftEntry<'_>, rule: Option<&DriftRule>) -> String {
    let mut msg = format!("{} changed outside Terraform/OpenTofu", entry.address);
    if let Some(prev) = entry.previous_address {
        msg.push_str(&format!(" (moved from {prev})"));
    }
    msg.push_str(&format!(" ({})", entry.actions.join(", ")));
    if entry.paths.is_empty() {
        msg.push_str(": no attribute paths");
    } else {
        let listed: Vec<&str> = entry
            .paths
            .iter()
            .take(MAX_LISTED_PATHS)
            .map(String::as_str)
            .collect();
        msg.push_str(&format!(": {}", listed.join(", ")));
        if entry.paths.len() > MAX_LISTED_PATHS {
            msg.push_str(&format!(
                " and {} more",
                entry.paths.len() - MAX_LISTED_PATHS
            ));
        }
    }
    match rule {
        Some(r) => msg.push_str(&format!(" [rule `{}`: {}]", r.resource, r.action.as_str())),
        None => msg.push_str(" [no matching rule: alert]"),
    }
    msg
}

/// Whether a plan JSON was made with `-refresh-only`, judged by its shape (see the module docs):
/// no managed resource in `planned_values`, some in `prior_state`, nothing deleted or forgotten.
pub fn is_refresh_only(plan: &Value) -> bool {
    let destroys = array(plan, "resource_changes")
        .iter()
        .any(|c| actions(c).iter().any(|a| a == "delete" || a == "forget"));
    let planned = plan
        .pointer("/planned_values/root_module")
        .map(module_addresses)
        .unwrap_or_default();
    let prior = plan
        .pointer("/prior_state/values/root_module")
        .map(module_addresses)
        .unwrap_or_default();
    !destroys && planned.is_empty() && !prior.is_empty()
}

/// The drifted resources of a plan, one per address, `resource_drift` first.
fn drift_entries(plan: &Value) -> Vec<DriftEntry<'_>> {
    let mut sources = array(plan, "resource_drift");
    if is_refresh_only(plan) {
        sources.extend(array(plan, "resource_changes"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in sources {
        let Some(drift) = drift_entry(entry) else {
            continue;
        };
        if seen.insert(drift.address) {
            out.push(drift);
        }
    }
    out
}

/// Reads one change entry; `None` when it is not drift (or too malformed to name a resource).
fn drift_entry(entry: &Value) -> Option<DriftEntry<'_>> {
    if entry.get("mode").and_then(Value::as_str) == Some("data") {
        return None;
    }
    let address = entry.get("address").and_then(Value::as_str)?;
    let actions = actions(entry);
    if actions.is_empty() || actions.iter().all(|a| a == "no-op" || a == "read") {
        return None;
    }
    let change = entry.get("change");
    let field = |name: &str| change.and_then(|c| c.get(name)).unwrap_or(&Value::Null);
    let paths = changed_paths(field("before"), field("after"));
    if actions == ["update"] && paths.is_empty() {
        return None;
    }
    Some(DriftEntry {
        address,
        previous_address: entry.get("previous_address").and_then(Value::as_str),
        resource_type: entry
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        actions,
        paths,
    })
}

fn actions(entry: &Value) -> Vec<String> {
    entry
        .pointer("/change/actions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn array<'a>(plan: &'a Value, key: &str) -> Vec<&'a Value> {
    plan.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Managed resource addresses of `prior_state`, or, without one, of the plan's change lists.
fn managed_addresses(plan: &Value) -> BTreeSet<&str> {
    if let Some(root) = plan.pointer("/prior_state/values/root_module") {
        return module_addresses(root);
    }
    let mut out = BTreeSet::new();
    for key in ["resource_changes", "resource_drift"] {
        for entry in array(plan, key) {
            if entry.get("mode").and_then(Value::as_str) != Some("data")
                && let Some(address) = entry.get("address").and_then(Value::as_str)
            {
                out.insert(address);
            }
        }
    }
    out
}

/// Module nesting deeper than this is not followed (a hostile report could nest forever).
const MAX_MODULE_DEPTH: usize = 64;

/// Managed resource addresses of a state/planned-values module and its child modules.
fn module_addresses(module: &Value) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    collect_module(module, &mut out, 0);
    out
}

fn collect_module<'a>(module: &'a Value, out: &mut BTreeSet<&'a str>, depth: usize) {
    if depth > MAX_MODULE_DEPTH {
        return;
    }
    for resource in array(module, "resources") {
        if resource.get("mode").and_then(Value::as_str) != Some("data")
            && let Some(address) = resource.get("address").and_then(Value::as_str)
        {
            out.insert(address);
        }
    }
    for child in array(module, "child_modules") {
        collect_module(child, out, depth + 1);
    }
}
