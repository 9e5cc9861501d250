//! The progress bar of `thoth-bot check` on a terminal: a tracing layer that turns the gates'
//! progress events (target [`PROGRESS_TARGET`]: `parsing` with a `total`, `reading` per file,
//! `evaluating` with a `total`, `document` per document) into an indicatif bar drawn on stderr.
//! The same events tell the gate sandbox which file a child was reading when it died.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::inputs::PROGRESS_TARGET;

/// Whether `check` draws a bar: text output, to a terminal, with stderr a terminal too.
pub fn wanted(text_format: bool) -> bool {
    text_format && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// The layer; the bar is hidden until the first `parsing` event.
pub struct ProgressLayer {
    bar: ProgressBar,
}

impl ProgressLayer {
    /// A bar drawn on stderr.
    pub fn stderr() -> Self {
        Self::with_target(ProgressDrawTarget::stderr())
    }

    fn with_target(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        ProgressLayer { bar }
    }

    /// Clears the bar (before the report is printed).
    pub fn handle(&self) -> ProgressBar {
        self.bar.clone()
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    total: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "total" {
            self.total = Some(value);
        }
    }
}

impl<S: Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != PROGRESS_TARGET {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        match f.message.as_str() {
            "parsing" | "evaluating" => {
                self.bar.set_length(f.total.unwrap_or(0));
                self.bar.set_position(0);
                self.bar.set_message(f.message);
            }
            "reading" | "document" => self.bar.inc(1),
            _ => {}
        }
    }
}

/// Logging for `check` on a terminal (`RUST_LOG`, default `warn`, on stderr) plus the bar fed by
/// the gates' progress events; returns the bar, to clear before the report is printed.
pub fn init_logging() -> ProgressBar {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let progress = ProgressLayer::stderr();
    let bar = progress.handle();
    let only_progress = tracing_subscriber::filter::Targets::new()
        .with_target(PROGRESS_TARGET, tracing::Level::DEBUG);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(progress.with_filter(only_progress))
        .init();
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn events_move_the_bar() {
        let layer = ProgressLayer::with_target(ProgressDrawTarget::hidden());
        let bar = layer.handle();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: PROGRESS_TARGET, total = 3u64, "parsing");
            tracing::debug!(target: PROGRESS_TARGET, file = "a.tf", "reading");
            tracing::debug!(target: PROGRESS_TARGET, file = "b.tf", "reading");
            tracing::debug!(target: "other", "reading");
        });
        assert_eq!((bar.position(), bar.length()), (2, Some(3)));
        assert_eq!(bar.message(), "parsing");
    }
}
