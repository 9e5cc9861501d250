//! Input documents: every file the Rego and drift gates judge, parsed once per run.
//!
//! Each parser turns a file into one or more JSON documents in the shape conftest policies expect,
//! plus a map from resource addresses to lines so findings can point at the block they name.
//! A file that fails to parse becomes a `parse-error` finding, never a crash.

pub mod dockerfile;
pub mod hcl;

use std::collections::HashMap;

use serde_json::Value;

use crate::finding::{Finding, Gate, Level, Severity};
use crate::workspace::Workspace;

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
/// sources and their data) that are not judged as inputs.
pub fn parse_workspace(ws: &Workspace, shape: HclShape, policy_dirs: &[String]) -> Inputs {
    let mut inputs = Inputs::default();
    for file in ws.files() {
        let Some(kind) = kind_for(&file.rel) else {
            continue;
        };
        if skipped(&file.rel, policy_dirs) {
            continue;
        }
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
        match parse_text(&file.rel, kind, &text, shape) {
            Ok(docs) => inputs.docs.extend(docs),
            Err(f) => inputs.errors.push(f),
        }
    }
    tracing::debug!(target: PROGRESS_TARGET, "every input parsed");
    inputs
}

/// Parses one file's text into its documents.
pub fn parse_text(
    rel: &str,
    kind: InputKind,
    text: &str,
    shape: HclShape,
) -> Result<Vec<InputDoc>, Finding> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match kind {
        InputKind::Hcl => {
            let (value, locations) =
                hcl::to_json(text, shape).map_err(|e| parse_error(rel, e.line, &e.message))?;
            Ok(vec![doc(rel, InputKind::Hcl, 0, 1, value, locations)])
        }
        InputKind::Json | InputKind::Plan => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| parse_error(rel, Some(e.line() as u32), &e.to_string()))?;
            let kind = if is_plan(&value) {
                InputKind::Plan
            } else {
                InputKind::Json
            };
            let locations = if kind == InputKind::Plan {
                HashMap::new()
            } else {
                json_locations(text)
            };
            Ok(vec![doc(rel, kind, 0, 1, value, locations)])
        }
        InputKind::Yaml => parse_yaml(rel, text),
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

/// Splits a YAML stream into documents, keeping each document's first line.
fn parse_yaml(rel: &str, text: &str) -> Result<Vec<InputDoc>, Finding> {
    let mut docs = Vec::new();
    let mut chunk = String::new();
    let mut chunk_start = 1u32;
    let mut index = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    let mut flush = |chunk: &mut String, start: u32, docs: &mut Vec<InputDoc>| {
        if chunk.trim().is_empty()
            || chunk
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            chunk.clear();
            return Ok(());
        }
        let value: serde_yaml::Value = serde_yaml::from_str(chunk).map_err(|e| {
            let line = e.location().map(|l| start + l.line() as u32 - 1);
            parse_error(rel, line, &e.to_string())
        })?;
        let value = yaml_to_json(value);
        let mut locations = HashMap::new();
        if let Some(kind) = value.get("kind").and_then(Value::as_str) {
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            locations.insert(format!("{kind}/{name}"), start);
        }
        if !value.is_null() {
            docs.push(doc(rel, InputKind::Yaml, index, start, value, locations));
            index += 1;
        }
        chunk.clear();
        Ok(())
    };
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("---") && line.trim_end().chars().skip(3).all(|c| c == ' ') {
            flush(&mut chunk, chunk_start, &mut docs)?;
            chunk_start = i as u32 + 2;
            continue;
        }
        if line.trim_end() == "..." {
            continue;
        }
        // Leading blank and comment lines are not part of the document: its line is `kind:`'s.
        if chunk.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#')) {
            chunk_start = i as u32 + 2;
            continue;
        }
        chunk.push_str(line);
        chunk.push('\n');
    }
    flush(&mut chunk, chunk_start, &mut docs)?;
    Ok(docs)
}

/// YAML to JSON, with non-string keys stringified (JSON objects only have string keys).
pub fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// For plain JSON, no resource addresses are known; the document starts at line 1.
fn json_locations(_text: &str) -> HashMap<String, u32> {
    HashMap::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_multi_document_keeps_lines() {
        let text = "# c\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: Service\nmetadata:\n  name: b\n";
        let docs = parse_yaml("k.yaml", text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2, "the leading comment is skipped");
        assert_eq!(docs[1].line, 7);
        assert_eq!(docs[1].locations.get("Service/b"), Some(&7));
        assert_eq!(docs[1].index, 1);
    }

    #[test]
    fn bad_yaml_is_a_finding_with_a_line() {
        let err = parse_yaml("k.yaml", "a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(err.rule_id, "parse-error");
        assert_eq!(err.file.as_deref(), Some("k.yaml"));
        assert!(err.line.unwrap() >= 3);
    }

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
