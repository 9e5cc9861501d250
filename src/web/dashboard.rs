//! `GET /`: the org dashboard, behind [`super::DashboardAccess`]; 404 when no access is
//! configured, 401 without a valid token. The same figures print with `thoth-bot report`.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{TimeDelta, Utc};

use super::WebState;
use super::chart::Chart;
use super::figures::{self, Figures, human_duration};
use crate::store::EvaluationId;

/// Days the dashboard covers.
pub const DAYS: i64 = 30;

pub struct RecentView {
    pub link: String,
    pub at: String,
    pub repo: String,
    pub pr: u64,
    pub decision: String,
    pub conclusion: String,
    pub findings: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub f: Figures,
    pub recent: Vec<RecentView>,
    pub median: String,
    pub queue: String,
    pub chart: Chart,
}

/// Renders the dashboard of `f`; links to evaluations are signed for `link_days`.
pub fn render(state: &WebState, f: Figures) -> Result<String, askama::Error> {
    let exp = Utc::now() + TimeDelta::days(state.link_days);
    let recent = f
        .recent
        .iter()
        .map(|r| {
            let link = match r.id.parse::<EvaluationId>() {
                Ok(id) => {
                    let (exp, sig) = state.key.sign(id, exp);
                    super::links::path(id, exp, &sig)
                }
                Err(_) => String::new(),
            };
            RecentView {
                link,
                at: r.at.format("%Y-%m-%d %H:%M").to_string(),
                repo: r.repo.clone(),
                pr: r.pr,
                decision: r.decision.clone(),
                conclusion: r.conclusion.clone(),
                findings: r.findings,
            }
        })
        .collect();
    let chart = Chart::bars(
        f.top_rules
            .iter()
            .map(|r| (r.rule_id.clone(), r.last_30_days))
            .collect(),
        figures::TOP,
    );
    DashboardPage {
        median: f
            .median_time_to_fix_secs
            .map(human_duration)
            .unwrap_or_else(|| "no fix seen yet".into()),
        queue: f
            .queue_depth
            .map(|d| d.to_string())
            .unwrap_or_else(|| "unknown".into()),
        recent,
        chart,
        f,
    }
    .render()
}

pub async fn dashboard(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let Some(access) = state.dashboard.clone() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if !access.allows(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the dashboard needs `Authorization: Bearer <dashboard_token>`\n",
        )
            .into_response();
    }
    let figures = figures::gather(
        state.store.as_ref(),
        state.store_kind,
        Some(state.workers),
        DAYS,
        Utc::now(),
    )
    .await;
    let html = figures
        .map_err(anyhow::Error::from)
        .and_then(|f| Ok(render(&state, f)?));
    match html {
        Ok(html) => (super::page_headers(), html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the dashboard");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}
