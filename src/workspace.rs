//! A bounded, symlink-safe view of a project directory: what the gates are allowed to read.
//!
//! Walking never follows symlinks. A symlink whose target stays inside the root is read as the
//! file it points to; one that leaves the root is recorded in [`Workspace::escapes`] and never
//! read, so a pull request cannot make the bot read `/etc/passwd` or a secret mounted next to it.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Limits that keep a hostile or huge repository from exhausting the bot.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum number of files collected.
    pub max_files: usize,
    /// Files larger than this are skipped (reported by the caller through [`Workspace::oversized`]).
    pub max_file_bytes: u64,
    /// Maximum directory depth walked.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 50_000,
            max_file_bytes: 5 * 1024 * 1024,
            max_depth: 32,
        }
    }
}

/// Folders never walked unless the project's structure config says otherwise.
pub const DEFAULT_IGNORE_FOLDERS: &[&str] = &[".git", ".terraform", ".terragrunt-cache"];

#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error("cannot read project directory {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than the {limit} byte limit")]
    TooLarge { path: String, limit: u64 },
    #[error("{path} is not a file in the project")]
    NotInWorkspace { path: String },
}

/// A symlink that points outside the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    /// Relative path of the link.
    pub path: String,
    /// Where it points (as written in the link).
    pub target: String,
}

/// One regular file in the workspace.
#[derive(Debug, Clone)]
pub struct WsFile {
    /// Relative, `/`-separated path.
    pub rel: String,
    /// Absolute path of the file to read (the resolved target for an in-tree symlink).
    pub abs: PathBuf,
    pub size: u64,
}

/// The files and folders of a project, collected once.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    files: Vec<WsFile>,
    dirs: BTreeSet<String>,
    escapes: Vec<Escape>,
    oversized: Vec<String>,
    truncated: bool,
    limits: Limits,
}

impl Workspace {
    /// Walks `root` with the default ignore folders and limits.
    pub fn open(root: &Path) -> Result<Workspace, WorkspaceError> {
        let ignore: Vec<String> = DEFAULT_IGNORE_FOLDERS
            .iter()
            .map(|s| s.to_string())
            .collect();
        Workspace::open_with(root, &ignore, Limits::default())
    }

    /// Walks `root`, skipping folders whose name (or relative path) is in `ignore_folders`.
    pub fn open_with(
        root: &Path,
        ignore_folders: &[String],
        limits: Limits,
    ) -> Result<Workspace, WorkspaceError> {
        let meta = fs::metadata(root).map_err(|source| WorkspaceError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(WorkspaceError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        let root = root.canonicalize().map_err(|source| WorkspaceError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let mut ws = Workspace {
            root: root.clone(),
            files: Vec::new(),
            dirs: BTreeSet::new(),
            escapes: Vec::new(),
            oversized: Vec::new(),
            truncated: false,
            limits,
        };
        ws.walk(&root, "", 0, ignore_folders);
        ws.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(ws)
    }

    fn walk(&mut self, dir: &Path, rel: &str, depth: usize, ignore: &[String]) {
        if depth > self.limits.max_depth {
            self.truncated = true;
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                // `thoth-bot fix --apply` keeps the originals of the files it changed there: they
                // are never judged again, whatever the config says.
                if ignore.iter().any(|i| i == &name || i == &child_rel)
                    || child_rel == crate::fix::BACKUPS_DIR
                {
                    continue;
                }
                self.dirs.insert(child_rel.clone());
                self.walk(&entry.path(), &child_rel, depth + 1, ignore);
            } else if ft.is_file() {
                self.push_file(child_rel, entry.path(), meta.len());
            } else if ft.is_symlink() {
                self.symlink(entry.path(), child_rel);
            }
            if self.truncated {
                return;
            }
        }
    }

    fn symlink(&mut self, link: PathBuf, rel: String) {
        let target = fs::read_link(&link)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        match link.canonicalize() {
            Ok(resolved) if resolved.starts_with(&self.root) => {
                // In-tree links to files are read as that file; links to folders are not walked
                // (the folder is walked under its real name, and loops are impossible).
                if let Ok(meta) = fs::metadata(&resolved)
                    && meta.is_file()
                {
                    self.push_file(rel, resolved, meta.len());
                }
            }
            // A dangling link reads nothing, but one that names an outside path is still reported.
            Err(_) if !Path::new(&target).is_absolute() && !target.contains("..") => {}
            _ => self.escapes.push(Escape { path: rel, target }),
        }
    }

    fn push_file(&mut self, rel: String, abs: PathBuf, size: u64) {
        if self.files.len() >= self.limits.max_files {
            self.truncated = true;
            return;
        }
        if size > self.limits.max_file_bytes {
            self.oversized.push(rel);
            return;
        }
        self.files.push(WsFile { rel, abs, size });
    }

    /// The canonical project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every readable file, sorted by relative path.
    pub fn files(&self) -> &[WsFile] {
        &self.files
    }

    /// Every walked folder (relative paths).
    pub fn dirs(&self) -> &BTreeSet<String> {
        &self.dirs
    }

    /// Symlinks that point outside the root (never read).
    pub fn escapes(&self) -> &[Escape] {
        &self.escapes
    }

    /// Files skipped for exceeding the size limit.
    pub fn oversized(&self) -> &[String] {
        &self.oversized
    }

    /// Whether the file-count or depth limit cut the walk short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether a folder (relative path) exists in the workspace.
    pub fn has_dir(&self, rel: &str) -> bool {
        rel.is_empty() || rel == "." || self.dirs.contains(rel.trim_end_matches('/'))
    }

    /// Finds a collected file by relative path.
    pub fn file(&self, rel: &str) -> Option<&WsFile> {
        self.files
            .binary_search_by(|f| f.rel.as_str().cmp(rel))
            .ok()
            .map(|i| &self.files[i])
    }

    /// Reads a collected file as UTF-8 text (lossy), bounded by the size limit.
    pub fn read_to_string(&self, rel: &str) -> Result<String, WorkspaceError> {
        let file = self
            .file(rel)
            .ok_or_else(|| WorkspaceError::NotInWorkspace {
                path: rel.to_string(),
            })?;
        read_bounded(&file.abs, rel, self.limits.max_file_bytes)
    }
}

/// Reads at most `limit` bytes of a file; a longer file is an error rather than silently cut.
pub fn read_bounded(path: &Path, rel: &str, limit: u64) -> Result<String, WorkspaceError> {
    let file = fs::File::open(path).map_err(|source| WorkspaceError::Read {
        path: rel.to_string(),
        source,
    })?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|source| WorkspaceError::Read {
            path: rel.to_string(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(WorkspaceError::TooLarge {
            path: rel.to_string(),
            limit,
        });
    }
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_without_leaving_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        fs::create_dir_all(root.join("modules/vpc")).unwrap();
        fs::create_dir_all(root.join(".terraform/x")).unwrap();
        fs::write(root.join("main.tf"), "x").unwrap();
        fs::write(root.join("modules/vpc/main.tf"), "y").unwrap();
        fs::write(root.join(".terraform/x/junk.tf"), "z").unwrap();
        fs::write(dir.path().join("secret.txt"), "s3cr3t").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.tf")).unwrap();
        std::os::unix::fs::symlink("main.tf", root.join("alias.tf")).unwrap();

        let ws = Workspace::open(&root).unwrap();
        let rels: Vec<_> = ws.files().iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["alias.tf", "main.tf", "modules/vpc/main.tf"]);
        assert_eq!(ws.escapes().len(), 1);
        assert_eq!(ws.escapes()[0].path, "leak.tf");
        assert!(ws.read_to_string("leak.tf").is_err());
        assert_eq!(ws.read_to_string("alias.tf").unwrap(), "x");
        assert!(ws.has_dir("modules/vpc"));
        assert!(!ws.has_dir(".terraform"));
    }

    #[test]
    fn enforces_size_and_count_limits() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            fs::write(dir.path().join(format!("f{i}.tf")), "abc").unwrap();
        }
        fs::write(dir.path().join("big.json"), vec![b'a'; 100]).unwrap();
        let limits = Limits {
            max_files: 3,
            max_file_bytes: 10,
            max_depth: 4,
        };
        let ws = Workspace::open_with(dir.path(), &[], limits).unwrap();
        assert_eq!(ws.files().len(), 3);
        assert!(ws.truncated());
        assert_eq!(ws.oversized(), ["big.json"]);
    }
}
