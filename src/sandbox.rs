//! Runs the gates of one job in a child process under resource limits.
//!
//! Everything the gates parse is written by the pull request's author. A parser bug or a
//! pathological input must cost one failing check, not the server and every other job in it:
//! the worker re-executes `thoth-bot` with a hidden subcommand (`__gate-child`) that reads a
//! [`GateRequest`] as JSON on stdin, applies an address-space and a CPU-time limit to itself,
//! runs [`run_check`] and writes the [`CheckReport`] as JSON on stdout. The parent enforces a
//! wall-clock deadline and turns a child that dies or overruns into an error finding that names
//! the limit and, when known, the file being read (the child logs each file before parsing it).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tracing::{debug, warn};

use crate::check::{CheckOptions, run_check};
use crate::finding::{CheckReport, Finding, Gate, GateReport};
use crate::inputs::PROGRESS_TARGET;

/// The hidden subcommand the child runs.
pub const CHILD_SUBCOMMAND: &str = "__gate-child";

/// Stdout larger than this is not a report the bot will publish; the child is stopped.
const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// Lines of the child's stderr kept to explain how it died.
const STDERR_TAIL: usize = 64;

/// What the child is asked to judge. Only paths: the child reads everything else itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateRequest {
    /// The PR head checkout.
    pub project_dir: PathBuf,
    /// Where configuration and project policies come from (the base checkout).
    pub config_dir: Option<PathBuf>,
    /// Org policy repository.
    pub org_policy: Option<PathBuf>,
}

impl GateRequest {
    fn options(&self) -> CheckOptions {
        let mut opts = CheckOptions::new(&self.project_dir);
        opts.config_dir = self.config_dir.clone();
        opts.org_policy = self.org_policy.clone();
        opts.recursive = true;
        opts
    }
}

/// What the child writes on stdout.
#[derive(Debug, Serialize, Deserialize)]
struct GateResponse {
    report: CheckReport,
    /// Seconds per stage (`gate_rego`, ...), recorded in the parent's metrics.
    stages: Vec<(String, f64)>,
}

/// Limits of one gate child.
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// The `thoth-bot` binary to re-execute.
    pub exe: PathBuf,
    /// Address-space limit in MiB (`RLIMIT_AS`).
    pub memory_mb: u64,
    /// Wall-clock deadline; the CPU-time limit is twice this (the Rego gate uses every core).
    pub timeout: Duration,
}

impl SandboxLimits {
    fn cpu_secs(&self) -> u64 {
        self.timeout.as_secs().max(1).saturating_mul(2)
    }
}

/// Which limit stopped a child, or how else it ended without a report.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stopped {
    Deadline(Duration),
    Memory(u64),
    Cpu(u64),
    Stack,
    ReportTooLarge,
    Crashed(String),
}

impl Stopped {
    fn describe(&self) -> String {
        match self {
            Stopped::Deadline(d) => format!("wall-clock deadline of {} s", d.as_secs()),
            Stopped::Memory(mb) => format!("memory limit of {mb} MiB"),
            Stopped::Cpu(s) => format!("CPU-time limit of {s} s"),
            Stopped::Stack => "stack limit (input nested too deeply)".to_string(),
            Stopped::ReportTooLarge => {
                format!("report size limit of {} MiB", MAX_REPORT_BYTES >> 20)
            }
            // The detail can name server paths: it goes to the log, not to the pull request.
            Stopped::Crashed(_) => "crash of the gate process".to_string(),
        }
    }
}

/// Runs the gates for `req` in a child process. Never fails: whatever goes wrong becomes an
/// error finding, so the check fails closed and names the cause.
pub async fn run_isolated(req: &GateRequest, limits: &SandboxLimits) -> CheckReport {
    match run_child(req, limits).await {
        Ok(report) => report,
        Err((stopped, file)) => {
            let detail = match &stopped {
                Stopped::Crashed(how) => how.as_str(),
                _ => "",
            };
            warn!(limit = %stopped.describe(), %detail, file = ?file, "the gate process stopped");
            stopped_report(&stopped, file.as_deref())
        }
    }
}

fn stopped_report(stopped: &Stopped, file: Option<&str>) -> CheckReport {
    let mut message = format!("the gates stopped at the {}", stopped.describe());
    match file {
        Some(f) => message.push_str(&format!(" while reading {f}")),
        None => message.push_str(" while evaluating the policies"),
    }
    message.push_str("; nothing in this pull request was judged");
    let mut finding = Finding::error(Gate::Rego, "gate-limit", message);
    if let Some(f) = file {
        finding = finding.at(f, None);
    }
    CheckReport::new(vec![GateReport::new(Gate::Rego, 0, vec![finding])])
}

async fn run_child(
    req: &GateRequest,
    limits: &SandboxLimits,
) -> Result<CheckReport, (Stopped, Option<String>)> {
    let crashed = |e: String| (Stopped::Crashed(e), None);
    let mut child = tokio::process::Command::new(&limits.exe)
        .arg(CHILD_SUBCOMMAND)
        .arg("--memory-mb")
        .arg(limits.memory_mb.to_string())
        .arg("--cpu-secs")
        .arg(limits.cpu_secs().to_string())
        // glibc reserves 64 MiB of address space per malloc arena and thread; two arenas keep
        // the address-space limit about real memory.
        .env("MALLOC_ARENA_MAX", "2")
        // The policy engine builds and drops errors on its normal path (an undefined reference,
        // a dynamic index); with RUST_BACKTRACE set, anyhow would capture a backtrace for each,
        // which made evaluation 1.5x slower. The child's own failures reach the parent as text.
        .env("RUST_LIB_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| crashed(format!("cannot start {}: {e}", limits.exe.display())))?;
    let request = serde_json::to_vec(req).map_err(|e| crashed(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| crashed("no stdin".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| crashed("no stdout".into()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| crashed("no stderr".into()))?;

    let progress = std::sync::Arc::new(std::sync::Mutex::new(ChildLog::default()));
    let log = progress.clone();
    let stderr_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut l) = log.lock() {
                l.take(line);
            }
        }
    });
    let work = async {
        // A child that dies before reading its request closes the pipe; its status says why.
        let _ = stdin.write_all(&request).await;
        drop(stdin);
        let mut out = Vec::new();
        let read = stdout
            .take(MAX_REPORT_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .await;
        if out.len() > MAX_REPORT_BYTES {
            return (Err(Stopped::ReportTooLarge), out);
        }
        if let Err(e) = read {
            return (
                Err(Stopped::Crashed(format!("reading its report: {e}"))),
                out,
            );
        }
        (
            child
                .wait()
                .await
                .map_err(|e| Stopped::Crashed(e.to_string())),
            out,
        )
    };
    let outcome = tokio::time::timeout(limits.timeout, work).await;
    let (status, out) = match outcome {
        Ok((Ok(status), out)) => (status, out),
        Ok((Err(stopped), _)) => {
            let _ = child.kill().await;
            return Err((stopped, last_file(&progress)));
        }
        Err(_) => {
            let _ = child.kill().await;
            return Err((Stopped::Deadline(limits.timeout), last_file(&progress)));
        }
    };
    // The child's stderr ends with it; read what it said last before judging its status.
    let _ = stderr_task.await;
    if status.success() {
        let response = serde_json::from_slice::<GateResponse>(&out).map_err(|e| {
            (
                Stopped::Crashed(format!("unreadable report: {e}")),
                last_file(&progress),
            )
        })?;
        for (stage, secs) in response.stages {
            // The child names its stages; an unknown name is dropped, never a new series.
            let stage = crate::metrics::Stage::from_name(&stage);
            if let Some(stage) = stage.filter(|_| secs.is_finite() && secs >= 0.0) {
                crate::metrics::observe_stage(stage, Duration::from_secs_f64(secs));
            }
        }
        return Ok(response.report);
    }
    let log = progress.lock().map(|l| l.clone()).unwrap_or_default();
    Err((classify(&status, &log, limits), log.file))
}

fn last_file(progress: &std::sync::Mutex<ChildLog>) -> Option<String> {
    progress.lock().ok().and_then(|l| l.file.clone())
}

/// What the child wrote on stderr: its progress and the tail of everything else.
#[derive(Debug, Clone, Default)]
struct ChildLog {
    /// The file it announced last.
    file: Option<String>,
    /// The last lines that were not progress.
    tail: std::collections::VecDeque<String>,
}

impl ChildLog {
    fn take(&mut self, line: String) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v.get("target").and_then(|t| t.as_str()) == Some(PROGRESS_TARGET) {
                self.file = v
                    .pointer("/fields/file")
                    .and_then(|f| f.as_str())
                    .map(String::from);
                return;
            }
            debug!(target: "thoth_bot::gate_child", line = %line, "gate child log");
        }
        if self.tail.len() == STDERR_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn says(&self, needle: &str) -> bool {
        self.tail.iter().any(|l| l.contains(needle))
    }
}

#[cfg(unix)]
fn classify(status: &std::process::ExitStatus, log: &ChildLog, limits: &SandboxLimits) -> Stopped {
    use std::os::unix::process::ExitStatusExt;
    // Rust's runtime prints these before it aborts; the signal alone cannot tell them apart.
    if log.says("memory allocation of") || log.says("out of memory") {
        return Stopped::Memory(limits.memory_mb);
    }
    if log.says("has overflowed its stack") {
        return Stopped::Stack;
    }
    match status.signal() {
        // SIGXCPU at the soft CPU limit, SIGKILL at the hard one.
        Some(24) | Some(9) => Stopped::Cpu(limits.cpu_secs()),
        Some(sig) => Stopped::Crashed(format!("signal {sig}")),
        None => {
            let last = log.tail.back().cloned().unwrap_or_default();
            Stopped::Crashed(format!(
                "exit code {}: {}",
                status.code().unwrap_or(-1),
                last.chars().take(200).collect::<String>()
            ))
        }
    }
}

#[cfg(not(unix))]
fn classify(status: &std::process::ExitStatus, log: &ChildLog, limits: &SandboxLimits) -> Stopped {
    if log.says("memory allocation of") {
        return Stopped::Memory(limits.memory_mb);
    }
    Stopped::Crashed(format!("exit code {}", status.code().unwrap_or(-1)))
}

/// The child: limits itself, reads the request on stdin, writes the report on stdout.
/// Returns the process exit code.
pub fn child_main(memory_mb: u64, cpu_secs: u64) -> i32 {
    if let Err(e) = apply_limits(memory_mb, cpu_secs) {
        eprintln!("cannot apply the gate limits: {e}");
        return 3;
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(1024 * 1024).read_to_end(&mut input) {
        eprintln!("cannot read the gate request: {e}");
        return 3;
    }
    let req: GateRequest = match serde_json::from_slice(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bad gate request: {e}");
            return 3;
        }
    };
    // Headroom for legitimate nesting on top of the parsers' own depth limits.
    let worker = std::thread::Builder::new()
        .name("gates".into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run_check(&req.options()));
    let report = match worker.map(|h| h.join()) {
        Ok(Ok(report)) => report,
        Ok(Err(_)) => {
            eprintln!("the gates panicked");
            return 3;
        }
        Err(e) => {
            eprintln!("cannot start the gate thread: {e}");
            return 3;
        }
    };
    let response = GateResponse {
        report,
        stages: crate::metrics::stage_totals(),
    };
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer(&mut out, &response).map(|_| out.flush()) {
        Ok(Ok(())) => 0,
        _ => 3,
    }
}

#[cfg(unix)]
fn apply_limits(memory_mb: u64, cpu_secs: u64) -> std::io::Result<()> {
    use rlimit::Resource;
    let bytes = memory_mb.saturating_mul(1024 * 1024);
    Resource::AS.set(bytes, bytes)?;
    // Soft limit: SIGXCPU; the hard limit a little later is SIGKILL should it be ignored.
    Resource::CPU.set(cpu_secs, cpu_secs.saturating_add(5))?;
    // A crashing child must not leave a core file of the PR's data behind.
    Resource::CORE.set(0, 0)?;
    Ok(())
}

#[cfg(not(unix))]
fn apply_limits(_memory_mb: u64, _cpu_secs: u64) -> std::io::Result<()> {
    Ok(())
}

/// The `thoth-bot` executable to re-execute: `configured`, else this process's own.
pub fn gate_exe(configured: Option<&Path>) -> std::io::Result<PathBuf> {
    match configured {
        Some(p) => Ok(p.to_path_buf()),
        None => std::env::current_exe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_detail_stays_out_of_the_finding() {
        let report = stopped_report(
            &Stopped::Crashed("cannot start /srv/thoth/bin".into()),
            None,
        );
        let f = report.findings().next().unwrap();
        assert!(!f.message.contains("/srv"), "{}", f.message);
        assert!(
            f.message.contains("crash of the gate process"),
            "{}",
            f.message
        );
    }

    #[test]
    fn progress_lines_name_the_file_and_other_lines_are_kept() {
        let mut log = ChildLog::default();
        log.take(format!(
            r#"{{"level":"DEBUG","target":"{PROGRESS_TARGET}","fields":{{"message":"reading","file":"a/deep.tf"}}}}"#
        ));
        log.take("memory allocation of 1048576 bytes failed".into());
        assert_eq!(log.file.as_deref(), Some("a/deep.tf"));
        assert!(log.says("memory allocation of"));
    }

    #[test]
    fn a_stopped_child_is_an_error_finding_naming_limit_and_file() {
        let report = stopped_report(&Stopped::Memory(1024), Some("big.yaml"));
        assert!(!report.passed);
        let f = report.findings().next().unwrap();
        assert_eq!(f.rule_id, "gate-limit");
        assert_eq!(f.file.as_deref(), Some("big.yaml"));
        assert!(
            f.message.contains("memory limit of 1024 MiB"),
            "{}",
            f.message
        );
        assert!(f.message.contains("while reading big.yaml"));
        assert_eq!(report.exit_code(), 2);
    }
}
