//! The retry loop both forge clients share, and the rules that do not depend on the forge.
//!
//! A client turns each failed attempt into a [`Failure`]: the [`ForgeError`] it would return and
//! what to do next ([`Next`]). [`run`] applies it: rate-limit waits are slept when short enough
//! (else the error surfaces as [`ForgeError::RateLimited`] and the job is rescheduled instead of
//! holding a worker), backoffs grow exponentially, and everything stops after
//! [`RetryPolicy::max_retries`]. Which answers count as rate limits and which 5xx may be repeated
//! is each forge's rule (`github::retry`, `azure::client`): the common ground is
//! [`Idempotency`], whether repeating the request can duplicate a write.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use crate::forge::ForgeError;

/// Longest backoff between retries after a 5xx or a transport error.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether repeating a request can duplicate its effect. Decides retries after 5xx and transport
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, and writes that set a value (editing a comment body, a vote).
    Safe,
    /// Writes that create or append (comments, threads, statuses, reviews, check runs).
    Unsafe,
}

/// Retry settings of one client.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    /// A longer rate-limit wait is not slept: the error surfaces instead.
    pub max_rate_limit_wait: Duration,
}

/// What the retry loop does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Give up: the error is final.
    Fail,
    /// Retry after an exponential backoff.
    Backoff,
    /// Retry after this rate-limit wait.
    Wait(Duration),
}

/// A failed attempt: the error it ends with if not retried, and what to do next.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: ForgeError,
    pub next: Next,
}

/// The forge a client talks to: labels metrics and log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forge {
    GitHub,
    AzureDevOps,
}

impl Forge {
    /// The `forge` label of the metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
            Forge::AzureDevOps => "azure-devops",
        }
    }
}

/// Calls `attempt` until it succeeds or its [`Failure`] says to stop, within `policy`.
/// `what` (method and path) names the request in log lines.
pub(crate) async fn run<T, F, Fut>(
    forge: Forge,
    policy: &RetryPolicy,
    what: &str,
    mut attempt: F,
) -> Result<T, ForgeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut tries = 0u32;
    loop {
        let Failure { error, next } = match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let wait = match next {
            Next::Fail => return Err(error),
            Next::Wait(wait) if wait > policy.max_rate_limit_wait => return Err(error),
            Next::Wait(wait) => {
                let source = crate::metrics::WaitSource::Forge;
                crate::metrics::rate_limit_wait(forge.label(), source, wait);
                wait
            }
            Next::Backoff => backoff(policy.base_delay, tries),
        };
        if tries >= policy.max_retries {
            return Err(error);
        }
        tries += 1;
        let wait_ms = wait.as_millis() as u64;
        // One message per forge: operators grep for it.
        match forge {
            Forge::GitHub => tracing::warn!(request = what, attempt = tries, wait_ms,
                error = %error, "GitHub request failed; retrying"),
            Forge::AzureDevOps => tracing::warn!(request = what, attempt = tries, wait_ms,
                error = %error, "Azure DevOps request failed; retrying"),
        }
        tokio::time::sleep(wait).await;
    }
}

/// The error a non-2xx answer becomes. A rate-limit wait ([`Next::Wait`]) that ends the loop
/// becomes [`ForgeError::RateLimited`], so the job is rescheduled after it.
pub(crate) fn error_from_status(what: &str, status: u16, body: &str, next: Next) -> ForgeError {
    if let Next::Wait(retry_after) = next {
        return ForgeError::RateLimited { retry_after };
    }
    let message = error_message(body);
    match status {
        401 | 403 => ForgeError::Auth(format!("{what}: {status}: {message}")),
        404 => ForgeError::NotFound(what.to_string()),
        code => ForgeError::Http {
            status: code,
            message: format!("{what}: {message}"),
        },
    }
}

/// The forge's `message` (both forges name it so; GitHub adds validation `errors`), or the
/// start of the body.
fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<Value>,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
            errors,
        }) if errors.is_empty() => message,
        Ok(ErrorBody {
            message: Some(message),
            errors,
        }) => format!("{message} {}", Value::Array(errors)),
        _ => body.chars().take(300).collect(),
    }
}

/// A `Retry-After` header in seconds (the only form either forge sends).
pub(crate) fn retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse().ok().map(Duration::from_secs)
}

/// `base × 2^attempt`, capped.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF)
}

pub(crate) fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_rate_limit_wait: Duration::from_millis(50),
        }
    }

    async fn attempts_until(next: Next) -> (Result<(), ForgeError>, u32) {
        let tries = AtomicU32::new(0);
        let result = run(Forge::GitHub, &policy(), "GET /x", || {
            tries.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Err::<(), _>(Failure {
                error: ForgeError::Transport("down".into()),
                next,
            }))
        })
        .await;
        (result, tries.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn the_loop_obeys_each_failure() {
        assert_eq!(attempts_until(Next::Fail).await.1, 1);
        assert_eq!(attempts_until(Next::Backoff).await.1, 4);
        assert_eq!(
            attempts_until(Next::Wait(Duration::from_millis(1))).await.1,
            4
        );
        // A wait longer than the policy allows is not slept.
        assert_eq!(
            attempts_until(Next::Wait(Duration::from_secs(60))).await.1,
            1
        );
        let ok = run(Forge::GitHub, &policy(), "GET /x", || {
            std::future::ready(Ok::<_, Failure>(7))
        })
        .await;
        assert_eq!(ok.unwrap(), 7);
    }

    #[test]
    fn statuses_become_errors_callers_branch_on() {
        let wait = Next::Wait(Duration::from_secs(9));
        assert!(matches!(
            error_from_status("GET /x", 429, "", wait),
            ForgeError::RateLimited { retry_after } if retry_after == Duration::from_secs(9)
        ));
        assert!(matches!(
            error_from_status("GET /x", 403, r#"{"message":"no"}"#, Next::Fail),
            ForgeError::Auth(m) if m.contains("no")
        ));
        assert!(matches!(
            error_from_status("GET /x", 404, "", Next::Fail),
            ForgeError::NotFound(_)
        ));
        assert!(matches!(
            error_from_status("POST /x", 500, "boom", Next::Fail),
            ForgeError::Http { status: 500, message } if message.contains("boom")
        ));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 0), Duration::from_millis(100));
        assert_eq!(backoff(base, 3), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
        assert_eq!(retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("soon")), None);
    }

    #[test]
    fn error_messages_come_from_the_body() {
        let body = r#"{"message":"Validation Failed","errors":[{"code":"invalid"}]}"#;
        assert_eq!(
            error_message(body),
            r#"Validation Failed [{"code":"invalid"}]"#
        );
        assert_eq!(error_message("plain"), "plain");
    }
}
