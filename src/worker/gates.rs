//! The gates of one checkout, as every forge runs them: config and policies from the base, the
//! sandboxed child process, then findings for files the gates could not read and for changes to
//! thoth's own configuration.

use super::WorkerContext;
use super::checkout::Checkout;
use crate::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};
use crate::sandbox::{GateRequest, run_isolated};

/// Files whose change in a PR only takes effect after merge (config is read from the base).
const CONFIG_PATHS: &[&str] = &[
    ".thothcf.toml",
    ".thothcf_project.toml",
    ".driftpolicy",
    ".thothctl/",
    "policy/",
];

pub(super) async fn run_gates(ctx: &WorkerContext, co: &Checkout) -> anyhow::Result<CheckReport> {
    // Config and project policies come from the base: the PR must not judge itself by its own
    // rules. Without a base (first commit), an empty directory gives the defaults.
    let empty = co.head.with_file_name("no-base");
    let config_dir = match &co.base {
        Some(b) => b.clone(),
        None => {
            std::fs::create_dir_all(&empty)?;
            empty
        }
    };
    let request = GateRequest {
        project_dir: co.head.clone(),
        config_dir: Some(config_dir),
        org_policy: co.org_dir(),
    };
    let changed = co.changed.clone();
    let timer = crate::metrics::stage_timer(crate::metrics::Stage::Gates);
    let mut report = run_isolated(&request, &ctx.sandbox).await;
    drop(timer);
    // Name the org policies' source and commit beside the sets they made up.
    if let Some(p) = &co.org_policy
        && let Some(rego) = report.gates.iter_mut().find(|g| g.gate == Gate::Rego)
    {
        rego.policy_sets.insert(0, p.describe());
    }
    // The child's own lines stay in the child; this one carries the job's fields.
    tracing::debug!(
        findings = report.findings().count(),
        passed = report.passed,
        "gates done"
    );
    for finding in super::unread::unread_findings(
        &co.head,
        &changed,
        &co.head_stats,
        ctx.checkout_limits.max_file_bytes / (1024 * 1024),
        &report,
    ) {
        add_finding(&mut report, finding);
    }
    let config_changes: Vec<&String> = changed
        .iter()
        .filter(|p| {
            CONFIG_PATHS
                .iter()
                .any(|c| p.as_str() == *c || (c.ends_with('/') && p.starts_with(c)))
        })
        .collect();
    if !config_changes.is_empty() {
        let finding = Finding::new(
            Gate::Structure,
            "config-changed",
            Level::Info,
            Severity::Info,
            format!(
                "this pull request changes thoth configuration ({}); it was judged by the base branch's configuration and the change takes effect after merge",
                config_changes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        add_finding(&mut report, finding);
    }
    Ok(report)
}

fn add_finding(report: &mut CheckReport, finding: Finding) {
    let gate = finding.gate;
    match report.gates.iter_mut().find(|g| g.gate == gate) {
        Some(g) => {
            let mut findings = std::mem::take(&mut g.findings);
            findings.push(finding);
            let namespaces = std::mem::take(&mut g.namespaces);
            *g = GateReport::new(gate, g.checked, findings);
            g.namespaces = namespaces;
        }
        None => report.gates.push(GateReport::new(gate, 0, vec![finding])),
    }
    *report = CheckReport::new(std::mem::take(&mut report.gates));
}
