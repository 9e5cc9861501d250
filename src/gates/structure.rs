//! Structure gate: checks that a project has the root files, folders and module files its
//! `.thothcf.toml` `[project_structure]` asks for (design.md §2.1).
//!
//! Loading and merging the org / space / project configs lives in `config.rs`; picking org policy
//! folders from `[thothcf.governance]` lives in `governance.rs`. This file holds the check itself.
//!
//! Findings (all `Gate::Structure`, `line` = None, `file` = the missing path):
//!
//! | rule_id                    | when                                    | level   | severity |
//! |----------------------------|-----------------------------------------|---------|----------|
//! | `structure.root-file`      | a `root_files` entry is missing          | failure | high     |
//! | `structure.folder`         | a mandatory folder is missing            | failure | medium   |
//! | `structure.folder`         | an optional folder is missing            | info    | info     |
//! | `structure.content`        | a module folder lacks a `content` file   | failure | medium (info/info for optional folders) |
//! | `structure.config`         | a folder's parent chain is a cycle       | error   | high     |
//! | `structure.not-configured` | no `[project_structure]` anywhere        | info    | info     |
//!
//! Missing root files are `high`: they are the files every project of the org is promised to have
//! (README, `.gitignore`, the config itself), so their absence is worse than a missing folder.

mod config;
mod governance;
mod keys;
mod locked;
#[cfg(test)]
mod tests;

use std::fs;

use crate::finding::{Finding, Gate, GateReport, Level, Severity};
use crate::workspace::Workspace;

pub use config::{
    FolderRule, FolderType, Governance, PROJECT_FILE, ProjectStructure, StructureConfig,
    StructureConfigError, load_config,
};

/// Rule ids of the findings this gate produces.
pub mod rule_ids {
    pub const ROOT_FILE: &str = "structure.root-file";
    pub const FOLDER: &str = "structure.folder";
    pub const CONTENT: &str = "structure.content";
    pub const CONFIG: &str = "structure.config";
    pub const NOT_CONFIGURED: &str = "structure.not-configured";
    pub const GOVERNANCE: &str = "structure.governance";
    pub const UNKNOWN_KEY: &str = "structure.unknown-key";
}

/// Checks the workspace against the effective `[project_structure]`.
///
/// `checked` is the number of configured rules evaluated: one per root file plus one per folder
/// rule (a folder's `content` checks belong to its folder rule).
pub fn run(ws: &Workspace, cfg: &StructureConfig) -> GateReport {
    let Some(ps) = &cfg.structure else {
        let finding = Finding::new(
            Gate::Structure,
            rule_ids::NOT_CONFIGURED,
            Level::Info,
            Severity::Info,
            "no project structure is configured: no [project_structure] in the org, space or \
             project config, so nothing was checked",
        );
        let mut findings = cfg.warnings.clone();
        findings.push(finding);
        return GateReport::new(Gate::Structure, 0, findings);
    };
    let ignore = cfg.ignore_folders();
    let mut findings = cfg.warnings.clone();

    for name in &ps.root_files {
        let name = normalize(name);
        if !root_entry_exists(ws, name, &ignore) {
            findings.push(
                Finding::new(
                    Gate::Structure,
                    rule_ids::ROOT_FILE,
                    Level::Failure,
                    Severity::High,
                    format!("required root file `{name}` is missing from the project root"),
                )
                .at(name, None),
            );
        }
    }

    for (index, rule) in ps.folders.iter().enumerate() {
        let path = match resolve_path(&ps.folders, index) {
            Ok(path) => path,
            Err(message) => {
                findings.push(Finding::error(Gate::Structure, rule_ids::CONFIG, message));
                continue;
            }
        };
        if !dir_exists(ws, &path, &ignore) {
            findings.push(missing_folder(rule, &path));
            continue;
        }
        // An ignored folder is never walked, so its content cannot be judged.
        if !is_ignored(&path, &ignore) {
            check_content(ws, rule, &path, &ignore, &mut findings);
        }
    }

    GateReport::new(
        Gate::Structure,
        ps.root_files.len() + ps.folders.len(),
        findings,
    )
}

fn missing_folder(rule: &FolderRule, path: &str) -> Finding {
    let finding = if rule.mandatory {
        Finding::new(
            Gate::Structure,
            rule_ids::FOLDER,
            Level::Failure,
            Severity::Medium,
            format!("mandatory folder `{path}` is missing"),
        )
    } else {
        Finding::new(
            Gate::Structure,
            rule_ids::FOLDER,
            Level::Info,
            Severity::Info,
            format!("optional folder `{path}` is not present"),
        )
    };
    finding.at(path, None)
}

/// `content` applies to the folder itself when it holds any `.tf` file, and to every folder below
/// it that holds any of the listed files: such a folder must hold all of them.
fn check_content(
    ws: &Workspace,
    rule: &FolderRule,
    path: &str,
    ignore: &[String],
    findings: &mut Vec<Finding>,
) {
    if rule.content.is_empty() {
        return;
    }
    let mut targets = Vec::new();
    if holds_tf_file(ws, path) {
        targets.push(path.to_string());
    }
    let prefix = format!("{path}/");
    for dir in ws.dirs().range(prefix.clone()..) {
        if !dir.starts_with(&prefix) {
            break;
        }
        if is_ignored(dir, ignore) {
            continue;
        }
        if rule
            .content
            .iter()
            .any(|c| ws.file(&join(dir, normalize(c))).is_some())
        {
            targets.push(dir.clone());
        }
    }
    let (level, severity) = if rule.mandatory {
        (Level::Failure, Severity::Medium)
    } else {
        (Level::Info, Severity::Info)
    };
    let listed = rule.content.join(", ");
    for dir in targets {
        for file in &rule.content {
            let rel = join(&dir, normalize(file));
            if ws.file(&rel).is_some() {
                continue;
            }
            findings.push(
                Finding::new(
                    Gate::Structure,
                    rule_ids::CONTENT,
                    level,
                    severity,
                    format!(
                        "`{dir}` is missing `{file}`: folders under `{path}` that hold any of \
                         {listed} must hold all of them"
                    ),
                )
                .at(rel, None),
            );
        }
    }
}

/// Whether `dir` directly holds a `.tf` file.
fn holds_tf_file(ws: &Workspace, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    ws.files().iter().any(|f| {
        f.rel
            .strip_prefix(&prefix)
            .is_some_and(|name| !name.contains('/') && name.ends_with(".tf"))
    })
}

/// A root entry may be a file or a folder (ThothCTL templates list `.git`).
fn root_entry_exists(ws: &Workspace, name: &str, ignore: &[String]) -> bool {
    ws.file(name).is_some() || dir_exists(ws, name, ignore)
}

/// Whether a folder exists. An ignored folder is never walked, so it is looked up on disk,
/// without following a symlink at its last component.
fn dir_exists(ws: &Workspace, path: &str, ignore: &[String]) -> bool {
    if path.is_empty() || has_parent_component(path) {
        return false;
    }
    if is_ignored(path, ignore) {
        return fs::symlink_metadata(ws.root().join(path)).is_ok_and(|m| m.is_dir());
    }
    ws.has_dir(path)
}

/// The folder rule's path relative to the root: a child folder's `parent` names another folder
/// rule (resolved recursively, so `complete` under `examples` under `modules` is
/// `modules/examples/complete`) or, when no rule has that name, a literal relative path.
pub(crate) fn resolve_path(folders: &[FolderRule], index: usize) -> Result<String, String> {
    let mut parts = Vec::new();
    let mut seen = vec![index];
    let mut current = index;
    loop {
        let rule = &folders[current];
        parts.push(normalize(&rule.name));
        if rule.r#type == FolderType::Root {
            break;
        }
        let Some(parent) = rule.parent.as_deref().map(normalize) else {
            return Err(format!(
                "folder `{}` has type = \"child\" but no `parent`",
                rule.name
            ));
        };
        match folders.iter().position(|f| normalize(&f.name) == parent) {
            Some(next) if next != current => {
                if seen.contains(&next) {
                    return Err(format!(
                        "folder `{}` has a parent chain that loops back to itself",
                        folders[index].name
                    ));
                }
                seen.push(next);
                current = next;
            }
            _ => {
                parts.push(parent);
                break;
            }
        }
    }
    parts.reverse();
    Ok(parts.join("/"))
}

/// Whether a relative folder path is inside (or is) an ignored folder: an entry matches a path
/// component by name or a leading part of the path, like the workspace walk does.
fn is_ignored(path: &str, ignore: &[String]) -> bool {
    let mut prefix_end = 0;
    for component in path.split('/') {
        prefix_end += component.len();
        let prefix = &path[..prefix_end];
        if ignore
            .iter()
            .any(|i| normalize(i) == component || normalize(i) == prefix)
        {
            return true;
        }
        prefix_end += 1;
    }
    false
}

/// Trims `./` and trailing `/` so `./modules/` and `modules` name the same folder.
pub(crate) fn normalize(path: &str) -> &str {
    let path = path.trim();
    let path = path.strip_prefix("./").unwrap_or(path);
    path.trim_end_matches('/')
}

pub(crate) fn has_parent_component(path: &str) -> bool {
    path.split('/').any(|c| c == "..")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
