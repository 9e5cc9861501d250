//! Scan leases on sled: a compare-and-swap on one key, so two tasks racing for a lease agree
//! on one winner (sled is one process, but a process runs several scanners).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::SledStore;
use super::keys::{from_json, to_json};
use crate::store::{StoreError, lease_deadline, lease_is_free};

#[derive(Serialize, Deserialize)]
struct Lease {
    owner: String,
    until: DateTime<Utc>,
}

impl SledStore {
    pub(super) fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let new = to_json(&Lease {
            owner: owner.to_owned(),
            until: lease_deadline(now, lease)?,
        })?;
        let key = name.as_bytes();
        // Retried only when another task changed the lease between our read and our swap.
        loop {
            let current = self.scan_leases.get(key)?;
            if let Some(bytes) = &current {
                let held: Lease = from_json("scan lease", bytes)?;
                if !lease_is_free(&held.owner, held.until, owner, now) {
                    return Ok(false);
                }
            }
            if self
                .scan_leases
                .compare_and_swap(key, current, Some(new.clone()))?
                .is_ok()
            {
                return Ok(true);
            }
        }
    }

    pub(super) fn release_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let key = name.as_bytes();
        loop {
            let Some(current) = self.scan_leases.get(key)? else {
                return Ok(false);
            };
            let held: Lease = from_json("scan lease", &current)?;
            if held.owner != owner {
                return Ok(false);
            }
            if self
                .scan_leases
                .compare_and_swap(key, Some(current), None::<&[u8]>)?
                .is_ok()
            {
                return Ok(true);
            }
        }
    }
}
