//! Plans and drift reports pushed to the API, put where the gates read them: the worker writes
//! each into the head checkout under [`crate::inputs::pushed::DIR`] before the gates run, so
//! Rego policies see a pushed plan as `input` exactly like a committed one and the drift gate
//! judges it. Whatever the pull request itself committed at that folder is removed first: the
//! folder holds only what pipelines pushed, and the PR cannot fake a pushed plan (nor plant a
//! symlink the writes would follow).
//!
//! Also decides whether the evaluation waits for a plan: `require_plan: true` in the base
//! branch's `.driftpolicy` and no plan pushed for the head.

use std::path::Path;

use anyhow::Context;
use tracing::{info, warn};

use super::WorkerContext;
use super::checkout::Checkout;
use crate::event::PullRequestRef;
use crate::inputs::pushed;
use crate::store::{PushedKind, PushedReport};

/// What was placed in the checkout for one evaluation.
#[derive(Debug, Default)]
pub(super) struct Placed {
    /// Plans pushed for the head (one per project).
    pub(super) plans: usize,
    /// The base's `.driftpolicy` asks for a pushed plan.
    pub(super) require_plan: bool,
}

impl Placed {
    /// The note shown while the evaluation waits for a plan, if it does.
    pub(super) fn waiting_for_plan(&self, pr: &PullRequestRef) -> Option<String> {
        (self.require_plan && self.plans == 0).then(|| {
            format!(
                "waiting for plan: `require_plan` is set in `.driftpolicy` and no plan has been \
                 pushed for {} yet (`POST /api/v1/plans/{}/{}`); the check stays pending until one is",
                pr.head_sha, pr.repo, pr.head_sha
            )
        })
    }
}

/// Writes the head's pushed reports into the checkout and reads `require_plan` from the base.
pub(super) async fn place(
    ctx: &WorkerContext,
    pr: &PullRequestRef,
    co: &Checkout,
) -> anyhow::Result<Placed> {
    let reports = ctx
        .store
        .pushed_reports(&pr.repo, &pr.head_sha)
        .await
        .context("reading pushed plans and drift reports")?;
    let head = co.head.clone();
    let (plans, drift) = tokio::task::spawn_blocking(move || write_all(&head, &reports))
        .await
        .context("writing pushed reports")??;
    if plans + drift > 0 {
        info!(plans, drift, "pushed reports placed in the checkout");
    }
    Ok(Placed {
        plans,
        require_plan: require_plan(co),
    })
}

/// `require_plan` of the drift policy the gates use (the base's, else the org's). A policy that
/// cannot be read is the drift gate's error to report; here it asks for nothing.
fn require_plan(co: &Checkout) -> bool {
    let Some(base) = co.base.as_deref() else {
        return false;
    };
    let org = co.org_dir();
    let domain = crate::gates::structure::load_config(base, None, org.as_deref())
        .ok()
        .and_then(|c| c.governance.domain);
    match crate::gates::drift::DriftPolicy::resolve(base, org.as_deref(), domain.as_deref()) {
        Ok((p, _)) => p.require_plan,
        Err(e) => {
            warn!(error = %e, "drift policy unreadable; require_plan not applied");
            false
        }
    }
}

fn write_all(head: &Path, reports: &[PushedReport]) -> anyhow::Result<(usize, usize)> {
    let dir = head.join(pushed::DIR);
    // `symlink_metadata`: a symlink committed under the name is removed, never followed.
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dir)?,
        Ok(_) => std::fs::remove_file(&dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let (mut plans, mut drift) = (0, 0);
    for r in reports {
        // Names were checked when stored; checked again so a damaged record cannot escape.
        let rel = match &r.kind {
            PushedKind::Plan { project, .. } => {
                plans += 1;
                pushed::plan_path(&pushed::project(project)?)
            }
            PushedKind::Drift { environment } => {
                drift += 1;
                pushed::drift_path(&pushed::environment(environment)?)
            }
        };
        let path = head.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &r.body).with_context(|| format!("writing {rel}"))?;
    }
    Ok((plans, drift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_folder_is_replaced_by_the_pushed_reports() {
        let tmp = tempfile::tempdir().expect("tmp");
        let head = tmp.path();
        let outside = tempfile::tempdir().expect("outside");
        std::os::unix::fs::symlink(outside.path(), head.join(pushed::DIR)).expect("symlink");
        let report = |kind| PushedReport {
            repo: "acme/infra".parse().expect("repo"),
            kind,
            body: "{}".into(),
            at: chrono::Utc::now(),
        };
        let reports = [
            report(PushedKind::Plan {
                head_sha: "a".repeat(40).parse().expect("sha"),
                project: "envs/prod".into(),
            }),
            report(PushedKind::Drift {
                environment: "prod".into(),
            }),
        ];
        assert_eq!(write_all(head, &reports).ok(), Some((1, 1)));
        assert!(
            head.join(".thoth-pushed/plan/envs/prod/tfplan.json")
                .is_file()
        );
        assert!(head.join(".thoth-pushed/drift-prod.json").is_file());
        assert_eq!(std::fs::read_dir(outside.path()).expect("dir").count(), 0);
    }
}
