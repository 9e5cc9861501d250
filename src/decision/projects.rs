//! The decision for a repository of several projects: each project is decided with its own
//! decision config, and the worst project decides for the pull request.

use std::path::Path;

use super::config::DecisionConfig;
use super::{Decision, DecisionKind, evaluate, findings_digest};
use crate::finding::CheckReport;

/// The decision config of `project` (`.` is the root) under `config_dir`: its own file, else
/// its domain's or the org's default (see [`super::org_default`]); a broken file gives the
/// defaults, which only comment.
pub fn project_config(config_dir: &Path, project: &str, org: Option<&Path>) -> DecisionConfig {
    let dir = if project == "." {
        config_dir.to_path_buf()
    } else {
        config_dir.join(project)
    };
    let domain = crate::gates::structure::load_config(&dir, Some(config_dir), org)
        .ok()
        .and_then(|c| c.governance.domain);
    super::org_default::decision_config(&dir, org, domain.as_deref())
        .map(|(c, _)| c)
        .unwrap_or_default()
}

/// How bad a proposal is, for picking the worst project.
fn rank(k: DecisionKind) -> u8 {
    match k {
        DecisionKind::Approve => 0,
        DecisionKind::Comment => 1,
        DecisionKind::RequestChanges => 2,
        DecisionKind::Reject => 3,
    }
}

/// Decides each project of `report` (see [`CheckReport::projects`]) with `cfg_of(project)`;
/// the worst proposal wins (ties: the higher risk), its reasons named by project. The
/// findings digest covers every project, so an override sees all of them.
pub fn evaluate_projects(
    report: &CheckReport,
    cfg_of: &dyn Fn(&str) -> DecisionConfig,
) -> Option<(Decision, DecisionConfig)> {
    let mut worst: Option<(Decision, DecisionConfig, &str)> = None;
    for project in &report.projects {
        let cfg = cfg_of(project);
        let d = evaluate(&report.of_project(project), &cfg);
        let worse = worst
            .as_ref()
            .is_none_or(|(w, _, _)| (rank(d.proposed), d.risk) > (rank(w.proposed), w.risk));
        if worse {
            worst = Some((d, cfg, project));
        }
    }
    let (mut d, cfg, project) = worst?;
    let shown = if project == "." { "(root)" } else { project };
    d.reasons = d
        .reasons
        .into_iter()
        .map(|r| format!("project {shown}: {r}"))
        .collect();
    d.findings_digest = findings_digest(report);
    Some((d, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Gate, GateReport, Level, Severity};

    #[test]
    fn the_worst_project_decides() {
        let mut bad = Finding::new(Gate::Rego, "R1", Level::Failure, Severity::High, "no");
        bad.project = Some("payments".into());
        let mut report = CheckReport::new(vec![GateReport::new(Gate::Rego, 2, vec![bad])]);
        report.projects = vec![".".into(), "payments".into()];
        let (d, _) = evaluate_projects(&report, &|_| DecisionConfig::default()).unwrap();
        assert_ne!(d.proposed, DecisionKind::Approve);
        assert!(
            d.reasons[0].starts_with("project payments: "),
            "{:?}",
            d.reasons
        );
        assert_eq!(d.findings_digest, findings_digest(&report));
        // A project-less report has no per-project decision.
        assert!(
            evaluate_projects(&CheckReport::new(vec![]), &|_| DecisionConfig::default()).is_none()
        );
    }
}
