//! The file-system side of the checkout: writes one commit's tree into an empty directory
//! without ever writing outside it.
//!
//! The tree is hostile. Every name is checked before use; folders are created with `create_dir`
//! and files with `create_new`, so an existing entry (a duplicate name, or a symlink written
//! earlier under the same name) is an error instead of something followed; and before writing
//! into a folder it is checked with `symlink_metadata` to still be the real folder we made. The
//! walk is iterative (a deep tree cannot overflow the stack) and bounded by the limits, which
//! also bounds trees that reuse one subtree many times.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};

use git2::{Commit, Oid, Repository, Tree};

use super::{CheckoutError, CheckoutLimits, Deadline, MaterializeStats, io_at};

/// Longest symlink target written: Linux's `PATH_MAX`. Git allows longer; no real link is.
const MAX_LINK_TARGET: usize = 4096;

const MODE_TYPE_MASK: i32 = 0o170000;
const MODE_TREE: i32 = 0o040000;
const MODE_FILE: i32 = 0o100000;
const MODE_LINK: i32 = 0o120000;
const MODE_GITLINK: i32 = 0o160000;

/// Writes the tree of `commit` into `dest` (see [`super::MirrorCache::materialize`]).
pub(super) fn write_tree(
    repo: &Repository,
    commit: &Commit<'_>,
    dest: &Path,
    limits: &CheckoutLimits,
    deadline: &Deadline,
) -> Result<MaterializeStats, CheckoutError> {
    prepare_dest(dest)?;
    let mut writer = Writer {
        repo,
        odb: repo.odb()?,
        limits,
        deadline,
        stats: MaterializeStats::default(),
        entries: 0,
    };
    // (tree, folder on disk, path relative to `dest`)
    let mut stack: Vec<(Tree<'_>, PathBuf, String)> =
        vec![(commit.tree()?, dest.to_path_buf(), String::new())];
    while let Some((tree, dir, rel_dir)) = stack.pop() {
        ensure_real_dir(&dir)?;
        for entry in tree.iter() {
            deadline.check()?;
            let name = entry.name_bytes();
            let rel = join_rel(&rel_dir, name);
            check_name(name, &rel)?;
            let path = dir.join(OsStr::from_bytes(name));
            let mode = entry.filemode();
            match mode & MODE_TYPE_MASK {
                MODE_TREE => {
                    writer.count_entry()?;
                    create_dir(&path, &rel)?;
                    stack.push((repo.find_tree(entry.id())?, path, rel));
                }
                MODE_GITLINK => writer.stats.submodules.push(rel),
                MODE_LINK => writer.symlink(entry.id(), &path, &rel)?,
                MODE_FILE => {
                    let executable = mode & 0o111 != 0;
                    writer.file(entry.id(), &path, &rel, executable)?;
                }
                _ => {
                    return Err(CheckoutError::UnsafePath(format!(
                        "{rel} has unsupported file mode {mode:o}"
                    )));
                }
            }
        }
    }
    Ok(writer.stats)
}

/// Creates `dest`, or accepts it when it is an empty real directory.
fn prepare_dest(dest: &Path) -> Result<(), CheckoutError> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_dir() => {
            let mut entries = fs::read_dir(dest).map_err(|e| io_at(dest, e))?;
            if entries.next().is_some() {
                return Err(CheckoutError::InvalidInput(format!(
                    "checkout destination {} is not empty",
                    dest.display()
                )));
            }
            Ok(())
        }
        Ok(_) => Err(CheckoutError::InvalidInput(format!(
            "checkout destination {} exists and is not a directory",
            dest.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(|e| io_at(dest, e))
        }
        Err(e) => Err(io_at(dest, e)),
    }
}

/// Refuses names that could leave the folder or smuggle in a repository: git's own rules for
/// tree entries, which a hand-written tree object can break.
fn check_name(name: &[u8], rel: &str) -> Result<(), CheckoutError> {
    let bad = name.is_empty()
        || name == b"."
        || name == b".."
        || name.eq_ignore_ascii_case(b".git")
        || name.contains(&b'/')
        || name.contains(&0);
    if bad {
        return Err(CheckoutError::UnsafePath(format!(
            "refusing tree entry `{rel}`"
        )));
    }
    Ok(())
}

fn join_rel(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.is_empty() {
        name.into_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Before writing into `dir`: it must still be a real folder, not a symlink put in its place.
fn ensure_real_dir(dir: &Path) -> Result<(), CheckoutError> {
    let meta = fs::symlink_metadata(dir).map_err(|e| io_at(dir, e))?;
    if !meta.file_type().is_dir() {
        return Err(CheckoutError::UnsafePath(format!(
            "{} is no longer a real directory",
            dir.display()
        )));
    }
    Ok(())
}

fn create_dir(path: &Path, rel: &str) -> Result<(), CheckoutError> {
    fs::create_dir(path).map_err(|e| exists_is_unsafe(e, path, rel))
}

/// An entry that already exists can only come from a duplicate (or case-folded) name in the
/// tree: refuse rather than write through whatever is there.
fn exists_is_unsafe(e: io::Error, path: &Path, rel: &str) -> CheckoutError {
    if e.kind() == io::ErrorKind::AlreadyExists {
        CheckoutError::UnsafePath(format!("{rel} appears twice in the tree"))
    } else {
        io_at(path, e)
    }
}

struct Writer<'a, 'r> {
    repo: &'r Repository,
    odb: git2::Odb<'r>,
    limits: &'a CheckoutLimits,
    deadline: &'a Deadline,
    stats: MaterializeStats,
    /// Files, symlinks and folders created, against `max_files`.
    entries: usize,
}

impl Writer<'_, '_> {
    fn count_entry(&mut self) -> Result<(), CheckoutError> {
        self.entries += 1;
        if self.entries > self.limits.max_files {
            return Err(CheckoutError::TooLarge(format!(
                "the tree has more than {} entries",
                self.limits.max_files
            )));
        }
        Ok(())
    }

    /// The size of a blob without inflating it.
    fn blob_size(&self, id: Oid) -> Result<u64, CheckoutError> {
        let (size, _kind) = self.odb.read_header(id)?;
        Ok(size as u64)
    }

    fn file(
        &mut self,
        id: Oid,
        path: &Path,
        rel: &str,
        executable: bool,
    ) -> Result<(), CheckoutError> {
        let size = self.blob_size(id)?;
        if size > self.limits.max_file_bytes {
            self.stats.skipped_large.push(rel.to_string());
            return Ok(());
        }
        self.count_entry()?;
        if self.stats.bytes + size > self.limits.max_total_bytes {
            return Err(CheckoutError::TooLarge(format!(
                "the tree holds more than {} bytes",
                self.limits.max_total_bytes
            )));
        }
        let blob = self.repo.find_blob(id)?;
        let mode = if executable { 0o755 } else { 0o644 };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(|e| exists_is_unsafe(e, path, rel))?;
        file.write_all(blob.content()).map_err(|e| io_at(path, e))?;
        self.stats.files += 1;
        self.stats.bytes += blob.size() as u64;
        self.deadline.check()
    }

    fn symlink(&mut self, id: Oid, path: &Path, rel: &str) -> Result<(), CheckoutError> {
        if self.blob_size(id)? > MAX_LINK_TARGET as u64 {
            return Err(CheckoutError::UnsafePath(format!(
                "{rel} is a symlink with a target longer than {MAX_LINK_TARGET} bytes"
            )));
        }
        self.count_entry()?;
        let blob = self.repo.find_blob(id)?;
        let target = blob.content();
        if target.is_empty() || target.contains(&0) {
            return Err(CheckoutError::UnsafePath(format!(
                "{rel} is a symlink with an empty target or a NUL in it"
            )));
        }
        // Written verbatim and never resolved here: `Workspace` decides what may be read.
        symlink(OsStr::from_bytes(target), path).map_err(|e| exists_is_unsafe(e, path, rel))?;
        self.stats.symlinks += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for bad in [&b""[..], b".", b"..", b".git", b".GIT", b"a/b", b"a\0b"] {
            assert!(check_name(bad, "x").is_err(), "{bad:?}");
        }
        for good in [&b"main.tf"[..], b"..tf", b".github", b".gitignore", b"a\\b"] {
            assert!(check_name(good, "x").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn destination_must_be_empty_real_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("a/b");
        assert!(prepare_dest(&fresh).is_ok());
        fs::write(fresh.join("x"), "x").expect("write");
        assert!(matches!(
            prepare_dest(&fresh),
            Err(CheckoutError::InvalidInput(_))
        ));
        let link = dir.path().join("link");
        symlink(dir.path().join("elsewhere"), &link).expect("symlink");
        assert!(matches!(
            prepare_dest(&link),
            Err(CheckoutError::InvalidInput(_))
        ));
    }
}
