//! The command line: clap types ([`Cli`]), the dispatch ([`run`]), and the helpers that are more
//! than argument plumbing: the dry-run decision of
//! `check --decide` and the audit listing of `history`.

mod args;
mod dispatch;
mod fix;

pub use args::{Cli, Command, Setup};
pub use dispatch::run;

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Duration, Utc};

use crate::decision::config::DecisionConfig;
use crate::decision::safety::{BurstLimiter, MemoryLedger, PrContext, guard};
use crate::decision::{Decision, evaluate};
use crate::finding::CheckReport;
use crate::ids::RepoId;
use crate::store::DecisionRecord;

/// The decision the bot would post for this report, computed as a dry run: the safety guard
/// runs against an in-memory ledger, so nothing is counted or recorded anywhere.
pub fn decide_dry_run(
    report: &CheckReport,
    config_dir: &Path,
    ctx: &PrContext,
) -> anyhow::Result<Decision> {
    decide_dry_run_with(report, DecisionConfig::load(config_dir)?, ctx)
}

/// [`decide_dry_run`] with the org policy repository's defaults: the project's decision
/// config, else the selected domain's, else the org's `shared/ai_decision_config.yaml`. Also
/// returns the file it came from.
pub fn decide_dry_run_in_org(
    report: &CheckReport,
    config_dir: &Path,
    org: Option<&Path>,
    ctx: &PrContext,
) -> anyhow::Result<(Decision, Option<String>)> {
    let domain = crate::gates::structure::load_config(config_dir, None, org)
        .ok()
        .and_then(|c| c.governance.domain);
    let (cfg, from) =
        crate::decision::org_default::decision_config(config_dir, org, domain.as_deref())?;
    // Several projects (`check --recursive`): each with its own config, the worst decides.
    let (proposed, cfg) = crate::decision::projects::evaluate_projects(report, &|p| {
        crate::decision::projects::project_config(config_dir, p, org)
    })
    .unwrap_or_else(|| (evaluate(report, &cfg), cfg));
    Ok((guarded(proposed, cfg, ctx)?, from))
}

fn decide_dry_run_with(
    report: &CheckReport,
    cfg: DecisionConfig,
    ctx: &PrContext,
) -> anyhow::Result<Decision> {
    guarded(evaluate(report, &cfg), cfg, ctx)
}

fn guarded(proposed: Decision, cfg: DecisionConfig, ctx: &PrContext) -> anyhow::Result<Decision> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(guard(
        proposed,
        ctx,
        &cfg,
        &MemoryLedger::new(),
        &BurstLimiter::default(),
        Utc::now(),
    ))
}

/// Human-readable decision block.
pub fn render_decision(d: &Decision) -> String {
    let mut out = String::new();
    let _ = write!(out, "decision: {}", d.kind);
    if d.kind != d.proposed {
        let _ = write!(out, " (proposed: {})", d.proposed);
    }
    let _ = writeln!(out, "  risk {}/100, confidence {:.2}", d.risk, d.confidence);
    if let Some(dg) = &d.downgrade {
        let _ = writeln!(out, "  downgraded: {dg}");
    }
    for r in &d.reasons {
        let _ = writeln!(out, "  - {r}");
    }
    out
}

/// `thoth-bot history --action`: which audit records to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryAction {
    Approve,
    Reject,
    RequestChanges,
    Comment,
    /// Overrides given, applied and refused.
    Override,
}

impl HistoryAction {
    /// Whether an audit record's `decision` is of this action.
    pub fn matches(self, decision: &str) -> bool {
        match self {
            HistoryAction::Approve => decision == "approve",
            HistoryAction::Reject => decision == "reject",
            HistoryAction::RequestChanges => decision == "request_changes",
            HistoryAction::Comment => decision == "comment",
            HistoryAction::Override => decision.starts_with("override"),
        }
    }
}

/// Records scanned for `--action` before the newest `limit` matching ones are kept.
const MAX_SCANNED: usize = 100_000;

/// `thoth-bot history`: audit records newest first, as text or JSON lines.
pub async fn history(
    store_url: &str,
    repo: Option<&str>,
    days: i64,
    limit: usize,
    action: Option<HistoryAction>,
    json: bool,
) -> anyhow::Result<String> {
    let store = crate::store::open(store_url).await?;
    let repo: Option<RepoId> = repo.map(str::parse).transpose()?;
    let since = Utc::now() - Duration::days(days);
    let records = match action {
        None => store.decisions(repo.as_ref(), since, limit).await?,
        Some(a) => store
            .decisions(repo.as_ref(), since, MAX_SCANNED)
            .await?
            .into_iter()
            .filter(|r| a.matches(&r.decision))
            .take(limit)
            .collect(),
    };
    Ok(render_history(&records, json))
}

fn render_history(records: &[DecisionRecord], json: bool) -> String {
    let mut out = String::new();
    if json {
        for r in records {
            let _ = writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default());
        }
        return out;
    }
    if records.is_empty() {
        out.push_str("no decisions recorded in that period\n");
    }
    for r in records {
        let downgraded = r
            .downgraded_from
            .as_deref()
            .map(|d| format!(" (downgraded from {d})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {} {}#{} @{}  {}{}  risk {} conf {:.2}  by {}{}",
            r.at.format("%Y-%m-%d %H:%M:%S"),
            r.platform,
            r.repo,
            r.pr,
            &r.head_sha.to_string()[..7.min(r.head_sha.to_string().len())],
            r.decision,
            downgraded,
            r.risk,
            r.confidence,
            r.actor,
            if r.dry_run { " [dry run]" } else { "" },
        );
        for reason in r.reasons.iter().take(3) {
            let _ = writeln!(out, "      {reason}");
        }
    }
    out
}

/// The URL `thoth-bot healthcheck` asks by default: `/healthz` on the port of `THOTH_LISTEN`
/// (a wildcard address means this host).
pub fn default_health_url(listen: Option<&str>) -> String {
    let listen = listen.unwrap_or("127.0.0.1:8080");
    let port = listen.rsplit_once(':').map_or("8080", |(_, p)| p);
    format!("http://127.0.0.1:{port}/healthz")
}

/// `thoth-bot healthcheck`: GETs a plain-HTTP URL (the container's own `/healthz`) and fails
/// unless it answers 200 within `timeout`. Lets the runtime image skip curl.
pub async fn healthcheck(url: &str, timeout: std::time::Duration) -> anyhow::Result<()> {
    use anyhow::Context;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rest = url
        .strip_prefix("http://")
        .context("healthcheck URLs are plain http://HOST:PORT/PATH")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("cannot connect to {authority}"))?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await?;
        let mut head = Vec::new();
        stream.read_to_end(&mut head).await?;
        let text = String::from_utf8_lossy(&head);
        let status = text.split_whitespace().nth(1).unwrap_or("");
        anyhow::ensure!(status == "200", "{url} answered `{status}`");
        Ok(())
    };
    tokio::time::timeout(timeout, ask)
        .await
        .with_context(|| format!("{url} did not answer within {timeout:?}"))?
}
