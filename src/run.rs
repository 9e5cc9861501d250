//! What the long-running subcommands do once clap has parsed them (`serve`, `setup github`)
//! and the store reports' printing, so `main.rs` only wires arguments to functions.

use std::path::PathBuf;

/// `thoth-bot serve`: loads the config, starts the server and waits for SIGINT/SIGTERM, then
/// shuts down gracefully (a second signal exits at once).
pub fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    let cfg = crate::config::ServeConfig::load(config.as_deref())?;
    set_git_socket_timeouts(cfg.git_timeout_secs)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
        let running = crate::server::start(&cfg, listener).await?;
        eprintln!("thoth-bot listening on http://{}", running.addr);
        shutdown_signal().await;
        tracing::info!(
            grace_secs = cfg.shutdown_grace_secs,
            "shutting down: no new deliveries, running jobs finish or are released; a second signal exits at once"
        );
        tokio::select! {
            _ = running.stop() => tracing::info!("stopped"),
            _ = shutdown_signal() => tracing::warn!("second signal: exiting without waiting"),
        }
        Ok(())
    })
}

/// libgit2 waits on a silent git server for as long as the TCP stack lets it: no fetch callback
/// fires, so the checkout's own deadline cannot stop it. Its socket timeouts are process-wide C
/// globals that may only be set before any thread exists, hence here, before the runtime.
#[allow(unsafe_code)]
fn set_git_socket_timeouts(secs: u64) -> anyhow::Result<()> {
    let ms = i32::try_from(secs.saturating_mul(1000)).unwrap_or(i32::MAX);
    // SAFETY: git2 requires these to be called before any thread is spawned; `serve` calls this
    // first thing, before the tokio runtime (and with it every other thread) is built.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(ms)?;
        git2::opts::set_server_timeout_in_milliseconds(ms)?;
    }
    Ok(())
}

pub fn setup_github(
    setup: crate::setup::GithubSetup,
    listen: &str,
) -> anyhow::Result<crate::setup::Registered> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        crate::setup::run(setup, listener, |url| {
            eprintln!("Open {url}/ in a browser on this machine to create the GitHub App.");
        })
        .await
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs a store report on a fresh runtime and prints it: exit 0, or 2 with the error.
pub fn print_or_fail(fut: impl std::future::Future<Output = anyhow::Result<String>>) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(fut) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}
