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
    /// An unknown user belongs to none.
    pub async fn groups_of(&self, unique_name: &str) -> Result<Vec<String>, ForgeError> {
        let base = self.config().identity_url.clone();
        let path = format!(
            "/_apis/identities?searchFilter=General&filterValue={}&queryMembership=Expanded",
            segment(unique_name)
        );
        let found = self
            .call_on(&base, Method::GET, &path, None, Idempotency::Safe)
            .await?;
        let identities: Vec<&Value> = found["value"].as_array().into_iter().flatten().collect();
        // The general search may also match display names: with several results, take the
        // one whose account is this user.
        let is_user = |i: &&&Value| {
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
        let user = match identities.as_slice() {
            [one] => Some(*one),
            many => many.iter().find(is_user).copied(),
        };
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

/// Whether a group display name (`[Project]\Group`) is the configured `wanted` (the full name,
/// or just the group part), compared without case.
pub fn group_matches(display: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    display.eq_ignore_ascii_case(wanted)
        || display
            .rsplit_once('\\')
            .is_some_and(|(_, name)| name.eq_ignore_ascii_case(wanted))
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
    fn groups_match_by_full_or_short_name() {
        assert!(group_matches("[Infra]\\Platform Admins", "platform admins"));
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
