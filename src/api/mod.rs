//! The push API: pipelines push what the bot cannot compute from a checkout.
//!
//! - `POST /api/v1/plans/{owner}/{repo}/{sha}[?project=DIR]`: a plan (`terraform show -json`)
//!   for one commit. Stored per repository, commit and project (a newer push replaces it), and
//!   every open pull request last evaluated at that commit is evaluated again with it.
//! - `POST /api/v1/drift/{owner}/{repo}[?environment=ENV]`: a drift report, stored per
//!   repository and environment (default `default`); the next evaluation uses the latest one.
//!
//! An Azure DevOps repository `org/project/repo` is named with `{owner}` = `org%2Fproject`.
//! Authentication comes first (`Authorization: Bearer thp_...`, see [`token`]), so an unknown
//! sender cannot make the server read a body. Bodies are bounded (`push_max_body_mb`) and parsed
//! by the input parser with its limits; anything it refuses, or JSON that is not a plan, is a
//! 400 and nothing is stored. Requests are counted in `thoth_webhooks_total` with
//! `platform="push-api"` and `event` = `plan` or `drift`.

pub mod cli;
pub mod token;

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::event::{JobPayload, PullRequestRef};
use crate::ids::{CommitSha, RepoId};
use crate::inputs::{InputKind, ParseLimits, pushed};
use crate::store::{EnqueueOutcome, PrHead, PushedKind, PushedReport, Store};

/// The reason evaluations started by a pushed plan carry.
pub const PLAN_REASON: &str = "plan.pushed";

/// Default `push_max_body_mb`.
pub const DEFAULT_MAX_BODY_MB: u64 = 20;

/// What the API handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    /// Wakes an idle worker when an evaluation was enqueued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The input parser's limits, applied to every pushed body.
    pub limits: ParseLimits,
}

/// The routes, to merge into the server's router.
pub fn routes(state: ApiState) -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/api/v1/plans/{owner}/{repo}/{sha}", post(push_plan))
        .route("/api/v1/drift/{owner}/{repo}", post(push_drift))
        .with_state(state)
}

/// A refused request: its status and a message for the pipeline's log.
struct Refusal(StatusCode, String);

type Answer = (StatusCode, Json<Value>);

impl Refusal {
    fn answer(self, event: &str) -> Answer {
        let outcome = match self.0 {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "bad_request",
        };
        crate::metrics::webhook("push-api", event, outcome);
        (self.0, Json(json!({ "error": self.1 })))
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

fn repo_id(owner: &str, repo: &str) -> Result<RepoId, Refusal> {
    format!("{owner}/{repo}")
        .parse()
        .map_err(|e| bad(format!("{e}")))
}

#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    #[serde(default)]
    project: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DriftQuery {
    #[serde(default)]
    environment: Option<String>,
}

/// `POST /api/v1/plans/{owner}/{repo}/{sha}`.
pub async fn push_plan(
    State(state): State<ApiState>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    Query(q): Query<PlanQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    match plan(&state, &owner, &repo, &sha, q, &headers, body).await {
        Ok(answer) => answer,
        Err(r) => r.answer("plan"),
    }
}

async fn plan(
    state: &ApiState,
    owner: &str,
    repo: &str,
    sha: &str,
    q: PlanQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<Answer, Refusal> {
    let repo = repo_id(owner, repo)?;
    authenticate(state, headers, &repo).await?;
    let head: CommitSha = sha.parse().map_err(|e| bad(format!("{e}")))?;
    let project = pushed::project(q.project.as_deref().unwrap_or_default())
        .map_err(|e| bad(e.to_string()))?;
    let text = read_report(state, body, &pushed::plan_path(&project)).await?;
    let report = PushedReport {
        repo: repo.clone(),
        kind: PushedKind::Plan {
            head_sha: head.clone(),
            project: project.clone(),
        },
        body: text,
        at: Utc::now(),
    };
    store(state, &report).await?;
    let enqueued = reevaluate(state, &repo, &head, &report.body).await?;
    info!(%repo, head = %head, project = %project, enqueued, "plan pushed");
    crate::metrics::webhook("push-api", "plan", "accepted");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "stored": "plan",
            "repo": repo,
            "sha": head,
            "project": project,
            "path": pushed::plan_path(&project),
            "evaluations_enqueued": enqueued,
        })),
    ))
}

/// `POST /api/v1/drift/{owner}/{repo}`.
pub async fn push_drift(
    State(state): State<ApiState>,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<DriftQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    match drift(&state, &owner, &repo, q, &headers, body).await {
        Ok(answer) => answer,
        Err(r) => r.answer("drift"),
    }
}

async fn drift(
    state: &ApiState,
    owner: &str,
    repo: &str,
    q: DriftQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<Answer, Refusal> {
    let repo = repo_id(owner, repo)?;
    authenticate(state, headers, &repo).await?;
    let environment = pushed::environment(q.environment.as_deref().unwrap_or("default"))
        .map_err(|e| bad(e.to_string()))?;
    let text = read_report(state, body, &pushed::drift_path(&environment)).await?;
    let report = PushedReport {
        repo: repo.clone(),
        kind: PushedKind::Drift {
            environment: environment.clone(),
        },
        body: text,
        at: Utc::now(),
    };
    store(state, &report).await?;
    info!(%repo, %environment, "drift report pushed");
    crate::metrics::webhook("push-api", "drift", "accepted");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "stored": "drift",
            "repo": repo,
            "environment": environment,
            "path": pushed::drift_path(&environment),
        })),
    ))
}

async fn authenticate(state: &ApiState, headers: &HeaderMap, repo: &RepoId) -> Result<(), Refusal> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match token::authorize(state.store.as_ref(), header, repo).await {
        Ok(_) => Ok(()),
        Err(e) => {
            warn!(%repo, error = %e, "push refused");
            let message = match e.status() {
                StatusCode::FORBIDDEN => "this push token may not push to this repository",
                StatusCode::SERVICE_UNAVAILABLE => "the store is unavailable; retry later",
                _ => "missing or invalid push token (Authorization: Bearer thp_...)",
            };
            Err(Refusal(e.status(), message.into()))
        }
    }
}

/// Reads and checks a pushed body: within the size bound, UTF-8, accepted by the input parser
/// (its depth and document limits) as a plan JSON. `rel` is where it will appear, for messages.
async fn read_report(state: &ApiState, body: Body, rel: &str) -> Result<String, Refusal> {
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| bad("the body is not UTF-8 text; expected `terraform show -json` output"))?;
    let docs = crate::inputs::parse_text_with(
        rel,
        InputKind::Json,
        &text,
        crate::inputs::HclShape::Object,
        &state.limits,
    )
    .map_err(|finding| bad(finding.message))?;
    if !docs.iter().all(|d| d.kind == InputKind::Plan) {
        return Err(bad(
            "the body is JSON but not a plan: expected `terraform show -json` output \
             (with `format_version` and `resource_changes`, `resource_drift` or `planned_values`)",
        ));
    }
    Ok(text)
}

async fn read_limited(body: Body, max: usize) -> Result<Bytes, Refusal> {
    use http_body_util::BodyExt as _;
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} MiB", max / (1024 * 1024)),
        )),
        Err(_) => Err(bad("the body could not be read")),
    }
}

async fn store(state: &ApiState, report: &PushedReport) -> Result<(), Refusal> {
    state.store.put_pushed_report(report).await.map_err(|e| {
        warn!(error = %e, "cannot store a pushed report");
        Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is unavailable; retry later".into(),
        )
    })
}

/// Enqueues an evaluation of every pull request last evaluated at `head`. The delivery id is
/// derived from the pull request, the head and the body, so the same plan pushed twice starts
/// one evaluation. A pull request not evaluated yet picks the plan up on its first evaluation.
async fn reevaluate(
    state: &ApiState,
    repo: &RepoId,
    head: &CommitSha,
    body: &str,
) -> Result<usize, Refusal> {
    let heads = state.store.prs_at_head(repo, head).await.map_err(|e| {
        warn!(error = %e, "cannot look up the pull requests of a pushed plan");
        Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the plan is stored, but the pull requests to evaluate again could not be looked up; push again later".into(),
        )
    })?;
    let mut enqueued = 0;
    for h in heads {
        match enqueue(state.store.as_ref(), &h, body).await {
            Ok(true) => enqueued += 1,
            Ok(false) => {}
            Err(e) => {
                warn!(pr = %h.pr, error = %e, "cannot enqueue the evaluation of a pushed plan")
            }
        }
    }
    if enqueued > 0 {
        state.wake.notify_one();
    }
    Ok(enqueued)
}

async fn enqueue(store: &dyn Store, h: &PrHead, body: &str) -> anyhow::Result<bool> {
    use anyhow::Context;
    use sha2::Digest as _;
    let pr: PullRequestRef =
        serde_json::from_value(h.pull_request.clone()).context("stored pull request unreadable")?;
    let digest = hex::encode(sha2::Sha256::digest(
        format!(
            "{}\0{}\0{}\0{}\0{body}",
            h.platform, h.repo, h.pr, h.head_sha
        )
        .as_bytes(),
    ));
    let delivery = format!("plan-{}", &digest[..40])
        .parse()
        .map_err(|e| anyhow::anyhow!("delivery id: {e}"))?;
    let payload = JobPayload::Evaluate {
        pr,
        reason: PLAN_REASON.into(),
    };
    let job = crate::queue::new_job(&payload, delivery);
    Ok(matches!(
        store.enqueue(job, Utc::now()).await?,
        EnqueueOutcome::Enqueued(_)
    ))
}
