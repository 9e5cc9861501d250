//! Identifier newtypes shared by intake, the queue, the store and the forges.
//!
//! Every id that crosses a module boundary gets its own type, so a repository name can never be
//! passed where a delivery id is expected. Each one has `Display` / `FromStr` that round-trip, and
//! serde goes through the same validation (`try_from = "String"`), so a stored record that was
//! tampered with or written by a newer version fails loudly instead of carrying a bad id around.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {reason}")]
pub struct IdError {
    /// Which id type rejected the value.
    pub kind: &'static str,
    /// The rejected input (cut to keep log lines short).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl IdError {
    fn new(kind: &'static str, value: &str, reason: &'static str) -> Self {
        let value = value.chars().take(80).collect();
        IdError {
            kind,
            value,
            reason,
        }
    }
}

/// The forge a pull request lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "azure-devops")]
    AzureDevOps,
}

impl Platform {
    /// The stable name used in storage keys, SQL rows and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::GitHub => "github",
            Platform::AzureDevOps => "azure-devops",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "github" => Ok(Platform::GitHub),
            "azure-devops" | "azuredevops" | "ado" => Ok(Platform::AzureDevOps),
            _ => Err(IdError::new(
                "platform",
                s,
                "expected `github` or `azure-devops`",
            )),
        }
    }
}

/// A GitHub App installation: the organization or account the App acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstallationId(pub u64);

impl fmt::Display for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A comment (GitHub issue comment) or comment thread (Azure DevOps) on a pull request, as the
/// forge numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentId(pub u64);

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CommentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse()
            .map(CommentId)
            .map_err(|_| IdError::new("comment id", s, "expected a positive integer"))
    }
}

/// Implements `Display`, `FromStr`, `TryFrom<String>`, `From<T> for String` and `as_str` for a
/// validated string newtype whose validator is `fn validate(&str) -> Result<String, IdError>`.
macro_rules! string_id {
    ($ty:ident) => {
        impl $ty {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::validate(s).map($ty)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0
            }
        }
    };
}

/// A repository: `owner/name` on GitHub, `organization/project/repository` on Azure DevOps.
///
/// Azure DevOps project and repository names may contain spaces, so only the shape is checked:
/// two or three non-empty segments without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoId(String);

impl RepoId {
    fn validate(s: &str) -> Result<String, IdError> {
        let err = |reason| Err(IdError::new("repository", s, reason));
        if s.chars().any(char::is_control) {
            return err("contains a control character");
        }
        let segments: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&segments.len()) {
            return err("expected `owner/name` or `organization/project/repository`");
        }
        if segments.iter().any(|seg| seg.trim().is_empty()) {
            return err("has an empty segment");
        }
        Ok(s.to_owned())
    }
}
string_id!(RepoId);

/// A commit id: 7 to 64 hex digits (abbreviated, SHA-1 or SHA-256), kept in lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitSha(String);

impl CommitSha {
    fn validate(s: &str) -> Result<String, IdError> {
        if !(7..=64).contains(&s.len()) {
            return Err(IdError::new("commit sha", s, "expected 7 to 64 hex digits"));
        }
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdError::new("commit sha", s, "not hexadecimal"));
        }
        Ok(s.to_ascii_lowercase())
    }
}
string_id!(CommitSha);

/// A webhook delivery: GitHub's `X-GitHub-Delivery`, Azure DevOps' event `id`.
///
/// Redeliveries reuse it, which is what makes it the dedupe key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeliveryId(String);

impl DeliveryId {
    /// Long enough for any GUID-like id; anything longer is not a delivery id but an attack on
    /// the key space.
    pub const MAX_LEN: usize = 200;

    fn validate(s: &str) -> Result<String, IdError> {
        if s.trim().is_empty() {
            return Err(IdError::new("delivery id", s, "is empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(IdError::new("delivery id", s, "longer than 200 bytes"));
        }
        if s.chars().any(char::is_control) {
            return Err(IdError::new(
                "delivery id",
                s,
                "contains a control character",
            ));
        }
        Ok(s.to_owned())
    }
}
string_id!(DeliveryId);

/// A pull request number (GitHub) or pull request id (Azure DevOps) within its repository.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct PrNumber(pub u64);

impl fmt::Display for PrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PrNumber {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().trim_start_matches('#');
        digits
            .parse()
            .map(PrNumber)
            .map_err(|_| IdError::new("pull request number", s, "not a number"))
    }
}

/// Defines a UUID-backed id with a random constructor.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $ty:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub Uuid);

        impl $ty {
            /// A fresh random id.
            pub fn new() -> Self {
                $ty(Uuid::new_v4())
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map($ty)
                    .map_err(|_| IdError::new($kind, s, "not a UUID"))
            }
        }
    };
}

uuid_id!(
    /// A queued job.
    JobId,
    "job id"
);
uuid_id!(
    /// An audit record of a decision.
    DecisionId,
    "decision id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_round_trips() {
        for p in [Platform::GitHub, Platform::AzureDevOps] {
            assert_eq!(p.to_string().parse::<Platform>(), Ok(p));
            let json = serde_json::to_string(&p).expect("serialize");
            assert_eq!(json, format!("\"{p}\""));
        }
        assert!("gitlab".parse::<Platform>().is_err());
    }

    #[test]
    fn repo_ids() {
        assert!("octo/repo".parse::<RepoId>().is_ok());
        assert!("org/My Project/repo".parse::<RepoId>().is_ok());
        for bad in ["", "repo", "a//b", "a/b/c/d", "/b", "a/\nb"] {
            assert!(bad.parse::<RepoId>().is_err(), "{bad:?} accepted");
        }
        let err = serde_json::from_str::<RepoId>("\"nope\"").expect_err("must fail");
        assert!(err.to_string().contains("invalid repository"), "{err}");
    }

    #[test]
    fn commit_shas_are_hex_and_lowercased() {
        let sha: CommitSha = "ABCDEF1".parse().expect("valid");
        assert_eq!(sha.as_str(), "abcdef1");
        assert!("abc".parse::<CommitSha>().is_err());
        assert!("zzzzzzz".parse::<CommitSha>().is_err());
        assert!("a".repeat(65).parse::<CommitSha>().is_err());
        assert!("a".repeat(64).parse::<CommitSha>().is_ok());
    }

    #[test]
    fn delivery_ids_and_numbers() {
        assert!(" ".parse::<DeliveryId>().is_err());
        assert!("x".repeat(201).parse::<DeliveryId>().is_err());
        assert_eq!("#42".parse::<PrNumber>(), Ok(PrNumber(42)));
        let id = JobId::new();
        assert_eq!(id.to_string().parse::<JobId>(), Ok(id));
    }
}
