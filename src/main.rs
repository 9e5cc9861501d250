//! The `thoth-bot` binary: parses the command line and hands it to [`thoth_bot::cli::run`].

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    thoth_bot::cli::run(thoth_bot::cli::Cli::parse())
}
