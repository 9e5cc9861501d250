//! Several projects in one repository: every folder holding a `.thothcf.toml` is a project
//! with its own structure, drift and decision config and governance selectors, and every file
//! belongs to the nearest project above it (the repository root is the project `.`). Each
//! project is checked on its own and the reports are merged, findings tagged with their
//! project and their paths made relative to the repository again.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::{CheckOptions, run_check};
use crate::finding::{CheckReport, GateReport};
use crate::gates::structure::PROJECT_FILE;
use crate::workspace::DEFAULT_IGNORE_FOLDERS;

/// Projects below the root at most; a repository with more is judged by the first ones found
/// and says so (each project is a full gate run).
pub const MAX_PROJECTS: usize = 50;
/// Folder depth searched for `.thothcf.toml`.
const MAX_DEPTH: usize = 8;
/// Folders visited at most while searching (the tree is hostile).
const MAX_DIRS: usize = 20_000;

/// The name of the repository root as a project.
pub const ROOT: &str = ".";

/// Folders below `root` that hold a `.thothcf.toml` (`/`-separated, sorted), without the root
/// itself. Symlinks are not followed; ignored and hidden folders are not searched.
pub fn discover(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut visited = 0;
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        visited += 1;
        if visited > MAX_DIRS || found.len() > MAX_PROJECTS {
            break;
        }
        if !rel.is_empty() && dir.join(PROJECT_FILE).is_file() {
            found.push(rel.clone());
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let Ok(kind) = e.file_type() else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            if !kind.is_dir()
                || name.starts_with('.')
                || name == "policy"
                || DEFAULT_IGNORE_FOLDERS.contains(&name.as_str())
            {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            stack.push((e.path(), child, depth + 1));
        }
    }
    found.sort();
    found
}

/// Runs each project of `projects` (and the root) with `opts`, and merges the reports.
pub(super) fn run_projects(opts: &CheckOptions, projects: &[String]) -> CheckReport {
    let mut all: Vec<String> = vec![ROOT.to_string()];
    all.extend(projects.iter().take(MAX_PROJECTS).cloned());
    let mut gates: Vec<GateReport> = Vec::new();
    let mut ran = Vec::new();
    for project in &all {
        let sub = |base: &Path| {
            if project == ROOT {
                base.to_path_buf()
            } else {
                base.join(project)
            }
        };
        let mut o = opts.clone();
        o.recursive = false;
        o.project_dir = sub(&opts.project_dir);
        o.config_dir = opts.config_dir.as_deref().map(sub);
        o.repo_root = Some(
            opts.repo_root
                .clone()
                .unwrap_or_else(|| opts.config_dir().to_path_buf()),
        );
        // A nested project's files are its own, not its parent's.
        o.exclude.extend(nested_in(project, &all));
        if !o.project_dir.is_dir() {
            // Deleted by the pull request: nothing of it is left to judge.
            continue;
        }
        let mut report = run_check(&o);
        for g in &mut report.gates {
            for f in &mut g.findings {
                f.project = Some(project.clone());
                if project != ROOT
                    && let Some(file) = &f.file
                {
                    f.file = Some(format!("{project}/{file}"));
                }
            }
        }
        merge(&mut gates, report.gates);
        ran.push(project.clone());
    }
    let mut report = CheckReport::new(gates);
    report.projects = ran;
    report
}

/// The projects inside `project`, relative to it.
fn nested_in(project: &str, all: &[String]) -> Vec<String> {
    all.iter()
        .filter(|p| p.as_str() != project && p.as_str() != ROOT)
        .filter_map(|p| {
            if project == ROOT {
                Some(p.clone())
            } else {
                p.strip_prefix(&format!("{project}/")).map(String::from)
            }
        })
        .collect()
}

/// Adds one project's gate reports to the merged ones, gate by gate.
fn merge(into: &mut Vec<GateReport>, from: Vec<GateReport>) {
    for g in from {
        match into.iter_mut().find(|m| m.gate == g.gate) {
            Some(m) => {
                m.checked += g.checked;
                m.passed &= g.passed;
                m.findings.extend(g.findings);
                let names: BTreeSet<String> = m.namespaces.drain(..).chain(g.namespaces).collect();
                m.namespaces = names.into_iter().collect();
                for s in g.policy_sets {
                    if !m.policy_sets.contains(&s) {
                        m.policy_sets.push(s);
                    }
                }
                for c in g.config_files {
                    if !m.config_files.contains(&c) {
                        m.config_files.push(c);
                    }
                }
            }
            None => into.push(g),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_folders_with_a_thothcf_toml() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["a", "b/c", "b/c/d", ".hidden/x", "policy/y", "e"] {
            fs::create_dir_all(dir.path().join(p)).unwrap();
        }
        for p in ["a", "b/c", "b/c/d", ".hidden/x", "policy/y"] {
            fs::write(dir.path().join(p).join(PROJECT_FILE), "").unwrap();
        }
        fs::write(dir.path().join(PROJECT_FILE), "").unwrap();
        assert_eq!(discover(dir.path()), ["a", "b/c", "b/c/d"]);
        let all: Vec<String> = [ROOT, "a", "b/c", "b/c/d"].map(String::from).to_vec();
        assert_eq!(nested_in(ROOT, &all), ["a", "b/c", "b/c/d"]);
        assert_eq!(nested_in("b/c", &all), ["d"]);
        assert!(nested_in("a", &all).is_empty());
    }
}
