//! Delivery authentication: GitHub's `X-Hub-Signature-256` HMAC and Azure DevOps' shared
//! credentials, all compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::secret::{ExposeSecret as _, SecretString};

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
    secrets: &[SecretString],
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
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
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

/// What an Azure DevOps service hook must present: the Basic credentials and/or the header token
/// configured on the subscription. When both are configured, both are required.
#[derive(Debug, Clone, Default)]
pub struct AzureHookAuth {
    /// Basic user name and password.
    pub basic: Option<(String, SecretString)>,
    /// Header name (matched case-insensitively) and its value.
    pub header: Option<(String, SecretString)>,
}

/// Why an Azure DevOps delivery was not accepted as authentic (all answered 401).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AzureAuthError {
    #[error("no Azure DevOps webhook credentials are configured")]
    NotConfigured,
    #[error("missing or malformed Basic credentials")]
    MissingBasic,
    #[error("Basic credentials do not match")]
    BadBasic,
    #[error("missing token header")]
    MissingToken,
    #[error("token header does not match")]
    BadToken,
}

/// Checks an Azure DevOps delivery. `authorization` is the `Authorization` header and `token`
/// the value of the configured token header, as received.
pub fn verify_azure(
    auth: &AzureHookAuth,
    authorization: Option<&str>,
    token: Option<&str>,
) -> Result<(), AzureAuthError> {
    if auth.basic.is_none() && auth.header.is_none() {
        return Err(AzureAuthError::NotConfigured);
    }
    if let Some((user, password)) = &auth.basic {
        let (got_user, got_password) =
            parse_basic(authorization).ok_or(AzureAuthError::MissingBasic)?;
        // Both halves are compared whatever the first gives, so timing says nothing.
        let user_ok = ct_eq(got_user.as_bytes(), user.as_bytes());
        let password_ok = ct_eq(got_password.as_bytes(), password.expose_secret().as_bytes());
        if !(user_ok & password_ok) {
            return Err(AzureAuthError::BadBasic);
        }
    }
    if let Some((_, expected)) = &auth.header {
        let got = token.ok_or(AzureAuthError::MissingToken)?;
        if !ct_eq(got.trim().as_bytes(), expected.expose_secret().as_bytes()) {
            return Err(AzureAuthError::BadToken);
        }
    }
    Ok(())
}

/// `Basic base64(user:password)` into its two halves.
fn parse_basic(header: Option<&str>) -> Option<(String, String)> {
    use base64::Engine as _;
    let header = header?.trim();
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Constant-time equality of two byte strings (lengths may differ; that is not hidden).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::basic_header;

    // GitHub's published test vector (fixtures/github/hmac_test_vector.json).
    const SECRET: &str = "It's a Secret to Everybody";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_test_vector() {
        assert_eq!(sign_github(SECRET, b"Hello, World!"), SIG);
        let secrets = [SecretString::from("old"), SecretString::from(SECRET)];
        assert_eq!(verify_github(&secrets, b"Hello, World!", Some(SIG)), Ok(()));
    }

    #[test]
    fn rejects_missing_malformed_and_wrong() {
        let s = [SecretString::from(SECRET)];
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

    #[test]
    fn azure_basic_and_header_token() {
        let none = AzureHookAuth::default();
        assert_eq!(
            verify_azure(&none, Some(&basic_header("u", "p")), None),
            Err(AzureAuthError::NotConfigured)
        );
        let basic = AzureHookAuth {
            basic: Some(("hook".into(), SecretString::from("pw"))),
            header: None,
        };
        assert_eq!(
            verify_azure(&basic, Some(&basic_header("hook", "pw")), None),
            Ok(())
        );
        assert_eq!(
            verify_azure(&basic, Some(&basic_header("hook", "px")), None),
            Err(AzureAuthError::BadBasic)
        );
        assert_eq!(
            verify_azure(&basic, Some(&basic_header("hoo", "pw")), None),
            Err(AzureAuthError::BadBasic)
        );
        assert_eq!(
            verify_azure(&basic, Some("Bearer x"), None),
            Err(AzureAuthError::MissingBasic)
        );
        assert_eq!(
            verify_azure(&basic, None, None),
            Err(AzureAuthError::MissingBasic)
        );
        let both = AzureHookAuth {
            basic: basic.basic.clone(),
            header: Some(("x-thoth-token".into(), SecretString::from("tok"))),
        };
        assert_eq!(
            verify_azure(&both, Some(&basic_header("hook", "pw")), Some("tok")),
            Ok(())
        );
        assert_eq!(
            verify_azure(&both, Some(&basic_header("hook", "pw")), None),
            Err(AzureAuthError::MissingToken)
        );
        assert_eq!(
            verify_azure(&both, Some(&basic_header("hook", "pw")), Some("tok2")),
            Err(AzureAuthError::BadToken)
        );
    }
}
