//! `thoth-bot fix`: the gates of `check`, then the deterministic fixes of their findings, shown
//! as a diff or written.

use anyhow::Context as _;

use crate::check::{CheckOptions, run_check};
use crate::fix;

/// Runs the gates over `opts.project_dir` and returns what to print: the fixes (text diff or
/// JSON), or with `apply` what was written. Gate errors do not stop it: the fixes of the
/// findings that were made are still good.
pub(super) fn run(
    opts: &CheckOptions,
    apply: bool,
    only: &[String],
    json: bool,
) -> anyhow::Result<String> {
    let dir = &opts.project_dir;
    anyhow::ensure!(
        dir.is_dir(),
        "project directory {} does not exist",
        dir.display()
    );
    let report = run_check(opts);
    let mut fixes = fix::suggest(dir, &report);
    fix::retain_rules(&mut fixes, only);
    if !apply {
        return Ok(if json {
            serde_json::to_string_pretty(&serde_json::json!({ "fixes": fixes }))? + "\n"
        } else {
            fix::render_preview(&fixes)
        });
    }
    let backup_dir = fix::new_backup_dir(dir);
    let applied = fix::apply(dir, &fixes, &backup_dir)
        .with_context(|| format!("applying fixes in {}", dir.display()))?;
    Ok(if json {
        serde_json::to_string_pretty(&applied)? + "\n"
    } else {
        fix::render_applied(&applied, dir)
    })
}
