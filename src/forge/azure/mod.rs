//! Azure DevOps: a small REST client over hyper ([`client`]) and the publishing of a
//! [`PublishPlan`](super::PublishPlan) as a PR status, a reviewer vote, one summary thread and
//! finding threads anchored to file:line ([`publish`]). What the bot acts on (commits, clone
//! URL, authors) is read from the API, never taken from a hook body ([`facts`]).
//!
//! Like the GitHub side there is no client trait: tests point [`AzureConfig::api_url`] at a fake
//! Azure DevOps served over HTTP (`tests/support/fake_azure.rs`).

pub mod client;
pub mod facts;
pub mod identity;
pub mod publish;

pub use client::{AzureClient, AzureConfig, StatusState};
pub use facts::{CloneUrlRefused, check_clone_url};
pub use publish::{Published, publish};

/// The organization name: the last path segment of its URL (`https://dev.azure.com/acme`), as
/// repository ids name it (`org/project/repository`).
pub fn org_name(org_url: &str) -> String {
    org_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && !s.contains(':'))
        .unwrap_or("azure-devops")
        .to_string()
}

/// `https://user@dev.azure.com/...` without the user: credentials come from config.
pub fn clean_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s && !url[s + 3..at].contains('/') => {
            format!("{}{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

use crate::decision::DecisionKind;

/// An Azure DevOps organization as the worker and recovery use it.
pub struct AzureContext {
    pub client: AzureClient,
    /// Finding threads opened per pull request at most (the rest stay in the summary).
    pub max_finding_threads: usize,
}

/// The reviewer vote for a decision: 10 approve, -5 waiting for author (request changes),
/// -10 reject, 0 (no vote / reset) for a comment-only decision.
pub fn vote_of(kind: DecisionKind) -> i32 {
    match kind {
        DecisionKind::Approve => 10,
        DecisionKind::RequestChanges => -5,
        DecisionKind::Reject => -10,
        DecisionKind::Comment => 0,
    }
}
