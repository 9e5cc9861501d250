//! The pull-request calls of publishing, through the crate's `git` client: the iteration a
//! commit belongs to, the `thoth/policy` status, the bot's vote, and comment threads (list,
//! create, reply, edit). Only what the bot reads is kept of the crate's models.

use std::future::IntoFuture as _;

use azure_devops_rust_api::git::models::{
    Comment, CommentPosition, CommentThread, CommentThreadContext, GitPullRequestCommentThread,
    GitPullRequestStatus, GitStatus, GitStatusContext, IdentityRef, IdentityRefWithVote, comment,
    comment_thread, git_status,
};

use super::client::{AzureClient, PrAt, id32};
use crate::forge::ForgeError;
use crate::forge::retry::Idempotency;
use crate::ids::{CommitSha, PrNumber, RepoId};

/// The state of a PR status (`GitStatusState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Pending,
    Succeeded,
    Failed,
    Error,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Succeeded => "succeeded",
            StatusState::Failed => "failed",
            StatusState::Error => "error",
        }
    }
}

/// A comment thread as listed by the API (only what the bot reads).
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: u64,
    pub comments: Vec<ThreadComment>,
}

/// A comment (only what the bot reads).
#[derive(Debug, Clone, Default)]
pub struct ThreadComment {
    pub id: u64,
    pub content: Option<String>,
    pub author: Option<CommentAuthor>,
    pub is_deleted: bool,
    /// `text`, `codeChange`, `system`.
    pub comment_type: Option<String>,
    /// When the text was last changed (or first published).
    pub written: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct CommentAuthor {
    pub id: Option<String>,
    pub unique_name: Option<String>,
}

impl ThreadComment {
    /// Whether the identity `id` (the bot's, [`AzureClient::bot_id`]) wrote this comment: the
    /// bot trusts its markers only in its own comments.
    pub fn is_by(&self, id: &str) -> bool {
        self.author
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .is_some_and(|a| a.eq_ignore_ascii_case(id))
    }
}

impl From<&Comment> for ThreadComment {
    fn from(c: &Comment) -> ThreadComment {
        ThreadComment {
            id: c.id.and_then(|id| u64::try_from(id).ok()).unwrap_or(0),
            content: c.content.clone(),
            author: c.author.as_ref().map(|a| CommentAuthor {
                id: Some(a.id.clone()),
                unique_name: a.unique_name.clone(),
            }),
            is_deleted: c.is_deleted.unwrap_or(false),
            comment_type: c
                .comment_type
                .as_ref()
                .and_then(|t| serde_json::to_value(t).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            written: c
                .last_content_updated_date
                .as_ref()
                .or(c.published_date.as_ref())
                .and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())),
        }
    }
}

/// A thread status the bot sets (`active`, `closed`).
fn thread_status(status: &str) -> Result<comment_thread::Status, ForgeError> {
    serde_json::from_value(serde_json::Value::from(status))
        .map_err(|_| ForgeError::Invalid(format!("`{status}` is not a thread status")))
}

fn git_state(state: StatusState) -> git_status::State {
    match state {
        StatusState::Pending => git_status::State::Pending,
        StatusState::Succeeded => git_status::State::Succeeded,
        StatusState::Failed => git_status::State::Failed,
        StatusState::Error => git_status::State::Error,
    }
}

/// The first (and only) comment of a new thread.
fn text_comment(content: &str, parent: i64) -> Comment {
    Comment {
        content: Some(content.to_string()),
        parent_comment_id: Some(parent),
        comment_type: Some(comment::CommentType::Text),
        ..Comment::default()
    }
}

impl AzureClient {
    /// The iteration whose source commit is `head` (the latest one if none matches).
    pub async fn iteration_for(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        head: &CommitSha,
    ) -> Result<Option<u64>, ForgeError> {
        let iterations = self.iterations(repo, pr).await?;
        let matching = iterations.iter().rev().find(|it| {
            it.source_ref_commit
                .as_ref()
                .and_then(|c| c.commit_id.as_deref())
                .is_some_and(|c| c.eq_ignore_ascii_case(head.as_str()))
        });
        Ok(matching
            .or(iterations.last())
            .and_then(|it| it.id)
            .and_then(|id| u64::try_from(id).ok()))
    }

    /// Posts the `thoth/policy` status, bound to `iteration` when known. A POST: never
    /// repeated after a 5xx (the next evaluation posts the state again).
    pub async fn post_status(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        iteration: Option<u64>,
        state: StatusState,
        description: &str,
        target_url: &str,
    ) -> Result<(), ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let status = GitPullRequestStatus {
            git_status: GitStatus {
                state: Some(git_state(state)),
                description: Some(description.chars().take(400).collect()),
                context: Some(GitStatusContext {
                    genre: Some("thoth".into()),
                    name: Some("policy".into()),
                }),
                target_url: Some(target_url.to_string()),
                ..GitStatus::default()
            },
            iteration_id: iteration.map(id32).transpose()?,
            ..GitPullRequestStatus::default()
        };
        let what = format!("POST {}/statuses", at.path);
        let statuses = self.git.pull_request_statuses_client();
        self.run(&what, Idempotency::Unsafe, || {
            statuses
                .create(&self.org, status.clone(), &at.repo, at.pr, &at.project)
                .send()
        })
        .await
        .map(drop)
    }

    /// Sets the bot's vote (10, 5, 0, -5, -10). Setting a value is idempotent.
    pub async fn vote(&self, repo: &RepoId, pr: PrNumber, vote: i32) -> Result<(), ForgeError> {
        let me = self.bot_id().await?;
        let at = PrAt::new(repo, pr)?;
        let reviewer = IdentityRefWithVote {
            vote: Some(vote.into()),
            ..IdentityRefWithVote::new(IdentityRef::new(me.clone()))
        };
        let what = format!("PUT {}/reviewers/{me}", at.path);
        let reviewers = self.git.pull_request_reviewers_client();
        self.run(&what, Idempotency::Safe, || {
            reviewers
                .create_pull_request_reviewer(
                    &self.org,
                    reviewer.clone(),
                    &at.repo,
                    at.pr,
                    super::client::segment(&me),
                    &at.project,
                )
                .send()
        })
        .await
        .map(drop)
    }

    /// Every comment thread of the pull request.
    pub async fn threads(&self, repo: &RepoId, pr: PrNumber) -> Result<Vec<Thread>, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let what = format!("GET {}/threads", at.path);
        let threads = self.git.pull_request_threads_client();
        let list = self
            .run(&what, Idempotency::Safe, || {
                threads
                    .list(&self.org, &at.repo, at.pr, &at.project)
                    .into_future()
            })
            .await?;
        Ok(list
            .value
            .iter()
            .map(|t| Thread {
                id: t
                    .comment_thread
                    .id
                    .and_then(|id| u64::try_from(id).ok())
                    .unwrap_or(0),
                comments: t.comment_thread.comments.iter().map(Into::into).collect(),
            })
            .collect())
    }

    /// Creates a thread with one comment; anchored to `file:line` when given. Returns its id.
    pub async fn create_thread(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        content: &str,
        status: &str,
        anchor: Option<(&str, u32)>,
    ) -> Result<u64, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let position = |line: u32| CommentPosition {
            line: i32::try_from(line).ok(),
            offset: Some(1),
        };
        let thread = GitPullRequestCommentThread {
            comment_thread: CommentThread {
                comments: vec![text_comment(content, 0)],
                status: Some(thread_status(status)?),
                thread_context: anchor.map(|(file, line)| CommentThreadContext {
                    file_path: Some(format!("/{}", file.trim_start_matches('/'))),
                    right_file_start: Some(position(line)),
                    right_file_end: Some(position(line)),
                    ..CommentThreadContext::default()
                }),
                ..CommentThread::default()
            },
            ..GitPullRequestCommentThread::default()
        };
        let what = format!("POST {}/threads", at.path);
        let threads = self.git.pull_request_threads_client();
        let created = self
            .run(&what, Idempotency::Unsafe, || {
                threads
                    .create(&self.org, thread.clone(), &at.repo, at.pr, &at.project)
                    .into_future()
            })
            .await?;
        created
            .comment_thread
            .id
            .and_then(|id| u64::try_from(id).ok())
            .ok_or_else(|| ForgeError::Transport(format!("{what}: no thread id")))
    }

    /// Adds a comment to an existing thread, as a reply to `parent_comment`. Returns its id.
    pub async fn reply(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        thread: u64,
        parent_comment: u64,
        content: &str,
    ) -> Result<u64, ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let thread_id = id32(thread)?;
        let parent = i64::from(id32(parent_comment)?);
        let what = format!("POST {}/threads/{thread}/comments", at.path);
        let comments = self.git.pull_request_thread_comments_client();
        let comment = text_comment(content, parent);
        let created = self
            .run(&what, Idempotency::Unsafe, || {
                comments
                    .create(
                        &self.org,
                        comment.clone(),
                        &at.repo,
                        at.pr,
                        thread_id,
                        &at.project,
                    )
                    .into_future()
            })
            .await?;
        created
            .id
            .and_then(|id| u64::try_from(id).ok())
            .ok_or_else(|| ForgeError::Transport(format!("{what}: no comment id")))
    }

    /// Replaces the first comment of a thread and sets the thread's status.
    pub async fn update_thread(
        &self,
        repo: &RepoId,
        pr: PrNumber,
        thread: u64,
        comment: u64,
        content: &str,
        status: &str,
    ) -> Result<(), ForgeError> {
        let at = PrAt::new(repo, pr)?;
        let (thread_id, comment_id) = (id32(thread)?, id32(comment)?);
        let edit = Comment {
            content: Some(content.to_string()),
            ..Comment::default()
        };
        let what = format!("PATCH {}/threads/{thread}/comments/{comment}", at.path);
        let comments = self.git.pull_request_thread_comments_client();
        self.run(&what, Idempotency::Safe, || {
            comments
                .update(
                    &self.org,
                    edit.clone(),
                    &at.repo,
                    at.pr,
                    thread_id,
                    comment_id,
                    &at.project,
                )
                .send()
        })
        .await?;
        let state = GitPullRequestCommentThread {
            comment_thread: CommentThread {
                status: Some(thread_status(status)?),
                ..CommentThread::default()
            },
            ..GitPullRequestCommentThread::default()
        };
        let what = format!("PATCH {}/threads/{thread}", at.path);
        let threads = self.git.pull_request_threads_client();
        self.run(&what, Idempotency::Safe, || {
            threads
                .update(
                    &self.org,
                    state.clone(),
                    &at.repo,
                    at.pr,
                    thread_id,
                    &at.project,
                )
                .send()
        })
        .await
        .map(drop)
    }
}
