//! Publishing a [`PublishPlan`] on GitHub: the check run (the merge gate) completed with its
//! annotations, the review, and the one summary comment, edited in place.

use std::borrow::Cow;

use anyhow::Context as _;
use http::Method;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::CheckRunId;
use super::client::{Created, InstallationClient, now_rfc3339, repo_path};
use super::retry::Idempotency;
use crate::forge::suggestion::Suggestion;
use crate::forge::{
    Annotation, CheckConclusion, ForgeError, MAX_BODY_BYTES, PublishPlan, ReviewEvent,
    SUMMARY_MARKER, cap_markdown,
};
use crate::ids::{CommitSha, PrNumber, RepoId};

/// GitHub takes at most 50 annotations per check-run request and appends each batch.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// Comments scanned for the marker: 100 pages of 100. A pull request with more comments than
/// that is not one a bot comment gets lost in.
const MAX_COMMENT_PAGES: u32 = 100;

/// What [`publish`] created or updated; the caller stores `comment_id` in the PR state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedIds {
    pub check_run_id: CheckRunId,
    pub comment_id: u64,
    /// `None` when the plan has no review or GitHub refused it (see [`publish`]).
    pub review_id: Option<u64>,
}

/// Completes the check run, posts the review (if any), then creates or edits the summary
/// comment, in that order: the merge gate matters most, the comment least.
///
/// `check_run_id` is the run created when the evaluation started; `None` creates one now.
/// `pr_state_comment_id` is the summary comment id stored from last time, if any.
///
/// A review GitHub refuses with 422 (e.g. approving a pull request the App may not approve) is
/// logged and skipped: the check run and the comment still say everything. Any other failure is
/// returned with the step as context (the [`ForgeError`] is the root cause, for `downcast_ref`).
/// Annotations are appended by GitHub, so after a failure past the first step retry with
/// `check_run_id: None` (a new run supersedes the old one) rather than completing the same run
/// twice.
pub async fn publish(
    client: &InstallationClient,
    repo: &RepoId,
    pr: PrNumber,
    head_sha: &CommitSha,
    check_run_id: Option<CheckRunId>,
    plan: &PublishPlan,
    pr_state_comment_id: Option<u64>,
) -> anyhow::Result<PublishedIds> {
    let check_run_id = match check_run_id {
        Some(id) => id,
        None => client
            .create_check_run(repo, head_sha)
            .await
            .with_context(|| format!("creating the check run on {repo}@{head_sha}"))?,
    };
    client
        .complete_check_run_linked(
            repo,
            check_run_id,
            plan.conclusion,
            &plan.title,
            &plan.summary_markdown,
            &plan.annotations,
            plan.details_url.as_deref(),
        )
        .await
        .with_context(|| format!("completing check run {check_run_id} on {repo}"))?;

    let mut review_id = None;
    if let Some((event, body)) = &plan.review {
        match client
            .create_review_once(repo, pr, head_sha, *event, body)
            .await
        {
            Ok(id) => review_id = Some(id),
            Err(ForgeError::Http {
                status: 422,
                message,
            }) => {
                tracing::warn!(%repo, %pr, event = event.as_str(), %message, "GitHub refused the review");
            }
            Err(e) => {
                return Err(e).with_context(|| format!("posting the review on {repo}#{pr}"));
            }
        }
    }

    let inline: Vec<&Suggestion> = plan.suggestions.iter().filter(|s| s.in_diff).collect();
    if !inline.is_empty() {
        match client
            .create_suggestions_once(repo, pr, head_sha, &inline)
            .await
        {
            Ok(_) => {}
            // A line GitHub will not comment on must not cost the summary.
            Err(ForgeError::Http {
                status: 422,
                message,
            }) => tracing::warn!(%repo, %pr, %message, "GitHub refused the fix suggestions"),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("posting the fix suggestions on {repo}#{pr}"));
            }
        }
    }

    let comment_id = client
        .upsert_summary_comment(repo, pr, pr_state_comment_id, &plan.comment_body)
        .await
        .with_context(|| format!("updating the summary comment on {repo}#{pr}"))?;
    Ok(PublishedIds {
        check_run_id,
        comment_id,
        review_id,
    })
}

impl InstallationClient {
    /// Completes a check run with its conclusion and output, then sends the annotations in
    /// batches of [`ANNOTATIONS_PER_REQUEST`]: the first request carries the conclusion and the
    /// first batch, each further one the output with the next batch (GitHub appends them).
    pub async fn complete_check_run(
        &self,
        repo: &RepoId,
        id: CheckRunId,
        conclusion: CheckConclusion,
        title: &str,
        summary: &str,
        annotations: &[Annotation],
    ) -> Result<(), ForgeError> {
        self.complete_check_run_linked(repo, id, conclusion, title, summary, annotations, None)
            .await
    }

    /// [`Self::complete_check_run`] with the run's "Details" link (`details_url`), when the
    /// evaluation has a details page.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_check_run_linked(
        &self,
        repo: &RepoId,
        id: CheckRunId,
        conclusion: CheckConclusion,
        title: &str,
        summary: &str,
        annotations: &[Annotation],
        details_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        let path = format!("{}/check-runs/{id}", repo_path(repo)?);
        let summary = cap_markdown(summary.to_owned(), MAX_BODY_BYTES);
        let title: String = title.chars().take(255).collect();
        let mut batches = annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let first = batches.next().unwrap_or(&[]);
        let mut body = json!({
            "status": "completed",
            "conclusion": conclusion.as_str(),
            "completed_at": now_rfc3339(),
            "output": { "title": title, "summary": summary, "annotations": first },
        });
        if let Some(url) = details_url {
            body["details_url"] = json!(url);
        }
        // Annotations append, so a repeated request would duplicate them.
        self.call(Method::PATCH, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        for batch in batches {
            let body = json!({
                "output": { "title": title, "summary": summary, "annotations": batch },
            });
            self.call(Method::PATCH, &path, Some(&body), Idempotency::Unsafe)
                .await?;
        }
        Ok(())
    }

    /// Posts a review on `head_sha` unless this App already posted the same one there (a job
    /// retried or re-run after the review went out): the review carries a hidden marker of the
    /// commit, the event and the body. Returns the review's id.
    pub async fn create_review_once(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        head_sha: &CommitSha,
        event: ReviewEvent,
        body: &str,
    ) -> Result<u64, ForgeError> {
        let digest = Sha256::digest(body.as_bytes());
        let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let marker = format!(
            "<!-- thoth-bot:review:{}:{}:{short} -->",
            head_sha.as_str(),
            event.as_str()
        );
        if let Some(id) = self.find_marked_review(repo, pr, &marker).await? {
            tracing::info!(%repo, %pr, id, "the same review was posted before");
            return Ok(id);
        }
        self.create_review(repo, pr, head_sha, event, &format!("{body}\n\n{marker}"))
            .await
    }

    /// Posts the fix suggestions as one COMMENT review whose comments carry ```` ```suggestion ````
    /// blocks, once per head (a hidden marker of the commit). Returns the review's id.
    pub async fn create_suggestions_once(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        head_sha: &CommitSha,
        suggestions: &[&Suggestion],
    ) -> Result<u64, ForgeError> {
        let marker = format!("<!-- thoth-bot:suggestions:{} -->", head_sha.as_str());
        if let Some(id) = self.find_marked_review(repo, pr, &marker).await? {
            return Ok(id);
        }
        let comments: Vec<serde_json::Value> = suggestions
            .iter()
            .map(|s| {
                let mut c = json!({
                    "path": s.path,
                    "body": s.github_body(),
                    "line": s.end_line,
                    "side": "RIGHT",
                });
                if s.start_line < s.end_line {
                    c["start_line"] = json!(s.start_line);
                    c["start_side"] = json!("RIGHT");
                }
                c
            })
            .collect();
        let path = format!("{}/pulls/{pr}/reviews", repo_path(repo)?);
        let body = json!({
            "commit_id": head_sha.as_str(),
            "event": "COMMENT",
            "body": format!(
                "thoth-bot: {} fix suggestion(s) for this head's findings; apply them from the comments.\n\n{marker}",
                suggestions.len()
            ),
            "comments": comments,
        });
        let created: Created = self
            .call_json(Method::POST, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        Ok(created.id)
    }

    /// The id of this App's review on the pull request whose body holds `marker`.
    async fn find_marked_review(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        marker: &str,
    ) -> Result<Option<u64>, ForgeError> {
        #[derive(Deserialize)]
        struct Review {
            id: u64,
            body: Option<String>,
            user: Option<CommentUser>,
        }
        let base = format!("{}/pulls/{pr}/reviews", repo_path(repo)?);
        self.find_in_pages(&base, |r: &Review| {
            let ours = r.user.as_ref().is_some_and(|u| u.kind == "Bot")
                && r.body.as_deref().is_some_and(|b| b.contains(marker));
            ours.then_some(r.id)
        })
        .await
    }

    /// Walks a listing 100 items per page (at most [`MAX_COMMENT_PAGES`] pages) for the first
    /// item `pick` accepts.
    async fn find_in_pages<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        pick: impl Fn(&T) -> Option<u64>,
    ) -> Result<Option<u64>, ForgeError> {
        for page in 1..=MAX_COMMENT_PAGES {
            let path = format!("{base}?per_page=100&page={page}");
            let items: Vec<T> = self
                .call_json(Method::GET, &path, None, Idempotency::Safe)
                .await?;
            if let Some(id) = items.iter().find_map(&pick) {
                return Ok(Some(id));
            }
            if items.len() < 100 {
                return Ok(None);
            }
        }
        tracing::warn!(base, "nothing found in the first {MAX_COMMENT_PAGES} pages");
        Ok(None)
    }

    /// Posts a review on the pull request's `head_sha`; returns its id.
    pub async fn create_review(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        head_sha: &CommitSha,
        event: ReviewEvent,
        body: &str,
    ) -> Result<u64, ForgeError> {
        let path = format!("{}/pulls/{pr}/reviews", repo_path(repo)?);
        let body = json!({
            "commit_id": head_sha.as_str(),
            "event": event.as_str(),
            "body": cap_markdown(body.to_owned(), MAX_BODY_BYTES),
        });
        let created: Created = self
            .call_json(Method::POST, &path, Some(&body), Idempotency::Unsafe)
            .await?;
        Ok(created.id)
    }

    /// Creates or edits the one summary comment; returns its id for the caller to store.
    ///
    /// `body` gets [`SUMMARY_MARKER`] if it lacks it. With `known_id` the comment is edited
    /// (a 404, e.g. someone deleted it, falls through). Otherwise the pull request's comments
    /// are searched for the marker in a comment made by this App, which is edited; only when
    /// there is none is a comment posted. If that POST fails in a way that may still have
    /// created the comment (timeout, 500, 504), the comments are searched once more instead of
    /// posting again.
    pub async fn upsert_summary_comment(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        known_id: Option<u64>,
        body: &str,
    ) -> Result<u64, ForgeError> {
        let body = with_marker(body);
        if let Some(id) = known_id {
            match self.edit_comment(repo, id, &body).await {
                Ok(()) => return Ok(id),
                Err(ForgeError::NotFound(_)) => {
                    tracing::info!(%repo, %pr, id, "stored summary comment is gone; searching");
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(id) = self.find_summary_comment(repo, pr).await? {
            self.edit_comment(repo, id, &body).await?;
            return Ok(id);
        }
        match self.post_comment(repo, pr, &body).await {
            Ok(id) => Ok(id),
            Err(e) if may_have_been_applied(&e) => {
                match self.find_summary_comment(repo, pr).await {
                    Ok(Some(id)) => {
                        tracing::warn!(%repo, %pr, id, error = %e, "summary comment POST failed but the comment exists");
                        Ok(id)
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The id of this App's summary comment on the pull request, if there is one.
    pub async fn find_summary_comment(
        &self,
        repo: &RepoId,
        pr: PrNumber,
    ) -> Result<Option<u64>, ForgeError> {
        self.find_marked_comment(repo, pr, SUMMARY_MARKER).await
    }

    /// Posts `body` (which must contain `marker`) unless a comment of this App with `marker`
    /// exists already: a retried job does not reply twice.
    pub async fn post_comment_once(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        marker: &str,
        body: &str,
    ) -> Result<u64, ForgeError> {
        if let Some(id) = self.find_marked_comment(repo, pr, marker).await? {
            return Ok(id);
        }
        self.post_comment(repo, pr, body).await
    }

    /// The id of this App's first comment on the pull request containing `marker`.
    pub async fn find_marked_comment(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        marker: &str,
    ) -> Result<Option<u64>, ForgeError> {
        let base = format!("{}/issues/{pr}/comments", repo_path(repo)?);
        self.find_in_pages(&base, |c: &IssueComment| {
            self.is_ours_with(c, marker).then_some(c.id)
        })
        .await
    }

    /// Replaces a comment's body. Setting a value is safe to repeat.
    pub async fn edit_comment(
        &self,
        repo: &RepoId,
        comment_id: u64,
        body: &str,
    ) -> Result<(), ForgeError> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(repo)?);
        self.call(
            Method::PATCH,
            &path,
            Some(&json!({ "body": body })),
            Idempotency::Safe,
        )
        .await?;
        Ok(())
    }

    /// Marker plus authorship: a human quoting the marker must not have their comment taken
    /// over (we could not edit it anyway). GitHub sets `performed_via_github_app` on an App's
    /// comments; a `Bot` author without it is accepted for older payloads.
    fn is_ours_with(&self, c: &IssueComment, marker: &str) -> bool {
        let by_us = match &c.performed_via_github_app {
            Some(app) => app.id == self.app_id(),
            None => c.user.as_ref().is_some_and(|u| u.kind == "Bot"),
        };
        by_us && c.body.as_deref().is_some_and(|b| b.contains(marker))
    }
}

#[derive(Deserialize)]
struct IssueComment {
    id: u64,
    body: Option<String>,
    user: Option<CommentUser>,
    performed_via_github_app: Option<CommentApp>,
}

#[derive(Deserialize)]
struct CommentUser {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct CommentApp {
    id: u64,
}

fn with_marker(body: &str) -> Cow<'_, str> {
    if body.contains(SUMMARY_MARKER) {
        Cow::Borrowed(body)
    } else {
        Cow::Owned(cap_markdown(
            format!("{SUMMARY_MARKER}\n{body}"),
            MAX_BODY_BYTES,
        ))
    }
}

/// An answer that does not prove the write was not applied.
fn may_have_been_applied(e: &ForgeError) -> bool {
    match e {
        ForgeError::Transport(_) => true,
        ForgeError::Http { status, .. } => *status >= 500,
        _ => false,
    }
}
