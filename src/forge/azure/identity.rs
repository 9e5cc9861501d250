//! Group membership from the Azure DevOps identity (IMS) API, for `/thoth override` by members
//! of configured groups.
//!
//! Two reads: the user's identity (searched by unique name) with its expanded memberships, then
//! the display names of those groups (`[Project]\Group`, `[org]\Group`).
//!
//! Both are requests of the crate's `ims` client, but their answers are read as raw JSON: its
//! `Identity` model keeps `properties` only as a generic property bag without the `Account` and
//! `Mail` values a user is matched by, and types `memberOf` as strings where the API may write
//! descriptor objects, which would fail the whole answer.

use azure_devops_rust_api::ims::models::QueryMembership;
use serde_json::Value;

use super::client::AzureClient;
use crate::forge::ForgeError;
use crate::forge::retry::Idempotency;

/// Descriptors resolved per request.
const BATCH: usize = 25;

impl AzureClient {
    /// Display names of the groups `unique_name` belongs to, directly or through other groups.
    /// An unknown user belongs to none, and so does a name the search cannot pin to exactly one
    /// identity: several identities with that account, or one that is another user (the search
    /// also matches display names), or one whose id is not `expected_id` (the comment author's,
    /// from the API), are refused with a warning rather than guessed at.
    pub async fn groups_of(
        &self,
        unique_name: &str,
        expected_id: Option<&str>,
    ) -> Result<Vec<String>, ForgeError> {
        let found = self
            .identities("search", |read| {
                read.search_filter("General")
                    .filter_value(unique_name)
                    .query_membership(QueryMembership::Expanded)
            })
            .await?;
        let identities: Vec<&Value> = found["value"].as_array().into_iter().flatten().collect();
        let is_user = |i: &&Value| {
            [
                &i["properties"]["Account"]["$value"],
                &i["properties"]["Mail"]["$value"],
                &i["uniqueName"],
            ]
            .iter()
            .any(|v| {
                v.as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(unique_name))
            })
        };
        let users: Vec<&Value> = identities.iter().copied().filter(is_user).collect();
        let user = match users.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => {
                tracing::warn!(
                    user = unique_name,
                    count = users.len(),
                    "the identity search matches several users: no group membership assumed"
                );
                return Ok(Vec::new());
            }
        };
        if let (Some(u), Some(want)) = (user, expected_id)
            && !u["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(want))
        {
            tracing::warn!(user = unique_name, found = ?u["id"].as_str(), expected = want,
                "the identity found is not the comment's author: no group membership assumed");
            return Ok(Vec::new());
        }
        let member_of: Vec<String> = user
            .map(|i| {
                i["memberOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(descriptor)
                    .collect()
            })
            .unwrap_or_default();
        let mut names = Vec::new();
        for chunk in member_of.chunks(BATCH) {
            let list = chunk.join(",");
            let groups = self
                .identities("by descriptors", |read| read.descriptors(list.as_str()))
                .await?;
            names.extend(
                groups["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g["providerDisplayName"].as_str())
                    .map(str::to_string),
            );
        }
        Ok(names)
    }
}

impl AzureClient {
    /// `GET _apis/identities` with the parameters `query` sets, answered as raw JSON (see the
    /// module doc).
    async fn identities(
        &self,
        what: &str,
        query: impl Fn(ReadIdentities) -> ReadIdentities,
    ) -> Result<Value, ForgeError> {
        let what = format!("GET /_apis/identities ({what})");
        let client = self.ims.identities_client();
        let raw = self
            .run(&what, Idempotency::Safe, || {
                let send = query(client.read_identities(&self.identity_org)).send();
                async move { Ok(send.await?.into_raw_response()) }
            })
            .await?;
        serde_json::from_slice(raw.body())
            .map_err(|e| ForgeError::Transport(format!("{what}: unexpected answer: {e}")))
    }
}

type ReadIdentities = azure_devops_rust_api::ims::identities::read_identities::RequestBuilder;

/// An identity descriptor as the API writes it: `"type;identifier"` or
/// `{"identityType": ..., "identifier": ...}`.
fn descriptor(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => Some(format!(
            "{};{}",
            o.get("identityType")?.as_str()?,
            o.get("identifier")?.as_str()?
        )),
        _ => None,
    }
}

/// The project of a `[Project]\\Group` name, if it is written so.
pub fn project_of(name: &str) -> Option<&str> {
    let (scope, group) = name.trim().split_once('\\')?;
    let project = scope.strip_prefix('[')?.strip_suffix(']')?;
    (!project.is_empty() && !group.is_empty()).then_some(project)
}

/// Whether a group display name (`[Project]\\Group`) is the configured `wanted`, compared in
/// full without case: a bare group name would match that group in every project.
pub fn group_matches(display: &str, wanted: &str) -> bool {
    display.trim().eq_ignore_ascii_case(wanted.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::azure::client::identity_url_of;

    #[test]
    fn identity_hosts() {
        assert_eq!(
            identity_url_of("https://dev.azure.com/acme"),
            "https://vssps.dev.azure.com/acme"
        );
        assert_eq!(
            identity_url_of("https://acme.visualstudio.com"),
            "https://acme.vssps.visualstudio.com"
        );
        assert_eq!(
            identity_url_of("https://tfs.corp/DefaultCollection"),
            "https://tfs.corp/DefaultCollection"
        );
    }

    #[test]
    fn groups_match_by_full_name_only() {
        assert!(!group_matches(
            "[Infra]\\Platform Admins",
            "platform admins"
        ));
        assert!(!group_matches(
            "[Other]\\Platform Admins",
            "[Infra]\\Platform Admins"
        ));
        assert_eq!(project_of("[Infra Team]\\Admins"), Some("Infra Team"));
        assert_eq!(project_of("Admins"), None);
        assert_eq!(project_of("[]\\Admins"), None);
        assert_eq!(project_of("[P]\\"), None);
        assert!(group_matches(
            "[Infra]\\Platform Admins",
            "[Infra]\\Platform Admins"
        ));
        assert!(!group_matches("[Infra]\\Platform Admins", "Admins"));
        assert_eq!(
            descriptor(&serde_json::json!({"identityType": "t", "identifier": "i"})),
            Some("t;i".into())
        );
    }
}
