//! Webhook intake: verify, parse, deduplicate, durably enqueue, answer. Nothing slow happens
//! in the request: the answer waits only for the store to hold the job.

pub mod azure;
pub mod github;
pub mod signature;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use tracing::{debug, info, warn};

use crate::event::{JobPayload, Parsed};
use crate::ids::{DeliveryId, Platform};
use crate::secret::SecretString;
use crate::store::{EnqueueOutcome, Store};
use signature::AzureHookAuth;

/// Largest body accepted (GitHub caps deliveries at 25 MiB).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// What intake needs.
#[derive(Clone)]
pub struct IntakeState {
    pub store: Arc<dyn Store>,
    pub github_secrets: Arc<Vec<SecretString>>,
    /// What Azure DevOps service hooks must present (empty: every delivery is refused).
    pub azure_auth: Arc<AzureHookAuth>,
    /// The Azure DevOps organization name used in repository ids.
    pub azure_org: Arc<str>,
    /// Wakes an idle worker of this process when a job is enqueued (other replicas find it
    /// by polling).
    pub wake: Arc<tokio::sync::Notify>,
}

pub use crate::queue::new_job;

/// What intake did with an authenticated, parsed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored as a new job.
    Enqueued,
    /// Seen before (a redelivery): nothing stored.
    Duplicate,
    /// Not an event the bot acts on.
    Ignored,
    /// A body already accepted under another delivery id: nothing stored.
    Replay,
    /// The store failed; the sender should retry.
    Unavailable,
}

impl IntakeOutcome {
    /// The answer to the sender.
    pub fn status(self) -> StatusCode {
        match self {
            IntakeOutcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::ACCEPTED,
        }
    }

    /// The `outcome` label of `thoth_webhooks_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeOutcome::Enqueued => "accepted",
            IntakeOutcome::Duplicate => "duplicate",
            IntakeOutcome::Ignored => "ignored",
            IntakeOutcome::Replay => "replay",
            IntakeOutcome::Unavailable => "unavailable",
        }
    }
}

/// Enqueues a parsed delivery and says what happened (for the answer and the metrics:
/// `metrics::webhook(platform, event, outcome.as_str())`).
pub async fn intake(store: &dyn Store, parsed: Parsed, delivery: DeliveryId) -> IntakeOutcome {
    match parsed {
        Parsed::Ignore(reason) => {
            debug!(%delivery, %reason, "delivery ignored");
            IntakeOutcome::Ignored
        }
        Parsed::Job(payload) => {
            let job = new_job(&payload, delivery.clone());
            match store.enqueue(job, Utc::now()).await {
                Ok(EnqueueOutcome::Enqueued(id)) => {
                    info!(%delivery, job = %id, "job enqueued");
                    IntakeOutcome::Enqueued
                }
                Ok(EnqueueOutcome::Duplicate) => {
                    info!(%delivery, "duplicate delivery ignored");
                    IntakeOutcome::Duplicate
                }
                Err(e) => {
                    // Nothing was stored. GitHub does not retry a 5xx by itself: the
                    // redelivery scan asks for it again (crate::recovery), and reconciliation
                    // finds what even that misses.
                    warn!(%delivery, error = %e, "cannot enqueue");
                    IntakeOutcome::Unavailable
                }
            }
        }
    }
}

/// `POST /webhooks/github`.
pub async fn github_webhook(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) =
        signature::verify_github(&state.github_secrets, &body, header("x-hub-signature-256"))
    {
        warn!(error = %e, delivery = header("x-github-delivery"), "rejected GitHub delivery");
        crate::metrics::webhook("github", "-", "unauthorized");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(event) = header("x-github-event") else {
        crate::metrics::webhook("github", "-", "bad_request");
        return StatusCode::BAD_REQUEST;
    };
    let Some(delivery) = header("x-github-delivery").and_then(|d| d.parse::<DeliveryId>().ok())
    else {
        crate::metrics::webhook("github", event, "bad_request");
        return StatusCode::BAD_REQUEST;
    };
    match github::parse(event, &body) {
        Ok(parsed) => {
            let outcome =
                match unless_replayed(state.store.as_ref(), &parsed, &body, &delivery).await {
                    Some(outcome) => outcome,
                    None => intake(state.store.as_ref(), parsed, delivery).await,
                };
            if outcome == IntakeOutcome::Enqueued {
                state.wake.notify_one();
            }
            crate::metrics::webhook("github", event, outcome.as_str());
            outcome.status()
        }
        Err(e) => {
            warn!(%delivery, error = %e, "malformed GitHub delivery");
            crate::metrics::webhook("github", event, "bad_request");
            StatusCode::BAD_REQUEST
        }
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`]: 413 beyond that, 400 when the client
/// breaks off. (How long it may take is bounded by the webhook timeout layer.)
async fn read_body(body: Body) -> Result<Bytes, StatusCode> {
    use http_body_util::BodyExt as _;
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => {
            debug!(error = %e, "cannot read a request body");
            Err(StatusCode::BAD_REQUEST)
        }
    }
}

/// `POST /webhooks/azure-devops`. The credentials are headers, so they are checked before the
/// body is read: an unauthenticated sender cannot make the server buffer a body at all.
pub async fn azure_webhook(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = state
        .azure_auth
        .header
        .as_ref()
        .and_then(|(name, _)| header(name));
    if let Err(e) = signature::verify_azure(&state.azure_auth, header("authorization"), token) {
        warn!(error = %e, "rejected Azure DevOps delivery");
        crate::metrics::webhook("azure-devops", "-", "unauthorized");
        return StatusCode::UNAUTHORIZED;
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(status) => {
            crate::metrics::webhook("azure-devops", "-", "bad_request");
            return status;
        }
    };
    let delivery = match azure::parse(&body, &state.azure_org) {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "malformed Azure DevOps delivery");
            crate::metrics::webhook("azure-devops", "-", "bad_request");
            return StatusCode::BAD_REQUEST;
        }
    };
    let event = delivery.event_type.as_str();
    let Some(id) = delivery.id.clone() else {
        // Ignored before the id mattered (tests, unknown events).
        crate::metrics::webhook("azure-devops", event, IntakeOutcome::Ignored.as_str());
        return accept_ignored(event, delivery.parsed);
    };
    let mut parsed = delivery.parsed;
    if let (Parsed::Ignore(reason), "git.pullrequest.merged") = (&parsed, event) {
        info!(delivery = %id, %reason, "pull request merged");
    }
    if delivery.only_if_new_head {
        parsed = unless_head_seen(state.store.as_ref(), parsed).await;
    }
    let outcome = intake(state.store.as_ref(), parsed, id).await;
    if outcome == IntakeOutcome::Enqueued {
        state.wake.notify_one();
    }
    crate::metrics::webhook("azure-devops", event, outcome.as_str());
    outcome.status()
}

/// Replay guard: a signed body is accepted once. The same body under another delivery id is
/// someone resending a captured delivery (the signature covers the body only), so it is
/// answered 202 and nothing runs. GitHub's own redeliveries keep their delivery id and are
/// deduplicated by the job store as before. `None`: go on with intake.
async fn unless_replayed(
    store: &dyn Store,
    parsed: &Parsed,
    body: &[u8],
    delivery: &DeliveryId,
) -> Option<IntakeOutcome> {
    // Ignored deliveries run nothing either way; only jobs are worth a write.
    if !matches!(parsed, Parsed::Job(_)) {
        return None;
    }
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
    match store.record_body(&digest, delivery, Utc::now()).await {
        Ok(first) if first == *delivery => None,
        Ok(first) => {
            warn!(%delivery, %first, "replayed body under a new delivery id ignored");
            Some(IntakeOutcome::Replay)
        }
        Err(e) => {
            warn!(%delivery, error = %e, "cannot record the body digest");
            Some(IntakeOutcome::Unavailable)
        }
    }
}

fn accept_ignored(event: &str, parsed: Parsed) -> StatusCode {
    if let Parsed::Ignore(reason) = parsed {
        debug!(%event, %reason, "delivery ignored");
    }
    StatusCode::ACCEPTED
}

/// Loop guard for `git.pullrequest.updated`: votes (the bot's own too), reviewer and status
/// changes keep the source commit, so an update whose head was already taken up is ignored.
/// A store that cannot answer lets the job through: evaluating twice is harmless.
async fn unless_head_seen(store: &dyn Store, parsed: Parsed) -> Parsed {
    let Parsed::Job(job) = parsed else {
        return parsed;
    };
    let JobPayload::Evaluate { pr, .. } = job.as_ref() else {
        return Parsed::Job(job);
    };
    match store.pr_state(Platform::AzureDevOps, &pr.repo, pr.pr).await {
        Ok(Some(s)) if s.last_head_sha.as_ref() == Some(&pr.head_sha) => Parsed::Ignore(format!(
            "update of {}!{} without a new source commit (vote, reviewer or status change)",
            pr.repo, pr.pr
        )),
        _ => Parsed::Job(job),
    }
}
