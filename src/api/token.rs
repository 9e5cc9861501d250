//! Push tokens: `thp_<id>_<secret>`. The id (16 hex digits) finds the stored record; the secret
//! (64 hex digits, 256 random bits) is kept only as its SHA-256 and compared in constant time.
//! A token is scoped to one repository or one owner ([`TokenScope`]).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::ids::RepoId;
use crate::store::{PushToken, PushTokenId, Store, StoreError, TokenScope};

/// Every token starts with this, so secret scanners and humans recognise one.
pub const PREFIX: &str = "thp_";

/// Why a request's token is not accepted. Callers branch: [`AuthError::status`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no `Authorization: Bearer` push token")]
    Missing,
    #[error("the push token is not of the form thp_ID_SECRET")]
    Malformed,
    #[error("unknown or revoked push token {0}")]
    Unknown(PushTokenId),
    #[error("wrong secret for push token {0}")]
    WrongSecret(PushTokenId),
    #[error("push token {id} is for {scope}, not for {repo}")]
    OutOfScope {
        id: PushTokenId,
        scope: TokenScope,
        repo: RepoId,
    },
    #[error("the store cannot check push tokens now: {0}")]
    Store(#[from] StoreError),
}

impl AuthError {
    /// 401 without a valid token, 403 for a valid token of another repository, 503 when the
    /// store does not answer (the pipeline should retry).
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AuthError::OutOfScope { .. } => StatusCode::FORBIDDEN,
            AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// A newly minted token: the text to hand out once, and the record to store.
pub struct Minted {
    pub token: String,
    pub record: PushToken,
}

/// Makes a new random token for `scope`.
pub fn mint(scope: TokenScope, now: DateTime<Utc>) -> Minted {
    let id: PushTokenId = hex::encode(rand::random::<[u8; 8]>())
        .parse()
        .unwrap_or_else(|_| unreachable!("16 hex digits"));
    let secret = hex::encode(rand::random::<[u8; 32]>());
    Minted {
        token: format!("{PREFIX}{id}_{secret}"),
        record: PushToken {
            secret_sha256: digest(&secret),
            id,
            scope,
            created_at: now,
        },
    }
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `thp_ID_SECRET` into its id and secret.
pub fn split(token: &str) -> Result<(PushTokenId, &str), AuthError> {
    let rest = token.strip_prefix(PREFIX).ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    let id = id.parse().map_err(|_| AuthError::Malformed)?;
    if secret.is_empty() || secret.len() > 128 {
        return Err(AuthError::Malformed);
    }
    Ok((id, secret))
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

/// Checks the request's `Authorization` header against the stored tokens and `repo`; the
/// token's id on success.
pub async fn authorize(
    store: &dyn Store,
    header: Option<&str>,
    repo: &RepoId,
) -> Result<PushTokenId, AuthError> {
    let (id, secret) = split(bearer(header)?)?;
    let Some(record) = store.push_token(&id).await? else {
        return Err(AuthError::Unknown(id));
    };
    let given = digest(secret);
    // Constant time: the digest comparison must not tell how much of a guess was right.
    let (a, b) = (given.as_bytes(), record.secret_sha256.as_bytes());
    if a.len() != b.len() || !bool::from(subtle::ConstantTimeEq::ct_eq(a, b)) {
        return Err(AuthError::WrongSecret(id));
    }
    if !record.scope.covers(repo) {
        return Err(AuthError::OutOfScope {
            id,
            scope: record.scope,
            repo: repo.clone(),
        });
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_split_and_hash_to_their_record() {
        let m = mint(
            TokenScope::Owner("acme".into()),
            chrono::DateTime::<Utc>::UNIX_EPOCH,
        );
        let (id, secret) = split(&m.token).expect("well formed");
        assert_eq!(id, m.record.id);
        assert_eq!(digest(secret), m.record.secret_sha256);
        assert!(!m.record.secret_sha256.contains(secret));
        assert_ne!(
            mint(m.record.scope.clone(), m.record.created_at).token,
            m.token
        );
    }

    #[test]
    fn malformed_tokens_and_headers_are_refused() {
        for bad in [
            "",
            "thp_",
            "thp_abc_def",
            "xyz_0123456789abcdef_00",
            "thp_0123456789abcdef_",
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
        assert!(bearer(None).is_err());
        assert!(bearer(Some("Basic abc")).is_err());
        assert_eq!(bearer(Some("Bearer  thp_x ")).ok(), Some("thp_x"));
    }

    #[test]
    fn scopes_cover_their_repositories_only() {
        let repo = |s: &str| s.parse::<RepoId>().expect("repo");
        let owner = TokenScope::Owner("acme".into());
        assert!(owner.covers(&repo("acme/infra")));
        assert!(!owner.covers(&repo("acme-evil/infra")));
        assert!(!owner.covers(&repo("other/infra")));
        let ado = TokenScope::Owner("org/Project".into());
        assert!(ado.covers(&repo("org/Project/repo")));
        assert!(!ado.covers(&repo("org/Other/repo")));
        let one = TokenScope::Repo(repo("acme/infra"));
        assert!(one.covers(&repo("acme/infra")));
        assert!(!one.covers(&repo("acme/other")));
    }
}
