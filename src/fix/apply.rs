//! Writing fixes (with a backup of every file first) and showing them as a diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::outline::{Outline, split_lines};
use super::{BACKUPS_DIR, Fix, FixError, resolve};
use crate::workspace::Limits;

/// What [`apply`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// Where the originals of the changed files were saved.
    pub backup_dir: PathBuf,
    /// The fixes written, in file and line order.
    pub applied: Vec<Fix>,
    /// The fixes not written, each with the reason.
    pub refused: Vec<Refused>,
}

impl Applied {
    /// The files changed, in order.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.applied.iter().map(|f| f.file.as_str()).collect();
        files.dedup();
        files
    }
}

/// A fix [`apply`] did not write.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub fix: Fix,
    pub reason: String,
}

/// A new, empty backup folder name for this run: `DIR/.thothctl/fix_backups/<UTC timestamp>`,
/// with a suffix when a run in the same second made one already.
pub fn new_backup_dir(project_dir: &Path) -> PathBuf {
    let base = project_dir.join(BACKUPS_DIR);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut dir = base.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

/// Writes `fixes` into the files of `project_dir`. Before a file changes, its original bytes go
/// to `backup_dir/<relative path>`; a failed backup stops the run before that file is written.
///
/// A fix is refused (and reported in [`Applied::refused`]) when its file is not a regular file
/// inside the project, when its lines no longer read as [`Fix::original`] (the file changed, or
/// another fix of the run already rewrote them), or when the file would no longer parse.
pub fn apply(project_dir: &Path, fixes: &[Fix], backup_dir: &Path) -> Result<Applied, FixError> {
    let mut by_file: BTreeMap<&str, Vec<&Fix>> = BTreeMap::new();
    for f in fixes {
        by_file.entry(f.file.as_str()).or_default().push(f);
    }
    let mut out = Applied {
        backup_dir: backup_dir.to_path_buf(),
        ..Default::default()
    };
    let max_bytes = Limits::default().max_file_bytes;
    for (file, mut file_fixes) in by_file {
        let refuse_all = |out: &mut Applied, fixes: &[&Fix], reason: String| {
            out.refused.extend(fixes.iter().map(|f| Refused {
                fix: (*f).clone(),
                reason: reason.clone(),
            }));
        };
        let path = match resolve(project_dir, file) {
            Ok(p) => p,
            Err(e) => {
                refuse_all(&mut out, &file_fixes, e.to_string());
                continue;
            }
        };
        // Bytes, not lossy text: a file that is not UTF-8 would be corrupted by a rewrite.
        let (original, text) = match read_bytes_bounded(&path, max_bytes) {
            Ok(Some(bytes)) => match String::from_utf8(bytes.clone()) {
                Ok(text) => (bytes, text),
                Err(_) => {
                    refuse_all(&mut out, &file_fixes, format!("{file} is not UTF-8 text"));
                    continue;
                }
            },
            Ok(None) => {
                let reason = format!("{file} is larger than the {max_bytes} byte limit");
                refuse_all(&mut out, &file_fixes, reason);
                continue;
            }
            Err(e) => {
                refuse_all(&mut out, &file_fixes, format!("cannot read {file}: {e}"));
                continue;
            }
        };
        let crlf = text.contains("\r\n");
        let final_newline = text.ends_with('\n');
        let mut lines = split_lines(&text);
        // Bottom-up, so a fix never shifts the lines of the ones still to come. Inserts after the
        // same line keep that line first, so they all still find it; the last of them goes first
        // so that they end up in the file in the order given.
        file_fixes.reverse();
        file_fixes.sort_by_key(|f| std::cmp::Reverse((f.start_line, f.end_line)));
        let mut done = Vec::new();
        for f in file_fixes {
            let (s, e) = (f.start_line as usize, f.end_line as usize);
            let current =
                (s >= 1 && s <= e && e <= lines.len()).then(|| lines[s - 1..e].join("\n"));
            if current.as_deref() != Some(f.original.as_str()) {
                out.refused.push(Refused {
                    fix: f.clone(),
                    reason: format!(
                        "{file}:{}-{} no longer reads as when the fix was made",
                        f.start_line, f.end_line
                    ),
                });
                continue;
            }
            lines.splice(s - 1..e, f.replacement.split('\n').map(str::to_string));
            done.push(f.clone());
        }
        if done.is_empty() {
            continue;
        }
        let mut new_text = lines.join(if crlf { "\r\n" } else { "\n" });
        if final_newline {
            new_text.push_str(if crlf { "\r\n" } else { "\n" });
        }
        if let Err(e) = Outline::parse(&new_text) {
            let reason = format!("{file} would no longer parse ({e})");
            refuse_all(&mut out, &done.iter().collect::<Vec<_>>(), reason);
            continue;
        }
        let backup = backup_dir.join(file);
        let write_err = |p: &Path, source| FixError::Write {
            path: p.display().to_string(),
            source,
        };
        if let Some(parent) = backup.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        std::fs::write(&backup, &original).map_err(|e| write_err(&backup, e))?;
        write_replacing(&path, new_text.as_bytes()).map_err(|e| write_err(&path, e))?;
        done.reverse();
        out.applied.extend(done);
    }
    Ok(out)
}

/// The file's bytes, `None` when it is larger than `limit` (never more than `limit + 1` read).
fn read_bytes_bounded(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

/// Writes through a temporary file in the same folder and a rename, so a crash leaves the old
/// file or the new one, never half of it. The file keeps its permissions.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The fixes as a reviewer reads them: a title line per fix, then a unified-diff-like hunk.
pub fn render_preview(fixes: &[Fix]) -> String {
    let mut out = String::new();
    if fixes.is_empty() {
        out.push_str("no fixes: no finding has a deterministic fix pattern\n");
        return out;
    }
    let files = {
        let mut f: Vec<&str> = fixes.iter().map(|f| f.file.as_str()).collect();
        f.dedup();
        f.len()
    };
    let _ = writeln!(
        out,
        "{} fix{} in {} file{}\n",
        fixes.len(),
        if fixes.len() == 1 { "" } else { "es" },
        files,
        if files == 1 { "" } else { "s" }
    );
    for f in fixes {
        let _ = writeln!(out, "{}  {} ({})", f.rule_id, f.title, f.resource);
        let _ = writeln!(out, "--- {}\n+++ {}", f.file, f.file);
        out.push_str(&hunk(f));
        out.push('\n');
    }
    out.push_str("nothing was written: run again with --apply to write these fixes\n");
    out
}

/// `@@ -start,n +start,m @@` and the lines: unchanged leading and trailing lines as context.
fn hunk(f: &Fix) -> String {
    let old: Vec<&str> = f.original.split('\n').collect();
    let new: Vec<&str> = f.replacement.split('\n').collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = format!(
        "@@ -{},{} +{},{} @@\n",
        f.start_line,
        old.len(),
        f.start_line,
        new.len()
    );
    let mut push = |mark: char, line: &str| {
        let _ = writeln!(out, "{mark}{line}");
    };
    old[..prefix].iter().for_each(|l| push(' ', l));
    old[prefix..old.len() - suffix]
        .iter()
        .for_each(|l| push('-', l));
    new[prefix..new.len() - suffix]
        .iter()
        .for_each(|l| push('+', l));
    old[old.len() - suffix..].iter().for_each(|l| push(' ', l));
    out
}

/// What `fix --apply` says it changed.
pub fn render_applied(applied: &Applied, project_dir: &Path) -> String {
    let mut out = String::new();
    if applied.applied.is_empty() {
        out.push_str("no file changed\n");
    } else {
        let backup = applied
            .backup_dir
            .strip_prefix(project_dir)
            .unwrap_or(&applied.backup_dir);
        let _ = writeln!(
            out,
            "applied {} fix{} to {} file{} (originals in {})",
            applied.applied.len(),
            if applied.applied.len() == 1 { "" } else { "es" },
            applied.files().len(),
            if applied.files().len() == 1 { "" } else { "s" },
            backup.display()
        );
        for f in &applied.applied {
            let _ = writeln!(
                out,
                "  {}:{}  {}  {} ({})",
                f.file, f.start_line, f.rule_id, f.title, f.resource
            );
        }
    }
    for r in &applied.refused {
        let _ = writeln!(
            out,
            "refused {}:{}  {} ({}): {}",
            r.fix.file, r.fix.start_line, r.fix.rule_id, r.fix.resource, r.reason
        );
    }
    out
}
