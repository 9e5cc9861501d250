//! GitHub redelivery: walks the App's webhook delivery log (`GET /app/hook/deliveries`, newest
//! first, cursor-paginated, App JWT) back to the last delivery seen by the previous scan, and
//! asks GitHub to deliver again (`POST /app/hook/deliveries/{id}/attempts`) every delivery of an
//! event the bot handles whose latest attempt failed. A redelivery keeps its `X-GitHub-Delivery`
//! GUID, so intake's dedupe makes it exactly-once even if it was asked for twice.
//!
//! Bounded: [`MAX_PAGES`] pages of the log and [`MAX_REDELIVERIES`] requests per scan, each
//! request paid from the App's write budget. A failed delivery left for later keeps the cursor
//! before it, so the next scan finds it again.

use std::collections::HashSet;

use http::Method;
use serde::Deserialize;
use tracing::{info, warn};

use super::Lease;
use crate::forge::github::GithubApp;
use crate::forge::github::retry::Idempotency;

/// Log pages read per scan (100 deliveries each).
pub const MAX_PAGES: usize = 30;

/// Redelivery requests per scan.
pub const MAX_REDELIVERIES: usize = 100;

/// One entry of the delivery log (the fields the scan reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    pub id: u64,
    pub guid: String,
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub action: Option<String>,
}

impl Delivery {
    fn delivered(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// What one scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub pages: usize,
    pub failed: usize,
    pub requested: usize,
}

/// One scan, under `lease`.
pub async fn scan(app: &GithubApp, lease: &Lease) -> anyhow::Result<Report> {
    let client = app.app_client();
    let cursor = lease.cursor().await?;
    let last_seen: u64 = cursor.position.parse().unwrap_or(0);
    let mut report = Report::default();
    let mut newest = last_seen;
    let mut guids = HashSet::new();
    let mut failed: Vec<Delivery> = Vec::new();
    let mut path = "/app/hook/deliveries?per_page=100".to_string();
    'pages: while report.pages < MAX_PAGES {
        lease.renew().await?;
        let reply = client
            .call(Method::GET, &path, None, Idempotency::Safe)
            .await?;
        report.pages += 1;
        let page: Vec<Delivery> = serde_json::from_str(&reply.body)
            .map_err(|e| anyhow::anyhow!("GET {path}: unexpected answer: {e}"))?;
        for d in page {
            if d.id <= last_seen {
                break 'pages;
            }
            newest = newest.max(d.id);
            // Newest first: the first entry of a GUID is its latest attempt.
            if guids.insert(d.guid.clone())
                && !d.delivered()
                && crate::event::github::handles(&d.event, d.action.as_deref())
            {
                failed.push(d);
            }
        }
        match next_cursor(reply.headers.get(http::header::LINK)) {
            Some(next) => path = format!("/app/hook/deliveries?per_page=100&cursor={next}"),
            None => break,
        }
    }
    if report.pages == MAX_PAGES {
        warn!(
            pages = MAX_PAGES,
            "the delivery log is longer than one scan reads; older failures are left to reconciliation"
        );
    }
    report.failed = failed.len();
    // Oldest first, so what is left for the next scan is the newest.
    failed.reverse();
    let mut left_from: Option<u64> = None;
    let mut error = None;
    for d in &failed {
        if report.requested >= MAX_REDELIVERIES {
            left_from = Some(d.id);
            break;
        }
        lease.renew().await?;
        let path = format!("/app/hook/deliveries/{}/attempts", d.id);
        match client
            .call(Method::POST, &path, None, Idempotency::Safe)
            .await
        {
            Ok(_) => {
                info!(delivery = %d.guid, id = d.id, event = %d.event, status_code = d.status_code,
                    "asked GitHub to deliver a failed delivery again");
                crate::metrics::redelivery_requested();
                report.requested += 1;
            }
            Err(e) => {
                left_from = Some(d.id);
                error = Some(e);
                break;
            }
        }
    }
    // Everything up to `newest` was looked at, except what is left over: the next scan starts
    // just before the oldest of those.
    let position = match left_from {
        Some(id) => id.saturating_sub(1).max(last_seen),
        None => newest,
    };
    let done = error.is_none();
    lease
        .save(
            crate::store::ScanCursor {
                position: position.to_string(),
                last_success: cursor.last_success,
            },
            done,
        )
        .await?;
    if let Some(e) = error {
        return Err(anyhow::Error::new(e).context("asking GitHub for a redelivery"));
    }
    if report.failed > 0 || report.pages > 1 {
        info!(
            pages = report.pages,
            failed = report.failed,
            requested = report.requested,
            "delivery log scanned"
        );
    }
    Ok(report)
}

/// The `cursor` parameter of the `rel="next"` link, when it is a plain token (it is put back in
/// a path of ours, so anything else is refused rather than forwarded).
fn next_cursor(link: Option<&http::HeaderValue>) -> Option<String> {
    let link = link?.to_str().ok()?;
    let next = link.split(',').find(|part| part.contains("rel=\"next\""))?;
    let url = next.split(';').next()?.trim();
    let url = url.strip_prefix('<')?.strip_suffix('>')?;
    let query = url.split_once('?')?.1;
    let cursor = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "cursor")?
        .1;
    let plain = !cursor.is_empty()
        && cursor.len() <= 200
        && cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-=%.".contains(&b));
    plain.then(|| cursor.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn the_next_cursor_comes_from_the_link_header() {
        let link = HeaderValue::from_static(
            "<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_12077215967>; rel=\"next\"",
        );
        assert_eq!(next_cursor(Some(&link)).as_deref(), Some("v1_12077215967"));
        let prev_only = HeaderValue::from_static(
            "<https://api.github.com/app/hook/deliveries?cursor=v1_1>; rel=\"prev\"",
        );
        assert_eq!(next_cursor(Some(&prev_only)), None);
        let hostile = HeaderValue::from_static(
            "<https://x/app/hook/deliveries?cursor=a/../../repos>; rel=\"next\"",
        );
        assert_eq!(next_cursor(Some(&hostile)), None);
        assert_eq!(next_cursor(None), None);
    }

    #[test]
    fn log_entries_parse_as_github_sends_them() {
        let d: Delivery = serde_json::from_str(
            r#"{"id":12345678,"guid":"0b989ba4-242f-11e5-81e1-c7b6966d2516","delivered_at":"2019-06-03T00:57:16Z","redelivery":false,"duration":0.27,"status":"Invalid HTTP Response: 503","status_code":503,"event":"pull_request","action":"opened","installation_id":123,"repository_id":456,"throttled_at":null}"#,
        )
        .unwrap();
        assert!(!d.delivered());
        assert!(crate::event::github::handles(&d.event, d.action.as_deref()));
        assert!(!crate::event::github::handles(
            "pull_request",
            Some("closed")
        ));
        assert!(!crate::event::github::handles("push", None));
    }
}
