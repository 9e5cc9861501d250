//! Runs a parsed command line: each subcommand calls into the library and maps its result to an
//! exit code (0 passed, 1 failed, 2 error) and its output to stdout or stderr.

use std::process::ExitCode;

use super::args::{Cli, Command, Setup};
use crate::check::{CheckOptions, run_check};
use crate::decision::safety::PrContext;
use crate::gates::rego::policy::{PolicySource, dir_source};
use crate::gates::rego::verify::verify;
use crate::report::{Format, render};

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

/// Runs one parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    if let Command::GateChild {
        memory_mb,
        cpu_secs,
    } = cli.command
    {
        // JSON on stderr: the parent reads the progress lines to name the file being read.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "warn,{}=debug",
                crate::inputs::PROGRESS_TARGET
            )))
            .with_writer(std::io::stderr)
            .json()
            .init();
        return ExitCode::from(crate::sandbox::child_main(memory_mb, cpu_secs) as u8);
    }
    let bar = match &cli.command {
        Command::Check { format, .. } if crate::progress::wanted(*format == Format::Text) => {
            Some(crate::progress::init_logging())
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
        Command::Serve { config } => match crate::run::serve(config) {
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
            no_builtin,
            recursive,
            ai,
            config,
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
                opts.no_builtin = no_builtin;
                opts.recursive = recursive;
                opts.gates = gates;
                opts.input_shape = input_shape;
                if !all_namespaces {
                    opts.namespaces = namespace;
                }
                let report = run_check(&opts);
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                let ai_review = if ai {
                    match crate::ai::local::settings(config.as_deref())
                        .and_then(|s| crate::ai::local::review(&s, &opts, &report))
                    {
                        Ok(r) => Some(r),
                        Err(e) => {
                            eprintln!("error: AI review: {e:#}");
                            return ExitCode::from(2);
                        }
                    }
                } else {
                    None
                };
                if let Some(r) = &ai_review
                    && format == Format::Json
                    && !decide
                {
                    let mut v: serde_json::Value =
                        serde_json::from_str(&render(&report, format)).unwrap_or_default();
                    v["ai"] = crate::ai::local::to_json(r);
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                    return ExitCode::from(report.exit_code() as u8);
                }
                // After the report, on the text output only (the other formats are documents).
                let ai_text = match (&ai_review, format) {
                    (Some(r), Format::Text) => crate::ai::local::render_text(r),
                    _ => String::new(),
                };
                if decide {
                    let ctx = PrContext {
                        repo: "local/project".into(),
                        author,
                        labels,
                        draft,
                    };
                    match super::decide_dry_run_in_org(
                        &report,
                        &opts.project_dir,
                        opts.org_policy.as_deref(),
                        &ctx,
                    ) {
                        Ok((d, from)) if format == Format::Json => {
                            let mut v: serde_json::Value =
                                serde_json::from_str(&render(&report, format)).unwrap_or_default();
                            v["decision"] = serde_json::to_value(&d).unwrap_or_default();
                            v["decision_config"] = serde_json::json!(from);
                            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                        }
                        Ok((d, from)) => {
                            print!("{}", render(&report, format));
                            print!("{ai_text}");
                            print!("\n{}", super::render_decision(&d));
                            if let Some(from) = from {
                                println!("decision config from {from}");
                            }
                        }
                        Err(e) => {
                            eprintln!("error: decision config: {e:#}");
                            return ExitCode::from(2);
                        }
                    }
                } else {
                    print!("{}", render(&report, format));
                    print!("{ai_text}");
                }
                report.exit_code()
            }
        }
        Command::Fix {
            dir,
            apply,
            only,
            format,
            policy,
            org_policy,
        } => {
            let mut opts = CheckOptions::new(dir);
            opts.policy_dirs = policy;
            opts.org_policy = org_policy;
            match super::fix::run(&opts, apply, &only, format == "json") {
                Ok(out) => {
                    print!("{out}");
                    0
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    2
                }
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
            match crate::check::rego_inputs_timed(&opts, repeat) {
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
        } => crate::run::print_or_fail(super::history(
            &store,
            repo.as_deref(),
            days,
            limit,
            action,
            format == "json",
        )),
        Command::Report(a) => {
            crate::run::print_or_fail(crate::reports::report(&a.store, a.days, a.format))
        }
        Command::Stats(a) => {
            crate::run::print_or_fail(crate::reports::stats(&a.store, a.days, a.format))
        }
        Command::Costs(a) => crate::run::print_or_fail(crate::reports::costs::costs(&a)),
        Command::PushToken(a) => crate::run::print_or_fail(crate::api::cli::run(&a)),
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
                None => crate::setup::DEFAULT_MANIFEST.to_string(),
            };
            let setup = crate::setup::GithubSetup {
                org,
                url,
                web_url: github_url,
                api_url,
                manifest,
                config_out,
                key_out,
                force,
            };
            match crate::run::setup_github(setup, &listen) {
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
                super::default_health_url(std::env::var("THOTH_LISTEN").ok().as_deref())
            });
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            match rt.block_on(super::healthcheck(
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
            match crate::check::explain_rule(&opts, &rule_id) {
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
