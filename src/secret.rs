//! Secrets: webhook secrets, Azure DevOps hook credentials and the PAT are held as
//! [`SecretString`] (the `secrecy` crate), whose `Debug` prints `[REDACTED]`, so a struct that
//! holds one can be logged whole. The value is reached only with `expose_secret` where it is used.

pub use secrecy::{ExposeSecret, SecretString};

/// `Basic base64(user:password)`: what a service hook with Basic credentials sends, and how the
/// Azure DevOps client presents its PAT.
pub fn basic_header(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
