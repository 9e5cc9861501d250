//! The HTTP(S) client the hand-rolled API clients share (Azure DevOps, the AI model API):
//! hyper over rustls with the system's root certificates, plain `http://` allowed for loopback
//! fakes and local model servers. GitHub goes through octocrab's own client.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A pooled client sending whole bodies.
pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A new client; the process's default rustls crypto provider if one is installed, else ring.
pub fn client() -> anyhow::Result<HttpsClient> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}
