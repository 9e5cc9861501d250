//! Group membership from the Azure DevOps identity (IMS) API, for `/thoth override` by members
//! of configured groups.
//!
//! Two reads: the user's identity (searched by unique name) with its expanded memberships, then
//! the display names of those groups (`[Project]\Group`, `[org]\Group`).

use http::Method;
use serde_json::Value;

use super::client::{AzureClient, segment};
use crate::forge::ForgeError;
use crate::forge::github::retry::Idempotency;

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
        let base = self.config().identity_url.clone();
        let path = format!(
            "/_apis/identities?searchFilter=General&filterValue={}&queryMembership=Expanded",
            segment(unique_name)
        );
        let found = self
            .call_on(&base, Method::GET, &path, None, Idempotency::Safe)
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
            let list: Vec<String> = chunk.iter().map(|d| segment(d)).collect();
            let path = format!("/_apis/identities?descriptors={}", list.join(","));
            let groups = self
                .call_on(&base, Method::GET, &path, None, Idempotency::Safe)
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
