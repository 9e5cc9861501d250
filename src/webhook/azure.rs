//! Azure DevOps service-hook deliveries into [`crate::event`] types.
//!
//! Handled: `git.pullrequest.created` and `git.pullrequest.updated` (evaluate),
//! `ms.vss-code.git-pullrequest-comment-event` (commands), `git.pullrequest.merged` (logged).
//! Everything else, and the sample payloads the subscription UI's "Test" button sends (their
//! `subscriptionId` is all zeros and their `id` is the documented sample's), is acknowledged and
//! ignored.
//!
//! `git.pullrequest.updated` fires for pushes but also for votes, reviewer and status changes,
//! including the bot's own vote. Only a changed `lastMergeSourceCommit` is worth evaluating; the
//! parser cannot know the last evaluated commit, so it marks the delivery
//! ([`AzureDelivery::only_if_new_head`]) and intake compares with the stored PR state.

use serde::Deserialize;

use super::github::PayloadError;
use crate::event::{CommentEvent, JobPayload, Parsed, PullRequestRef};
use crate::forge::SUMMARY_MARKER;
use crate::ids::{CommitSha, DeliveryId, Platform, PrNumber, RepoId};

/// What the subscription UI's "Test" deliveries carry as `subscriptionId`.
const TEST_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// Event ids of the documented sample payloads, which the "Test" button sends as they are (a
/// real delivery has a fresh GUID, so this cannot swallow one).
const SAMPLE_IDS: &[&str] = &[
    "2ab4e3d3-b7a6-425e-92b1-5a9982c1269e",
    "af07be1b-f3ad-44c8-a7f1-c4835f2df06b",
    "6872ee8c-b333-4eff-bfb9-0d5274943566",
];

/// Every comment the bot writes carries this hidden prefix (summary and finding threads).
pub const BOT_MARKER_PREFIX: &str = "<!-- thoth-bot:";

/// A parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureDelivery {
    /// The payload `id`: the dedupe key (`None` only for ignored deliveries).
    pub id: Option<DeliveryId>,
    pub event_type: String,
    pub parsed: Parsed,
    /// Enqueue only if the source commit differs from the last one evaluated (updates).
    pub only_if_new_head: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: Option<String>,
    event_type: Option<String>,
    subscription_id: Option<String>,
    #[serde(default)]
    resource: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    name: String,
    project: Project,
    remote_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    display_name: Option<String>,
    unique_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitRef {
    commit_id: String,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullRequest {
    repository: Repository,
    pull_request_id: u64,
    status: Option<String>,
    created_by: Option<Identity>,
    source_ref_name: Option<String>,
    target_ref_name: Option<String>,
    #[serde(default)]
    is_draft: bool,
    #[serde(default)]
    title: Option<String>,
    last_merge_source_commit: Option<CommitRef>,
    last_merge_target_commit: Option<CommitRef>,
    labels: Option<Vec<Label>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    id: u64,
    author: Option<Identity>,
    content: Option<String>,
    comment_type: Option<String>,
    #[serde(rename = "_links")]
    links: Option<serde_json::Value>,
    /// When the text was last changed (`publishedDate` for a comment never edited).
    /// Strings, read leniently: a date the bot cannot read must not lose the command.
    last_content_updated_date: Option<String>,
    published_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentResource {
    comment: Comment,
    pull_request: PullRequest,
}

fn bad(event: &str, e: impl std::fmt::Display) -> PayloadError {
    PayloadError {
        event: event.to_string(),
        message: e.to_string(),
    }
}

fn decode<T: for<'de> Deserialize<'de>>(
    event: &str,
    v: serde_json::Value,
) -> Result<T, PayloadError> {
    serde_path_to_error::deserialize(v).map_err(|e| bad(event, e))
}

pub use crate::forge::azure::org_name;

/// Parses a delivery body (a leading UTF-8 BOM is allowed). `org` names the organization in
/// repository ids (`org/project/repository`).
pub fn parse(body: &[u8], org: &str) -> Result<AzureDelivery, PayloadError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let de = &mut serde_json::Deserializer::from_slice(body);
    let env: Envelope = serde_path_to_error::deserialize(de).map_err(|e| bad("service hook", e))?;
    let event_type = env
        .event_type
        .ok_or_else(|| bad("service hook", "no eventType"))?;
    let ignore = |reason: String| AzureDelivery {
        id: None,
        event_type: event_type.clone(),
        parsed: Parsed::Ignore(reason),
        only_if_new_head: false,
    };
    if env.subscription_id.as_deref() == Some(TEST_SUBSCRIPTION)
        || env.id.as_deref().is_some_and(|id| SAMPLE_IDS.contains(&id))
    {
        return Ok(ignore(format!("{event_type}: a test delivery")));
    }
    let handled = [
        "git.pullrequest.created",
        "git.pullrequest.updated",
        "git.pullrequest.merged",
        "ms.vss-code.git-pullrequest-comment-event",
    ];
    if !handled.contains(&event_type.as_str()) {
        return Ok(ignore(format!("event `{event_type}` is not handled")));
    }
    let id: DeliveryId = env
        .id
        .as_deref()
        .ok_or_else(|| bad(&event_type, "no id"))?
        .parse()
        .map_err(|e| bad(&event_type, e))?;
    let (parsed, only_if_new_head) = match event_type.as_str() {
        "ms.vss-code.git-pullrequest-comment-event" => (comment(env.resource, org)?, false),
        "git.pullrequest.merged" => {
            let pr: PullRequest = decode(&event_type, env.resource)?;
            let reason = format!(
                "pull request {}/{} !{} merged",
                pr.repository.project.name, pr.repository.name, pr.pull_request_id
            );
            (Parsed::Ignore(reason), false)
        }
        _ => {
            let pr: PullRequest = decode(&event_type, env.resource)?;
            (
                evaluate(&event_type, pr, org)?,
                event_type == "git.pullrequest.updated",
            )
        }
    };
    Ok(AzureDelivery {
        id: Some(id),
        event_type,
        parsed,
        only_if_new_head,
    })
}

fn repo_id(event: &str, r: &Repository, org: &str) -> Result<RepoId, PayloadError> {
    format!("{org}/{}/{}", r.project.name, r.name)
        .parse()
        .map_err(|e| bad(event, e))
}

use crate::forge::azure::clean_url;

fn sha(event: &str, c: &CommitRef) -> Result<CommitSha, PayloadError> {
    c.commit_id.parse().map_err(|e| bad(event, e))
}

fn short_ref(r: Option<String>) -> Option<String> {
    r.map(|r| {
        r.strip_prefix("refs/heads/")
            .map(str::to_string)
            .unwrap_or(r)
    })
}

fn evaluate(event: &str, pr: PullRequest, org: &str) -> Result<Parsed, PayloadError> {
    if let Some(status) = pr.status.as_deref().filter(|s| *s != "active") {
        return Ok(Parsed::Ignore(format!(
            "{event} for a pull request that is {status}"
        )));
    }
    let Some(head) = pr.last_merge_source_commit.as_ref() else {
        return Ok(Parsed::Ignore(format!(
            "{event} without lastMergeSourceCommit"
        )));
    };
    Ok(Parsed::Job(Box::new(JobPayload::Evaluate {
        pr: PullRequestRef {
            platform: Platform::AzureDevOps,
            repo: repo_id(event, &pr.repository, org)?,
            pr: PrNumber(pr.pull_request_id),
            head_sha: sha(event, head)?,
            base_sha: pr
                .last_merge_target_commit
                .as_ref()
                .map(|c| sha(event, c))
                .transpose()?,
            base_ref: short_ref(pr.target_ref_name),
            head_ref: short_ref(pr.source_ref_name),
            author: pr.created_by.and_then(|i| i.unique_name.or(i.display_name)),
            labels: pr
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            draft: pr.is_draft,
            title: pr.title,
            clone_url: pr.repository.remote_url.as_deref().map(clean_url),
            installation_id: None,
            needs_refresh: false,
        },
        reason: event.to_string(),
    })))
}

/// The thread id from `_links.threads.href` (`.../threads/5`).
fn thread_id(links: Option<&serde_json::Value>) -> Option<u64> {
    links?["threads"]["href"]
        .as_str()?
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}

fn comment(resource: serde_json::Value, org: &str) -> Result<Parsed, PayloadError> {
    const EVENT: &str = "ms.vss-code.git-pullrequest-comment-event";
    let r: CommentResource = decode(EVENT, resource)?;
    let body = r.comment.content.unwrap_or_default();
    // The bot's own threads (summary, findings) fire this event too: loop guard.
    if body.contains(BOT_MARKER_PREFIX) || body.contains(SUMMARY_MARKER) {
        return Ok(Parsed::Ignore("a comment written by thoth-bot".into()));
    }
    if r.comment.comment_type.as_deref() == Some("system") {
        return Ok(Parsed::Ignore("a system comment".into()));
    }
    if !body.contains("/thoth") {
        return Ok(Parsed::Ignore("a comment without /thoth".into()));
    }
    let author = r.comment.author.unwrap_or(Identity {
        display_name: None,
        unique_name: None,
    });
    // Replies go to the thread, so the id names it: `THREAD/COMMENT` (just `COMMENT` when the
    // payload has no thread link).
    let comment_id = match thread_id(r.comment.links.as_ref()) {
        Some(t) => format!("{t}/{}", r.comment.id),
        None => r.comment.id.to_string(),
    };
    Ok(Parsed::Job(Box::new(JobPayload::Command {
        comment: CommentEvent {
            platform: Platform::AzureDevOps,
            repo: repo_id(EVENT, &r.pull_request.repository, org)?,
            pr: PrNumber(r.pull_request.pull_request_id),
            comment_id,
            body,
            previous_body: None,
            author: author
                .unique_name
                .or(author.display_name)
                .unwrap_or_default(),
            author_id: None,
            author_is_bot: false,
            installation_id: None,
            clone_url: r
                .pull_request
                .repository
                .remote_url
                .as_deref()
                .map(clean_url),
            // Azure DevOps lets only a comment's author edit it, and names no editor.
            editor: None,
            written_at: r
                .comment
                .last_content_updated_date
                .or(r.comment.published_date)
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.with_timezone(&chrono::Utc)),
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn fixture(rel: &str) -> Vec<u8> {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fixtures/azure-devops/"
        );
        std::fs::read(format!("{root}{rel}")).unwrap()
    }

    /// A fixture turned into a "real" delivery (the samples carry the test subscription).
    fn real(rel: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let raw = fixture(rel);
        let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
        let mut v: Value = serde_json::from_slice(raw).unwrap();
        v["subscriptionId"] = json!("8b0d2a43-0a3a-4b8b-9b0e-6a1c0e4a1d11");
        v["id"] = json!("5f0c4a43-1b2c-4d5e-8f90-0a1b2c3d4e5f");
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn created_becomes_an_evaluation_of_the_source_commit() {
        let d = parse(
            &real("docs/git.pullrequest.created.json", |_| {}),
            "fabrikam",
        )
        .unwrap();
        assert_eq!(
            d.id.unwrap().as_str(),
            "5f0c4a43-1b2c-4d5e-8f90-0a1b2c3d4e5f"
        );
        assert!(!d.only_if_new_head);
        let Parsed::Job(job) = d.parsed else {
            panic!("{:?}", d.parsed)
        };
        let JobPayload::Evaluate { pr, .. } = *job else {
            panic!()
        };
        assert_eq!(pr.platform, Platform::AzureDevOps);
        assert_eq!(pr.repo.as_str(), "fabrikam/Fabrikam/Fabrikam");
        assert_eq!(pr.pr, PrNumber(1));
        assert_eq!(
            pr.head_sha.as_str(),
            "53d54ac915144006c2c9e90d2c7d3880920db49c"
        );
        assert_eq!(
            pr.base_sha.unwrap().as_str(),
            "a511f535b1ea495ee0c903badb68fbc83772c882"
        );
        assert_eq!(pr.head_ref.as_deref(), Some("mytopic"));
        assert_eq!(pr.base_ref.as_deref(), Some("master"));
        assert_eq!(pr.author.as_deref(), Some("fabrikamfiber4@hotmail.com"));
    }

    #[test]
    fn updates_are_marked_and_completed_prs_ignored() {
        let active = real("docs/git.pullrequest.updated.json", |v| {
            v["resource"]["status"] = json!("active");
        });
        let d = parse(&active, "o").unwrap();
        assert!(d.only_if_new_head);
        assert!(matches!(d.parsed, Parsed::Job(_)));
        for rel in [
            "docs/git.pullrequest.updated.json",
            "tingle-dependabot/git.pullrequest.updated-2.json",
        ] {
            let d = parse(&real(rel, |_| {}), "o").unwrap();
            assert!(matches!(d.parsed, Parsed::Ignore(_)), "{rel}: {d:?}");
        }
    }

    #[test]
    fn tests_samples_unknown_and_bad_deliveries() {
        let d = parse(
            &fixture("aspnet-webhooks/git.pullrequest.created.json"),
            "o",
        )
        .unwrap();
        assert!(matches!(d.parsed, Parsed::Ignore(ref r) if r.contains("test delivery")));
        let sample = parse(&fixture("docs/git.pullrequest.created.json"), "o").unwrap();
        assert!(matches!(sample.parsed, Parsed::Ignore(ref r) if r.contains("test delivery")));
        let bom = parse(&fixture("aspnet-webhooks/bad.notMappedEventType.json"), "o").unwrap();
        assert!(matches!(bom.parsed, Parsed::Ignore(_)));
        assert!(parse(&fixture("aspnet-webhooks/bad.noEventType.json"), "o").is_err());
        assert!(parse(b"{not json", "o").is_err());
        let push = parse(&real("aspnet-webhooks/git.push.json", |_| {}), "o").unwrap();
        assert!(matches!(push.parsed, Parsed::Ignore(_)));
    }

    #[test]
    fn comments_with_commands_become_command_jobs() {
        let body = real(
            "tingle-dependabot/git-pullrequest-comment-event-1.json",
            |v| {
                v["resource"]["comment"]["content"] = json!("please\n/thoth rerun");
            },
        );
        let d = parse(&body, "fabrikam").unwrap();
        let Parsed::Job(job) = d.parsed else {
            panic!("{:?}", d.parsed)
        };
        let JobPayload::Command { comment } = *job else {
            panic!()
        };
        assert_eq!(comment.platform, Platform::AzureDevOps);
        assert_eq!(comment.pr, PrNumber(1));
        assert_eq!(comment.comment_id, "5/2");
        assert_eq!(comment.author, "fabrikamfiber4@hotmail.com");
        assert!(!comment.author_is_bot);

        let own = real(
            "tingle-dependabot/git-pullrequest-comment-event-1.json",
            |v| {
                v["resource"]["comment"]["content"] = json!(format!("{SUMMARY_MARKER}\n/thoth"));
            },
        );
        assert!(matches!(
            parse(&own, "o").unwrap().parsed,
            Parsed::Ignore(_)
        ));
        let plain = real(
            "tingle-dependabot/git-pullrequest-comment-event-1.json",
            |_| {},
        );
        assert!(matches!(
            parse(&plain, "o").unwrap().parsed,
            Parsed::Ignore(_)
        ));
    }

    #[test]
    fn names_and_urls() {
        assert_eq!(org_name("https://dev.azure.com/acme/"), "acme");
        assert_eq!(org_name("http://127.0.0.1:9/org"), "org");
        assert_eq!(
            clean_url("https://dependabot@dev.azure.com/dependabot/Core/_git/x"),
            "https://dev.azure.com/dependabot/Core/_git/x"
        );
        assert_eq!(clean_url("http://h/a@b"), "http://h/a@b");
    }
}
