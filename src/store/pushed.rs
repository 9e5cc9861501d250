//! Records of the push API (`POST /api/v1/plans/...`, `POST /api/v1/drift/...`): the push
//! tokens (only their SHA-256), the plans and drift reports pipelines pushed, and the head each
//! pull request was last evaluated at, so a plan pushed for that head can start its evaluation
//! again. Plain records: what they mean lives in `crate::api` and the worker.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CommitSha, Platform, PrNumber, RepoId};

/// The public half of a push token, used to find its record (the secret half is only hashed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PushTokenId(String);

impl PushTokenId {
    /// Length of an id: 16 lowercase hex digits (64 random bits).
    pub const LEN: usize = 16;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PushTokenId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == Self::LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(PushTokenId(s.to_owned()))
        } else {
            Err(format!(
                "push token id `{}` is not {} lowercase hex digits",
                s.chars().take(40).collect::<String>(),
                Self::LEN
            ))
        }
    }
}

impl TryFrom<String> for PushTokenId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PushTokenId> for String {
    fn from(id: PushTokenId) -> String {
        id.0
    }
}

impl fmt::Display for PushTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a push token may push to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum TokenScope {
    /// One repository.
    Repo(RepoId),
    /// Every repository of an owner (a GitHub account or installation, an Azure DevOps
    /// `organization/project`): the repository id minus its last segment.
    Owner(String),
}

impl TokenScope {
    /// Whether a token of this scope may push to `repo`.
    pub fn covers(&self, repo: &RepoId) -> bool {
        match self {
            TokenScope::Repo(r) => r == repo,
            TokenScope::Owner(o) => repo
                .as_str()
                .rsplit_once('/')
                .is_some_and(|(owner, _)| owner == o),
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenScope::Repo(r) => write!(f, "repository {r}"),
            TokenScope::Owner(o) => write!(f, "owner {o}"),
        }
    }
}

/// A stored push token: its id, scope and the SHA-256 (hex) of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushToken {
    pub id: PushTokenId,
    pub scope: TokenScope,
    /// Lowercase hex SHA-256 of the secret half; the secret itself is never stored.
    pub secret_sha256: String,
    pub created_at: DateTime<Utc>,
}

/// What a pushed report is, and so which one it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PushedKind {
    /// A plan (`terraform show -json`) for one commit and project directory (`""`: the root).
    Plan {
        head_sha: CommitSha,
        project: String,
    },
    /// The drift report of one environment, used by every evaluation until a newer one comes.
    Drift { environment: String },
}

/// A plan or drift report as a pipeline pushed it. Stored as text: the worker writes it into
/// the checkout, where the input parser reads it like a committed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedReport {
    pub repo: RepoId,
    pub kind: PushedKind,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl PushedReport {
    /// The report with its time cut to the store's precision.
    pub fn bounded(mut self) -> Self {
        self.at = super::micros(self.at);
        self
    }
}

/// The head a pull request was last evaluated at, with the job payload's pull request (opaque
/// to the store) so an evaluation of that head can be enqueued again without a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrHead {
    pub platform: Platform,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub head_sha: CommitSha,
    pub pull_request: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl PrHead {
    pub fn bounded(mut self) -> Self {
        self.at = super::micros(self.at);
        self
    }
}
