//! Delivery authentication: GitHub's `X-Hub-Signature-256` HMAC and Azure DevOps' shared
//! credentials, all compared in constant time.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// A secret that never shows up in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a delivery was not accepted as authentic.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    #[error("signature does not match any configured secret")]
    Mismatch,
    #[error("no webhook secret is configured")]
    NoSecret,
}

/// Verifies `sha256=<hex>` over the raw body against every configured secret (rotation).
pub fn verify_github(
    secrets: &[Secret],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let sig = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    // Check every secret even after a match, so timing does not reveal which one matched.
    let mut ok = false;
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
            continue;
        };
        mac.update(body);
        ok |= mac.verify_slice(&sig).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `sha256=<hex>` for a body: what GitHub sends (used by tests and the load script).
pub fn sign_github(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time equality of two byte strings (lengths may differ; that is not hidden).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's published test vector (fixtures/github/hmac_test_vector.json).
    const SECRET: &str = "It's a Secret to Everybody";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_test_vector() {
        assert_eq!(sign_github(SECRET, b"Hello, World!"), SIG);
        let secrets = [Secret::new("old"), Secret::new(SECRET)];
        assert_eq!(verify_github(&secrets, b"Hello, World!", Some(SIG)), Ok(()));
    }

    #[test]
    fn rejects_missing_malformed_and_wrong() {
        let s = [Secret::new(SECRET)];
        assert_eq!(
            verify_github(&s, b"Hello, World!", None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_github(&s, b"Hello, World!", Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_github(&s, b"Hello, World!", Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_github(&s, b"Hello, World?", Some(SIG)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_github(&[], b"x", Some(SIG)),
            Err(SignatureError::NoSecret)
        );
        assert!(!format!("{:?}", s[0]).contains("Secret to"));
    }
}
