//! The changed hunks the model sees: a unified diff of the changed files between the base and
//! head checkouts (libgit2's diff of two buffers), cut at a byte budget with a note of what
//! was left out.

use std::fmt::Write as _;
use std::path::Path;

/// Files larger than this are not diffed (named in the note instead).
const MAX_FILE_BYTES: u64 = 512 * 1024;
/// Changed paths looked at, at most.
const MAX_FILES: usize = 500;

/// The diff of `changed` (paths relative to both roots), at most `max_bytes` long.
pub fn changed_hunks(
    base: Option<&Path>,
    head: &Path,
    changed: &[String],
    max_bytes: usize,
) -> String {
    let mut out = String::new();
    let mut cut: Vec<String> = Vec::new();
    for path in changed.iter().take(MAX_FILES) {
        let old = base.and_then(|b| read(&b.join(path)));
        let new = read(&head.join(path));
        if old.is_none() && new.is_none() {
            cut.push(format!("{path} (binary, too large or not checked out)"));
            continue;
        }
        let mut patch = match git2::Patch::from_buffers(
            old.as_deref().unwrap_or_default(),
            Some(Path::new(path)),
            new.as_deref().unwrap_or_default(),
            Some(Path::new(path)),
            None,
        ) {
            Ok(p) => p,
            Err(_) => {
                cut.push(format!("{path} (could not be diffed)"));
                continue;
            }
        };
        let text = patch
            .to_buf()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string))
            .unwrap_or_default();
        if out.len() + text.len() > max_bytes {
            cut.push(format!("{path} ({} bytes of diff)", text.len()));
            continue;
        }
        out.push_str(&text);
    }
    if changed.len() > MAX_FILES {
        cut.push(format!("{} more changed files", changed.len() - MAX_FILES));
    }
    if !cut.is_empty() {
        let _ = writeln!(
            out,
            "\n[thoth-bot: the diff was cut at {max_bytes} bytes; not shown: {}]",
            cut.join(", ")
        );
    }
    out
}

/// The line ranges (1-based, inclusive) of the hunks of `path` on the head side of the diff
/// from `base` to `head`: the lines a pull request review comment may be placed on. A file
/// that is new (or has no base) is one range over all of it.
pub fn hunk_ranges(base: Option<&Path>, head: &Path, path: &str) -> Vec<(u32, u32)> {
    let Some(new) = read(&head.join(path)) else {
        return Vec::new();
    };
    let old = base.and_then(|b| read(&b.join(path)));
    let Ok(patch) = git2::Patch::from_buffers(
        old.as_deref().unwrap_or_default(),
        Some(Path::new(path)),
        &new,
        Some(Path::new(path)),
        None,
    ) else {
        return Vec::new();
    };
    (0..patch.num_hunks())
        .filter_map(|i| patch.hunk(i).ok())
        .filter(|(h, _)| h.new_lines() > 0)
        .map(|(h, _)| (h.new_start(), h.new_start() + h.new_lines() - 1))
        .collect()
}

/// A text file's bytes, or `None` (missing, a symlink, too large, binary).
fn read(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    (!bytes.contains(&0)).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_of_changed_files_and_a_note_of_what_was_cut() {
        let base = tempfile::tempdir().unwrap();
        let head = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("a.tf"), "x = 1\ny = 2\n").unwrap();
        std::fs::write(head.path().join("a.tf"), "x = 1\ny = 3\n").unwrap();
        std::fs::write(head.path().join("big.tf"), "z = 1\n".repeat(400)).unwrap();
        let changed = vec!["a.tf".to_string(), "big.tf".to_string()];
        let d = changed_hunks(Some(base.path()), head.path(), &changed, 1024);
        assert!(d.contains("-y = 2\n+y = 3\n"), "{d}");
        assert!(d.contains("not shown: big.tf"), "{d}");
        assert!(d.len() < 1400, "{}", d.len());
    }

    #[test]
    fn hunk_ranges_cover_changes_with_their_context() {
        let base = tempfile::tempdir().unwrap();
        let head = tempfile::tempdir().unwrap();
        let old: String = (1..=30).map(|i| format!("l{i}\n")).collect();
        std::fs::write(base.path().join("a.tf"), &old).unwrap();
        std::fs::write(head.path().join("a.tf"), old.replace("l15\n", "changed\n")).unwrap();
        std::fs::write(head.path().join("new.tf"), "a\nb\n").unwrap();
        assert_eq!(
            hunk_ranges(Some(base.path()), head.path(), "a.tf"),
            [(12, 18)]
        );
        assert_eq!(
            hunk_ranges(Some(base.path()), head.path(), "new.tf"),
            [(1, 2)]
        );
        assert!(hunk_ranges(Some(base.path()), head.path(), "gone.tf").is_empty());
    }
}
