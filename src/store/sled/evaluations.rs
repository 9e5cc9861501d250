//! Evaluation records in sled: `evaluations` (`id -> record`), with `evaluations_at`
//! (`at ++ id -> id`) and `evaluations_pr` (`pr ++ at ++ id -> id`) as indexes, written in one
//! transaction.

use super::SledStore;
use super::keys::{from_json, pr_key, time_key, to_json, tx_error};
use crate::ids::{Platform, PrNumber, RepoId};
use crate::store::{EvaluationId, EvaluationRecord, StoreError};
use chrono::{DateTime, Utc};
use sled::transaction::Transactional;

impl SledStore {
    pub(super) async fn put_evaluation_tx(&self, rec: &EvaluationRecord) -> Result<(), StoreError> {
        let rec = rec.clone().bounded();
        let id = rec.id.0.as_bytes().to_vec();
        let time_id = [&time_key(rec.at)[..], &id].concat();
        let by_pr = [&pr_key(rec.platform, &rec.repo, rec.pr)[..], &time_id].concat();
        let json = to_json(&rec)?;
        (
            &self.evaluations,
            &self.evaluations_at,
            &self.evaluations_pr,
        )
            .transaction(|(all, at, per_pr)| {
                all.insert(&id[..], &json[..])?;
                at.insert(&time_id[..], &id[..])?;
                per_pr.insert(&by_pr[..], &id[..])?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush().await
    }

    pub(super) fn evaluation_by_id(
        &self,
        id: EvaluationId,
    ) -> Result<Option<EvaluationRecord>, StoreError> {
        self.evaluations
            .get(id.0.as_bytes())?
            .map(|b| from_json("evaluation", &b))
            .transpose()
    }

    fn evaluations_of(
        &self,
        ids: impl Iterator<Item = Result<sled::IVec, sled::Error>>,
        limit: usize,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            if out.len() >= limit {
                break;
            }
            if let Some(b) = self.evaluations.get(id?)? {
                out.push(from_json("evaluation", &b)?);
            }
        }
        Ok(out)
    }

    pub(super) fn evaluations_of_pr(
        &self,
        platform: Platform,
        repo: &RepoId,
        pr: PrNumber,
        limit: usize,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let prefix = pr_key(platform, repo, pr);
        self.evaluations_of(
            self.evaluations_pr.scan_prefix(prefix).values().rev(),
            limit,
        )
    }

    pub(super) fn evaluations_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let since = time_key(crate::store::micros(since)).to_vec();
        self.evaluations_of(self.evaluations_at.range(since..).values().rev(), limit)
    }

    pub(super) async fn prune_evaluations_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let cutoff = time_key(crate::store::micros(before)).to_vec();
        let old: Vec<(sled::IVec, sled::IVec)> = self
            .evaluations_at
            .range(..cutoff)
            .collect::<Result<_, _>>()?;
        let mut removed = 0;
        for (time_id, id) in old {
            let Some(b) = self.evaluations.get(&id)? else {
                self.evaluations_at.remove(&time_id)?;
                continue;
            };
            let rec: EvaluationRecord = from_json("evaluation", &b)?;
            let by_pr = [&pr_key(rec.platform, &rec.repo, rec.pr)[..], &time_id].concat();
            (
                &self.evaluations,
                &self.evaluations_at,
                &self.evaluations_pr,
            )
                .transaction(|(all, at, per_pr)| {
                    all.remove(&id)?;
                    at.remove(&time_id)?;
                    per_pr.remove(&by_pr[..])?;
                    Ok(())
                })
                .map_err(tx_error)?;
            removed += 1;
        }
        if removed > 0 {
            self.flush().await?;
        }
        Ok(removed)
    }
}
