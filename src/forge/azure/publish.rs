//! Publishing a [`PublishPlan`] on Azure DevOps, in order of importance: the `thoth/policy`
//! status on the evaluated iteration (the merge gate), the bot's vote, finding threads anchored
//! to file:line, and the one summary thread, edited in place.
//!
//! Re-publishing is idempotent: finding threads carry a hidden key (rule, file, message, not the
//! line, which moves between pushes) and a key already on the pull request is not posted again;
//! the summary thread is found by its stored id or, failing that, by [`SUMMARY_MARKER`].

use std::collections::HashSet;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use super::client::AzureClient;
use super::pulls::{StatusState, Thread};
use crate::forge::{Annotation, CheckConclusion, ForgeError, PublishPlan, SUMMARY_MARKER};
use crate::ids::{CommitSha, PrNumber, RepoId};

/// Prefix of the hidden key of a finding thread.
const FINDING_MARKER: &str = "<!-- thoth-bot:finding:";

/// What [`publish`] needs besides the client.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub repo: &'a RepoId,
    pub pr: PrNumber,
    pub head_sha: &'a CommitSha,
    /// The summary thread id stored from last time, if any.
    pub summary_thread: Option<u64>,
    /// Finding threads allowed on the pull request in total.
    pub max_finding_threads: usize,
}

/// What [`publish`] did; the caller stores `summary_thread_id` in the PR state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub summary_thread_id: u64,
    pub finding_threads_posted: usize,
    /// Findings with a location left to the summary (over the cap).
    pub finding_threads_skipped: usize,
}

/// Blocking results keep the summary thread active (it needs the author); others close it.
fn thread_status(plan: &PublishPlan) -> &'static str {
    match plan.conclusion {
        CheckConclusion::Failure => "active",
        _ => "closed",
    }
}

fn status_state(plan: &PublishPlan) -> StatusState {
    match plan.conclusion {
        CheckConclusion::Failure => StatusState::Failed,
        // Waiting for something (a pushed plan): not passed yet.
        CheckConclusion::ActionRequired => StatusState::Pending,
        _ => StatusState::Succeeded,
    }
}

/// The key of a finding: stable across pushes that only move it.
pub fn finding_key(a: &Annotation) -> String {
    let mut h = Sha256::new();
    for part in [&a.path, &a.title, &a.message] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

fn finding_body(a: &Annotation) -> String {
    format!(
        "{FINDING_MARKER}{} -->\n**thoth: {}**\n\n{}",
        finding_key(a),
        a.title,
        a.message
    )
}

/// Keys of finding threads already on the pull request, and the summary thread if found. Only
/// threads the bot (identity `bot`) started count: markers planted by a participant must not
/// hide a finding or take the summary's place.
fn scan(threads: &[Thread], bot: &str) -> (HashSet<String>, Option<u64>) {
    let mut keys = HashSet::new();
    let mut summary = None;
    for t in threads {
        let Some(first) = t
            .comments
            .first()
            .filter(|c| c.is_by(bot))
            .and_then(|c| c.content.as_deref())
        else {
            continue;
        };
        if let Some(rest) = first.strip_prefix(FINDING_MARKER) {
            if let Some((key, _)) = rest.split_once(" -->") {
                keys.insert(key.to_string());
            }
        } else if first.starts_with(SUMMARY_MARKER) && summary.is_none() {
            summary = Some(t.id);
        }
    }
    (keys, summary)
}

/// Publishes `plan` with `vote` (see [`super::vote_of`]).
pub async fn publish(
    client: &AzureClient,
    target: &Target<'_>,
    plan: &PublishPlan,
    vote: i32,
) -> anyhow::Result<Published> {
    let (repo, pr) = (target.repo, target.pr);
    let iteration = client
        .iteration_for(repo, pr, target.head_sha)
        .await
        .with_context(|| format!("listing the iterations of {repo}!{pr}"))?;
    // The details page when there is one, else the summary thread.
    let link = match &plan.details_url {
        Some(url) => url.clone(),
        None => {
            let mut link = client.pr_web_url(repo, pr);
            if let Some(t) = target.summary_thread {
                link.push_str(&format!("?discussionId={t}"));
            }
            link
        }
    };
    client
        .post_status(repo, pr, iteration, status_state(plan), &plan.title, &link)
        .await
        .with_context(|| format!("posting the status on {repo}!{pr}"))?;
    client
        .vote(repo, pr, vote)
        .await
        .with_context(|| format!("voting on {repo}!{pr}"))?;

    let threads = client
        .threads(repo, pr)
        .await
        .with_context(|| format!("listing the threads of {repo}!{pr}"))?;
    let bot = client
        .bot_id()
        .await
        .context("reading the bot's own identity")?;
    let (mut posted_keys, found_summary) = scan(&threads, &bot);
    let mut room = target.max_finding_threads.saturating_sub(posted_keys.len());
    let (mut posted, mut skipped) = (0, 0);
    for a in &plan.annotations {
        let key = finding_key(a);
        if posted_keys.contains(&key) {
            continue;
        }
        if room == 0 {
            skipped += 1;
            continue;
        }
        client
            .create_thread(
                repo,
                pr,
                &finding_body(a),
                "active",
                Some((&a.path, a.start_line)),
            )
            .await
            .with_context(|| format!("posting a finding thread on {repo}!{pr}"))?;
        posted_keys.insert(key);
        room -= 1;
        posted += 1;
    }

    // Fixes are threads on their lines, within the same room as findings.
    for sug in &plan.suggestions {
        let key = format!("fix-{}", sug.key());
        if posted_keys.contains(&key) {
            continue;
        }
        if room == 0 {
            skipped += 1;
            continue;
        }
        let body = format!("{FINDING_MARKER}{key} -->\n{}", sug.thread_body());
        client
            .create_thread(repo, pr, &body, "active", Some((&sug.path, sug.start_line)))
            .await
            .with_context(|| format!("posting a fix thread on {repo}!{pr}"))?;
        posted_keys.insert(key);
        room -= 1;
        posted += 1;
    }

    let mut body = plan.comment_body.clone();
    if skipped > 0 {
        body.push_str(&format!(
            "\n\n_{skipped} more finding(s) with a location are listed above only: at most {} finding threads are opened per pull request._",
            target.max_finding_threads
        ));
    }
    let status = thread_status(plan);
    let summary_thread_id = match target.summary_thread.or(found_summary) {
        Some(id) => match client.update_thread(repo, pr, id, 1, &body, status).await {
            Ok(()) => id,
            // Deleted by someone: start a new one.
            Err(ForgeError::NotFound(_)) => client
                .create_thread(repo, pr, &body, status, None)
                .await
                .with_context(|| format!("posting the summary thread on {repo}!{pr}"))?,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("updating the summary thread on {repo}!{pr}"));
            }
        },
        None => client
            .create_thread(repo, pr, &body, status, None)
            .await
            .with_context(|| format!("posting the summary thread on {repo}!{pr}"))?,
    };
    Ok(Published {
        summary_thread_id,
        finding_threads_posted: posted,
        finding_threads_skipped: skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::AnnotationLevel;
    use crate::forge::azure::pulls::{CommentAuthor, ThreadComment};

    fn ann(path: &str, line: u32, title: &str) -> Annotation {
        Annotation {
            path: path.into(),
            start_line: line,
            end_line: line,
            annotation_level: AnnotationLevel::Failure,
            title: title.into(),
            message: "open to the world".into(),
        }
    }

    #[test]
    fn keys_ignore_the_line_and_are_found_again() {
        let a = ann("main.tf", 3, "SG-1 (high)");
        assert_eq!(
            finding_key(&a),
            finding_key(&ann("main.tf", 9, "SG-1 (high)"))
        );
        assert_ne!(
            finding_key(&a),
            finding_key(&ann("other.tf", 3, "SG-1 (high)"))
        );
        let threads = vec![
            Thread {
                id: 7,
                comments: vec![ThreadComment {
                    id: 1,
                    content: Some(finding_body(&a)),
                    author: Some(CommentAuthor {
                        id: Some("BOT".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            },
            Thread {
                id: 8,
                comments: vec![ThreadComment {
                    id: 1,
                    content: Some(format!("{SUMMARY_MARKER}\nhello")),
                    author: Some(CommentAuthor {
                        id: Some("bot".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            },
            Thread {
                id: 9,
                comments: vec![],
            },
        ];
        // A participant's planted markers come first; they do not count.
        let planted = |id, content: String| Thread {
            id,
            comments: vec![ThreadComment {
                id: 1,
                content: Some(content),
                author: Some(CommentAuthor {
                    id: Some("someone".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        };
        let other = ann("other.tf", 3, "SG-2 (high)");
        let mut all = vec![
            planted(5, format!("{SUMMARY_MARKER}\nfake")),
            planted(6, finding_body(&other)),
        ];
        all.extend(threads);
        let (keys, summary) = scan(&all, "bot");
        assert!(keys.contains(&finding_key(&a)));
        assert_eq!(keys.len(), 1);
        assert_eq!(summary, Some(8));
    }
}
