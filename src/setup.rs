//! `thoth-bot setup github`: registers the GitHub App through GitHub's manifest flow and
//! writes what `thoth-bot serve` needs.
//!
//! The flow (<https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest>):
//! 1. a local page (`GET /` on `--listen`) posts `app-manifest.yml`, with the bot's public URL
//!    filled in, to `{web}/organizations/{org}/settings/apps/new?state=...` (or
//!    `{web}/settings/apps/new` for a personal account);
//! 2. the user confirms on GitHub, which redirects the browser back to the local page
//!    (`/callback?code=...&state=...`; the manifest's `redirect_url` is set to it);
//! 3. the state is checked (it is random per run, so another site cannot feed us a code), the
//!    code is exchanged at `POST {api}/app-manifests/{code}/conversions` for the App id, its
//!    private key and the webhook secret;
//! 4. the key goes to a PEM file and the rest to a `thoth.toml`, both created with mode 0600
//!    because both are secrets.
//!
//! Nothing else is stored: the code is single-use and expires within an hour.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// The manifest shipped with the bot (the repository's `app-manifest.yml`).
pub const DEFAULT_MANIFEST: &str = include_str!("../app-manifest.yml");

/// What `setup github` needs to know.
#[derive(Debug, Clone)]
pub struct GithubSetup {
    /// Organization that will own the App; `None`: the signed-in user's account.
    pub org: Option<String>,
    /// Public URL of the bot (`https://bot.example.com`); webhooks go to `{url}/webhooks/github`.
    pub url: String,
    /// GitHub web base (`https://github.com`, or the GHES host).
    pub web_url: String,
    /// GitHub REST API base (`https://api.github.com`, or `https://HOST/api/v3`).
    pub api_url: String,
    /// Manifest YAML (default [`DEFAULT_MANIFEST`]).
    pub manifest: String,
    /// Config file to write.
    pub config_out: PathBuf,
    /// Private key file to write.
    pub key_out: PathBuf,
    /// Overwrite existing files.
    pub force: bool,
}

/// The App GitHub created, and where its credentials were written.
#[derive(Debug, Clone)]
pub struct Registered {
    pub app_id: u64,
    pub slug: String,
    pub html_url: String,
    pub config: PathBuf,
    pub key: PathBuf,
}

/// `app-manifest.yml` as the JSON GitHub expects, pointed at `public_url` and redirecting back
/// to `redirect_url`.
pub fn manifest_json(yaml: &str, public_url: &str, redirect_url: &str) -> anyhow::Result<Value> {
    let public_url = public_url.trim_end_matches('/');
    if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
        bail!("the bot URL must start with https:// (got `{public_url}`)");
    }
    let mut m: Value = serde_yaml::from_str(yaml).context("app-manifest.yml is not valid YAML")?;
    let obj = m
        .as_object_mut()
        .context("app-manifest.yml must be a mapping")?;
    obj.insert("url".into(), public_url.into());
    obj.insert("redirect_url".into(), redirect_url.into());
    let hook = obj
        .entry("hook_attributes")
        .or_insert_with(|| Value::Object(Default::default()));
    hook["url"] = format!("{public_url}/webhooks/github").into();
    Ok(m)
}

/// Where the manifest is posted.
pub fn new_app_url(web_url: &str, org: Option<&str>, state: &str) -> String {
    let web = web_url.trim_end_matches('/');
    match org {
        Some(org) => format!("{web}/organizations/{org}/settings/apps/new?state={state}"),
        None => format!("{web}/settings/apps/new?state={state}"),
    }
}

/// GitHub's answer to the code exchange (the fields we use).
#[derive(Debug, Deserialize)]
struct Conversion {
    id: u64,
    slug: String,
    html_url: String,
    pem: String,
    webhook_secret: Option<String>,
}

struct Shared {
    setup: GithubSetup,
    state: String,
    manifest: Value,
    done: Mutex<Option<tokio::sync::oneshot::Sender<anyhow::Result<Registered>>>>,
}

/// Serves the setup page on `listener` until GitHub redirects back and the credentials are
/// written (or the exchange fails). `ready` gets the local page's URL to open in a browser.
pub async fn run(
    setup: GithubSetup,
    listener: tokio::net::TcpListener,
    ready: impl FnOnce(&str),
) -> anyhow::Result<Registered> {
    for path in [&setup.config_out, &setup.key_out] {
        if path.exists() && !setup.force {
            bail!("{} exists; pass --force to overwrite it", path.display());
        }
    }
    let addr = listener.local_addr()?;
    let local = format!("http://{addr}");
    let manifest = manifest_json(&setup.manifest, &setup.url, &format!("{local}/callback"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let shared = Arc::new(Shared {
        setup,
        state: hex::encode(rand::random::<[u8; 16]>()),
        manifest,
        done: Mutex::new(Some(tx)),
    });
    let app = Router::new()
        .route("/", get(page))
        .route("/callback", get(callback))
        .with_state(shared.clone());
    ready(&local);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    let result = rx.await.context("the setup page stopped")?;
    let _ = stop_tx.send(());
    // The last answer is sent before the server stops (graceful shutdown waits for it).
    let _ = server.await;
    result
}

async fn page(State(s): State<Arc<Shared>>) -> Html<String> {
    let action = new_app_url(&s.setup.web_url, s.setup.org.as_deref(), &s.state);
    let owner = s
        .setup
        .org
        .as_deref()
        .map(|o| format!("the organization <b>{}</b>", escape(o)))
        .unwrap_or_else(|| "your account".into());
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>thoth-bot: create the GitHub App</title></head>
<body>
<h1>Create the thoth-bot GitHub App</h1>
<p>This registers a GitHub App owned by {owner} that sends webhooks to
<code>{hook}</code>. GitHub asks you to confirm, then sends you back here.</p>
<form method="post" action="{action}">
<input type="hidden" name="manifest" value="{manifest}">
<button type="submit">Create the App on GitHub</button>
</form>
</body></html>
"#,
        hook = escape(s.manifest["hook_attributes"]["url"].as_str().unwrap_or("")),
        action = escape(&action),
        manifest = escape(&s.manifest.to_string()),
    ))
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(
    State(s): State<Arc<Shared>>,
    Query(q): Query<CallbackQuery>,
) -> (StatusCode, Html<String>) {
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|st| bool::from(st.as_bytes().ct_eq(s.state.as_bytes())));
    if !state_ok {
        // Not the redirect we started (a stale tab or a forged link): keep waiting.
        return (
            StatusCode::BAD_REQUEST,
            Html("state mismatch: start again from the setup page".into()),
        );
    }
    let Some(code) = q.code.filter(|c| {
        !c.is_empty()
            && c.len() <= 200
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    }) else {
        return (
            StatusCode::BAD_REQUEST,
            Html("missing or invalid code".into()),
        );
    };
    let result = finish(&s.setup, &code).await;
    let answer = match &result {
        Ok(r) => (
            StatusCode::OK,
            Html(format!(
                "<!doctype html><p>GitHub App <b>{}</b> (id {}) created. Credentials written to \
                 <code>{}</code> and <code>{}</code>.</p><p>Next: <a href=\"{}/installations/new\">install \
                 it</a> on your repositories, then run <code>thoth-bot serve --config {}</code>.</p>",
                escape(&r.slug),
                r.app_id,
                escape(&r.config.display().to_string()),
                escape(&r.key.display().to_string()),
                escape(&r.html_url),
                escape(&r.config.display().to_string()),
            )),
        ),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Html(format!("setup failed: {}", escape(&format!("{e:#}")))),
        ),
    };
    if let Some(tx) = s.done.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = tx.send(result);
    }
    answer
}

/// Exchanges the code and writes the files.
async fn finish(setup: &GithubSetup, code: &str) -> anyhow::Result<Registered> {
    let conv = exchange(&setup.api_url, code).await?;
    let secret = conv
        .webhook_secret
        .filter(|s| !s.is_empty())
        .context("GitHub returned no webhook secret (the manifest must set hook_attributes)")?;
    write_private(&setup.key_out, conv.pem.as_bytes(), setup.force)?;
    let key_path = std::path::absolute(&setup.key_out).unwrap_or_else(|_| setup.key_out.clone());
    let config = config_text(
        &conv.slug,
        &conv.html_url,
        conv.id,
        &key_path,
        &secret,
        &setup.api_url,
    )?;
    write_private(&setup.config_out, config.as_bytes(), setup.force)?;
    Ok(Registered {
        app_id: conv.id,
        slug: conv.slug,
        html_url: conv.html_url,
        config: setup.config_out.clone(),
        key: setup.key_out.clone(),
    })
}

async fn exchange(api_url: &str, code: &str) -> anyhow::Result<Conversion> {
    let crab = octocrab::Octocrab::builder()
        .base_uri(api_url.trim_end_matches('/'))
        .with_context(|| format!("invalid GitHub API URL `{api_url}`"))?
        .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
        .build()
        .context("building the GitHub client")?;
    // Relative path: octocrab's base-URI layer adds the host (and GHES's `/api/v3`).
    let path = format!("/app-manifests/{code}/conversions");
    let resp = crab
        ._post(path.as_str(), None::<&()>)
        .await
        .context("POST app-manifests conversions")?;
    let status = resp.status();
    let body = crab.body_to_string(resp).await?;
    if !status.is_success() {
        bail!(
            "GitHub answered {status} to the code exchange: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    serde_json::from_str(&body).context("unexpected answer to the code exchange")
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    github: GithubSection<'a>,
}

#[derive(Serialize)]
struct GithubSection<'a> {
    app_id: u64,
    private_key_path: &'a Path,
    webhook_secrets: [&'a str; 1],
    api_url: &'a str,
}

fn config_text(
    slug: &str,
    html_url: &str,
    app_id: u64,
    key: &Path,
    secret: &str,
    api_url: &str,
) -> anyhow::Result<String> {
    let body = toml::to_string(&ConfigFile {
        github: GithubSection {
            app_id,
            private_key_path: key,
            webhook_secrets: [secret],
            api_url: api_url.trim_end_matches('/'),
        },
    })?;
    Ok(format!(
        "# Written by `thoth-bot setup github` for the GitHub App `{slug}` ({html_url}).\n\
         # It holds the webhook secret: keep it private. Every key is described in\n\
         # docs/configuration.md; run with `thoth-bot serve --config THIS_FILE`.\n\n{body}"
    ))
}

/// Writes a secret file readable by its owner only (created with mode 0600, never widened).
fn write_private(path: &Path, data: &[u8], overwrite: bool) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        // An existing file keeps its old mode on open: narrow it too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let mut f = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(data)?;
    }
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret as _;

    #[test]
    fn manifest_points_at_the_bot_and_back_here() {
        let m = manifest_json(
            DEFAULT_MANIFEST,
            "https://bot.acme.dev/",
            "http://127.0.0.1:1/callback",
        )
        .unwrap();
        assert_eq!(m["url"], "https://bot.acme.dev");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://bot.acme.dev/webhooks/github"
        );
        assert_eq!(m["hook_attributes"]["active"], true);
        assert_eq!(m["redirect_url"], "http://127.0.0.1:1/callback");
        assert_eq!(m["default_permissions"]["checks"], "write");
        assert!(manifest_json(DEFAULT_MANIFEST, "bot.acme.dev", "x").is_err());
    }

    #[test]
    fn new_app_urls() {
        assert_eq!(
            new_app_url("https://github.com/", Some("acme"), "s1"),
            "https://github.com/organizations/acme/settings/apps/new?state=s1"
        );
        assert_eq!(
            new_app_url("https://ghe.acme.dev", None, "s2"),
            "https://ghe.acme.dev/settings/apps/new?state=s2"
        );
    }

    #[test]
    fn config_text_is_a_serve_config() {
        let text = config_text(
            "thoth",
            "https://github.com/apps/thoth",
            12,
            Path::new("/etc/thoth/app.pem"),
            "s\"cr\\et",
            "https://api.github.com/",
        )
        .unwrap();
        let cfg: crate::config::ServeConfig = toml::from_str(&text).unwrap();
        assert_eq!(cfg.github.app_id, Some(12));
        assert_eq!(cfg.github.webhook_secrets[0].expose_secret(), "s\"cr\\et");
        assert_eq!(cfg.github.api_url, "https://api.github.com");
        assert!(cfg.github_enabled());
    }
}
