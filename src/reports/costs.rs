//! `thoth-bot costs`: AI model usage and cost from the store, by day or month and by
//! repository, like ThothCTL's `ai-review report`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, TimeDelta, Utc};
use serde::Serialize;

use crate::store::AiUsage;

/// How `costs` groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CostPeriod {
    Daily,
    Monthly,
}

/// Output of `costs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostFormat {
    Text,
    Json,
}

/// The arguments of `costs`.
#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// Store URL (`sled:PATH` or `postgres://...`).
    #[arg(long, env = "THOTH_STORE", default_value = "sled:./thoth-data")]
    pub store: String,
    /// Group by day or by calendar month.
    #[arg(long, value_enum, default_value = "daily")]
    pub period: CostPeriod,
    /// How many days back, today included.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CostFormat,
}

/// Sums of usage over a group of rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

impl Totals {
    fn add(&mut self, u: &AiUsage) {
        self.requests = self.requests.saturating_add(u.requests);
        self.input_tokens = self.input_tokens.saturating_add(u.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(u.output_tokens);
        self.cost_usd += u.cost_usd();
    }
}

/// Usage of one day or month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    pub period: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// Usage of one repository with one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoRow {
    pub owner: String,
    pub repo: String,
    pub model: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The report: what `--format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub period: CostPeriod,
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub periods: Vec<PeriodRow>,
    pub repositories: Vec<RepoRow>,
    pub total: Totals,
}

/// `thoth-bot costs`.
pub async fn costs(args: &CostArgs) -> anyhow::Result<String> {
    let store = crate::store::open(&args.store).await?;
    let today = Utc::now().date_naive();
    let since = today - TimeDelta::days(i64::from(args.days) - 1);
    let rows = store.ai_usage(since).await?;
    Ok(render(
        &build(&rows, args.period, since, today),
        args.format,
    ))
}

/// Groups `rows` (days from `since` to `until`) by period and by repository and model.
pub fn build(
    rows: &[AiUsage],
    period: CostPeriod,
    since: NaiveDate,
    until: NaiveDate,
) -> CostReport {
    let mut periods: BTreeMap<String, Totals> = BTreeMap::new();
    let mut repos: BTreeMap<(&str, &str, &str), Totals> = BTreeMap::new();
    let mut total = Totals::default();
    for r in rows.iter().filter(|r| r.day >= since && r.day <= until) {
        let key = match period {
            CostPeriod::Daily => r.day.format("%Y-%m-%d").to_string(),
            CostPeriod::Monthly => r.day.format("%Y-%m").to_string(),
        };
        periods.entry(key).or_default().add(r);
        repos
            .entry((&r.owner, &r.repo, &r.model))
            .or_default()
            .add(r);
        total.add(r);
    }
    CostReport {
        period,
        since,
        until,
        periods: periods
            .into_iter()
            .map(|(period, totals)| PeriodRow { period, totals })
            .collect(),
        repositories: repos
            .into_iter()
            .map(|((owner, repo, model), totals)| RepoRow {
                owner: owner.into(),
                repo: repo.into(),
                model: model.into(),
                totals,
            })
            .collect(),
        total,
    }
}

/// Renders the report as aligned text or JSON.
pub fn render(r: &CostReport, format: CostFormat) -> String {
    if format == CostFormat::Json {
        return serde_json::to_string_pretty(r).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    let by = match r.period {
        CostPeriod::Daily => "day",
        CostPeriod::Monthly => "month",
    };
    let _ = writeln!(
        out,
        "thoth-bot AI costs by {by}, {} to {}",
        r.since, r.until
    );
    if r.periods.is_empty() {
        let _ = writeln!(out, "\nno AI usage recorded in this period");
        return out;
    }
    let line = |out: &mut String, name: &str, t: &Totals| {
        let _ = writeln!(
            out,
            "  {name:<32} {:>8} {:>14} {:>14} {:>12.4}",
            t.requests, t.input_tokens, t.output_tokens, t.cost_usd
        );
    };
    let head = |out: &mut String, first: &str| {
        let _ = writeln!(
            out,
            "\n  {first:<32} {:>8} {:>14} {:>14} {:>12}",
            "requests", "input tokens", "output tokens", "cost (USD)"
        );
    };
    head(&mut out, by);
    for p in &r.periods {
        line(&mut out, &p.period, &p.totals);
    }
    line(&mut out, "total", &r.total);
    head(&mut out, "repository (model)");
    for p in &r.repositories {
        line(&mut out, &format!("{} ({})", p.repo, p.model), &p.totals);
    }
    let _ = writeln!(
        out,
        "\nModels without a price in [ai.pricing] count tokens only (cost 0)."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: &str, repo: &str, model: &str, cost: u64) -> AiUsage {
        AiUsage {
            day: day.parse().unwrap(),
            owner: repo.split('/').next().unwrap().into(),
            repo: repo.into(),
            model: model.into(),
            requests: 2,
            input_tokens: 12_000,
            output_tokens: 1_500,
            cost_micro_usd: cost,
        }
    }

    fn rows() -> Vec<AiUsage> {
        vec![
            row("2026-11-02", "acme/infra", "gpt-4o-mini", 2_700),
            row("2026-11-30", "acme/infra", "gpt-4o-mini", 2_700),
            row("2026-12-01", "acme/infra", "gpt-4o-mini", 2_700),
            row("2026-12-01", "acme/network", "llama3.1", 0),
        ]
    }

    #[test]
    fn daily_text() {
        let r = build(
            &rows(),
            CostPeriod::Daily,
            "2026-11-10".parse().unwrap(),
            "2026-12-01".parse().unwrap(),
        );
        assert_eq!(r.total.requests, 6);
        insta::assert_snapshot!(render(&r, CostFormat::Text));
    }

    #[test]
    fn monthly_json() {
        let r = build(
            &rows(),
            CostPeriod::Monthly,
            "2026-11-01".parse().unwrap(),
            "2026-12-01".parse().unwrap(),
        );
        let v: serde_json::Value = serde_json::from_str(&render(&r, CostFormat::Json)).unwrap();
        assert_eq!(v["period"], "monthly");
        assert_eq!(v["periods"][0]["period"], "2026-11");
        assert_eq!(v["periods"][0]["requests"], 4);
        assert_eq!(v["periods"][1]["period"], "2026-12");
        assert!((v["total"]["cost_usd"].as_f64().unwrap() - 0.0081).abs() < 1e-9);
        assert_eq!(v["repositories"][1]["model"], "llama3.1");
    }

    #[test]
    fn nothing_recorded_says_so() {
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let r = build(&[], CostPeriod::Daily, today, today);
        assert!(render(&r, CostFormat::Text).contains("no AI usage recorded"));
    }
}
