//! A smart-HTTP git server for tests: serves the bare repositories under a project root on
//! `127.0.0.1:<random port>` by running `git http-backend` as CGI, behind HTTP Basic auth.
//!
//! It runs on its own thread with its own tokio runtime, so blocking tests (git2) and
//! `#[tokio::test]`s can both use it. Every request is recorded (method, path, auth outcome,
//! status, response size) for assertions. Knobs: credentials (or none: a public server), the
//! status sent for wrong credentials (401 like GitHub, or 403), and a delay before answering
//! `git-upload-pack` POSTs, to test timeouts against a slow server.
//!
//! ```ignore
//! let server = GitHttpServer::start_temp(Some((DEFAULT_USER, DEFAULT_TOKEN)));
//! // bare repositories go under server.project_root(); fetch server.url("name.git")
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::oneshot;

/// The user name the default server expects (GitHub's, for installation tokens).
pub const DEFAULT_USER: &str = "x-access-token";
/// The token the default server expects.
pub const DEFAULT_TOKEN: &str = "ghs_TestToken0123456789abcdef";

/// Largest request body accepted (a `git-upload-pack` negotiation is far smaller).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// What the server made of a request's `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The server requires no credentials.
    NotRequired,
    /// No `Authorization` header: answered 401 with a `WWW-Authenticate` challenge.
    Missing,
    /// The configured credentials.
    Valid,
    /// Some other credentials: answered with the configured rejection status.
    Invalid,
}

/// One request, as the server saw and answered it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The URL path, e.g. `/repo.git/info/refs`.
    pub path: String,
    /// The query string without `?` (e.g. `service=git-upload-pack`), empty when none.
    pub query: String,
    pub auth: AuthOutcome,
    pub status: u16,
    /// Bytes of the response body.
    pub response_bytes: usize,
}

impl RecordedRequest {
    /// Whether the request was let through (valid credentials or none needed).
    pub fn auth_ok(&self) -> bool {
        matches!(self.auth, AuthOutcome::Valid | AuthOutcome::NotRequired)
    }

    /// Whether this is the POST that transfers a pack.
    pub fn is_upload_pack(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/git-upload-pack")
    }
}

/// State shared with the request handlers.
struct Shared {
    project_root: PathBuf,
    credentials: Mutex<Option<(String, String)>>,
    wrong_credentials_status: Mutex<StatusCode>,
    upload_pack_delay: Mutex<Duration>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// Locks a mutex, ignoring poisoning (a panicking test must not hide the original panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running server; stopped when dropped.
pub struct GitHttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _owned_root: Option<TempDir>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `project_root`. `credentials` is `(user, password)`
    /// for HTTP Basic, or `None` for a public server.
    pub fn start(project_root: &Path, credentials: Option<(&str, &str)>) -> GitHttpServer {
        Self::start_inner(project_root.to_path_buf(), credentials, None)
    }

    /// Like [`start`](Self::start), with a fresh temporary project root owned by the server.
    pub fn start_temp(credentials: Option<(&str, &str)>) -> GitHttpServer {
        let root = tempfile::tempdir().expect("temp dir for the git server");
        Self::start_inner(root.path().to_path_buf(), credentials, Some(root))
    }

    fn start_inner(
        project_root: PathBuf,
        credentials: Option<(&str, &str)>,
        owned: Option<TempDir>,
    ) -> GitHttpServer {
        let shared = Arc::new(Shared {
            project_root,
            credentials: Mutex::new(credentials.map(|(u, p)| (u.to_string(), p.to_string()))),
            wrong_credentials_status: Mutex::new(StatusCode::UNAUTHORIZED),
            upload_pack_delay: Mutex::new(Duration::ZERO),
            requests: Mutex::new(Vec::new()),
        });
        // Bound here so the address is known before the thread runs.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let (tx, rx) = oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("git-http-server".to_string())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the git server");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let app = Router::new().fallback(handle).with_state(state);
                    // Not a graceful shutdown: a client that keeps a connection open must not
                    // hang the test that drops the server.
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served { eprintln!("git http server: {e}"); }
                        }
                        _ = rx => {}
                    }
                });
                runtime.shutdown_background();
            })
            .expect("spawn the git server thread");
        GitHttpServer {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
            _owned_root: owned,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of a repository under the project root, e.g. `url("repo.git")`.
    pub fn url(&self, repo_path: &str) -> String {
        format!("{}/{}", self.base_url(), repo_path.trim_start_matches('/'))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the served bare repositories live.
    pub fn project_root(&self) -> &Path {
        &self.shared.project_root
    }

    /// The configured `(user, password)`, if any.
    pub fn credentials(&self) -> Option<(String, String)> {
        lock(&self.shared.credentials).clone()
    }

    /// Changes the accepted credentials (token rotation), or makes the server public.
    pub fn set_credentials(&self, credentials: Option<(&str, &str)>) {
        *lock(&self.shared.credentials) = credentials.map(|(u, p)| (u.to_string(), p.to_string()));
    }

    /// The status for wrong credentials: 401 (default, what GitHub sends) or e.g. 403.
    pub fn set_wrong_credentials_status(&self, status: u16) {
        let status = StatusCode::from_u16(status).expect("valid HTTP status");
        *lock(&self.shared.wrong_credentials_status) = status;
    }

    /// Waits this long before answering each `POST .../git-upload-pack` (a slow server).
    pub fn set_upload_pack_delay(&self, delay: Duration) {
        *lock(&self.shared.upload_pack_delay) = delay;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every request: check auth, run `git http-backend`, relay its answer, record it.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let auth = check_auth(&shared, request.headers());
    let response = match auth {
        AuthOutcome::Missing => challenge(StatusCode::UNAUTHORIZED),
        AuthOutcome::Invalid => challenge(*lock(&shared.wrong_credentials_status)),
        AuthOutcome::Valid | AuthOutcome::NotRequired => {
            let user = lock(&shared.credentials).as_ref().map(|(u, _)| u.clone());
            if method == "POST" && path.ends_with("/git-upload-pack") {
                let delay = *lock(&shared.upload_pack_delay);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
            match run_backend(&shared.project_root, request, user).await {
                Ok(response) => response,
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
            }
        }
    };
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    // Buffered to record its size; test repositories are small enough.
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    lock(&shared.requests).push(RecordedRequest {
        method,
        path,
        query,
        auth,
        status,
        response_bytes: bytes.len(),
    });
    Response::from_parts(parts, Body::from(bytes))
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> AuthOutcome {
    let Some((user, password)) = lock(&shared.credentials).clone() else {
        return AuthOutcome::NotRequired;
    };
    let Some(given) = headers.get(header::AUTHORIZATION) else {
        return AuthOutcome::Missing;
    };
    let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    if given.as_bytes() == expected.as_bytes() {
        AuthOutcome::Valid
    } else {
        AuthOutcome::Invalid
    }
}

fn challenge(status: StatusCode) -> Response {
    let mut response = (status, "authentication required\n").into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"git\""),
        );
    }
    response
}

/// Runs `git http-backend` for one request (CGI/1.1) and turns its output into a response.
async fn run_backend(
    root: &Path,
    request: Request,
    user: Option<String>,
) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|e| format!("reading the request body: {e}"))?;
    let header = |name: HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };

    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        // A clean environment: the developer's git config must not change what is served.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(content_type) = header(header::CONTENT_TYPE) {
        cmd.env("CONTENT_TYPE", content_type);
    }
    if let Some(encoding) = header(header::CONTENT_ENCODING) {
        cmd.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = header(HeaderName::from_static("git-protocol")) {
        cmd.env("HTTP_GIT_PROTOCOL", protocol);
    }
    if let Some(user) = user {
        cmd.env("REMOTE_USER", user);
    }

    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawning git http-backend: {e}"))?;
    // Written concurrently with reading the output, so a large body and a large answer cannot
    // deadlock on full pipes.
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
        });
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("running git http-backend: {e}"))?;
    if output.stdout.is_empty() {
        return Err(format!(
            "git http-backend answered nothing ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    parse_cgi(&output.stdout)
}

/// Splits a CGI answer into status, headers and body.
fn parse_cgi(out: &[u8]) -> Result<Response, String> {
    let (head, body) = split_head(out).ok_or("CGI answer without a header block")?;
    let head = String::from_utf8_lossy(head);
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or_default();
            status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("bad CGI status `{value}`"))?;
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let mut response = Response::new(Body::from(body.to_vec()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// The header block ends at the first empty line (`\r\n\r\n` or `\n\n`).
fn split_head(out: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (a, b) => a.or(b)?,
    };
    Some((&out[..at], &out[at + len..]))
}

/// Standard base64 with padding (for the expected `Authorization` header).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
