//! The HTTP transport under `azure_devops_rust_api`: azure_core's `HttpClient` implemented over
//! the hyper client the bot already has ([`crate::https`]), instead of the reqwest client
//! azure_core would build. One TLS stack and root store for everything the bot calls, a
//! deadline per exchange, and the forge-call metric counted where every attempt passes.
//!
//! It also mends one habit of the generated code: it joins `endpoint` and the path with a `/`,
//! and a URL with an empty path prints with a trailing `/`, so requests come out as
//! `https://dev.azure.com//org/...`. Empty path segments are dropped before sending.

use std::time::Duration;

use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// azure_core's `HttpClient` over [`crate::https::HttpsClient`].
pub(crate) struct HyperTransport {
    http: crate::https::HttpsClient,
    /// Per exchange, connection and whole body included.
    timeout: Duration,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HyperTransport {
    pub(crate) fn new(timeout: Duration) -> anyhow::Result<HyperTransport> {
        Ok(HyperTransport {
            http: crate::https::client()?,
            timeout,
        })
    }
}

/// The URL without empty path segments (`//org` => `/org`).
pub(crate) fn mend_url(url: &azure_core::http::Url) -> azure_core::http::Url {
    let mut url = url.clone();
    if url.path().contains("//") {
        let path: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let mended = format!("/{}", path.join("/"));
        url.set_path(&mended);
    }
    url
}

fn method_of(method: Method) -> azure_core::Result<http::Method> {
    Ok(match method {
        Method::Delete => http::Method::DELETE,
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Patch => http::Method::PATCH,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        other => {
            return Err(Error::with_message(
                ErrorKind::Other,
                format!("HTTP method {other:?} is not supported"),
            ));
        }
    })
}

#[async_trait]
impl HttpClient for HyperTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = mend_url(request.url());
        let body = match request.body() {
            Body::Bytes(bytes) => bytes.clone(),
            // Nothing the bot sends streams; refusing beats buffering an unbounded stream.
            Body::SeekableStream(_) => {
                return Err(Error::with_message(
                    ErrorKind::Other,
                    "streamed request bodies are not supported",
                ));
            }
        };
        let mut builder = http::Request::builder()
            .method(method_of(request.method())?)
            .uri(url.as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let outgoing = builder
            .body(Full::new(Bytes::from(body.to_vec())))
            .map_err(|e| Error::with_error(ErrorKind::Other, e, "building the request"))?;
        let exchange = async {
            let response = self.http.request(outgoing).await.map_err(|e| {
                // Not connected: the request never left, so repeating it is safe for writes too.
                let kind = if e.is_connect() {
                    ErrorKind::Connection
                } else {
                    ErrorKind::Io
                };
                Error::with_error(kind, e, "sending the request")
            })?;
            let (parts, body) = response.into_parts();
            let collected = body
                .collect()
                .await
                .map_err(|e| Error::with_error(ErrorKind::Io, e, "reading the answer"))?;
            Ok::<_, Error>((parts, collected.to_bytes()))
        };
        let answer = tokio::time::timeout(self.timeout, exchange).await;
        let (parts, bytes) = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                crate::metrics::forge_call("azure-devops", None);
                return Err(e);
            }
            Err(_) => {
                crate::metrics::forge_call("azure-devops", None);
                return Err(Error::with_message(ErrorKind::Io, "timed out"));
            }
        };
        crate::metrics::forge_call("azure-devops", Some(parts.status.as_u16()));
        let mut headers = Headers::new();
        for (name, value) in &parts.headers {
            if let Ok(value) = value.to_str() {
                headers.insert(
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(value.to_owned()),
                );
            }
        }
        Ok(AsyncRawResponse::from_bytes(
            parts.status.as_u16().into(),
            headers,
            bytes,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_path_segments_are_dropped() {
        let url = |s: &str| azure_core::http::Url::parse(s).unwrap();
        assert_eq!(
            mend_url(&url(
                "https://dev.azure.com//acme/P%20Q/_apis/x?api-version=7.1"
            ))
            .as_str(),
            "https://dev.azure.com/acme/P%20Q/_apis/x?api-version=7.1"
        );
        let fine = "https://tfs.corp/tfs/Coll/_apis/x";
        assert_eq!(mend_url(&url(fine)).as_str(), fine);
    }
}
