//! The GitHub App client: App authentication with cached installation tokens ([`auth`]), the
//! REST calls the bot makes with write budgeting and retries ([`client`]), and the publishing of
//! a [`PublishPlan`](super::PublishPlan) ([`publish`]).
//!
//! Like bors, there is no client trait: tests point [`GithubConfig::api_url`] at a fake GitHub
//! served over HTTP (`tests/support/fake_github.rs`), so the real request code is what is tested.
//!
//! # Retries (see [`client`] for the code)
//!
//! - Rate limits (429, or 403 with `x-ratelimit-remaining: 0` or a secondary-limit message) are
//!   retried for every method, after `retry-after` seconds or until `x-ratelimit-reset`: GitHub
//!   does not apply a rate-limited request. A wait longer than
//!   [`GithubConfig::max_rate_limit_wait`] is not slept; it surfaces as
//!   [`ForgeError::RateLimited`](super::ForgeError::RateLimited) so the job is rescheduled
//!   instead of holding a worker.
//! - 5xx and transport errors are retried with exponential backoff, but only for requests whose
//!   repetition cannot duplicate anything (`Idempotency::Safe`: GETs, edits that set a value).
//! - A request that creates something (a comment, a review, a check run, an annotation batch)
//!   is retried after a 5xx only on 502 and 503, where GitHub's front end answers without the
//!   backend having taken the request. Never after a timeout, a dropped connection, a 500 or a
//!   504 (the proxy gave up waiting; the write may still land): repeating those is how bors
//!   posts duplicate comments. The summary comment is safe even then: its upsert looks for the
//!   marker again before it would post.
//! - Everything is bounded by [`GithubConfig::max_retries`].

pub mod auth;
pub mod client;
pub mod publish;
pub(crate) mod retry;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use auth::{GithubApp, GithubConfig};
pub use client::InstallationClient;
pub use publish::{PublishedIds, publish};

/// A check run on GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckRunId(pub u64);

impl fmt::Display for CheckRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A user's permission on a repository, most to least powerful (so `>=` compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Admin,
    Maintain,
    Write,
    Triage,
    Read,
    None,
}

impl Permission {
    /// Parses GitHub's `role_name` / `permission` values; `None` for a custom role name.
    pub fn parse(s: &str) -> Option<Permission> {
        Some(match s {
            "admin" => Permission::Admin,
            "maintain" => Permission::Maintain,
            "write" | "push" => Permission::Write,
            "triage" => Permission::Triage,
            "read" | "pull" => Permission::Read,
            "none" => Permission::None,
            _ => return None,
        })
    }

    /// Write, maintain or admin: who may run `/thoth override`.
    pub fn can_write(self) -> bool {
        self <= Permission::Write
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Admin => "admin",
            Permission::Maintain => "maintain",
            Permission::Write => "write",
            Permission::Triage => "triage",
            Permission::Read => "read",
            Permission::None => "none",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reaction on a comment (the bot acknowledges commands with one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reaction {
    PlusOne,
    MinusOne,
    Laugh,
    Confused,
    Heart,
    Hooray,
    Rocket,
    Eyes,
}

impl Reaction {
    /// GitHub's `content` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::PlusOne => "+1",
            Reaction::MinusOne => "-1",
            Reaction::Laugh => "laugh",
            Reaction::Confused => "confused",
            Reaction::Heart => "heart",
            Reaction::Hooray => "hooray",
            Reaction::Rocket => "rocket",
            Reaction::Eyes => "eyes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_order_and_parse() {
        assert!(Permission::Admin.can_write());
        assert!(Permission::Maintain.can_write());
        assert!(Permission::Write.can_write());
        assert!(!Permission::Triage.can_write());
        assert!(!Permission::None.can_write());
        assert_eq!(Permission::parse("push"), Some(Permission::Write));
        assert_eq!(Permission::parse("security-reviewer"), None);
    }
}
