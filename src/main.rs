//! The `thoth-bot` command line: `check`, `verify` (and later `serve`, `history`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use thoth_bot::check::{CheckOptions, run_check};
use thoth_bot::finding::Gate;
use thoth_bot::gates::rego::policy::dir_source;
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
    },
    /// Run every `test_*` rule in the `*_test.rego` files of a policy directory.
    Verify {
        /// Policy directory (default: ./policy).
        #[arg(default_value = "policy")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check {
            dir,
            policy,
            org_policy,
            with_builtin,
            format,
            gates,
            input_shape,
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
                let report = run_check(&opts);
                print!("{}", render(&report, format));
                report.exit_code()
            }
        }
        Command::Verify { dir } => {
            if !dir.is_dir() {
                eprintln!("error: policy directory {} does not exist", dir.display());
                2
            } else {
                let report = verify(&[dir_source(&dir)]);
                print!("{}", report.render());
                report.exit_code()
            }
        }
    };
    ExitCode::from(code as u8)
}
