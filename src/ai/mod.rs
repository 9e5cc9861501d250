//! The AI review: a model reads the change (security, architecture and fix roles in one call)
//! and answers a risk score, a confidence, findings, recommendations and fixes. The decision
//! engine then applies it through [`crate::decision::ai::tighten`]: the model can raise the
//! risk and add findings, never loosen what the gates decided. See docs/ai-review.md.

pub mod answer;
pub mod client;
pub mod config;
pub mod diff;
pub mod local;
pub mod review;

pub use answer::{AiAnswer, AiFinding, AiFix};
pub use client::{ChatClient, Usage};
pub use config::{AiSettings, ModelSettings, Provider, RepoAiConfig};
pub use review::{AiReview, ReviewInput, ReviewOutcome};

/// What the server reviews with: its `[ai]` settings and the client they make.
#[derive(Debug)]
pub struct Reviewer {
    pub settings: AiSettings,
    pub client: ChatClient,
}

impl Reviewer {
    /// `None` when `[ai]` is not enabled: no model is ever called.
    pub fn from_settings(settings: &AiSettings) -> anyhow::Result<Option<Reviewer>> {
        if !settings.enabled {
            return Ok(None);
        }
        Ok(Some(Reviewer {
            client: ChatClient::new(settings)?,
            settings: settings.clone(),
        }))
    }
}
