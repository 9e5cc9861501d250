//! Picks the org policy folders a project's `[thothcf.governance]` selectors ask for.
//!
//! Org policy repository layout (design.md §2.1, ThothCTL's org policy template), in resolution
//! order: `shared/policy` (always), then `layers/<layer>/policy`, `workloads/<workload>/policy`,
//! `domains/<domain>/policy` and `compliance/<name>/policy` when selected. A repository with
//! none of those top-level folders is one flat policy folder.

use std::path::{Path, PathBuf};

use super::config::Governance;
use super::rule_ids;
use crate::finding::{Finding, Gate};

/// The top-level folders of the org layout; none present means a flat org policy folder.
pub const LAYOUT_FOLDERS: [&str; 5] = ["shared", "domains", "workloads", "layers", "compliance"];

impl Governance {
    /// The org policy folders this project's selectors pick under `org_root`, plus an `Error`
    /// finding for each selected folder that does not exist. That fails closed: a misspelt
    /// `domain` must not silently disable the domain's policies.
    pub fn org_policy_dirs(&self, org_root: &Path) -> (Vec<PathBuf>, Vec<Finding>) {
        let (levels, findings) = self.org_policy_levels(org_root);
        (levels.into_iter().map(|(_, d)| d).collect(), findings)
    }

    /// Like [`Governance::org_policy_dirs`], each folder with the selector that picked it
    /// (`shared`, `layer=network`, `compliance=pci`; `repository` for a flat org folder).
    pub fn org_policy_levels(&self, org_root: &Path) -> (Vec<(String, PathBuf)>, Vec<Finding>) {
        if !LAYOUT_FOLDERS.iter().any(|d| org_root.join(d).is_dir()) {
            return (
                vec![("repository".to_string(), org_root.to_path_buf())],
                Vec::new(),
            );
        }
        let mut dirs: Vec<(String, PathBuf)> = Vec::new();
        let mut findings = Vec::new();
        let shared = org_root.join("shared").join("policy");
        if shared.is_dir() {
            dirs.push(("shared".to_string(), shared));
        }
        for (key, folder, value) in self.selections() {
            if !is_plain_name(value) {
                findings.push(Finding::error(
                    Gate::Structure,
                    rule_ids::GOVERNANCE,
                    format!(
                        "[thothcf.governance] {key} = `{value}` is not a plain folder name \
                         (no `/`, `..` or empty names), so no org policies were selected for it"
                    ),
                ));
                continue;
            }
            let dir = org_root.join(folder).join(value).join("policy");
            if !dir.is_dir() {
                findings.push(Finding::error(
                    Gate::Structure,
                    rule_ids::GOVERNANCE,
                    format!(
                        "[thothcf.governance] {key} = `{value}` selects `{folder}/{value}/policy`, \
                         which does not exist in the org policy repository"
                    ),
                ));
            } else if !dirs.iter().any(|(_, d)| *d == dir) {
                dirs.push((format!("{key}={value}"), dir));
            }
        }
        (dirs, findings)
    }

    /// `(selector key, layout folder, value)` for every selector set, in resolution order.
    fn selections(&self) -> Vec<(&'static str, &'static str, &str)> {
        let mut out = Vec::new();
        if let Some(l) = &self.layer {
            out.push(("layer", "layers", l.as_str()));
        }
        if let Some(w) = &self.workload {
            out.push(("workload", "workloads", w.as_str()));
        }
        if let Some(d) = &self.domain {
            out.push(("domain", "domains", d.as_str()));
        }
        for c in &self.compliance {
            out.push(("compliance", "compliance", c.as_str()));
        }
        out
    }
}

/// A selector value is one folder name: joining it must not leave its layout folder.
fn is_plain_name(value: &str) -> bool {
    !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains('/')
        && !value.contains('\\')
}
