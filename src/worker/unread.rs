//! Nothing a pull request changes is skipped silently: every changed path the gates did not
//! read (too large to check out, a submodule, a Git LFS pointer, binary where text was expected,
//! or in a folder the walker ignores) becomes a finding. It blocks when the file has an
//! extension the gates read, since the PR could otherwise hide a violation there.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use crate::checkout::MaterializeStats;
use crate::finding::{CheckReport, Finding, Gate, Level, Severity};
use crate::inputs::kind_for;
use crate::workspace::DEFAULT_IGNORE_FOLDERS;

/// Bytes read from a file to recognise an LFS pointer or binary content.
const SNIFF_BYTES: usize = 8 * 1024;

const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/";

/// The findings for changed paths the gates did not read. `changed` is empty when the PR has no
/// base to compare with: then every path of the head counts as changed.
pub(super) fn unread_findings(
    head: &Path,
    changed: &[String],
    stats: &MaterializeStats,
    max_file_mb: u64,
    report: &CheckReport,
) -> Vec<Finding> {
    let all = changed.is_empty();
    let is_changed = |p: &String| all || changed.binary_search(p).is_ok();
    let reported: BTreeSet<&str> = report
        .findings()
        .filter_map(|f| f.file.as_deref())
        .collect();
    let mut out = Vec::new();
    for p in stats.skipped_large.iter().filter(|p| is_changed(p)) {
        out.push(finding(
            p,
            &format!("larger than the {max_file_mb} MiB file limit"),
        ));
    }
    for p in stats.submodules.iter().filter(|p| is_changed(p)) {
        out.push(finding(p, "a submodule, which is not checked out"));
    }
    let skipped: BTreeSet<&String> = stats
        .skipped_large
        .iter()
        .chain(&stats.submodules)
        .collect();
    for p in changed.iter().filter(|p| !skipped.contains(p)) {
        if let Some(folder) = ignored_folder(p) {
            if head.join(p).is_file() {
                out.push(finding(
                    p,
                    &format!("in `{folder}/`, a folder the gates do not read"),
                ));
            }
            continue;
        }
        if kind_for(p).is_none() || reported.contains(p.as_str()) {
            continue;
        }
        match sniff(&head.join(p)) {
            Some(Content::LfsPointer) => out.push(finding(
                p,
                "a Git LFS pointer; the content is not in the repository",
            )),
            Some(Content::Binary) => out.push(finding(p, "binary where text was expected")),
            _ => {}
        }
    }
    out
}

/// The ignored folder a path is in, if any: the walker's defaults and the head's `policy/`
/// (policies and their data come from the base).
fn ignored_folder(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    parts.next_back();
    let mut folders = parts.peekable();
    if folders.peek() == Some(&"policy") {
        return Some("policy");
    }
    // The walker always skips the fix backups (`thoth-bot fix --apply`), at the root only.
    let backups = crate::fix::BACKUPS_DIR;
    if path
        .strip_prefix(backups)
        .is_some_and(|r| r.starts_with('/'))
    {
        return Some(backups);
    }
    folders.find(|f| DEFAULT_IGNORE_FOLDERS.contains(f))
}

enum Content {
    Text,
    LfsPointer,
    Binary,
}

fn sniff(path: &Path) -> Option<Content> {
    // Never follow a link out of the checkout: the gates treat those separately.
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut buf = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut buf)
        .ok()?;
    Some(if buf.starts_with(LFS_POINTER) {
        Content::LfsPointer
    } else if buf.contains(&0) {
        Content::Binary
    } else {
        Content::Text
    })
}

fn finding(path: &str, why: &str) -> Finding {
    let gated = kind_for(path).is_some();
    let (level, severity) = if gated {
        (Level::Failure, Severity::High)
    } else {
        (Level::Warning, Severity::Low)
    };
    let consequence = if gated {
        "it was not checked, so this pull request cannot pass until it is removed or made readable"
    } else {
        "it was not checked"
    };
    Finding::new(
        Gate::Structure,
        "unread-file",
        level,
        severity,
        format!("{path} is {why}: {consequence}"),
    )
    .at(path, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(large: &[&str], subs: &[&str]) -> MaterializeStats {
        MaterializeStats {
            skipped_large: large.iter().map(|s| s.to_string()).collect(),
            submodules: subs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn each_kind_of_unread_path_is_a_finding_blocking_for_gated_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let head = dir.path();
        std::fs::create_dir_all(head.join(".terraform/modules")).unwrap();
        std::fs::write(head.join(".terraform/modules/open.tf"), "x = 1\n").unwrap();
        std::fs::write(
            head.join("big-lfs.tf"),
            "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n",
        )
        .unwrap();
        std::fs::write(head.join("blob.yaml"), b"a: \0\x01\x02").unwrap();
        std::fs::write(head.join("fine.tf"), "x = 1\n").unwrap();
        let mut changed: Vec<String> = [
            ".terraform/modules/open.tf",
            "big-lfs.tf",
            "blob.yaml",
            "fine.tf",
            "huge.tf",
            "vendor/mod",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        changed.sort();
        let report = CheckReport::new(vec![]);
        let found = unread_findings(
            head,
            &changed,
            &stats(&["huge.tf", "old-huge.tf"], &["vendor/mod"]),
            5,
            &report,
        );
        let by_file: Vec<(&str, Level)> = found
            .iter()
            .map(|f| (f.file.as_deref().unwrap(), f.level))
            .collect();
        assert_eq!(
            by_file,
            vec![
                ("huge.tf", Level::Failure),
                ("vendor/mod", Level::Warning),
                (".terraform/modules/open.tf", Level::Failure),
                ("big-lfs.tf", Level::Failure),
                ("blob.yaml", Level::Failure),
            ],
            "{found:#?}"
        );
        assert!(found[0].message.contains("larger than the 5 MiB"));
        assert!(found[3].message.contains("Git LFS pointer"));
    }

    #[test]
    fn a_file_in_the_fix_backups_is_unread() {
        assert_eq!(
            ignored_folder(".thothctl/fix_backups/20261201T000000Z/main.tf"),
            Some(".thothctl/fix_backups")
        );
        assert_eq!(ignored_folder(".thothctl/ai_decision_config.yaml"), None);
        assert_eq!(ignored_folder("a/.terraform/x.tf"), Some(".terraform"));
    }

    #[test]
    fn without_a_base_every_skipped_path_counts() {
        let dir = tempfile::tempdir().unwrap();
        let found = unread_findings(
            dir.path(),
            &[],
            &stats(&["a.tf"], &[]),
            5,
            &CheckReport::new(vec![]),
        );
        assert_eq!(found.len(), 1);
    }
}
