//! Rules both backends apply the same way: time precision, stored text, lease deadlines, the
//! action limit verdict and URL redaction for error messages.

use super::{ActionVerdict, StoreError};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use std::time::Duration;

/// Hides a password in a URL before it goes into an error message.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Cuts a time to whole microseconds (PostgreSQL's precision), so both backends agree.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Error text as stored: PostgreSQL text cannot hold NUL, and both backends must agree.
pub(crate) fn clean_text(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

/// `now + lease`, cut to microseconds; a lease beyond chrono's range is a caller bug.
pub(crate) fn lease_deadline(
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<DateTime<Utc>, StoreError> {
    TimeDelta::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map(micros)
        .ok_or_else(|| StoreError::Invalid(format!("lease of {lease:?} is out of range")))
}

/// The cooldown / daily-limit rule shared by both backends, given what is stored.
pub(crate) fn action_verdict(
    used_today: u32,
    last_action: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    daily_limit: u32,
    cooldown_secs: u64,
) -> ActionVerdict {
    if used_today >= daily_limit {
        return ActionVerdict::DailyLimitReached {
            limit: daily_limit,
            used: used_today,
        };
    }
    if let Some(last) = last_action {
        // A `now` before the last action (clock skew between replicas) counts as no time elapsed.
        let elapsed_ms = (now - last).num_milliseconds().max(0) as u128;
        let cooldown_ms = u128::from(cooldown_secs) * 1000;
        if elapsed_ms < cooldown_ms {
            // Rounded up: a blocked action never reports 0 seconds left.
            let remaining_secs = (cooldown_ms - elapsed_ms).div_ceil(1000) as u64;
            return ActionVerdict::CooldownRunning { remaining_secs };
        }
    }
    ActionVerdict::Allowed
}
