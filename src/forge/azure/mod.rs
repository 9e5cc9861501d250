//! Azure DevOps: the REST calls through the `azure_devops_rust_api` crate with the bot's retry
//! rules ([`client`], over our own transport, [`transport`]), the pull-request calls
//! ([`pulls`]) and the publishing of a [`PublishPlan`](super::PublishPlan) as a PR status, a
//! reviewer vote, one summary thread and finding threads anchored to file:line ([`publish`]).
//! What the bot acts on (commits, clone URL, authors) is read from the API, never taken from a
//! hook body ([`facts`]); group memberships come from the identity API ([`identity`]).
//!
//! Like the GitHub side there is no client trait: tests point [`AzureConfig::api_url`] at a fake
//! Azure DevOps served over HTTP (`tests/support/fake_azure.rs`), which becomes the crate's
//! endpoint.

pub mod client;
pub mod facts;
pub mod identity;
pub mod lists;
pub mod publish;
pub mod pulls;
mod transport;

pub use client::{AzureClient, AzureConfig};
pub use facts::{CloneUrlRefused, check_clone_url};
pub use publish::{Published, publish};
pub use pulls::StatusState;

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
