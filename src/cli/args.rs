//! The `thoth-bot` command line as clap types: subcommands, their flags and help texts.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::finding::Gate;
use crate::inputs::HclShape;
use crate::report::Format;

#[derive(Parser)]
#[command(
    name = "thoth-bot",
    version,
    about = "Policy-as-code gate for infrastructure pull requests"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Evaluate the built-in policy library even when `.thothcf.toml` says
        /// `builtin_policies = false` (it runs beside the other policies by default).
        #[arg(long, conflicts_with = "no_builtin")]
        with_builtin: bool,
        /// Do not evaluate the built-in policy library.
        #[arg(long)]
        no_builtin: bool,
        /// Judge every folder holding a `.thothcf.toml` as a project of its own (files belong
        /// to the nearest one above them), as the bot does.
        #[arg(long)]
        recursive: bool,
        /// Also run the AI review, with the `[ai]` settings of `--config` and `THOTH_AI_*`
        /// (it can only add findings and risk; the exit code stays the gates').
        #[arg(long)]
        ai: bool,
        /// Server config file whose `[ai]` table `--ai` uses.
        #[arg(long, value_name = "FILE", env = "THOTH_CONFIG", requires = "ai")]
        config: Option<PathBuf>,
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
    /// Deterministic fixes for the built-in rules' findings (S3, security groups, RDS, CloudWatch,
    /// EBS, Lambda): a diff by default, written with --apply. Exit 0 ok, 2 error.
    Fix {
        /// Project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Write the fixes, after saving each changed file under DIR/.thothctl/fix_backups/.
        #[arg(long)]
        apply: bool,
        /// Only fixes for this rule id (repeatable).
        #[arg(long = "only", value_name = "RULE_ID")]
        only: Vec<String>,
        /// Output format: text (a diff) or json.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// Extra policy directory (repeatable), as for `check`.
        #[arg(long = "policy", value_name = "DIR")]
        policy: Vec<PathBuf>,
        /// Org policy repository, as for `check`.
        #[arg(long, value_name = "DIR", env = "THOTH_POLICY_REPO")]
        org_policy: Option<PathBuf>,
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
        action: Option<crate::cli::HistoryAction>,
    },
    /// The dashboard's figures: pass rates, top failing rules, open overrides, time to fix.
    Report(crate::reports::ReportArgs),
    /// Decisions by action and safety-guard downgrades by reason.
    Stats(crate::reports::ReportArgs),
    /// AI model usage and cost by day or month and by repository.
    Costs(crate::reports::costs::CostArgs),
    /// Tokens of the push API (plans and drift reports pushed by pipelines).
    #[command(subcommand, name = "push-token")]
    PushToken(crate::api::cli::PushTokenAction),
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
pub enum Setup {
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
