//! The network side of the checkout: one bounded, token-authenticated fetch into a mirror.
//!
//! Limits are enforced from libgit2's callbacks (transfer progress, server messages,
//! credentials), which is the only way to stop a running fetch. The one gap: a server that goes
//! completely silent mid-request fires no callback; libgit2's socket timeouts close that gap, and
//! they are process-wide options that `thoth-bot serve` sets at start-up
//! (`git_timeout_secs`), before any thread exists.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use git2::{
    AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, RemoteCallbacks,
    RemoteRedirect, Repository,
};

use super::{CheckoutError, CheckoutLimits, Credentials, Deadline};

/// Where a fetched bare commit id is kept, so it stays reachable from a ref (and counts as a
/// "have" in the next negotiation).
const COMMIT_REF_PREFIX: &str = "refs/thoth/commits/";

/// One requested refspec, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spec {
    /// What is handed to libgit2.
    refspec: String,
    /// What proves the fetch found it.
    expect: Expect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// A named ref: its destination must be reported by `update_tips`.
    Ref { src: String, dst: String },
    /// A commit id: the object must be in the mirror afterwards.
    Commit { id: String, dst: String },
    /// A pattern: matching nothing is not an error.
    Pattern,
}

/// Accepts only `http://` and `https://` URLs without a password in them: a local path or
/// `file://` URL would let a job read the bot's own disk, and a token in the URL would end up in
/// error messages and logs.
pub(super) fn check_url(url: &str) -> Result<(), CheckoutError> {
    let invalid = |why: &str| Err(CheckoutError::InvalidInput(format!("fetch URL {why}")));
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return invalid("must start with https:// or http://");
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return invalid("contains whitespace or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return invalid("carries a password: pass credentials separately");
    }
    Ok(())
}

/// The URL without user name, query or fragment, for messages.
fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}{path}")
}

/// Normalises the caller's refspecs (see [`super::MirrorCache::fetch`] for the accepted forms).
pub(super) fn parse_refspecs(refspecs: &[String]) -> Result<Vec<Spec>, CheckoutError> {
    if refspecs.is_empty() {
        return Err(CheckoutError::InvalidInput(
            "no refspec to fetch".to_string(),
        ));
    }
    refspecs.iter().map(|s| parse_refspec(s)).collect()
}

fn parse_refspec(raw: &str) -> Result<Spec, CheckoutError> {
    let invalid = |why: &str| {
        Err(CheckoutError::InvalidInput(format!(
            "refspec `{raw}` {why}"
        )))
    };
    let spec = raw.trim();
    if spec.is_empty() || spec.chars().any(|c| c.is_control() || c == ' ') {
        return invalid("is empty or contains spaces or control characters");
    }
    if spec.starts_with('^') {
        return invalid("is a negative refspec");
    }
    let body = spec.strip_prefix('+').unwrap_or(spec);
    let (src, dst) = match body.split_once(':') {
        Some((src, dst)) => (src, Some(dst)),
        None => (body, None),
    };
    let is_id = (src.len() == 40 || src.len() == 64) && src.bytes().all(|b| b.is_ascii_hexdigit());
    if is_id {
        let id = src.to_ascii_lowercase();
        let dst = match dst {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => format!("{COMMIT_REF_PREFIX}{id}"),
        };
        if !dst.starts_with("refs/") {
            return invalid("must store into refs/");
        }
        return Ok(Spec {
            refspec: format!("+{id}:{dst}"),
            expect: Expect::Commit { id, dst },
        });
    }
    if !src.starts_with("refs/") {
        return invalid("must name a full ref (refs/...) or a full commit id");
    }
    let dst = match dst {
        Some(d) if !d.is_empty() => d,
        // A mirror keeps a bare ref under its own name.
        _ => src,
    };
    if !dst.starts_with("refs/") {
        return invalid("must store into refs/");
    }
    let expect = if src.contains('*') || dst.contains('*') {
        Expect::Pattern
    } else {
        Expect::Ref {
            src: src.to_string(),
            dst: dst.to_string(),
        }
    };
    Ok(Spec {
        refspec: format!("+{src}:{dst}"),
        expect,
    })
}

/// Why a callback stopped the fetch (the libgit2 error that follows only says "user abort").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    Timeout,
    TooLarge,
    NoCredentials,
    Rejected,
    UnsupportedAuth,
}

/// State shared by the callbacks of one fetch.
#[derive(Default)]
struct Watch {
    abort: Cell<Option<Abort>>,
    credential_calls: Cell<u32>,
    updated: RefCell<BTreeSet<String>>,
}

impl Watch {
    fn stop(&self, why: Abort) {
        // Keep the first reason: later callbacks only see the consequences.
        if self.abort.get().is_none() {
            self.abort.set(Some(why));
        }
    }
}

/// Runs the fetch with the lock held, then checks that every named ref and commit arrived.
pub(super) fn run(
    repo: &Repository,
    url: &str,
    creds: Option<&Credentials>,
    specs: &[Spec],
    limits: &CheckoutLimits,
    deadline: &Deadline,
) -> Result<(), CheckoutError> {
    // A commit the mirror already has needs no round trip (and no server support for fetching
    // by id): just make sure its ref exists.
    let mut todo = Vec::new();
    for spec in specs {
        if let Expect::Commit { id, dst } = &spec.expect
            && let Ok(oid) = Oid::from_str(id)
            && repo.find_commit(oid).is_ok()
        {
            repo.reference(dst, oid, true, "thoth: commit already mirrored")?;
            continue;
        }
        todo.push(spec);
    }
    if todo.is_empty() {
        return Ok(());
    }

    let watch = Watch::default();
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|_url, _user, allowed| {
        let calls = watch.credential_calls.get() + 1;
        watch.credential_calls.set(calls);
        let refuse = |why| {
            watch.stop(why);
            Err(git2::Error::from_str("credentials refused"))
        };
        if deadline.expired() {
            return refuse(Abort::Timeout);
        }
        let Some(creds) = creds else {
            return refuse(Abort::NoCredentials);
        };
        // libgit2 asks again after every 401 (up to 15 times): a token is either right the
        // first time or wrong, so a second request means rejected.
        if calls > 1 {
            return refuse(Abort::Rejected);
        }
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return refuse(Abort::UnsupportedAuth);
        }
        Cred::userpass_plaintext(&creds.username, &creds.password)
    });
    callbacks.transfer_progress(|progress| {
        if deadline.expired() {
            watch.stop(Abort::Timeout);
            return false;
        }
        if progress.received_bytes() as u64 > limits.max_total_bytes {
            watch.stop(Abort::TooLarge);
            return false;
        }
        true
    });
    callbacks.sideband_progress(|_message| {
        if deadline.expired() {
            watch.stop(Abort::Timeout);
            return false;
        }
        true
    });
    callbacks.update_tips(|refname, _old, _new| {
        watch.updated.borrow_mut().insert(refname.to_string());
        true
    });

    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false)
        // Unchanged refs are reported too: that is how a ref that exists is told from one the
        // server does not have (libgit2 silently fetches nothing for it).
        .report_unchanged(true)
        // The token is offered only to the host we were given.
        .follow_redirects(RemoteRedirect::None);

    let refspecs: Vec<&str> = todo.iter().map(|s| s.refspec.as_str()).collect();
    let mut remote = repo.remote_anonymous(url)?;
    let fetched = remote.fetch(&refspecs, Some(&mut options), Some("thoth: fetch"));
    drop(options);
    if let Err(e) = fetched {
        return Err(fetch_error(&e, watch.abort.get(), url, creds, limits));
    }

    let updated = watch.updated.borrow();
    for spec in todo {
        match &spec.expect {
            Expect::Ref { src, dst } if !updated.contains(dst) => {
                return Err(CheckoutError::NotFound(format!(
                    "{src} does not exist in {}",
                    display_url(url)
                )));
            }
            Expect::Commit { id, .. } => {
                let present = Oid::from_str(id).is_ok_and(|oid| repo.find_commit(oid).is_ok());
                if !present {
                    return Err(CheckoutError::NotFound(format!(
                        "commit {id} was not received from {}",
                        display_url(url)
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns a failed fetch into the variant callers branch on, without the token in any message.
fn fetch_error(
    e: &git2::Error,
    abort: Option<Abort>,
    url: &str,
    creds: Option<&Credentials>,
    limits: &CheckoutLimits,
) -> CheckoutError {
    let at = display_url(url);
    match abort {
        Some(Abort::Timeout) => return CheckoutError::Timeout(limits.timeout),
        Some(Abort::TooLarge) => {
            return CheckoutError::TooLarge(format!(
                "fetching from {at} received more than {} bytes",
                limits.max_total_bytes
            ));
        }
        Some(Abort::NoCredentials) => {
            return CheckoutError::Auth(format!("{at} requires credentials and none were given"));
        }
        Some(Abort::Rejected) => {
            return CheckoutError::Auth(format!("{at} rejected the credentials"));
        }
        Some(Abort::UnsupportedAuth) => {
            return CheckoutError::Auth(format!(
                "{at} asked for a kind of credentials other than user name and password"
            ));
        }
        None => {}
    }
    let message = redact(e.message(), url, creds);
    let lower = message.to_ascii_lowercase();
    if e.code() == ErrorCode::Auth || lower.contains("status code: 403") {
        return CheckoutError::Auth(format!("{at}: {message}"));
    }
    if e.code() == ErrorCode::NotFound || lower.contains("status code: 404") {
        return CheckoutError::NotFound(format!("{at}: {message}"));
    }
    // The server refuses to send an object it does not advertise (or does not have).
    if lower.contains("not our ref") || lower.contains("cannot fetch a specific object") {
        return CheckoutError::NotFound(format!(
            "{at} cannot serve that commit by id (fetch a ref instead): {message}"
        ));
    }
    let class = if e.class() == ErrorClass::None {
        ErrorClass::Net
    } else {
        e.class()
    };
    CheckoutError::Git(git2::Error::new(e.code(), class, message))
}

/// Removes the password and any user info in the URL from a libgit2 message. libgit2 does not
/// put passwords in its messages today; this keeps it that way if a server echoes one back.
fn redact(message: &str, url: &str, creds: Option<&Credentials>) -> String {
    let mut out = message.replace(url, &display_url(url));
    if let Some(c) = creds
        && !c.password.is_empty()
    {
        out = out.replace(&c.password, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://github.com/o/r.git").is_ok());
        assert!(check_url("https://org@dev.azure.com/org/p/_git/r").is_ok());
        assert!(check_url("http://127.0.0.1:8080/r.git").is_ok());
        for bad in [
            "file:///etc",
            "/srv/repo",
            "ssh://git@github.com/o/r",
            "https://x-access-token:ghs_secret@github.com/o/r",
            "https://github.com/o/r\n",
        ] {
            assert!(
                matches!(check_url(bad), Err(CheckoutError::InvalidInput(_))),
                "{bad}"
            );
        }
        assert_eq!(
            display_url("https://org@dev.azure.com/org/_git/r?x=1"),
            "https://dev.azure.com/org/_git/r"
        );
    }

    #[test]
    fn refspecs() {
        let sha = "a".repeat(40);
        let parsed = parse_refspecs(&[
            "+refs/pull/7/head:refs/thoth/pull/7/head".to_string(),
            "refs/heads/main".to_string(),
            sha.to_uppercase(),
            "+refs/heads/*:refs/thoth/heads/*".to_string(),
        ])
        .expect("valid");
        assert_eq!(
            parsed[0].refspec,
            "+refs/pull/7/head:refs/thoth/pull/7/head"
        );
        assert_eq!(parsed[1].refspec, "+refs/heads/main:refs/heads/main");
        assert_eq!(
            parsed[2].refspec,
            format!("+{sha}:refs/thoth/commits/{sha}")
        );
        assert_eq!(parsed[3].expect, Expect::Pattern);
        for bad in [
            "",
            "main",
            "abc1234",
            "^refs/heads/x",
            "refs/a:HEAD",
            "refs/a b",
        ] {
            assert!(parse_refspecs(&[bad.to_string()]).is_err(), "{bad}");
        }
        assert!(parse_refspecs(&[]).is_err());
    }

    #[test]
    fn redaction() {
        let creds = Credentials::github_installation("ghs_topsecret");
        let msg = redact("server said ghs_topsecret", "https://h/r", Some(&creds));
        assert_eq!(msg, "server said <redacted>");
        assert!(!format!("{creds:?}").contains("topsecret"));
    }
}
