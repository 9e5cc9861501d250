//! Key encodings and serialization helpers of the sled backend.
//!
//! Times in keys are big-endian microseconds with the sign bit flipped, so byte order is time
//! order and range scans follow time.

use crate::ids::{JobId, Platform, PrNumber, RepoId};
use crate::store::StoreError;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use uuid::Uuid;

pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

pub(super) fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

pub(super) fn abort_on<T>(r: Result<T, StoreError>) -> TxResult<T> {
    r.map_err(ConflictableTransactionError::Abort)
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

pub(super) fn from_json<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn fixed<const N: usize>(
    bytes: &[u8],
    what: &'static str,
) -> Result<[u8; N], StoreError> {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::corrupt(what, format!("expected {N} bytes")))
}

/// Big-endian microseconds with the sign bit flipped: byte order is time order.
pub(super) fn time_key(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

/// Reads the time at the start of a key written with [`time_key`].
pub(super) fn time_from_key(bytes: &[u8]) -> Result<DateTime<Utc>, StoreError> {
    let raw = u64::from_be_bytes(fixed(bytes, "time key")?) ^ (1 << 63);
    Utc.timestamp_micros(raw as i64)
        .single()
        .ok_or_else(|| StoreError::corrupt("time key", "out of range"))
}

pub(super) fn id_from_bytes(bytes: &[u8]) -> Result<JobId, StoreError> {
    Ok(JobId(Uuid::from_bytes(fixed(bytes, "job id")?)))
}

/// `repo ++ 0`: repository names hold no control characters, so 0 cannot occur inside one.
pub(super) fn repo_prefix(repo: &RepoId) -> Vec<u8> {
    [repo.as_str().as_bytes(), &[0]].concat()
}

pub(super) fn pr_key(platform: Platform, repo: &RepoId, pr: PrNumber) -> Vec<u8> {
    [
        platform.as_str().as_bytes(),
        &[0],
        &repo_prefix(repo),
        &pr.0.to_be_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_times() {
        let times = [
            Utc.timestamp_micros(-5_000_000).single(),
            Utc.timestamp_micros(0).single(),
            Utc.timestamp_micros(1_700_000_000_000_000).single(),
        ];
        let times: Vec<_> = times.into_iter().flatten().collect();
        for pair in times.windows(2) {
            assert!(time_key(pair[0]) < time_key(pair[1]));
        }
        for t in times {
            assert_eq!(time_from_key(&time_key(t)).ok(), Some(t));
        }
    }
}
