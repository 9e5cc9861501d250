//! The `thoth-bot` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use thoth_bot::gates::rego::policy::dir_source;
use thoth_bot::gates::rego::verify::verify;

#[derive(Parser)]
#[command(name = "thoth-bot", version, about = "Policy-as-code gate for infrastructure pull requests")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every `test_*` rule in the `*_test.rego` files of a policy directory.
    Verify {
        /// Policy directory (default: ./policy).
        #[arg(default_value = "policy")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Verify { dir } => {
            let report = verify(&[dir_source(&dir)]);
            print!("{}", report.render());
            report.exit_code()
        }
    };
    ExitCode::from(code as u8)
}
