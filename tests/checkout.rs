//! Checkout against a real smart-HTTP git server (`git http-backend` on loopback): fetching with
//! a token, materialising safely, limits, hostile trees and concurrency.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{DEFAULT_TOKEN, TestRepo};
use tempfile::TempDir;
use thoth_bot::checkout::{CheckoutError, CheckoutLimits, Credentials, MirrorCache};
use thoth_bot::workspace::Workspace;

const KEY: &str = "github/octo/infra";

fn pull(n: u64) -> String {
    format!("+refs/pull/{n}/head:refs/thoth/pull/{n}/head")
}

fn creds(repo: &TestRepo) -> Credentials {
    repo.checkout_credentials()
}

fn cache() -> (TempDir, MirrorCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = MirrorCache::new(dir.path().join("mirrors")).expect("cache");
    (dir, cache)
}

fn limits() -> CheckoutLimits {
    CheckoutLimits {
        timeout: Duration::from_secs(60),
        ..CheckoutLimits::default()
    }
}

/// Deterministic incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    File { text: String, exec: bool },
    Link(String),
    Dir,
}

fn file(text: &str) -> Node {
    Node::File {
        text: text.to_string(),
        exec: false,
    }
}

/// Everything under `root`, without following symlinks.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, Node>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(entry.path()).expect("metadata");
            if meta.file_type().is_symlink() {
                let target = fs::read_link(entry.path()).expect("read_link");
                out.insert(rel, Node::Link(target.to_string_lossy().into_owned()));
            } else if meta.is_dir() {
                walk(&entry.path(), &rel, out);
                out.insert(rel, Node::Dir);
            } else {
                let text = fs::read_to_string(entry.path()).expect("read");
                let exec = meta.permissions().mode() & 0o111 != 0;
                out.insert(rel, Node::File { text, exec });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

/// A base commit on main and PR #1 on a feature branch.
fn pr_repo() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    let base = repo.commit(
        &[
            ("README.md", "# infra\n"),
            ("main.tf", "resource \"aws_s3_bucket\" \"b\" {}\n"),
        ],
        "base",
    );
    repo.switch_branch("feature");
    fs::write(repo.work_path().join("deploy.sh"), "#!/bin/sh\necho hi\n").expect("write");
    repo.set_executable("deploy.sh", true);
    let head = repo.commit(
        &[
            (
                "main.tf",
                "resource \"aws_s3_bucket\" \"b\" { acl = \"private\" }\n",
            ),
            ("modules/vpc/main.tf", "variable \"cidr\" {}\n"),
        ],
        "change",
    );
    repo.create_pull_ref(1, &head);
    (repo, base, head)
}

#[test]
fn fetches_a_pull_ref_with_the_token_and_materialises_exact_trees() {
    let (repo, base, head) = pr_repo();
    let (dir, cache) = cache();
    assert!(!cache.has_commit(KEY, &head));
    let refspecs = vec![pull(1), "refs/heads/main".to_string()];
    cache
        .fetch(KEY, &repo.url(), Some(&creds(&repo)), &refspecs, &limits())
        .expect("fetch");
    assert!(cache.has_commit(KEY, &head));
    assert!(cache.has_commit(KEY, &base));
    assert!(
        cache.has_commit(KEY, &head[..10]),
        "abbreviated ids resolve"
    );
    assert!(!cache.has_commit(KEY, "refs/heads/main"), "only commit ids");
    assert!(!cache.has_commit("github/octo/other", &head));

    // The first request is challenged, the rest carry the token.
    let requests = repo.server().requests();
    assert!(!requests[0].auth_ok(), "{requests:?}");
    assert!(requests[1..].iter().all(|r| r.auth_ok()), "{requests:?}");
    assert!(requests.iter().any(|r| r.is_upload_pack()));

    let dest = dir.path().join("head");
    let stats = cache
        .materialize(KEY, &head, &dest, &limits())
        .expect("materialize head");
    let expected = BTreeMap::from([
        ("README.md".to_string(), file("# infra\n")),
        (
            "deploy.sh".to_string(),
            Node::File {
                text: "#!/bin/sh\necho hi\n".to_string(),
                exec: true,
            },
        ),
        (
            "main.tf".to_string(),
            file("resource \"aws_s3_bucket\" \"b\" { acl = \"private\" }\n"),
        ),
        ("modules".to_string(), Node::Dir),
        ("modules/vpc".to_string(), Node::Dir),
        (
            "modules/vpc/main.tf".to_string(),
            file("variable \"cidr\" {}\n"),
        ),
    ]);
    assert_eq!(snapshot(&dest), expected);
    assert_eq!(stats.files, 4);
    assert_eq!(stats.symlinks, 0);
    assert!(stats.skipped_large.is_empty());
    assert_eq!(
        stats.bytes,
        expected
            .values()
            .map(|n| match n {
                Node::File { text, .. } => text.len() as u64,
                _ => 0,
            })
            .sum::<u64>()
    );

    // The base (where the config is read from), by id and by the mirrored ref.
    for (name, spec) in [("base", base.as_str()), ("main", "refs/heads/main")] {
        let dest = dir.path().join(name);
        cache
            .materialize(KEY, spec, &dest, &limits())
            .expect("materialize base");
        assert_eq!(
            snapshot(&dest),
            BTreeMap::from([
                ("README.md".to_string(), file("# infra\n")),
                (
                    "main.tf".to_string(),
                    file("resource \"aws_s3_bucket\" \"b\" {}\n")
                ),
            ])
        );
    }

    // The destination must be empty.
    let err = cache
        .materialize(KEY, &head, &dest, &limits())
        .expect_err("non-empty destination");
    assert!(matches!(err, CheckoutError::InvalidInput(_)), "{err}");
}

/// Fetches PR 1 into `cache`; returns the pack bytes the server sent.
fn fetch_pull_1(repo: &TestRepo, cache: &MirrorCache, limits: &CheckoutLimits) -> usize {
    repo.server().clear_requests();
    cache
        .fetch(KEY, &repo.url(), Some(&creds(repo)), &[pull(1)], limits)
        .expect("fetch");
    repo.server()
        .requests()
        .iter()
        .filter(|r| r.is_upload_pack())
        .map(|r| r.response_bytes)
        .sum()
}

#[test]
fn a_second_fetch_is_incremental() {
    let repo = TestRepo::new();
    let big = noise(256 * 1024, 7);
    repo.commit_bytes(&[("blob.bin", &big), ("main.tf", b"a")], "base");
    repo.switch_branch("feature");
    let head1 = repo.commit(&[("main.tf", "b")], "pr v1");
    repo.create_pull_ref(1, &head1);
    let (dir, cache) = cache();
    let fetch = || fetch_pull_1(&repo, &cache, &limits());
    let first = fetch();
    assert!(
        first > big.len(),
        "the first fetch carries the blob: {first}"
    );

    let head2 = repo.commit(&[("main.tf", "c")], "pr v2");
    repo.create_pull_ref(1, &head2);
    let second = fetch();
    assert!(
        second > 0 && second < first / 10,
        "only the new commit: {second} vs {first}"
    );
    assert!(cache.has_commit(KEY, &head2));

    let third = fetch();
    assert_eq!(third, 0, "nothing new: no pack requested");

    let dest = dir.path().join("v2");
    cache
        .materialize(KEY, &head2, &dest, &limits())
        .expect("materialize");
    assert_eq!(fs::read_to_string(dest.join("main.tf")).expect("read"), "c");
    assert_eq!(fs::read(dest.join("blob.bin")).expect("read"), big);
}

#[test]
fn a_mirror_over_its_size_cap_is_cloned_afresh() {
    let repo = TestRepo::new();
    let big = noise(256 * 1024, 11);
    repo.commit_bytes(&[("blob.bin", &big), ("main.tf", b"a")], "base");
    repo.switch_branch("feature");
    let head1 = repo.commit(&[("main.tf", "b")], "pr v1");
    repo.create_pull_ref(1, &head1);
    let (dir, cache) = cache();
    let capped = CheckoutLimits {
        max_mirror_bytes: 64 * 1024,
        ..limits()
    };
    let fetched = |limits: &CheckoutLimits| fetch_pull_1(&repo, &cache, limits);
    let first = fetched(&capped);
    assert!(first > big.len());
    let head2 = repo.commit(&[("main.tf", "c")], "pr v2");
    repo.create_pull_ref(1, &head2);
    // Under the default cap the second fetch is incremental ...
    let second = fetched(&limits());
    assert!(second < first / 10, "incremental: {second} vs {first}");
    // ... over its cap the mirror (now > 64 KiB) is dropped and fetched whole again.
    let head3 = repo.commit(&[("main.tf", "d")], "pr v3");
    repo.create_pull_ref(1, &head3);
    let third = fetched(&capped);
    assert!(third > big.len(), "cloned afresh: {third} bytes");
    assert!(cache.has_commit(KEY, &head3));
    let dest = dir.path().join("v3");
    cache
        .materialize(KEY, &head3, &dest, &limits())
        .expect("materialize");
    assert_eq!(fs::read(dest.join("blob.bin")).expect("read"), big);
    // No leftovers of the dropped mirror in the cache root.
    let stray: Vec<_> = fs::read_dir(cache.root())
        .expect("read cache")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn a_wrong_token_is_an_auth_error_without_retry_loop_or_token() {
    let (repo, _, _) = pr_repo();
    let (_dir, cache) = cache();
    let wrong = Credentials::github_installation("ghs_WrongToken_abcdef123456");

    let started = Instant::now();
    let err = cache
        .fetch(KEY, &repo.url(), Some(&wrong), &[pull(1)], &limits())
        .expect_err("wrong token");
    assert!(matches!(err, CheckoutError::Auth(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains(&wrong.password), "{msg}");
    assert!(!msg.contains(DEFAULT_TOKEN), "{msg}");
    let requests = repo.server().requests();
    assert!(
        requests.len() <= 3,
        "gave up after one attempt: {requests:?}"
    );
    assert!(requests.iter().all(|r| !r.auth_ok()));

    // No credentials at all.
    let err = cache
        .fetch(KEY, &repo.url(), None, &[pull(1)], &limits())
        .expect_err("no token");
    assert!(matches!(err, CheckoutError::Auth(_)), "{err:?}");

    // A server that answers 403 to a wrong token.
    repo.server().set_wrong_credentials_status(403);
    let err = cache
        .fetch(KEY, &repo.url(), Some(&wrong), &[pull(1)], &limits())
        .expect_err("403");
    assert!(matches!(err, CheckoutError::Auth(_)), "{err:?}");
    assert!(!err.to_string().contains(&wrong.password));
    assert!(!cache.has_commit(KEY, &repo.head()));
}

#[test]
fn missing_refs_repositories_and_commits_are_not_found() {
    let (repo, _, head) = pr_repo();
    let (dir, cache) = cache();
    let c = creds(&repo);

    let err = cache
        .materialize(KEY, &head, &dir.path().join("early"), &limits())
        .expect_err("no mirror yet");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");

    let err = cache
        .fetch(KEY, &repo.url(), Some(&c), &[pull(99)], &limits())
        .expect_err("no PR 99");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("refs/pull/99/head"), "{err}");

    let missing_repo = repo.server().url("nope.git");
    let err = cache
        .fetch(KEY, &missing_repo, Some(&c), &[pull(1)], &limits())
        .expect_err("no repository");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");

    cache
        .fetch(KEY, &repo.url(), Some(&c), &[pull(1)], &limits())
        .expect("fetch");
    let err = cache
        .materialize(KEY, &"0".repeat(40), &dir.path().join("x"), &limits())
        .expect_err("unknown commit");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
    let err = cache
        .changed_paths(KEY, &head, "refs/heads/gone")
        .expect_err("unknown ref");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");

    // A deleted PR ref is reported even though the mirror still has the old copy.
    repo.delete_ref("refs/pull/1/head");
    let err = cache
        .fetch(KEY, &repo.url(), Some(&c), &[pull(1)], &limits())
        .expect_err("PR ref gone");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
}

#[test]
fn fetches_a_bare_commit_id_where_the_server_allows_it() {
    let repo = TestRepo::new();
    let first = repo.commit(&[("a.tf", "1")], "one");
    let by_id = std::slice::from_ref(&first);
    let tip = repo.commit(&[("a.tf", "2")], "two");
    let (_dir, cache) = cache();
    let c = creds(&repo);

    // `first` is no ref's tip: a plain server refuses to send it by id.
    let err = cache
        .fetch(KEY, &repo.url(), Some(&c), by_id, &limits())
        .expect_err("not allowed");
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");

    repo.allow_fetch_by_sha();
    cache
        .fetch(KEY, &repo.url(), Some(&c), by_id, &limits())
        .expect("fetch by id");
    assert!(cache.has_commit(KEY, &first));
    assert!(!cache.has_commit(KEY, &tip));

    // Already mirrored: no network at all.
    repo.server().clear_requests();
    cache
        .fetch(KEY, &repo.url(), Some(&c), by_id, &limits())
        .expect("no-op");
    assert!(repo.server().requests().is_empty());
}

#[test]
fn symlinks_are_created_as_symlinks_and_workspace_reports_escapes() {
    let repo = TestRepo::new();
    repo.symlink("passwd.tf", "/etc/passwd");
    repo.symlink("modules/up.tf", "../../outside");
    repo.symlink("alias.tf", "main.tf");
    let sha = repo.commit(&[("main.tf", "locals {}\n")], "links");
    repo.create_pull_ref(1, &sha);
    let (dir, cache) = cache();
    cache
        .fetch(KEY, &repo.url(), Some(&creds(&repo)), &[pull(1)], &limits())
        .expect("fetch");
    let dest = dir.path().join("tree");
    let stats = cache
        .materialize(KEY, &sha, &dest, &limits())
        .expect("materialize");
    assert_eq!(stats.symlinks, 3);
    assert_eq!(stats.files, 1);
    let tree = snapshot(&dest);
    assert_eq!(tree["passwd.tf"], Node::Link("/etc/passwd".to_string()));
    assert_eq!(
        tree["modules/up.tf"],
        Node::Link("../../outside".to_string())
    );
    assert_eq!(tree["alias.tf"], Node::Link("main.tf".to_string()));

    let ws = Workspace::open(&dest).expect("workspace");
    let mut escapes: Vec<_> = ws
        .escapes()
        .iter()
        .map(|e| (e.path.as_str(), e.target.as_str()))
        .collect();
    escapes.sort();
    assert_eq!(
        escapes,
        [
            ("modules/up.tf", "../../outside"),
            ("passwd.tf", "/etc/passwd")
        ]
    );
    assert!(ws.read_to_string("passwd.tf").is_err());
    assert!(ws.file("passwd.tf").is_none());
    assert_eq!(
        ws.read_to_string("alias.tf").expect("in-tree link"),
        "locals {}\n"
    );
}

#[test]
fn limits_on_files_sizes_and_time() {
    let repo = TestRepo::new();
    let big = noise(64 * 1024, 3);
    let sha = repo.commit_bytes(
        &[
            ("a.tf", b"aaaa"),
            ("b.tf", b"bbbb"),
            ("c/d.tf", b"dddd"),
            ("c/e.tf", b"eeee"),
            ("big.bin", &big),
        ],
        "files",
    );
    repo.create_pull_ref(1, &sha);
    let (dir, cache) = cache();
    let c = creds(&repo);
    let url = repo.url();

    // Received bytes.
    let tight = CheckoutLimits {
        max_total_bytes: 4096,
        ..limits()
    };
    let err = cache
        .fetch(KEY, &url, Some(&c), &[pull(1)], &tight)
        .expect_err("too large");
    assert!(matches!(err, CheckoutError::TooLarge(_)), "{err:?}");

    // An expired budget.
    let instant = CheckoutLimits {
        timeout: Duration::from_nanos(1),
        ..limits()
    };
    let err = cache
        .fetch(KEY, &url, Some(&c), &[pull(1)], &instant)
        .expect_err("timeout");
    assert!(matches!(err, CheckoutError::Timeout(_)), "{err:?}");

    cache
        .fetch(KEY, &url, Some(&c), &[pull(1)], &limits())
        .expect("fetch");

    let err = cache
        .materialize(KEY, &sha, &dir.path().join("t"), &instant)
        .expect_err("timeout");
    assert!(matches!(err, CheckoutError::Timeout(_)), "{err:?}");

    let few = CheckoutLimits {
        max_files: 3,
        ..limits()
    };
    let err = cache
        .materialize(KEY, &sha, &dir.path().join("few"), &few)
        .expect_err("too many files");
    assert!(matches!(err, CheckoutError::TooLarge(_)), "{err:?}");

    let small_files = CheckoutLimits {
        max_file_bytes: 1024,
        ..limits()
    };
    let dest = dir.path().join("small");
    let stats = cache
        .materialize(KEY, &sha, &dest, &small_files)
        .expect("big file skipped");
    assert_eq!(stats.skipped_large, ["big.bin"]);
    assert_eq!(stats.files, 4);
    assert_eq!(stats.bytes, 16);
    assert!(!dest.join("big.bin").exists());
    assert_eq!(
        fs::read_to_string(dest.join("c/e.tf")).expect("read"),
        "eeee"
    );

    let small_total = CheckoutLimits {
        max_total_bytes: 10,
        ..limits()
    };
    let err = cache
        .materialize(KEY, &sha, &dir.path().join("total"), &small_total)
        .expect_err("too many bytes");
    assert!(matches!(err, CheckoutError::TooLarge(_)), "{err:?}");
}

#[test]
fn a_slow_server_times_out_instead_of_hanging() {
    let (repo, _, _) = pr_repo();
    let (_dir, cache) = cache();
    repo.server()
        .set_upload_pack_delay(Duration::from_millis(1500));
    let short = CheckoutLimits {
        timeout: Duration::from_millis(400),
        ..limits()
    };
    let started = Instant::now();
    let err = cache
        .fetch(KEY, &repo.url(), Some(&creds(&repo)), &[pull(1)], &short)
        .expect_err("timeout");
    assert!(matches!(err, CheckoutError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(repo.server().requests().iter().any(|r| r.is_upload_pack()));
}

/// Writes a raw tree object, bypassing libgit2's name checks (which hostile pushes do too).
fn raw_tree(repo: &git2::Repository, entries: &[(&str, &[u8], git2::Oid)]) -> git2::Oid {
    let mut raw = Vec::new();
    for (mode, name, id) in entries {
        raw.extend_from_slice(mode.as_bytes());
        raw.push(b' ');
        raw.extend_from_slice(name);
        raw.push(0);
        raw.extend_from_slice(id.as_bytes());
    }
    repo.odb()
        .expect("odb")
        .write(git2::ObjectType::Tree, &raw)
        .expect("write tree")
}

#[test]
fn hostile_tree_entries_cannot_escape() {
    let repo = TestRepo::new();
    repo.commit(&[("README.md", "x")], "base");
    let outside = tempfile::tempdir().expect("outside dir");
    let bare = git2::Repository::open_bare(repo.bare_path()).expect("open bare");

    // libgit2 itself refuses such names when building a tree.
    let blob = bare.blob(b"pwned\n").expect("blob");
    let mut builder = bare.treebuilder(None).expect("treebuilder");
    for name in ["..", ".git", "a/b", "."] {
        assert!(builder.insert(name, blob, 0o100644).is_err(), "{name}");
    }

    let inner = raw_tree(&bare, &[("100644", b"pwned.txt", blob)]);
    let link = bare
        .blob(outside.path().to_str().expect("utf-8").as_bytes())
        .expect("link blob");
    let cases: Vec<(&str, git2::Oid)> = vec![
        ("dotdot", raw_tree(&bare, &[("40000", b"..", inner)])),
        ("dotgit", raw_tree(&bare, &[("40000", b".git", inner)])),
        ("dotgit-case", raw_tree(&bare, &[("40000", b".GiT", inner)])),
        (
            "slash",
            raw_tree(&bare, &[("100644", b"../pwned.txt", blob)]),
        ),
        (
            "link-then-dir",
            raw_tree(&bare, &[("120000", b"d", link), ("40000", b"d", inner)]),
        ),
        (
            "dir-with-dotdot",
            raw_tree(
                &bare,
                &[
                    ("100644", b"ok.tf", blob),
                    ("40000", b"sub", raw_tree(&bare, &[("40000", b"..", inner)])),
                ],
            ),
        ),
    ];
    let sig = git2::Signature::now("Mallory", "m@example.com").expect("signature");
    let mut shas = Vec::new();
    for (n, (name, tree)) in cases.iter().enumerate() {
        let tree = bare.find_tree(*tree).expect("tree");
        let commit = bare
            .commit(None, &sig, &sig, name, &tree, &[])
            .expect("commit");
        repo.create_pull_ref(n as u64 + 1, &commit.to_string());
        shas.push(commit.to_string());
    }

    let (dir, cache) = cache();
    let refspecs: Vec<String> = (1..=cases.len() as u64).map(pull).collect();
    cache
        .fetch(KEY, &repo.url(), Some(&creds(&repo)), &refspecs, &limits())
        .expect("hostile objects travel fine");
    for ((name, _), sha) in cases.iter().zip(&shas) {
        let dest = dir.path().join("checkouts").join(name);
        let err = cache
            .materialize(KEY, sha, &dest, &limits())
            .expect_err(name);
        assert!(
            matches!(err, CheckoutError::UnsafePath(_)),
            "{name}: {err:?}"
        );
    }
    assert!(!dir.path().join("checkouts/pwned.txt").exists());
    assert!(!dir.path().join("pwned.txt").exists());
    assert_eq!(fs::read_dir(outside.path()).expect("read").count(), 0);
}

#[test]
fn submodules_are_skipped_and_listed() {
    let repo = TestRepo::new();
    repo.commit(&[("README.md", "x")], "base");
    let bare = git2::Repository::open_bare(repo.bare_path()).expect("open bare");
    let blob = bare.blob(b"module \"m\" {}\n").expect("blob");
    // A gitlink names a commit of another repository, which the mirror never has.
    let elsewhere = git2::Oid::from_str(&"ab".repeat(20)).expect("oid");
    let mut vendor = bare.treebuilder(None).expect("treebuilder");
    vendor.insert("lib", elsewhere, 0o160000).expect("gitlink");
    let vendor = vendor.write().expect("tree");
    let mut root = bare.treebuilder(None).expect("treebuilder");
    root.insert("main.tf", blob, 0o100644).expect("file");
    root.insert("vendor", vendor, 0o040000).expect("dir");
    let tree = bare.find_tree(root.write().expect("tree")).expect("tree");
    let sig = git2::Signature::now("T", "t@example.com").expect("signature");
    let sha = bare
        .commit(None, &sig, &sig, "submodule", &tree, &[])
        .expect("commit")
        .to_string();
    repo.create_pull_ref(1, &sha);

    let (dir, cache) = cache();
    cache
        .fetch(KEY, &repo.url(), Some(&creds(&repo)), &[pull(1)], &limits())
        .expect("fetch");
    let dest = dir.path().join("tree");
    let stats = cache
        .materialize(KEY, &sha, &dest, &limits())
        .expect("materialize");
    assert_eq!(stats.submodules, ["vendor/lib"]);
    assert_eq!(
        snapshot(&dest),
        BTreeMap::from([
            ("main.tf".to_string(), file("module \"m\" {}\n")),
            ("vendor".to_string(), Node::Dir),
        ])
    );
}

#[test]
fn changed_paths_of_a_pull_request() {
    let repo = TestRepo::new();
    let base = repo.commit(
        &[("a.tf", "1"), ("d.tf", "gone soon"), ("e.tf", "base")],
        "base",
    );
    repo.switch_branch("feature");
    repo.remove(&["d.tf"]);
    let head = repo.commit(&[("a.tf", "2"), ("policy/deny.rego", "package x\n")], "pr");
    repo.create_pull_ref(1, &head);
    repo.switch_branch("main");
    // The base branch moves on after the PR branched off: not the PR's change.
    let main = repo.commit(&[("e.tf", "moved on")], "main moves");

    let (_dir, cache) = cache();
    cache
        .fetch(
            KEY,
            &repo.url(),
            Some(&creds(&repo)),
            &[pull(1), "refs/heads/main".to_string()],
            &limits(),
        )
        .expect("fetch");
    let expected = ["a.tf", "d.tf", "policy/deny.rego"];
    assert_eq!(
        cache.changed_paths(KEY, &main, &head).expect("diff"),
        expected
    );
    assert_eq!(
        cache.changed_paths(KEY, &base, &head).expect("diff"),
        expected
    );
    assert_eq!(
        cache
            .changed_paths(KEY, "refs/heads/main", "refs/thoth/pull/1/head")
            .expect("by ref"),
        expected
    );
    assert!(
        cache
            .changed_paths(KEY, &head, &head)
            .expect("same")
            .is_empty()
    );
}

#[test]
fn concurrent_fetches_of_one_repository_do_not_corrupt_the_mirror() {
    let repo = TestRepo::new();
    let base = repo.commit(&[("main.tf", "base")], "base");
    let mut heads = Vec::new();
    for n in 1..=4u64 {
        repo.switch_branch("main");
        repo.switch_branch(&format!("pr{n}"));
        let head = repo.commit(&[(&format!("pr{n}.tf"), &format!("pr {n}"))], "pr");
        repo.create_pull_ref(n, &head);
        heads.push(head);
    }
    let (dir, cache) = cache();
    let c = creds(&repo);
    let url = repo.url();
    std::thread::scope(|scope| {
        for worker in 0..2u64 {
            let (cache, c, url) = (&cache, &c, &url);
            scope.spawn(move || {
                for round in 0..3u64 {
                    let n = (worker + round) % 4 + 1;
                    let specs = vec![pull(n), "refs/heads/main".to_string()];
                    cache
                        .fetch(KEY, url, Some(c), &specs, &limits())
                        .expect("concurrent fetch");
                }
            });
        }
    });
    let all: Vec<String> = (1..=4).map(pull).collect();
    cache
        .fetch(KEY, &url, Some(&c), &all, &limits())
        .expect("fetch all");
    for (i, head) in heads.iter().enumerate() {
        let n = i + 1;
        let dest = dir.path().join(format!("pr{n}"));
        cache
            .materialize(KEY, head, &dest, &limits())
            .expect("materialize");
        assert_eq!(
            fs::read_to_string(dest.join(format!("pr{n}.tf"))).expect("read"),
            format!("pr {n}")
        );
        assert_eq!(
            fs::read_to_string(dest.join("main.tf")).expect("read"),
            "base"
        );
    }
    assert!(cache.has_commit(KEY, &base));
    let mirrors: Vec<_> = fs::read_dir(cache.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        mirrors.iter().filter(|n| n.ends_with(".git")).count(),
        1,
        "{mirrors:?}"
    );
    assert!(!mirrors.iter().any(|n| n.ends_with(".tmp")), "{mirrors:?}");
}

#[test]
fn a_public_repository_needs_no_credentials() {
    let server = std::sync::Arc::new(support::GitHttpServer::start_temp(None));
    let repo = TestRepo::on(server, "public");
    let sha = repo.commit(&[("main.tf", "x")], "one");
    let (_dir, cache) = cache();
    cache
        .fetch(
            KEY,
            &repo.url(),
            None,
            &["refs/heads/main".to_string()],
            &limits(),
        )
        .expect("anonymous fetch");
    assert!(cache.has_commit(KEY, &sha));
}

#[test]
fn bad_requests_are_refused_up_front() {
    let (_dir, cache) = cache();
    let specs = vec![pull(1)];
    for url in [
        "file:///etc",
        "/srv/git/repo",
        "https://x-access-token:ghs_secret@github.com/o/r.git",
    ] {
        let err = cache
            .fetch(KEY, url, None, &specs, &limits())
            .expect_err(url);
        assert!(
            matches!(err, CheckoutError::InvalidInput(_)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("ghs_secret"));
    }
    let err = cache
        .fetch("", "https://h/r.git", None, &specs, &limits())
        .expect_err("empty key");
    assert!(matches!(err, CheckoutError::InvalidInput(_)));
    let creds = Credentials::github_installation("ghs_secret");
    assert!(!format!("{creds:?}").contains("ghs_secret"));
}
