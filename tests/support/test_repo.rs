//! Real git repositories for tests, built with the `git` CLI and served by [`GitHttpServer`].
//!
//! A [`TestRepo`] is a bare repository under the server's project root plus a work tree whose
//! commits are pushed to it, so the bare repository looks like a forge's: `refs/heads/*` and,
//! with [`TestRepo::create_pull_ref`], GitHub's `refs/pull/N/head`.
//!
//! ```ignore
//! let repo = TestRepo::new();                       // own server, DEFAULT_USER / DEFAULT_TOKEN
//! let base = repo.commit(&[("main.tf", "...")], "base");
//! repo.switch_branch("feature");
//! let head = repo.commit(&[("main.tf", "changed")], "change");
//! repo.create_pull_ref(1, &head);
//! // fetch repo.url() with repo.credentials()
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tempfile::TempDir;

use super::git_http::{DEFAULT_TOKEN, DEFAULT_USER, GitHttpServer};

/// Runs `git ARGS` in `dir` with a clean, fixed configuration and returns its trimmed stdout;
/// panics with stderr when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.symlinks=true",
            "-c",
            "core.autocrlf=false",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .output()
        .unwrap_or_else(|e| panic!("running git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A served bare repository and the work tree that feeds it.
pub struct TestRepo {
    server: Arc<GitHttpServer>,
    name: String,
    bare: PathBuf,
    work: PathBuf,
    _work_dir: TempDir,
}

impl TestRepo {
    /// A repository `repo.git` on a new server of its own that requires
    /// [`DEFAULT_USER`] / [`DEFAULT_TOKEN`].
    pub fn new() -> TestRepo {
        let server = GitHttpServer::start_temp(Some((DEFAULT_USER, DEFAULT_TOKEN)));
        TestRepo::on(Arc::new(server), "repo")
    }

    /// A repository `NAME.git` on an existing server (several repositories, one server).
    pub fn on(server: Arc<GitHttpServer>, name: &str) -> TestRepo {
        let bare = server.project_root().join(format!("{name}.git"));
        fs::create_dir_all(&bare).expect("create the bare repository folder");
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let work_dir = tempfile::tempdir().expect("temp dir for the work tree");
        let work = work_dir.path().join("work");
        fs::create_dir_all(&work).expect("create the work tree");
        git(&work, &["init", "-q", "-b", "main"]);
        let bare_str = bare.to_str().expect("UTF-8 temp path");
        git(&work, &["remote", "add", "origin", bare_str]);
        TestRepo {
            server,
            name: name.to_string(),
            bare,
            work,
            _work_dir: work_dir,
        }
    }

    pub fn server(&self) -> &Arc<GitHttpServer> {
        &self.server
    }

    /// The repository's HTTP URL, e.g. `http://127.0.0.1:PORT/repo.git`.
    pub fn url(&self) -> String {
        self.server.url(&format!("{}.git", self.name))
    }

    /// The `(user, password)` the server accepts (panics for a public server).
    pub fn credentials(&self) -> (String, String) {
        self.server
            .credentials()
            .expect("the server has no credentials configured")
    }

    /// The server's credentials as the checkout module takes them.
    pub fn checkout_credentials(&self) -> thoth_bot::checkout::Credentials {
        let (username, password) = self.credentials();
        thoth_bot::checkout::Credentials { username, password }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The served bare repository.
    pub fn bare_path(&self) -> &Path {
        &self.bare
    }

    /// The work tree (commits made here are pushed to the bare repository).
    pub fn work_path(&self) -> &Path {
        &self.work
    }

    /// Writes `files` (relative path, text) into the work tree, commits everything pending
    /// (including earlier [`symlink`](Self::symlink)s and deletions) and pushes the current
    /// branch. Returns the commit id.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
        self.commit_bytes(&files, message)
    }

    /// [`commit`](Self::commit) with binary contents.
    pub fn commit_bytes(&self, files: &[(&str, &[u8])], message: &str) -> String {
        for (rel, content) in files {
            let path = self.work.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create parent folders");
            }
            fs::write(&path, content).unwrap_or_else(|e| panic!("write {rel}: {e}"));
        }
        git(&self.work, &["add", "-A"]);
        git(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(&self.work, &["push", "-q", "--force", "origin", "HEAD"]);
        self.head()
    }

    /// Deletes `paths` from the work tree (staged by the next commit).
    pub fn remove(&self, paths: &[&str]) {
        for rel in paths {
            git(&self.work, &["rm", "-q", "-r", "--", rel]);
        }
    }

    /// Creates a symlink `path -> target` in the work tree (committed by the next commit).
    pub fn symlink(&self, path: &str, target: &str) {
        let link = self.work.join(path);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).expect("create parent folders");
        }
        std::os::unix::fs::symlink(target, &link)
            .unwrap_or_else(|e| panic!("symlink {path} -> {target}: {e}"));
    }

    /// Sets or clears the executable bit of a work-tree file (committed by the next commit).
    pub fn set_executable(&self, path: &str, executable: bool) {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(self.work.join(path), fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {path}: {e}"));
    }

    /// Switches the work tree to `branch`, creating it at the current commit when new.
    pub fn switch_branch(&self, branch: &str) {
        let exists = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .current_dir(&self.work)
            .output()
            .is_ok_and(|o| o.status.success());
        if exists {
            git(&self.work, &["checkout", "-q", branch]);
        } else {
            git(&self.work, &["checkout", "-q", "-b", branch]);
        }
    }

    /// The work tree's current commit.
    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Points `refs/pull/N/head` of the bare repository at `sha`, as GitHub does for PR #N.
    pub fn create_pull_ref(&self, number: u64, sha: &str) {
        self.set_ref(&format!("refs/pull/{number}/head"), sha);
    }

    /// Points any ref of the bare repository at `sha` (the commit must have been pushed).
    pub fn set_ref(&self, refname: &str, sha: &str) {
        git(&self.bare, &["update-ref", refname, sha]);
    }

    /// Deletes a ref of the bare repository.
    pub fn delete_ref(&self, refname: &str) {
        git(&self.bare, &["update-ref", "-d", refname]);
    }

    /// Lets clients fetch any commit by id (`uploadpack.allowAnySHA1InWant`), as GitHub and
    /// Azure DevOps allow for reachable commits.
    pub fn allow_fetch_by_sha(&self) {
        git(
            &self.bare,
            &["config", "uploadpack.allowAnySHA1InWant", "true"],
        );
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}
