//! The hourly budget of `rerun`, `review`, `explain` and `help` per user and pull request, counted in the
//! store so replicas share it. Every attempt counts; the first one over the budget is answered,
//! the later ones in the same hour are ignored, so a flood of comments gets one reply.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tracing::{info, warn};

use super::{Ack, Run};

/// Where a count stands against the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spend {
    Within,
    /// The first command over the budget: answered once.
    FirstOver,
    /// Later ones: ignored.
    Over,
}

pub(super) fn spend(used: u32, limit: u32) -> Spend {
    if used <= limit {
        Spend::Within
    } else if used == limit.saturating_add(1) {
        Spend::FirstOver
    } else {
        Spend::Over
    }
}

/// The start of the hour `now` is in.
pub(super) fn window(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now)
}

impl Run<'_> {
    /// Counts command `i` against its author's budget; `false` when it must not run (the
    /// first such command is answered).
    pub(super) async fn within_budget(&self, i: usize) -> anyhow::Result<bool> {
        let c = self.comment;
        let window = window(Utc::now());
        let key = format!(
            "commands/{}/{}/{}/{}",
            c.platform,
            c.repo,
            c.pr,
            c.author.to_lowercase()
        );
        let used = self.ctx.store.bump_counter(&key, window).await?;
        let limit = self.ctx.commands.commands_per_hour;
        match spend(used, limit) {
            Spend::Within => Ok(true),
            Spend::FirstOver => {
                warn!(author = %c.author, limit, "command budget spent");
                self.react(Ack::Refused).await?;
                let text = format!(
                    "> {}\n\n{}, you have used your {limit} `rerun`, `review`, `explain` and `help` commands on this pull request for this hour; more are ignored until {} UTC.",
                    self.line(i),
                    self.forge.mention(&c.author),
                    (window + TimeDelta::hours(1)).format("%H:%M"),
                );
                self.reply(i, &text).await?;
                Ok(false)
            }
            Spend::Over => {
                info!(author = %c.author, used, "over the command budget; ignored");
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_answer_over_the_budget_then_silence() {
        assert_eq!(spend(1, 10), Spend::Within);
        assert_eq!(spend(10, 10), Spend::Within);
        assert_eq!(spend(11, 10), Spend::FirstOver);
        assert_eq!(spend(12, 10), Spend::Over);
        assert_eq!(spend(1, 0), Spend::FirstOver);
        assert_eq!(spend(u32::MAX, u32::MAX), Spend::Within);
    }

    #[test]
    fn windows_are_hours() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T13:47:12Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(window(t).to_rfc3339(), "2026-03-01T13:00:00+00:00");
    }
}
