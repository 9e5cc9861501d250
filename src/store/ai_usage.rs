//! AI model usage, kept per owner (GitHub organization or installation owner, Azure DevOps
//! organization), repository, model and UTC day: what `thoth-bot costs` reports and what the
//! daily and monthly budgets are checked against.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// One row of usage: totals of one owner, repository, model and day. Recording adds a row's
/// counts to the stored one with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiUsage {
    pub day: NaiveDate,
    /// Who the budget belongs to: the first segment of the repository id.
    pub owner: String,
    pub repo: String,
    pub model: String,
    /// HTTP requests sent to the model API (retries count).
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cost in millionths of a US dollar; 0 for a model the price table does not list.
    /// Integers, so sums are exact in both stores.
    pub cost_micro_usd: u64,
}

impl AiUsage {
    /// The stored key: rows with the same key are added together.
    pub fn key(&self) -> (NaiveDate, &str, &str, &str) {
        (self.day, &self.owner, &self.repo, &self.model)
    }

    /// Adds `other`'s counts (saturating: a hostile or broken API cannot wrap a total).
    pub fn add(&mut self, other: &AiUsage) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cost_micro_usd = self.cost_micro_usd.saturating_add(other.cost_micro_usd);
    }

    pub fn cost_usd(&self) -> f64 {
        self.cost_micro_usd as f64 / 1e6
    }
}

/// What `owner` spent on `today` and in `today`'s calendar month, in micro-USD, from rows read
/// since the first of the month.
pub fn spent(rows: &[AiUsage], owner: &str, today: NaiveDate) -> (u64, u64) {
    let month_start = today.with_day(1).unwrap_or(today);
    rows.iter()
        .filter(|r| r.owner == owner && r.day >= month_start && r.day <= today)
        .fold((0, 0), |(day, month), r| {
            let d = if r.day == today { r.cost_micro_usd } else { 0 };
            (
                day.saturating_add(d),
                month.saturating_add(r.cost_micro_usd),
            )
        })
}

/// The first day of `today`'s month: the earliest row a budget check needs.
pub fn month_start(today: NaiveDate) -> NaiveDate {
    today.with_day(1).unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: &str, owner: &str, cost: u64) -> AiUsage {
        AiUsage {
            day: day.parse().unwrap(),
            owner: owner.into(),
            repo: format!("{owner}/r"),
            model: "m".into(),
            requests: 1,
            input_tokens: 10,
            output_tokens: 5,
            cost_micro_usd: cost,
        }
    }

    #[test]
    fn spent_counts_the_day_and_the_month_of_one_owner() {
        let rows = [
            row("2026-11-30", "acme", 1_000),
            row("2026-12-01", "acme", 200),
            row("2026-12-02", "acme", 30),
            row("2026-12-02", "other", 7),
        ];
        let today: NaiveDate = "2026-12-02".parse().unwrap();
        assert_eq!(spent(&rows, "acme", today), (30, 230));
        assert_eq!(spent(&rows, "other", today), (7, 7));
        assert_eq!(spent(&rows, "nobody", today), (0, 0));
    }

    #[test]
    fn add_saturates() {
        let mut a = row("2026-12-01", "acme", u64::MAX - 1);
        a.add(&row("2026-12-01", "acme", 5));
        assert_eq!(a.cost_micro_usd, u64::MAX);
        assert_eq!(a.requests, 2);
    }
}
