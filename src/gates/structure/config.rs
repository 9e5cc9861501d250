//! Reads `.thothcf.toml` / `.thothcf_project.toml` at the org, space and project levels and
//! merges them into the one [`StructureConfig`] the structure gate checks against.
//!
//! Merge rules (design.md §2.1):
//! - `[project_structure]`: the most specific level that has one (project > space > org) replaces
//!   the others whole. When the org's section says `locked = true`, the org's mandatory root files
//!   and mandatory folders are put back (a lower level may add to them, not remove or relax them).
//! - `[thothcf.governance]`: `domain`, `workload` and `layer` come from the most specific level
//!   that sets them; `compliance` is the union of all levels, so a lower level cannot drop a
//!   compliance policy set chosen above it.
//!
//! Only `[project_structure]` and `[thothcf.governance]` are read; ThothCTL writes many other
//! sections into the same file and those are ignored. Inside the two sections, descriptive keys
//! (`description`, `owner`, ...) are accepted, an unknown key close to a known one is an error
//! with a suggestion (a misspelt `mandatory` must not silently turn a rule off), and any other
//! unknown key is a warning (see [`super::keys`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use super::locked::enforce_locked;
use super::{has_parent_component, keys, normalize};
use crate::finding::{Finding, Gate, Level, Severity};
use crate::workspace::{DEFAULT_IGNORE_FOLDERS, WorkspaceError, read_bounded};

/// The project-level file, also the org-level file inside the org directory.
pub const PROJECT_FILE: &str = ".thothcf.toml";
/// The space-level file, in the project directory or one of its ancestors.
pub const SPACE_FILE: &str = ".thothcf_project.toml";
/// Config files larger than this are refused rather than parsed.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// `[project_structure]`: what a project must contain. Unknown keys are found by
/// [`super::keys`] before this is deserialized.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ProjectStructure {
    /// Files (or folders) that must exist at the project root.
    #[serde(default)]
    pub root_files: Vec<String>,
    /// Folder names or relative paths never walked; `None` means
    /// [`DEFAULT_IGNORE_FOLDERS`].
    #[serde(default)]
    pub ignore_folders: Option<Vec<String>>,
    /// Folder rules, `[[project_structure.folders]]`.
    #[serde(default)]
    pub folders: Vec<FolderRule>,
    /// Org level only: the org's mandatory root files and folders cannot be removed below it.
    #[serde(default)]
    pub locked: bool,
}

/// One `[[project_structure.folders]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FolderRule {
    /// Folder path relative to the root, or relative to `parent` for a child folder.
    pub name: String,
    /// Missing => failure when true (the default), an info finding when false.
    #[serde(default = "default_true")]
    pub mandatory: bool,
    /// `root` (default): at the project root; `child`: inside `parent`.
    #[serde(default)]
    pub r#type: FolderType,
    /// For `type = "child"`: the name of another folder rule, or a relative folder path.
    #[serde(default)]
    pub parent: Option<String>,
    /// Files every module folder under this folder must hold (see the gate's docs).
    #[serde(default)]
    pub content: Vec<String>,
}

/// Where a folder rule's folder lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FolderType {
    /// At the project root.
    #[default]
    Root,
    /// Inside the folder named by `parent`.
    Child,
}

/// `[thothcf.governance]`: selectors that pick org policy folders.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Governance {
    /// Selects `domains/<domain>/policy`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Selects `workloads/<workload>/policy`.
    #[serde(default)]
    pub workload: Option<String>,
    /// Selects `layers/<layer>/policy`.
    #[serde(default)]
    pub layer: Option<String>,
    /// Selects `compliance/<name>/policy` for each name.
    #[serde(default)]
    pub compliance: Vec<String>,
}

/// The merged configuration of one project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructureConfig {
    /// The effective `[project_structure]`; `None` when no level has one.
    pub structure: Option<ProjectStructure>,
    /// The merged governance selectors.
    pub governance: Governance,
    /// The files read, from least to most specific.
    pub sources: Vec<PathBuf>,
    /// Unknown keys that were ignored: structure-gate warnings naming file and line.
    pub warnings: Vec<Finding>,
    /// `[thothcf] builtin_policies` of the most specific level that sets it (`false`: the
    /// built-in library does not run).
    pub builtin_policies: Option<bool>,
}

impl StructureConfig {
    /// Folders never walked: the configured list, else [`DEFAULT_IGNORE_FOLDERS`].
    pub fn ignore_folders(&self) -> Vec<String> {
        self.structure
            .as_ref()
            .and_then(|s| s.ignore_folders.clone())
            .unwrap_or_else(|| {
                DEFAULT_IGNORE_FOLDERS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
    }
}

/// Why a structure config could not be loaded. Every variant names the file.
#[derive(Debug, Error)]
pub enum StructureConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: WorkspaceError,
    },
    #[error("{} is a symlink that points outside {}", path.display(), root.display())]
    Escapes { path: PathBuf, root: PathBuf },
    #[error("{}{}: TOML syntax error: {message}", path.display(), at_line(*line))]
    Syntax {
        path: PathBuf,
        /// 1-based line of the error, when the parser knows it.
        line: Option<usize>,
        message: String,
    },
    /// Unknown keys and wrong value types inside the sections we own.
    #[error("{}{}: {message}", path.display(), at_line(*line))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A well-formed value that makes no sense (a child folder without a parent, ...).
    #[error("{}: {key}: {message}", path.display())]
    Rule {
        path: PathBuf,
        /// Where in the file, e.g. `project_structure.folders[1].parent`.
        key: String,
        message: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// The parts of a ThothCTL config file this gate reads; everything else is ignored.
#[derive(Debug, Default, Deserialize)]
struct RawFile {
    /// Warnings of the unknown-key scan (not part of the file's schema).
    #[serde(skip)]
    warnings: Vec<Finding>,
    /// `[project_structure]`.
    #[serde(default)]
    project_structure: Option<ProjectStructure>,
    /// `[thothcf]`; only its `governance` table is ours.
    #[serde(default)]
    thothcf: Option<RawThothcf>,
}

impl RawFile {
    /// `[thothcf.governance] domain`, when this file sets it.
    fn domain(&self) -> Option<&str> {
        self.thothcf
            .as_ref()?
            .governance
            .as_ref()?
            .domain
            .as_deref()
    }
}

/// `[thothcf]`: ThothCTL keeps its own keys here too, so unknown keys are allowed.
#[derive(Debug, Default, Deserialize)]
struct RawThothcf {
    /// `[thothcf.governance]`.
    #[serde(default)]
    governance: Option<Governance>,
    /// Whether the built-in policy library runs (default `true`).
    #[serde(default)]
    builtin_policies: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigLevel {
    Org,
    Space,
    Project,
}

/// Loads and merges the org, space and project configs of the project at `project_dir`.
///
/// - org: `<org_dir>/.thothcf.toml`, when `org_dir` is given;
/// - space: `.thothcf_project.toml` in `project_dir` or its nearest ancestor up to and including
///   `stop_at` (the repository root); only `project_dir` itself when `stop_at` is `None` or not
///   an ancestor of it;
/// - project: `<project_dir>/.thothcf.toml`.
///
/// Missing files are skipped. Symlinked config files must stay inside their directory (the org
/// dir, else `stop_at` or `project_dir`), so a config cannot make the bot read, and echo in an
/// error, a file outside the checkout.
pub fn load_config(
    project_dir: &Path,
    stop_at: Option<&Path>,
    org_dir: Option<&Path>,
) -> Result<StructureConfig, StructureConfigError> {
    let repo_root = stop_at.unwrap_or(project_dir);
    let mut candidates = Vec::new();
    if let Some(org) = org_dir {
        candidates.push((ConfigLevel::Org, org.join(PROJECT_FILE), org));
    }
    if let Some(space) = find_space_file(project_dir, stop_at) {
        candidates.push((ConfigLevel::Space, space, repo_root));
    }
    candidates.push((
        ConfigLevel::Project,
        project_dir.join(PROJECT_FILE),
        repo_root,
    ));

    let mut layers = Vec::new();
    for (level, path, root) in candidates {
        if layers.iter().any(|(_, p, _): &(_, PathBuf, _)| *p == path) {
            continue;
        }
        if let Some(raw) = read_file(&path, root)? {
            validate(&path, level, &raw)?;
            layers.push((level, path, raw));
        }
    }
    // The selected domain's `.thothcf.toml` (ThothCTL's template keeps structure rules for a
    // domain's projects there) applies between the org's and the space's.
    if let Some(org) = org_dir {
        let domain = layers
            .iter()
            .rev()
            .find_map(|(_, _, raw)| raw.domain().map(str::to_string));
        if let Some(d) = domain.filter(|d| is_plain_name(d)) {
            let path = org.join("domains").join(&d).join(PROJECT_FILE);
            if let Some(raw) = read_file(&path, org)? {
                validate(&path, ConfigLevel::Space, &raw)?;
                let at = layers
                    .iter()
                    .position(|(l, _, _)| *l != ConfigLevel::Org)
                    .unwrap_or(layers.len());
                layers.insert(at, (ConfigLevel::Space, path, raw));
            }
        }
    }
    Ok(merge(layers))
}

/// A governance selector is one folder name.
fn is_plain_name(value: &str) -> bool {
    !value.is_empty() && value != "." && value != ".." && !value.contains(['/', '\\'])
}

/// The nearest `.thothcf_project.toml` from `project_dir` up to and including `stop_at`.
fn find_space_file(project_dir: &Path, stop_at: Option<&Path>) -> Option<PathBuf> {
    let here = project_dir.join(SPACE_FILE);
    let Some(stop) = stop_at else {
        return here.is_file().then_some(here);
    };
    let (dir, stop) = match (project_dir.canonicalize(), stop.canonicalize()) {
        (Ok(d), Ok(s)) => (d, s),
        _ => (project_dir.to_path_buf(), stop.to_path_buf()),
    };
    if !dir.starts_with(&stop) {
        return here.is_file().then_some(here);
    }
    dir.ancestors()
        .take_while(|a| a.starts_with(&stop))
        .map(|a| a.join(SPACE_FILE))
        .find(|p| p.is_file())
}

/// Reads and parses one config file; `Ok(None)` when it does not exist.
fn read_file(path: &Path, root: &Path) -> Result<Option<RawFile>, StructureConfigError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(None);
    };
    if meta.file_type().is_symlink() {
        let inside = match (path.canonicalize(), root.canonicalize()) {
            (Ok(target), Ok(root)) => target.starts_with(root),
            _ => false,
        };
        if !inside {
            return Err(StructureConfigError::Escapes {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
            });
        }
    }
    let text =
        read_bounded(path, &path.display().to_string(), MAX_CONFIG_BYTES).map_err(|source| {
            StructureConfigError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
    parse_text(path, &text).map(Some)
}

/// Parses a config file's text. Syntax errors are told apart from schema errors by parsing
/// twice; the files are small.
fn parse_text(path: &Path, text: &str) -> Result<RawFile, StructureConfigError> {
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| StructureConfigError::Syntax {
                path: path.to_path_buf(),
                line: line_of(text, e.span()),
                message: one_line(e.message()),
            })?;
    let keys = keys::scan(&table, text);
    if let Some((key, suggestion, line)) = keys.typo {
        return Err(StructureConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message: format!("{key}, did you mean `{suggestion}`?"),
        });
    }
    // The message, never the error's own Display: that quotes the offending source line.
    let mut raw = toml::from_str::<RawFile>(text).map_err(|e| StructureConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, e.span()),
        message: one_line(e.message()),
    })?;
    raw.warnings = keys
        .warnings
        .into_iter()
        .map(|(message, line)| {
            Finding::new(
                Gate::Structure,
                super::rule_ids::UNKNOWN_KEY,
                Level::Warning,
                Severity::Low,
                format!("{}{}: {message}", path.display(), at_line(line)),
            )
            .at(path.display().to_string(), line.map(|l| l as u32))
        })
        .collect();
    Ok(raw)
}

/// Parser messages may span lines ("invalid array\nexpected `]`"); findings show one.
fn one_line(message: &str) -> String {
    message.trim().replace('\n', "; ")
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> Option<usize> {
    let start = span?.start.min(text.len());
    Some(
        text.as_bytes()[..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
    )
}

/// Checks what serde cannot: paths stay inside the project, child folders name a parent,
/// `locked` only at org level.
fn validate(path: &Path, level: ConfigLevel, raw: &RawFile) -> Result<(), StructureConfigError> {
    let err = |key: String, message: &str| StructureConfigError::Rule {
        path: path.to_path_buf(),
        key,
        message: message.to_string(),
    };
    let Some(ps) = &raw.project_structure else {
        return Ok(());
    };
    if ps.locked && level != ConfigLevel::Org {
        return Err(err(
            "project_structure.locked".into(),
            "`locked` is only honoured in the org-level .thothcf.toml",
        ));
    }
    for (i, name) in ps.root_files.iter().enumerate() {
        if !is_relative_path(name) {
            return Err(err(
                format!("project_structure.root_files[{i}]"),
                "must be a non-empty path relative to the project root, without `..`",
            ));
        }
    }
    for (i, folder) in ps.folders.iter().enumerate() {
        let key = |field: &str| format!("project_structure.folders[{i}].{field}");
        if !is_relative_path(&folder.name) {
            return Err(err(
                key("name"),
                "must be a non-empty relative path without `..`",
            ));
        }
        match (folder.r#type, &folder.parent) {
            (FolderType::Child, None) => {
                return Err(err(key("parent"), "type = \"child\" needs a `parent`"));
            }
            (FolderType::Root, Some(_)) => {
                return Err(err(
                    key("parent"),
                    "`parent` is only meaningful with type = \"child\"",
                ));
            }
            (_, Some(parent)) if !is_relative_path(parent) => {
                return Err(err(
                    key("parent"),
                    "must be a non-empty relative path without `..`",
                ));
            }
            _ => {}
        }
        if let Some(j) = folder.content.iter().position(|c| !is_relative_path(c)) {
            return Err(err(
                format!("project_structure.folders[{i}].content[{j}]"),
                "must be a non-empty relative path without `..`",
            ));
        }
    }
    Ok(())
}

fn is_relative_path(p: &str) -> bool {
    let p = normalize(p);
    !p.is_empty() && !p.starts_with('/') && !p.contains('\\') && !has_parent_component(p)
}

fn merge(layers: Vec<(ConfigLevel, PathBuf, RawFile)>) -> StructureConfig {
    let mut cfg = StructureConfig::default();
    let mut org_structure = None;
    for (level, path, mut raw) in layers {
        cfg.sources.push(path);
        cfg.warnings.append(&mut raw.warnings);
        if let Some(ps) = raw.project_structure {
            if level == ConfigLevel::Org {
                org_structure = Some(ps.clone());
            }
            cfg.structure = Some(ps);
        }
        let thothcf = raw.thothcf.unwrap_or_default();
        if thothcf.builtin_policies.is_some() {
            cfg.builtin_policies = thothcf.builtin_policies;
        }
        if let Some(gov) = thothcf.governance {
            let merged = &mut cfg.governance;
            merged.domain = gov.domain.or(merged.domain.take());
            merged.workload = gov.workload.or(merged.workload.take());
            merged.layer = gov.layer.or(merged.layer.take());
            for c in gov.compliance {
                if !merged.compliance.contains(&c) {
                    merged.compliance.push(c);
                }
            }
        }
    }
    if let (Some(org), Some(effective)) = (org_structure, cfg.structure.as_mut())
        && org.locked
    {
        enforce_locked(effective, &org);
    }
    cfg
}

fn default_true() -> bool {
    true
}
