//! How much a pull request's inputs may make the parsers do, and the findings when they try more.
//!
//! Every limit is checked before the recursive parse or the value it guards is built, so a
//! hostile file (a YAML alias bomb, `[[[[...` fifty thousand levels deep) costs milliseconds and
//! becomes one finding instead of gigabytes of memory or a stack overflow.
//!
//! Each breach is an `input-limit` finding (Rego gate, failure, high severity) naming the file
//! and the limit with its number; plain syntax errors stay `parse-error`. A separate rule id lets
//! a team tell "this file is broken" from "this file was refused" at a glance.

use crate::finding::{Finding, Gate, Level, Severity};

/// Rule id of every limit finding.
pub const RULE_ID: &str = "input-limit";

/// One nesting limit for every format. serde_json refuses the 128th level on its own; HCL and
/// YAML refuse at the same depth so the same document is judged the same in any syntax. 127
/// levels of HCL overflow a 2 MiB stack in a debug build, so HCL parses on its own larger
/// stack (`hcl::PARSE_STACK`) rather than lowering this for every format.
pub const MAX_DEPTH: usize = 128;

/// Parser limits shared by `thoth-bot check` and the worker (through `CheckOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// A document nested this many levels deep (brackets, braces, blocks, template
    /// interpolations, operator chains) is refused. Default [`MAX_DEPTH`].
    pub max_depth: usize,
    /// Nodes a YAML document may have once every alias is expanded. Default 1,000,000.
    pub max_yaml_nodes: usize,
    /// Documents in one file (multi-document YAML). Default 1,000.
    pub max_docs_per_file: usize,
    /// Documents parsed in one run, over all files. Default 10,000.
    pub max_docs_per_job: usize,
    /// Bytes of input text parsed in one run, over all files. Default 256 MiB.
    pub max_bytes_per_job: u64,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: MAX_DEPTH,
            max_yaml_nodes: 1_000_000,
            max_docs_per_file: 1_000,
            max_docs_per_job: 10_000,
            max_bytes_per_job: 256 * 1024 * 1024,
        }
    }
}

/// Which limit a file broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Nesting reached [`ParseLimits::max_depth`].
    Depth { limit: usize },
    /// YAML aliases expand past [`ParseLimits::max_yaml_nodes`].
    YamlNodes { limit: usize },
    /// serde_yaml's own cap on alias expansions (100 per parser event) fired first.
    YamlRepetition,
    /// More than [`ParseLimits::max_docs_per_file`] documents.
    DocsPerFile { limit: usize },
}

impl Breach {
    fn describe(self) -> String {
        match self {
            Breach::Depth { limit } => format!("nesting reaches the limit of {limit} levels"),
            Breach::YamlNodes { limit } => {
                format!("YAML aliases expand past the limit of {limit} nodes")
            }
            Breach::YamlRepetition => {
                "YAML aliases expand past the limit of 100 alias expansions per parser event"
                    .to_string()
            }
            Breach::DocsPerFile { limit } => {
                format!("the file has more than the limit of {limit} documents")
            }
        }
    }
}

/// The finding for a file that broke a per-file limit.
pub fn file_finding(rel: &str, line: Option<u32>, breach: Breach) -> Finding {
    Finding::new(
        Gate::Rego,
        RULE_ID,
        Level::Failure,
        Severity::High,
        format!(
            "cannot parse {rel}: {}; the file was not evaluated",
            breach.describe()
        ),
    )
    .at(rel, line)
}

/// The finding for a run that stopped parsing at `first_skipped` (`skipped` files in all).
pub fn job_finding(first_skipped: &str, skipped: usize, what: &str) -> Finding {
    let others = match skipped.saturating_sub(1) {
        0 => String::new(),
        1 => " and 1 later file".to_string(),
        n => format!(" and {n} later files"),
    };
    Finding::new(
        Gate::Rego,
        RULE_ID,
        Level::Failure,
        Severity::High,
        format!("the run reached the limit of {what}: {first_skipped}{others} were not parsed"),
    )
    .at(first_skipped, None)
}
