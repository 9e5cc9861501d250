//! The web UI: one details page per evaluation (`GET /runs/{evaluation}`, opened with a signed,
//! expiring link) and the org dashboard (`GET /`, behind an admin bearer token).
//!
//! Pages are rendered on the server from askama templates (`templates/`), checked at compile
//! time; askama escapes every value, so text from a PR, a policy or a comment cannot become
//! markup. No JavaScript: the chart is inline SVG drawn here.
//!
//! Access is a seam, not a login: [`DashboardAccess`] decides who may open the dashboard. The
//! bearer token ([`BearerToken`]) is the one implementation today; a GitHub OAuth login would be
//! another implementation handed to [`WebState`], with no change to the pages.

pub mod chart;
pub mod dashboard;
pub mod figures;
pub mod links;
pub mod pages;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::routing::get;
use subtle::ConstantTimeEq as _;

use crate::secret::{ExposeSecret as _, SecretString};
use crate::store::Store;
use links::DetailsKey;

/// Who may open the dashboard.
pub trait DashboardAccess: Send + Sync {
    /// Whether the request may see the dashboard.
    fn allows(&self, headers: &HeaderMap) -> bool;
}

/// `Authorization: Bearer <dashboard_token>`, compared in constant time.
pub struct BearerToken(pub SecretString);

impl DashboardAccess for BearerToken {
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let want = self.0.expose_secret().as_bytes();
        given.trim().as_bytes().ct_eq(want).into()
    }
}

/// What the pages need.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<dyn Store>,
    pub key: DetailsKey,
    /// Days links made on the dashboard stay valid.
    pub link_days: i64,
    /// `None`: the dashboard is off (404).
    pub dashboard: Option<Arc<dyn DashboardAccess>>,
    /// Worker tasks of this process, shown on the dashboard.
    pub workers: usize,
    /// `sled` or `postgres`.
    pub store_kind: &'static str,
}

/// The pages' routes.
pub fn routes(state: WebState) -> Router {
    Router::new()
        .route("/runs/{evaluation}", get(pages::details))
        .route("/", get(dashboard::dashboard))
        .with_state(state)
}

/// The store kind named by a store URL.
pub fn store_kind(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgres"
    } else {
        "sled"
    }
}

/// Headers every page carries: no caching by proxies (a link is a credential), no framing, no
/// scripts at all, and no referrer leaking the signed link to the forge.
pub(crate) fn page_headers() -> [(axum::http::HeaderName, &'static str); 5] {
    use axum::http::header;
    [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "private, no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match() {
        let access = BearerToken(SecretString::from("s3cret-token".to_string()));
        let mut h = HeaderMap::new();
        assert!(!access.allows(&h));
        h.insert(AUTHORIZATION, "Bearer wrong".parse().unwrap());
        assert!(!access.allows(&h));
        h.insert(AUTHORIZATION, "Bearer s3cret-token".parse().unwrap());
        assert!(access.allows(&h));
        h.insert(AUTHORIZATION, "Basic s3cret-token".parse().unwrap());
        assert!(!access.allows(&h));
    }
}
