//! The Rego gate: conftest semantics on the regorus engine.
//!
//! Every package's `deny`/`violation` (failure) and `warn` (warning) rules, suffixed or not, are
//! evaluated against every input document, and only those rules (plus `exception`): one query
//! asks for `data.<package>.<rule>` each. A rule's value is a set, an array, or a single value
//! (complete rules); each result is a string or an object with `msg` plus metadata (`id`,
//! `severity`, `pattern`, `resource`). conftest `exception` rules exempt the
//! named rules for that input. Evaluation is bounded per rule and input; a rule that errors or
//! runs out of time becomes an error finding and the run goes on.

pub mod conftest_builtins;
mod data;
pub mod explain;
pub mod layered;
pub mod levels;
pub mod policy;
pub mod verify;

use std::thread;

use serde_json::Value as Json;

use crate::finding::{Finding, Gate, GateReport, Level, Severity};
use crate::inputs::{InputDoc, Inputs};
pub use policy::{LoadOptions, PolicySet, PolicySource};

/// Runs every policy over every document. `inputs.errors` (parse errors) are reported here too.
pub fn run(policies: &PolicySet, inputs: &Inputs) -> GateReport {
    let mut findings: Vec<Finding> = policies.errors.clone();
    findings.extend(policies.warnings.iter().cloned());
    findings.extend(inputs.errors.iter().cloned());
    // A broken policy set fails closed; evaluating the rest would give a false sense of coverage.
    if policies.errors.is_empty() && !policies.packages.is_empty() {
        let docs: Vec<&InputDoc> = inputs.docs.iter().collect();
        findings.extend(evaluate_all(policies, &docs));
    }
    let checked = inputs.docs.len() * policies.packages.len();
    GateReport::new(Gate::Rego, checked, findings)
}

/// Evaluates documents on all cores; each thread has its own engine clone.
fn evaluate_all(policies: &PolicySet, docs: &[&InputDoc]) -> Vec<Finding> {
    tracing::debug!(target: crate::inputs::PROGRESS_TARGET, total = docs.len() as u64, "evaluating");
    let threads = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(docs.len().max(1));
    if threads <= 1 || docs.len() < 8 {
        let mut engine = policies.engine.clone();
        return docs
            .iter()
            .flat_map(|d| evaluate_doc(&mut engine, policies, d))
            .collect();
    }
    let chunk = docs.len().div_ceil(threads);
    thread::scope(|s| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                let mut engine = policies.engine.clone();
                s.spawn(move || {
                    part.iter()
                        .flat_map(|d| evaluate_doc(&mut engine, policies, d))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Finding::error(
                        Gate::Rego,
                        "evaluation-error",
                        "a policy evaluation thread panicked",
                    )]
                })
            })
            .collect()
    })
}

fn evaluate_doc(
    engine: &mut regorus::Engine,
    policies: &PolicySet,
    doc: &InputDoc,
) -> Vec<Finding> {
    // No `file` field: the sandbox names the file being *read* when a limit hits, and past
    // parsing it says "while evaluating the policies".
    tracing::debug!(target: crate::inputs::PROGRESS_TARGET, "document");
    engine.set_input(regorus::Value::from(doc.value.clone()));
    let mut out = Vec::new();
    // One query for every reported rule of every package: rules shared through library packages
    // are evaluated once per document, and nothing else of a package (helpers no gate rule
    // uses) is evaluated at all.
    let all =
        first_value(engine.eval_query(policies.all_rules_query(), false)).unwrap_or(Json::Null);
    for (i, pkg) in policies.packages.iter().enumerate() {
        let values = match all.get(i).filter(|v| v.is_array()) {
            Some(v) => v.clone(),
            // The combined query failed: evaluate package by package to blame the right one.
            None => match first_value(engine.eval_query(pkg.rules_query(), false)) {
                Ok(v) => v,
                Err(e) => {
                    out.push(eval_error(policies, &pkg.package, doc, &e));
                    continue;
                }
            },
        };
        let value_of = |j: usize| -> Json {
            // Each rule is queried as `{x | x := rule}`: `[]` if undefined, `[value]` if not.
            values
                .get(j)
                .and_then(|v| v.get(0))
                .cloned()
                .unwrap_or(Json::Null)
        };
        let exceptions = if pkg.has_exception {
            exception_names(&value_of(pkg.rules.len()))
        } else {
            Vec::new()
        };
        for (j, rule) in pkg.rules.iter().enumerate() {
            let exempt = rule_suffix(rule).is_some_and(|s| exceptions.iter().any(|e| e == s))
                || exceptions.iter().any(|e| e == rule);
            if exempt {
                continue;
            }
            for result in results(&value_of(j)) {
                out.push(to_finding(&pkg.package, rule, &result, doc));
            }
        }
    }
    out
}

/// The single expression value of a query result (`null` when it has no result).
fn first_value(r: anyhow::Result<regorus::QueryResults>) -> anyhow::Result<Json> {
    Ok(r?
        .result
        .first()
        .and_then(|r| r.expressions.first())
        .map(|e| to_json(&e.value))
        .unwrap_or(Json::Null))
}

pub(crate) fn to_json(v: &regorus::Value) -> Json {
    if matches!(v, regorus::Value::Undefined) {
        return Json::Null;
    }
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// conftest: `exception contains ["name", ...]`.
fn exception_names(v: &Json) -> Vec<String> {
    let mut out = Vec::new();
    if let Json::Array(items) = v {
        for item in items {
            match item {
                Json::Array(names) => {
                    out.extend(names.iter().filter_map(|n| n.as_str()).map(String::from))
                }
                Json::String(s) => out.push(s.clone()),
                _ => {}
            }
        }
    }
    out
}

fn rule_suffix(rule: &str) -> Option<&str> {
    rule.split_once('_').map(|(_, s)| s)
}

/// A rule's value as a list of results (a set, an array, a single string/object, or a bool).
fn results(v: &Json) -> Vec<Json> {
    match v {
        Json::Null | Json::Bool(false) => Vec::new(),
        Json::Array(items) => items.clone(),
        Json::Bool(true) => vec![Json::String(String::new())],
        other => vec![other.clone()],
    }
}

fn to_finding(package: &str, rule: &str, result: &Json, doc: &InputDoc) -> Finding {
    let short_pkg = package.strip_prefix("data.").unwrap_or(package);
    let level = if rule.starts_with("warn") {
        Level::Warning
    } else {
        Level::Failure
    };
    let default_sev = if level == Level::Warning {
        Severity::Medium
    } else {
        Severity::High
    };
    let (msg, meta) = match result {
        Json::String(s) => (s.clone(), None),
        Json::Object(o) => (
            o.get("msg")
                .or_else(|| o.get("message"))
                .and_then(Json::as_str)
                .map(String::from)
                .unwrap_or_else(|| result.to_string()),
            Some(o),
        ),
        other => (other.to_string(), None),
    };
    let get = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Json::as_str)
            .map(String::from)
    };
    let msg = if msg.is_empty() {
        format!("{short_pkg}.{rule} failed")
    } else {
        msg
    };
    let rule_id = get("id").unwrap_or_else(|| format!("{short_pkg}.{rule}"));
    let severity = get("severity")
        .and_then(|s| Severity::parse(&s))
        .unwrap_or(default_sev);
    let resource = get("resource");
    let explicit_line = meta
        .and_then(|m| {
            m.get("line")
                .or_else(|| m.get("_loc").and_then(|l| l.get("line")))
        })
        .and_then(Json::as_u64)
        .map(|l| l as u32);
    let line = explicit_line.unwrap_or_else(|| doc.line_of(resource.as_deref(), &msg));
    let mut f =
        Finding::new(Gate::Rego, rule_id, level, severity, msg).at(doc.file.clone(), Some(line));
    f.resource = resource.or_else(|| mentioned_resource(doc, &f.message));
    f.pattern = get("pattern");
    f
}

fn mentioned_resource(doc: &InputDoc, msg: &str) -> Option<String> {
    doc.locations
        .keys()
        .filter(|a| a.contains('.') && msg.contains(a.as_str()))
        .max_by_key(|a| a.len())
        .cloned()
}

fn eval_error(policies: &PolicySet, package: &str, doc: &InputDoc, err: &anyhow::Error) -> Finding {
    let msg = err.to_string();
    let file = policies.file_of(package).unwrap_or(package).to_string();
    // Point at the policy line the engine names, else the package's file.
    let (file, line) = policies
        .files
        .iter()
        .find_map(|f| policy::error_line(&msg, &f.path).map(|l| (f.path.clone(), Some(l))))
        .unwrap_or((file, None));
    let short = package.strip_prefix("data.").unwrap_or(package);
    let what =
        if msg.contains("execution exceeded") || msg.to_ascii_lowercase().contains("time limit") {
            "exceeded its evaluation time limit"
        } else {
            "failed to evaluate"
        };
    Finding::error(
        Gate::Rego,
        "evaluation-error",
        format!(
            "policy {short} {what} on {}: {}",
            doc.file,
            msg.lines().take(6).collect::<Vec<_>>().join("\n")
        ),
    )
    .at(file, line)
}

#[cfg(test)]
mod tests;
