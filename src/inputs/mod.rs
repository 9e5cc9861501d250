//! Input documents: every file the Rego and drift gates judge, parsed once per run.
//!
//! Each parser turns a file into one or more JSON documents in the shape conftest policies expect,
//! plus a map from resource addresses to lines so findings can point at the block they name.
//! A file that fails to parse becomes a `parse-error` finding, never a crash. A file (or a run)
//! that asks the parsers for more than [`ParseLimits`] allows becomes an `input-limit` finding
//! before any recursive parse starts (see [`limits`]).

pub mod cloudformation;
pub(crate) mod depth;
pub mod dockerfile;
pub mod hcl;
pub mod limits;
#[cfg(test)]
mod limits_tests;
pub mod pushed;
mod yaml;

use std::collections::HashMap;

use serde_json::Value;

use crate::finding::{Finding, Gate, Level, Severity};
use crate::workspace::Workspace;
pub use limits::ParseLimits;
pub use yaml::yaml_to_json;

/// Tracing target of the line logged before each file is parsed: the gate child's parent reads
/// it to name the file that was being read when a limit stopped the child.
pub const PROGRESS_TARGET: &str = "thoth_gate_progress";

/// What kind of file a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `.tf` / `.hcl` converted to JSON.
    Hcl,
    /// Terraform / OpenTofu plan JSON (`terraform show -json`).
    Plan,
    /// One document of a YAML file.
    Yaml,
    /// Any other JSON file.
    Json,
    /// A Dockerfile, as conftest's list of instructions.
    Dockerfile,
}

/// The input formats a policy level may keep apart in `policy/hcl/` and
/// `policy/cloudformation/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputFormat {
    /// Terraform / OpenTofu / Terragrunt sources (`*.tf`, `*.hcl`).
    Hcl,
    /// CloudFormation templates (YAML or JSON).
    CloudFormation,
    /// Everything else (plans, Kubernetes YAML, plain JSON, Dockerfiles).
    Other,
}

impl InputFormat {
    /// Every format, in a fixed order.
    pub const ALL: [InputFormat; 3] = [
        InputFormat::Hcl,
        InputFormat::CloudFormation,
        InputFormat::Other,
    ];

    /// The policy subfolder that holds this format's policies (`None`: only a level's
    /// top-level policies see it).
    pub fn folder(self) -> Option<&'static str> {
        match self {
            InputFormat::Hcl => Some("hcl"),
            InputFormat::CloudFormation => Some("cloudformation"),
            InputFormat::Other => None,
        }
    }
}

/// The JSON shape `.tf` files are converted to (design.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HclShape {
    /// `resource.TYPE.NAME = {...}`, nested blocks always lists.
    #[default]
    Object,
    /// conftest/hcl2json: `resource.TYPE.NAME = [{...}]`, expressions as `"${...}"`.
    Conftest,
}

/// One parsed document.
#[derive(Debug, Clone)]
pub struct InputDoc {
    /// Relative path of the source file.
    pub file: String,
    pub kind: InputKind,
    /// Index of the document within its file (multi-document YAML), else 0.
    pub index: usize,
    /// 1-based line where the document starts.
    pub line: u32,
    pub value: Value,
    /// Resource address (`aws_s3_bucket.b`, `Deployment/web`) -> 1-based line.
    pub locations: HashMap<String, u32>,
}

impl InputDoc {
    /// Which policy folder of a level judges this document (`hcl/`, `cloudformation/`, or
    /// neither).
    pub fn format(&self) -> InputFormat {
        match self.kind {
            InputKind::Hcl => InputFormat::Hcl,
            InputKind::Yaml | InputKind::Json if cloudformation::is_template(&self.value) => {
                InputFormat::CloudFormation
            }
            _ => InputFormat::Other,
        }
    }

    /// The line of a resource the finding names, else the document's first line.
    pub fn line_of(&self, resource: Option<&str>, message: &str) -> u32 {
        if let Some(l) = resource.and_then(|r| self.lookup(r)) {
            return l;
        }
        // Fall back to the longest resource address mentioned in the message.
        self.locations
            .iter()
            .filter(|(addr, _)| message.contains(addr.as_str()))
            .max_by_key(|(addr, _)| addr.len())
            .map(|(_, l)| *l)
            .unwrap_or(self.line)
    }

    fn lookup(&self, resource: &str) -> Option<u32> {
        if let Some(l) = self.locations.get(resource) {
            return Some(*l);
        }
        // `module.x.aws_s3_bucket.b` or `resource.aws_s3_bucket.b` still find `aws_s3_bucket.b`.
        self.locations
            .iter()
            .filter(|(addr, _)| resource.ends_with(&format!(".{addr}")))
            .map(|(_, l)| *l)
            .next()
    }
}

/// Every document of a workspace, plus the parse errors met on the way.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub docs: Vec<InputDoc>,
    pub errors: Vec<Finding>,
}

/// Which parser a file name selects, if any.
pub fn kind_for(rel: &str) -> Option<InputKind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tf") || lower.ends_with(".hcl") {
        Some(InputKind::Hcl)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Some(InputKind::Yaml)
    } else if lower.ends_with(".json") {
        // Plan or plain JSON is decided by content.
        Some(InputKind::Json)
    } else if lower == "dockerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
    {
        Some(InputKind::Dockerfile)
    } else {
        None
    }
}

/// Paths never treated as inputs: policy sources and data, and state/lock files.
fn skipped(rel: &str, policy_dirs: &[String]) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.ends_with(".tfstate")
        || name == ".terraform.lock.hcl"
        || name.starts_with(".thothcf")
        || policy_dirs
            .iter()
            .any(|d| rel.starts_with(&format!("{d}/")))
}

/// Parses every input file of the workspace. `policy_dirs` are relative folders (policy
/// sources and their data) that are not judged as inputs. Once the run's document or byte
/// budget is spent, the remaining files are not parsed and one finding names the first of them.
pub fn parse_workspace(
    ws: &Workspace,
    shape: HclShape,
    policy_dirs: &[String],
    limits: &ParseLimits,
) -> Inputs {
    let mut inputs = Inputs::default();
    let mut bytes = 0u64;
    let files: Vec<_> = ws
        .files()
        .iter()
        .filter_map(|f| Some((f, kind_for(&f.rel)?)))
        .filter(|(f, _)| !skipped(&f.rel, policy_dirs))
        .collect();
    tracing::debug!(target: PROGRESS_TARGET, total = files.len() as u64, "parsing");
    for (n, (file, kind)) in files.iter().enumerate() {
        tracing::debug!(target: PROGRESS_TARGET, file = %file.rel, "reading");
        let text = match ws.read_to_string(&file.rel) {
            Ok(t) => t,
            Err(e) => {
                inputs
                    .errors
                    .push(parse_error(&file.rel, None, &e.to_string()));
                continue;
            }
        };
        bytes += text.len() as u64;
        let spent = if bytes > limits.max_bytes_per_job {
            Some(format!("{} bytes parsed", limits.max_bytes_per_job))
        } else {
            None
        };
        let parsed = match spent {
            Some(_) => None,
            None => Some(parse_text_with(&file.rel, *kind, &text, shape, limits)),
        };
        let spent = spent.or_else(|| match &parsed {
            Some(Ok(docs)) if inputs.docs.len() + docs.len() > limits.max_docs_per_job => {
                Some(format!("{} documents", limits.max_docs_per_job))
            }
            _ => None,
        });
        if let Some(what) = spent {
            inputs
                .errors
                .push(limits::job_finding(&file.rel, files.len() - n, &what));
            break;
        }
        match parsed {
            Some(Ok(docs)) => inputs.docs.extend(docs),
            Some(Err(f)) => inputs.errors.push(f),
            None => {}
        }
    }
    tracing::debug!(target: PROGRESS_TARGET, "every input parsed");
    inputs
}

/// Parses one file's text into its documents, with the default [`ParseLimits`].
pub fn parse_text(
    rel: &str,
    kind: InputKind,
    text: &str,
    shape: HclShape,
) -> Result<Vec<InputDoc>, Finding> {
    parse_text_with(rel, kind, text, shape, &ParseLimits::default())
}

/// Parses one file's text into its documents within `limits`.
pub fn parse_text_with(
    rel: &str,
    kind: InputKind,
    text: &str,
    shape: HclShape,
    limits: &ParseLimits,
) -> Result<Vec<InputDoc>, Finding> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let too_deep = |e: depth::TooDeep| {
        let breach = limits::Breach::Depth {
            limit: limits.max_depth,
        };
        limits::file_finding(rel, Some(e.line), breach)
    };
    match kind {
        InputKind::Hcl => {
            depth::check_hcl(text, limits.max_depth).map_err(too_deep)?;
            let (value, locations) =
                hcl::to_json(text, shape).map_err(|e| parse_error(rel, e.line, &e.message))?;
            Ok(vec![doc(rel, InputKind::Hcl, 0, 1, value, locations)])
        }
        InputKind::Json | InputKind::Plan => {
            depth::check_json(text, limits.max_depth).map_err(too_deep)?;
            let value: Value = serde_json::from_str(text)
                .map_err(|e| parse_error(rel, Some(e.line() as u32), &e.to_string()))?;
            let kind = if is_plan(&value) {
                InputKind::Plan
            } else {
                InputKind::Json
            };
            let locations = if kind == InputKind::Plan {
                HashMap::new()
            } else if cloudformation::is_template(&value) {
                cloudformation::resource_lines(text, 1, &value)
            } else {
                json_locations(text)
            };
            Ok(vec![doc(rel, kind, 0, 1, value, locations)])
        }
        InputKind::Yaml => yaml::parse_yaml(rel, text, limits),
        InputKind::Dockerfile => {
            let value = dockerfile::parse(text);
            Ok(vec![doc(rel, kind, 0, 1, value, HashMap::new())])
        }
    }
}

fn doc(
    rel: &str,
    kind: InputKind,
    index: usize,
    line: u32,
    value: Value,
    locations: HashMap<String, u32>,
) -> InputDoc {
    InputDoc {
        file: rel.to_string(),
        kind,
        index,
        line,
        value,
        locations,
    }
}

/// Whether a JSON document is a Terraform/OpenTofu plan (or state) rendered by `show -json`.
pub fn is_plan(value: &Value) -> bool {
    value.get("format_version").is_some()
        && (value.get("resource_changes").is_some()
            || value.get("resource_drift").is_some()
            || value.get("planned_values").is_some())
}

fn parse_error(rel: &str, line: Option<u32>, message: &str) -> Finding {
    Finding::new(
        Gate::Rego,
        "parse-error",
        Level::Failure,
        Severity::High,
        format!("cannot parse {rel}: {message}"),
    )
    .at(rel, line)
}

/// For plain JSON, no resource addresses are known; the document starts at line 1.
fn json_locations(_text: &str) -> HashMap<String, u32> {
    HashMap::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_json_is_recognised() {
        let docs = parse_text(
            "p.json",
            InputKind::Json,
            r#"{"format_version":"1.2","resource_changes":[]}"#,
            HclShape::Object,
        )
        .unwrap();
        assert_eq!(docs[0].kind, InputKind::Plan);
    }
}
