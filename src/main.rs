//! The `thoth-bot` command line: `serve`, `check`, `verify`, `history`, `report`, `stats`,
//! `setup github`, `healthcheck`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use thoth_bot::check::{CheckOptions, run_check};
use thoth_bot::decision::safety::PrContext;
use thoth_bot::finding::Gate;
use thoth_bot::gates::rego::policy::{PolicySource, dir_source};
use thoth_bot::gates::rego::verify::verify;
use thoth_bot::inputs::HclShape;
use thoth_bot::report::{Format, render};

#[derive(Parser)]
#[command(
    name = "thoth-bot",
    version,
    about = "Policy-as-code gate for infrastructure pull requests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gates over a project like CI would: exit 0 passed, 1 a gate failed, 2 error.
    Check {
        /// Project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Extra policy directory (repeatable), in addition to DIR/policy.
        #[arg(long = "policy", value_name = "DIR")]
        policy: Vec<PathBuf>,
        /// Org policy repository (governance selectors in .thothcf.toml pick its folders).
        #[arg(long, value_name = "DIR", env = "THOTH_POLICY_REPO")]
        org_policy: Option<PathBuf>,
        /// Also evaluate the built-in policy library when other policies are configured.
        #[arg(long)]
        with_builtin: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Gates to run (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "structure,rego,drift")]
        gates: Vec<Gate>,
        /// JSON shape of Terraform inputs: object (default) or conftest (hcl2json).
        #[arg(long, value_enum, default_value = "object")]
        input_shape: HclShape,
        /// Evaluate only the Rego packages matching NS (repeatable; globs: `main`, `terraform.*`).
        /// Default: every package.
        #[arg(long = "namespace", value_name = "NS")]
        namespace: Vec<String>,
        /// Evaluate every Rego package (the default; conftest's spelling, refused with --namespace).
        #[arg(long, conflicts_with = "namespace")]
        all_namespaces: bool,
        /// Also print the decision the bot would post (dry run: nothing is recorded).
        #[arg(long)]
        decide: bool,
        /// PR author for `--decide` (trusted bots only get a comment).
        #[arg(long, default_value = "")]
        author: String,
        /// PR label for `--decide` (repeatable; emergency labels only get a comment).
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Treat the PR as a draft for `--decide`.
        #[arg(long)]
        draft: bool,
    },
    /// Print the audit trail of decisions and overrides from the store.
    History {
        /// Store URL (`sled:PATH` or `postgres://...`).
        #[arg(long, env = "THOTH_STORE", default_value = "sled:./thoth-data")]
        store: String,
        /// Only this repository (`owner/name`).
        #[arg(long)]
        repo: Option<String>,
        /// How many days back.
        #[arg(long, default_value_t = 7)]
        days: i64,
        /// At most this many records.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Output format: text or json (one record per line).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// Only records of this action (`override`: given, applied or refused).
        #[arg(long, value_enum)]
        action: Option<thoth_bot::cli::HistoryAction>,
    },
    /// The dashboard's figures: pass rates, top failing rules, open overrides, time to fix.
    Report(thoth_bot::reports::ReportArgs),
    /// Decisions by action and safety-guard downgrades by reason.
    Stats(thoth_bot::reports::ReportArgs),
    /// Run the bot: webhooks in, workers evaluating pull requests, results posted back.
    Serve {
        /// Config file (TOML); every key can also come from a `THOTH_*` variable.
        #[arg(long, env = "THOTH_CONFIG")]
        config: Option<PathBuf>,
    },
    /// What a rule checks and how to fix it (the `/thoth explain` answer), from the project's
    /// policies, the org policy repository and the built-in library.
    Explain {
        /// Rule id (`THOTH-AWS-S3-001`, or `package.rule` for findings without an id).
        rule_id: String,
        /// Project directory whose `policy/` (and governance selectors) are searched first.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Org policy repository.
        #[arg(long, value_name = "DIR", env = "THOTH_POLICY_REPO")]
        org_policy: Option<PathBuf>,
    },
    /// Run every `test_*` rule in the `*_test.rego` files of a policy directory.
    Verify {
        /// Policy directory (default: ./policy).
        #[arg(default_value = "policy")]
        dir: PathBuf,
        /// Directory of data files (JSON, YAML) loaded as `check` loads a policy folder's data
        /// (repeatable; its Rego files are not loaded).
        #[arg(long = "data", value_name = "DIR")]
        data: Vec<PathBuf>,
    },
    /// Register the bot with a forge (GitHub App manifest flow) and write its config.
    #[command(subcommand)]
    Setup(Setup),
    /// Internal: the worker's gate process. Reads a job on stdin, writes findings on stdout.
    #[command(name = "__gate-child", hide = true)]
    GateChild {
        /// Address-space limit in MiB.
        #[arg(long)]
        memory_mb: u64,
        /// CPU-time limit in seconds.
        #[arg(long)]
        cpu_secs: u64,
    },
    /// Internal: the Rego gate's input documents of DIR as JSON, each with the gate's evaluation
    /// time over it (used by scripts/rego_conformance.py to feed OPA the same documents).
    #[command(name = "__rego-inputs", hide = true)]
    RegoInputs {
        /// Project directory.
        dir: PathBuf,
        /// Extra policy directory (repeatable), as for `check`.
        #[arg(long = "policy", value_name = "DIR")]
        policy: Vec<PathBuf>,
        /// JSON shape of Terraform inputs, as for `check`.
        #[arg(long, value_enum, default_value = "object")]
        input_shape: HclShape,
        /// Evaluations per document; the fastest is reported.
        #[arg(long, default_value_t = 5)]
        repeat: u32,
    },
    /// Exit 0 when the server's `/healthz` answers 200 (the container HEALTHCHECK).
    Healthcheck {
        /// URL to ask (default: /healthz on the port of THOTH_LISTEN on this host).
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum Setup {
    /// Create the GitHub App from app-manifest.yml in a browser, then write thoth.toml and the
    /// App's private key (both mode 0600).
    Github {
        /// Organization that owns the App (default: your personal account).
        #[arg(long)]
        org: Option<String>,
        /// Public URL of the bot; GitHub sends webhooks to URL/webhooks/github.
        #[arg(long)]
        url: String,
        /// GitHub web address (GitHub Enterprise Server: https://HOST).
        #[arg(long, default_value = "https://github.com")]
        github_url: String,
        /// GitHub REST API address (GitHub Enterprise Server: https://HOST/api/v3).
        #[arg(
            long,
            default_value = "https://api.github.com",
            env = "THOTH_GITHUB_API_URL"
        )]
        api_url: String,
        /// Address of the local setup page (open it in a browser on this machine).
        #[arg(long, default_value = "127.0.0.1:8976")]
        listen: String,
        /// Manifest to register (default: the built-in app-manifest.yml).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Config file to write.
        #[arg(long, default_value = "thoth.toml")]
        config_out: PathBuf,
        /// Private key file to write.
        #[arg(long, default_value = "thoth-github-app.pem")]
        key_out: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

/// Logs go to stderr (stdout carries reports); `RUST_LOG` filters, `THOTH_LOG_FORMAT=json`
/// switches to one JSON object per line.
fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("THOTH_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::GateChild {
        memory_mb,
        cpu_secs,
    } = cli.command
    {
        // JSON on stderr: the parent reads the progress lines to name the file being read.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "warn,{}=debug",
                thoth_bot::inputs::PROGRESS_TARGET
            )))
            .with_writer(std::io::stderr)
            .json()
            .init();
        return ExitCode::from(thoth_bot::sandbox::child_main(memory_mb, cpu_secs) as u8);
    }
    let bar = match &cli.command {
        Command::Check { format, .. } if thoth_bot::progress::wanted(*format == Format::Text) => {
            Some(thoth_bot::progress::init_logging())
        }
        _ => {
            init_logging(match cli.command {
                Command::Serve { .. } => "info",
                _ => "warn",
            });
            None
        }
    };
    let code = match cli.command {
        Command::Serve { config } => match thoth_bot::run::serve(config) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                2
            }
        },
        Command::Check {
            dir,
            policy,
            org_policy,
            with_builtin,
            format,
            gates,
            input_shape,
            decide,
            author,
            labels,
            draft,
            namespace,
            all_namespaces,
        } => {
            if !dir.is_dir() {
                eprintln!("error: project directory {} does not exist", dir.display());
                2
            } else {
                let mut opts = CheckOptions::new(dir);
                opts.policy_dirs = policy;
                opts.org_policy = org_policy;
                opts.with_builtin = with_builtin;
                opts.gates = gates;
                opts.input_shape = input_shape;
                if !all_namespaces {
                    opts.namespaces = namespace;
                }
                let report = run_check(&opts);
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                if decide {
                    let ctx = PrContext {
                        repo: "local/project".into(),
                        author,
                        labels,
                        draft,
                    };
                    match thoth_bot::cli::decide_dry_run(&report, &opts.project_dir, &ctx) {
                        Ok(d) if format == Format::Json => {
                            let mut v: serde_json::Value =
                                serde_json::from_str(&render(&report, format)).unwrap_or_default();
                            v["decision"] = serde_json::to_value(&d).unwrap_or_default();
                            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                        }
                        Ok(d) => {
                            print!("{}", render(&report, format));
                            print!("\n{}", thoth_bot::cli::render_decision(&d));
                        }
                        Err(e) => {
                            eprintln!("error: decision config: {e:#}");
                            return ExitCode::from(2);
                        }
                    }
                } else {
                    print!("{}", render(&report, format));
                }
                report.exit_code()
            }
        }
        Command::RegoInputs {
            dir,
            policy,
            input_shape,
            repeat,
        } => {
            let mut opts = CheckOptions::new(dir);
            opts.policy_dirs = policy;
            opts.input_shape = input_shape;
            match thoth_bot::check::rego_inputs_timed(&opts, repeat) {
                Ok(v) => {
                    println!("{v}");
                    0
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    2
                }
            }
        }
        Command::History {
            store,
            repo,
            days,
            limit,
            format,
            action,
        } => thoth_bot::run::print_or_fail(thoth_bot::cli::history(
            &store,
            repo.as_deref(),
            days,
            limit,
            action,
            format == "json",
        )),
        Command::Report(a) => {
            thoth_bot::run::print_or_fail(thoth_bot::reports::report(&a.store, a.days, a.format))
        }
        Command::Stats(a) => {
            thoth_bot::run::print_or_fail(thoth_bot::reports::stats(&a.store, a.days, a.format))
        }
        Command::Setup(Setup::Github {
            org,
            url,
            github_url,
            api_url,
            listen,
            manifest,
            config_out,
            key_out,
            force,
        }) => {
            let manifest = match manifest {
                Some(p) => match std::fs::read_to_string(&p) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("error: cannot read {}: {e}", p.display());
                        return ExitCode::from(2);
                    }
                },
                None => thoth_bot::setup::DEFAULT_MANIFEST.to_string(),
            };
            let setup = thoth_bot::setup::GithubSetup {
                org,
                url,
                web_url: github_url,
                api_url,
                manifest,
                config_out,
                key_out,
                force,
            };
            match thoth_bot::run::setup_github(setup, &listen) {
                Ok(r) => {
                    println!(
                        "GitHub App `{}` (id {}) created.\n  config: {}\n  key:    {}\nInstall it: {}/installations/new\nThen run: thoth-bot serve --config {}",
                        r.slug,
                        r.app_id,
                        r.config.display(),
                        r.key.display(),
                        r.html_url,
                        r.config.display()
                    );
                    0
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    2
                }
            }
        }
        Command::Healthcheck { url, timeout } => {
            let url = url.unwrap_or_else(|| {
                thoth_bot::cli::default_health_url(std::env::var("THOTH_LISTEN").ok().as_deref())
            });
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            match rt.block_on(thoth_bot::cli::healthcheck(
                &url,
                std::time::Duration::from_secs(timeout),
            )) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("unhealthy: {e:#}");
                    1
                }
            }
        }
        Command::Explain {
            rule_id,
            dir,
            org_policy,
        } => {
            let mut opts = CheckOptions::new(&dir);
            opts.org_policy = org_policy;
            match thoth_bot::check::explain_rule(&opts, &rule_id) {
                Some(doc) => {
                    println!("{}", doc.to_markdown());
                    0
                }
                None => {
                    eprintln!("no policy documents {rule_id}");
                    1
                }
            }
        }
        Command::GateChild { .. } => unreachable!("handled before logging starts"),
        Command::Verify { dir, data } => {
            if let Some(missing) = std::iter::once(&dir).chain(&data).find(|d| !d.is_dir()) {
                eprintln!("error: directory {} does not exist", missing.display());
                2
            } else {
                let mut sources = vec![dir_source(&dir)];
                sources.extend(data.iter().map(|d| PolicySource::Data {
                    path: d.clone(),
                    label: d.display().to_string(),
                }));
                let report = verify(&sources);
                print!("{}", report.render());
                report.exit_code()
            }
        }
    };
    ExitCode::from(code as u8)
}
