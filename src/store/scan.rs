//! Records of the recovery scans ([`crate::recovery`]): a lease per scan, so one replica scans
//! at a time, and a cursor per scan, so the next run (on any replica) goes on where the last
//! one stopped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a scan stopped and when it last went all the way through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanCursor {
    /// Opaque to the store: the last webhook delivery id seen, or the repository to resume a
    /// reconciliation walk at (empty: start from the beginning).
    pub position: String,
    /// When a run last finished without an error (`None`: never).
    pub last_success: Option<DateTime<Utc>>,
}

/// Whether a lease held by `holder` until `until` may be taken by `owner` at `now`: it is
/// `owner`'s own (a renewal) or it ran out. Shared by both backends.
pub fn lease_is_free(holder: &str, until: DateTime<Utc>, owner: &str, now: DateTime<Utc>) -> bool {
    holder == owner || until < now
}
