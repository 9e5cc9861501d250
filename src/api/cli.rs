//! `thoth-bot push-token create|revoke`: tokens for the push API. The token is printed once and
//! only its SHA-256 is stored, so a lost token is revoked and a new one created.

use anyhow::Context;
use chrono::Utc;

use crate::ids::RepoId;
use crate::store::{PushTokenId, TokenScope};

/// `thoth-bot push-token ...`.
#[derive(clap::Subcommand, Debug)]
pub enum PushTokenAction {
    /// Create a token for one repository (`--repo`) or every repository of an owner
    /// (`--owner`), print it once and store only its hash.
    Create {
        /// `owner/name` (GitHub) or `organization/project/repository` (Azure DevOps).
        #[arg(long, conflicts_with = "owner", required_unless_present = "owner")]
        repo: Option<String>,
        /// A GitHub account or installation owner, or an Azure DevOps `organization/project`.
        #[arg(long)]
        owner: Option<String>,
        /// Store URL (`sled:PATH` or `postgres://...`).
        #[arg(long, env = "THOTH_STORE", default_value = crate::store::DEFAULT_STORE_URL)]
        store: String,
    },
    /// Revoke a token by its id (the 16 hex digits after `thp_`, printed by `create`).
    Revoke {
        /// The token id, or the whole token.
        id: String,
        /// Store URL (`sled:PATH` or `postgres://...`).
        #[arg(long, env = "THOTH_STORE", default_value = crate::store::DEFAULT_STORE_URL)]
        store: String,
    },
}

/// Runs the action and answers what to print.
pub async fn run(action: &PushTokenAction) -> anyhow::Result<String> {
    match action {
        PushTokenAction::Create { repo, owner, store } => {
            let scope = scope(repo.as_deref(), owner.as_deref())?;
            let store = crate::store::open(store).await?;
            let minted = super::token::mint(scope, Utc::now());
            store
                .put_push_token(&minted.record)
                .await
                .context("cannot store the push token")?;
            Ok(format!(
                "{}\n# push token {} for {}: shown once, only its hash is stored\n",
                minted.token, minted.record.id, minted.record.scope
            ))
        }
        PushTokenAction::Revoke { id, store } => {
            let id = token_id(id)?;
            let store = crate::store::open(store).await?;
            if store.revoke_push_token(&id).await? {
                Ok(format!("push token {id} revoked\n"))
            } else {
                anyhow::bail!("no push token {id}")
            }
        }
    }
}

fn scope(repo: Option<&str>, owner: Option<&str>) -> anyhow::Result<TokenScope> {
    match (repo, owner) {
        (Some(r), None) => Ok(TokenScope::Repo(r.parse::<RepoId>()?)),
        (None, Some(o)) => {
            // An owner is a repository id without its last segment.
            format!("{o}/x")
                .parse::<RepoId>()
                .with_context(|| format!("`{o}` is not an owner or organization/project"))?;
            Ok(TokenScope::Owner(o.to_string()))
        }
        _ => anyhow::bail!("give either --repo OWNER/REPO or --owner OWNER"),
    }
}

fn token_id(given: &str) -> anyhow::Result<PushTokenId> {
    let given = given.trim();
    if given.starts_with(super::token::PREFIX) {
        return Ok(super::token::split(given)?.0);
    }
    given.parse().map_err(|e: String| anyhow::anyhow!(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_ids_are_checked() {
        assert!(scope(Some("acme/infra"), None).is_ok());
        assert!(scope(Some("acme"), None).is_err());
        assert!(scope(None, Some("org/Project")).is_ok());
        assert!(scope(None, Some("")).is_err());
        assert!(scope(None, None).is_err());
        assert!(token_id("0123456789abcdef").is_ok());
        assert!(token_id("thp_0123456789abcdef_ff").is_ok());
        assert!(token_id("nope").is_err());
    }
}
