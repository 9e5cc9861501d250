//! AI usage on sled: one `day \0 owner \0 repo \0 model -> AiUsage` (JSON) entry per key, added
//! to with a compare-and-swap so concurrent reviews never lose a count. Keys start with the ISO
//! day, so byte order is day order and "since" is a range read.

use super::SledStore;
use super::keys::{from_json, to_json};
use crate::store::{AiUsage, StoreError};
use chrono::NaiveDate;

fn key(u: &AiUsage) -> Vec<u8> {
    let day = u.day.format("%Y-%m-%d").to_string();
    [
        day.as_bytes(),
        &[0],
        u.owner.as_bytes(),
        &[0],
        u.repo.as_bytes(),
        &[0],
        u.model.as_bytes(),
    ]
    .concat()
}

impl SledStore {
    pub(super) async fn add_usage(&self, usage: &AiUsage) -> Result<(), StoreError> {
        let k = key(usage);
        let mut failed = None;
        self.ai_usage.update_and_fetch(&k, |old| {
            // The closure runs again when the compare-and-swap loses; only the last run counts.
            failed = None;
            let mut total = match old.map(|b| from_json::<AiUsage>("ai usage", b)) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    failed = Some(e);
                    return old.map(<[u8]>::to_vec);
                }
                None => AiUsage {
                    requests: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_micro_usd: 0,
                    ..usage.clone()
                },
            };
            total.add(usage);
            match to_json(&total) {
                Ok(v) => Some(v),
                Err(e) => {
                    failed = Some(e);
                    old.map(<[u8]>::to_vec)
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.flush().await
    }

    pub(super) fn usage_since(&self, since: NaiveDate) -> Result<Vec<AiUsage>, StoreError> {
        let start = since.format("%Y-%m-%d").to_string();
        self.ai_usage
            .range(start.as_bytes()..)
            .map(|entry| {
                let (_, v) = entry?;
                from_json("ai usage", &v)
            })
            .collect()
    }
}
