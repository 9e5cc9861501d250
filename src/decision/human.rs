//! The decision a human imposes with `/thoth override`, as commands parse it, the store keeps it
//! and the worker applies it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DecisionKind;

/// The decision an override imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideDecision {
    Approve,
    Reject,
    RequestChanges,
}

impl OverrideDecision {
    pub const ALL: [OverrideDecision; 3] = [
        OverrideDecision::Approve,
        OverrideDecision::Reject,
        OverrideDecision::RequestChanges,
    ];

    /// The spelling in a command, in the store and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideDecision::Approve => "approve",
            OverrideDecision::Reject => "reject",
            OverrideDecision::RequestChanges => "request-changes",
        }
    }

    /// Case-insensitive, as users type it.
    pub fn parse(s: &str) -> Option<OverrideDecision> {
        OverrideDecision::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }

    /// The decision the bot publishes for it.
    pub fn kind(self) -> DecisionKind {
        match self {
            OverrideDecision::Approve => DecisionKind::Approve,
            OverrideDecision::Reject => DecisionKind::Reject,
            OverrideDecision::RequestChanges => DecisionKind::RequestChanges,
        }
    }
}

impl fmt::Display for OverrideDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stored override decision is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown override decision `{0}` (approve, reject or request-changes)")]
pub struct UnknownOverride(String);

impl FromStr for OverrideDecision {
    type Err = UnknownOverride;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OverrideDecision::parse(s).ok_or_else(|| UnknownOverride(s.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_text_and_serde() {
        for d in OverrideDecision::ALL {
            assert_eq!(d.as_str().parse::<OverrideDecision>(), Ok(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_str()));
        }
        assert!("merge".parse::<OverrideDecision>().is_err());
    }
}
