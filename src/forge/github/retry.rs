//! GitHub's retry rules, kept pure so they are unit-tested: which answers are rate limits and
//! how long they ask to wait, which 5xx may be repeated, and what an octocrab error means. The
//! loop that applies them is the forge-level [`crate::forge::retry::run`], shared with Azure
//! DevOps; the rules are in the module doc of [`super`].

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::forge::ForgeError;
pub(crate) use crate::forge::retry::{Idempotency, Next, RetryPolicy};

/// GitHub's advice for a secondary rate limit without `retry-after`: wait at least a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Decides what follows a non-2xx answer. Pure, so the policy is unit-tested.
pub(crate) fn next_after_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    idempotency: Idempotency,
    now_epoch: u64,
) -> Next {
    if let Some(wait) = rate_limit_wait(status, headers, body, now_epoch) {
        // GitHub does not apply a rate-limited request: retrying cannot duplicate it.
        return Next::Wait(wait);
    }
    match (status.as_u16(), idempotency) {
        (500..=599, Idempotency::Safe) => Next::Backoff,
        // The front end answered without the backend taking the request.
        (502 | 503, Idempotency::Unsafe) => Next::Backoff,
        // 500 and 504 (the proxy gave up waiting) may follow an applied write.
        _ => Next::Fail,
    }
}

/// The wait a rate-limit answer asks for, or `None` when the answer is not a rate limit.
///
/// GitHub: primary limit => 403/429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`
/// (epoch seconds); secondary limit => 403/429, often with `retry-after` (seconds), else wait at
/// least a minute. A plain 403 is a permission problem, not a rate limit.
pub(crate) fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    now_epoch: u64,
) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::FORBIDDEN {
        return None;
    }
    let header =
        |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    let retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok());
    if let Some(wait) = crate::forge::retry::retry_after(retry_after) {
        return Some(wait);
    }
    if header("x-ratelimit-remaining") == Some(0) {
        let wait = header("x-ratelimit-reset")
            .map(|reset| reset.saturating_sub(now_epoch).max(1))
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
        return Some(wait);
    }
    let secondary = body.to_ascii_lowercase().contains("rate limit");
    (status == StatusCode::TOO_MANY_REQUESTS || secondary).then_some(DEFAULT_RATE_LIMIT_WAIT)
}

/// Maps an octocrab error (no HTTP answer for our request) and says whether to retry.
///
/// octocrab's raw calls only return `Error::GitHub` when minting the installation token failed,
/// so our request was never sent: a 5xx or 429 there is retried for any method.
pub(crate) fn map_octocrab_error(e: octocrab::Error) -> (ForgeError, Next) {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code;
            let message = format!(
                "minting the installation token: {status}: {}",
                source.message
            );
            match status.as_u16() {
                429 => (
                    ForgeError::RateLimited {
                        retry_after: DEFAULT_RATE_LIMIT_WAIT,
                    },
                    Next::Backoff,
                ),
                500..=599 => (
                    ForgeError::Http {
                        status: status.as_u16(),
                        message,
                    },
                    Next::Backoff,
                ),
                401 | 403 => (ForgeError::Auth(message), Next::Fail),
                404 => (ForgeError::NotFound(message), Next::Fail),
                code => (
                    ForgeError::Http {
                        status: code,
                        message,
                    },
                    Next::Fail,
                ),
            }
        }
        octocrab::Error::JWT { source, .. } => (
            ForgeError::Auth(format!("cannot sign the App JWT: {source}")),
            Next::Fail,
        ),
        other => (ForgeError::Transport(other.to_string()), Next::Backoff),
    }
}

pub(crate) fn is_transport(error: &ForgeError) -> bool {
    matches!(error, ForgeError::Transport(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn rate_limits_are_retried_for_every_method() {
        let h = headers(&[("retry-after", "7")]);
        for idem in [Idempotency::Safe, Idempotency::Unsafe] {
            let next = next_after_status(StatusCode::TOO_MANY_REQUESTS, &h, "", idem, NOW);
            assert_eq!(next, Next::Wait(Duration::from_secs(7)));
        }
        let reset = (NOW + 42).to_string();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]);
        let next = next_after_status(StatusCode::FORBIDDEN, &h, "", Idempotency::Unsafe, NOW);
        assert_eq!(next, Next::Wait(Duration::from_secs(42)));
        let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let next = next_after_status(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            Idempotency::Unsafe,
            NOW,
        );
        assert_eq!(next, Next::Wait(DEFAULT_RATE_LIMIT_WAIT));
    }

    #[test]
    fn plain_forbidden_is_not_a_rate_limit() {
        let body = r#"{"message":"Resource not accessible by integration"}"#;
        let next = next_after_status(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
            Idempotency::Safe,
            NOW,
        );
        assert_eq!(next, Next::Fail);
        let err = crate::forge::retry::error_from_status("GET /x", 403, body, next);
        assert!(matches!(err, ForgeError::Auth(m) if m.contains("not accessible")));
    }

    #[test]
    fn server_errors_retry_creates_only_when_not_applied() {
        let h = HeaderMap::new();
        for code in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                next_after_status(status, &h, "", Idempotency::Safe, NOW),
                Next::Backoff
            );
            let unsafe_next = next_after_status(status, &h, "", Idempotency::Unsafe, NOW);
            let expected = if matches!(code, 502 | 503) {
                Next::Backoff
            } else {
                Next::Fail
            };
            assert_eq!(unsafe_next, expected, "{code}");
        }
        assert_eq!(
            next_after_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &h,
                "",
                Idempotency::Safe,
                NOW
            ),
            Next::Fail
        );
    }
}
