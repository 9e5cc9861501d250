//! Signed, expiring links to details pages.
//!
//! A link is `{public_url}/runs/{evaluation}?exp={unix seconds}&sig={hex}`, where `sig` is
//! HMAC-SHA256 under the server's details key of `runs/{evaluation}/{exp}`. Anyone holding a
//! valid link reads that one evaluation until `exp`; changing the id or the expiry breaks the
//! signature, and without the key no link can be made.

use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::{ExposeSecret as _, SecretString};
use crate::store::EvaluationId;

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "details.key";

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is not valid")]
    BadSignature,
}

/// The details key: signs and checks links.
#[derive(Clone)]
pub struct DetailsKey(SecretString);

impl std::fmt::Debug for DetailsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DetailsKey([REDACTED])")
    }
}

impl DetailsKey {
    pub fn new(key: SecretString) -> Self {
        DetailsKey(key)
    }

    /// The configured key, else the one in `data_dir/details.key`, generated there (32 random
    /// bytes, hex, mode 0600) when missing.
    pub fn configured_or_generated(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        if let Some(k) = configured {
            return Ok(DetailsKey(k.clone()));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => {
                return Ok(DetailsKey(SecretString::from(text.trim().to_string())));
            }
            Ok(_) => anyhow::bail!("{} holds no usable key (too short)", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let key = hex::encode(rand::random::<[u8; 32]>());
        match write_private(&path, &key) {
            Ok(()) => {}
            // Another process sharing the directory generated it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                return Ok(DetailsKey(SecretString::from(text.trim().to_string())));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
        }
        tracing::info!(path = %path.display(), "generated the details-link key");
        Ok(DetailsKey(SecretString::from(key)))
    }

    fn mac(&self, id: EvaluationId, exp: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(format!("runs/{id}/{exp}").as_bytes());
        mac
    }

    /// The `exp` and `sig` query values of a link to `id` valid until `expires`.
    pub fn sign(&self, id: EvaluationId, expires: DateTime<Utc>) -> (i64, String) {
        let exp = expires.timestamp();
        (exp, hex::encode(self.mac(id, exp).finalize().into_bytes()))
    }

    /// Checks a link's `exp` and `sig` at `now` (the signature in constant time).
    pub fn verify(
        &self,
        id: EvaluationId,
        exp: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let sig = hex::decode(sig).map_err(|_| LinkError::BadSignature)?;
        self.mac(id, exp)
            .verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        if exp < now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

/// Creates `path` readable by its owner only (0600 from the start, never world-readable).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Makes the links the bot posts: the public base URL, the key, and how long links last.
#[derive(Debug, Clone)]
pub struct LinkMaker {
    /// `https://thoth.example.com`, without a trailing slash.
    pub public_url: String,
    pub key: DetailsKey,
    pub valid_for: TimeDelta,
}

impl LinkMaker {
    /// The absolute, signed link to `id`, valid from `now` for [`LinkMaker::valid_for`].
    pub fn link(&self, id: EvaluationId, now: DateTime<Utc>) -> String {
        let (exp, sig) = self.key.sign(id, now + self.valid_for);
        format!("{}{}", self.public_url, path(id, exp, &sig))
    }
}

/// The server-relative path of a signed link.
pub fn path(id: EvaluationId, exp: i64, sig: &str) -> String {
    format!("/runs/{id}?exp={exp}&sig={sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_until_they_expire_and_not_when_changed() {
        let key = DetailsKey::new(SecretString::from("k".repeat(32)));
        let id = EvaluationId::new();
        let now = Utc::now();
        let (exp, sig) = key.sign(id, now + TimeDelta::days(1));
        assert_eq!(key.verify(id, exp, &sig, now), Ok(()));
        assert_eq!(
            key.verify(id, exp, &sig, now + TimeDelta::days(2)),
            Err(LinkError::Expired)
        );
        assert_eq!(
            key.verify(id, exp + 86_400, &sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            key.verify(EvaluationId::new(), exp, &sig, now),
            Err(LinkError::BadSignature)
        );
        let other = DetailsKey::new(SecretString::from("j".repeat(32)));
        assert_eq!(
            other.verify(id, exp, &sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(key.verify(id, exp, "zz", now), Err(LinkError::BadSignature));
    }

    #[test]
    fn a_generated_key_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = DetailsKey::configured_or_generated(None, dir.path()).unwrap();
        let b = DetailsKey::configured_or_generated(None, dir.path()).unwrap();
        assert_eq!(a.0.expose_secret(), b.0.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let set = SecretString::from("c".repeat(40));
        let c = DetailsKey::configured_or_generated(Some(&set), dir.path()).unwrap();
        assert_eq!(c.0.expose_secret(), "c".repeat(40));
    }
}
