//! Deterministic fix suggestions: the 13 fix patterns of ThothCTL's `ai-review improve`, which
//! need no model, as text edits of the `.tf` files the built-in rules flagged.
//!
//! [`suggest`] takes a project and its [`CheckReport`] and returns [`Fix`] values: which lines of
//! which file to replace with what, for which rule. [`apply`] writes them, after keeping each
//! touched file's original under a backup folder. `thoth-bot fix DIR [--apply]` is the command
//! line; the worker can offer the same fixes on a pull request.
//!
//! Everything here reads files a pull request wrote: paths are confined to the project (no `..`,
//! no absolute paths, no symlinks), files are read within the workspace's byte limit and parsed
//! within the gates' nesting limit, and the number of fixes is capped.

mod apply;
mod outline;
mod patterns;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::CheckReport;
use crate::workspace::{Limits, read_bounded};

pub use apply::{Applied, Refused, apply, new_backup_dir, render_applied, render_preview};
pub use patterns::{PATTERNS, Pattern};

/// Where `thoth-bot fix --apply` keeps originals, relative to the project: one folder per run
/// (`<timestamp>/<relative path>`). The walker never judges it (see `DEFAULT_IGNORE_FOLDERS`).
pub const BACKUPS_DIR: &str = ".thothctl/fix_backups";

/// At most this many fixes per run: a repository with thousands of findings gets a bounded
/// answer (the first fixes in file order) rather than an unbounded one.
pub const MAX_FIXES: usize = 500;

/// At most this many `.tf` files of one folder are scanned for the names a fix must not reuse
/// (resources it adds, variables it declares).
const MAX_INDEXED_FILES: usize = 500;

/// One suggested edit: replace lines `start_line..=end_line` of `file` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    /// First line replaced (1-based).
    pub start_line: u32,
    /// Last line replaced (1-based, inclusive).
    pub end_line: u32,
    /// The text of those lines when the fix was made (joined with `\n`): [`apply`] refuses a fix
    /// whose lines have changed since.
    pub original: String,
    /// What replaces them (lines joined with `\n`, no final newline).
    pub replacement: String,
    /// The rule the fix answers (`THOTH-AWS-RDS-001`).
    pub rule_id: String,
    /// What the fix does, in a few words.
    pub title: String,
    /// The resource it changes (`aws_db_instance.orders`).
    pub resource: String,
}

/// Why a fix's file cannot be touched.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("{0} is not a relative path inside the project")]
    OutsideProject(String),
    #[error("{0} is a symlink or not a regular file")]
    NotARegularFile(String),
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The fixes for the findings of `report` over `project_dir`, in file and line order, at most
/// [`MAX_FIXES`]. Findings without a pattern, a `.tf` file or a resource are passed over; so is
/// a file that cannot be read or parsed.
pub fn suggest(project_dir: &Path, report: &CheckReport) -> Vec<Fix> {
    let max_bytes = Limits::default().max_file_bytes;
    let mut wanted: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for f in report.findings() {
        let (Some(file), Some(resource)) = (f.file.as_deref(), f.resource.as_deref()) else {
            continue;
        };
        if file.ends_with(".tf") && PATTERNS.iter().any(|p| p.rule_id == f.rule_id) {
            wanted
                .entry(file)
                .or_default()
                .insert((resource, f.rule_id.as_str()));
        }
    }
    let mut dirs: BTreeMap<String, patterns::DirIndex> = BTreeMap::new();
    let mut out: Vec<Fix> = Vec::new();
    'files: for (file, items) in wanted {
        let text = match resolve(project_dir, file)
            .and_then(|p| read_bounded(&p, file, max_bytes).map_err(|e| read_error(file, e)))
        {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(file, error = %e, "no fixes for this file");
                continue;
            }
        };
        let outline = match outline::Outline::parse(&text) {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(file, error = %e, "no fixes for this file");
                continue;
            }
        };
        let dir = parent_of(file);
        let index = dirs
            .entry(dir.clone())
            .or_insert_with(|| patterns::DirIndex::scan(project_dir, &dir, max_bytes));
        // Patterns in table order for each resource, so one resource's fixes read in a fixed order.
        let mut items: Vec<(&str, &str)> = items.into_iter().collect();
        items.sort_by_key(|(res, rule)| (*res, PATTERNS.iter().position(|p| p.rule_id == *rule)));
        for (resource, rule_id) in items {
            for fix in patterns::fixes_for(rule_id, resource, file, &outline, index) {
                let duplicate = out.iter().any(|f| {
                    f.file == fix.file
                        && f.start_line == fix.start_line
                        && f.end_line == fix.end_line
                        && f.replacement == fix.replacement
                });
                if !duplicate {
                    out.push(fix);
                }
                if out.len() >= MAX_FIXES {
                    break 'files;
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.file, a.start_line, a.end_line).cmp(&(&b.file, b.start_line, b.end_line))
    });
    out
}

/// Keeps the fixes of the given rule ids (case-insensitive); an empty list keeps every fix.
pub fn retain_rules(fixes: &mut Vec<Fix>, rule_ids: &[String]) {
    if !rule_ids.is_empty() {
        fixes.retain(|f| rule_ids.iter().any(|r| r.eq_ignore_ascii_case(&f.rule_id)));
    }
}

/// The real path of `rel` inside `project_dir`: a relative path of plain components, to a
/// regular file (not a symlink) whose canonical path is under the canonical project root.
pub(crate) fn resolve(project_dir: &Path, rel: &str) -> Result<PathBuf, FixError> {
    let outside = || FixError::OutsideProject(rel.to_string());
    let path = Path::new(rel);
    if rel.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(outside());
    }
    let root = project_dir.canonicalize().map_err(|e| FixError::Read {
        path: project_dir.display().to_string(),
        message: e.to_string(),
    })?;
    let abs = root.join(path);
    let meta = std::fs::symlink_metadata(&abs).map_err(|e| FixError::Read {
        path: rel.to_string(),
        message: e.to_string(),
    })?;
    if !meta.file_type().is_file() {
        return Err(FixError::NotARegularFile(rel.to_string()));
    }
    // A folder on the way may still be a symlink out of the tree.
    let real = abs.canonicalize().map_err(|_| outside())?;
    if !real.starts_with(&root) {
        return Err(outside());
    }
    Ok(real)
}

fn read_error(file: &str, e: crate::workspace::WorkspaceError) -> FixError {
    FixError::Read {
        path: file.to_string(),
        message: e.to_string(),
    }
}

/// `a/b/main.tf` -> `a/b`, `main.tf` -> ``.
fn parent_of(rel: &str) -> String {
    rel.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}
