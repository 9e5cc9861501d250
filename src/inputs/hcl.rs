//! Terraform HCL to JSON, in the two shapes policy sets expect (design.md §2.2).
//!
//! Literals become typed JSON values; anything that needs evaluation (`var.x`, function calls,
//! templates with interpolations) is kept as its source text in `${...}` form, which is what
//! conftest's hcl2json produces and what policies match against.

use std::collections::HashMap;

use hcl::edit::Span;
use hcl::{Block, Body, Expression, ObjectKey, Structure, TemplateExpr};
use serde_json::{Map, Value};

use super::HclShape;

/// A parse failure with the line it happened on.
#[derive(Debug, Clone)]
pub struct HclError {
    pub line: Option<u32>,
    pub message: String,
}

/// Stack of the thread HCL is parsed on. hcl-edit recurses per nesting level with large frames
/// in a debug build: 127 levels of brackets overflow a 2 MiB thread (measured), while the input
/// limit of 128 levels is shared by every format. A dedicated thread keeps that limit safe in
/// any profile; the memory is reserved, only touched pages are committed.
const PARSE_STACK: usize = 32 * 1024 * 1024;

/// Converts HCL source to JSON plus `address -> line` for the top-level blocks. The caller
/// bounds the nesting first (`inputs::depth`); a panic in the parser becomes an error too.
pub fn to_json(text: &str, shape: HclShape) -> Result<(Value, HashMap<String, u32>), HclError> {
    on_parse_stack(|| to_json_here(text, shape))
}

/// Parses HCL source into hcl-edit's syntax tree (with byte spans) on the parser's own stack,
/// for callers that edit the text (`thoth-bot fix`). Like [`to_json`], the caller bounds the
/// nesting first; a panic in the parser becomes an error.
pub fn parse_edit_body(text: &str) -> Result<hcl::edit::structure::Body, HclError> {
    on_parse_stack(|| text.parse().map_err(edit_error))
}

/// Runs `parse` on a thread with [`PARSE_STACK`] bytes of stack.
fn on_parse_stack<T: Send>(
    parse: impl FnOnce() -> Result<T, HclError> + Send,
) -> Result<T, HclError> {
    let failed = |message: &str| HclError {
        line: None,
        message: message.to_string(),
    };
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("hcl-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(scope, parse)
            .map_err(|e| failed(&format!("cannot start the HCL parser: {e}")))?
            .join()
            .map_err(|_| failed("the HCL parser failed on this file"))?
    })
}

fn edit_error(e: hcl::edit::parser::Error) -> HclError {
    HclError {
        line: Some(e.location().line() as u32),
        message: e.message().to_string(),
    }
}

fn to_json_here(text: &str, shape: HclShape) -> Result<(Value, HashMap<String, u32>), HclError> {
    let edit: hcl::edit::structure::Body = text.parse().map_err(edit_error)?;
    let locations = block_locations(&edit, text);
    let body: Body = edit.into();
    Ok((body_to_json(&body, shape, true), locations))
}

fn block_locations(body: &hcl::edit::structure::Body, text: &str) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    for block in body.blocks() {
        let Some(span) = block.span() else { continue };
        let line = 1 + text.as_bytes()[..span.start.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32;
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        let address = match (block.ident.as_str(), labels.as_slice()) {
            ("resource", [t, n]) => format!("{t}.{n}"),
            ("data", [t, n]) => format!("data.{t}.{n}"),
            ("module", [n]) => format!("module.{n}"),
            ("variable", [n]) => format!("var.{n}"),
            ("output", [n]) => format!("output.{n}"),
            ("provider", [n]) => format!("provider.{n}"),
            (ident, []) => ident.to_string(),
            (ident, labels) => format!("{ident}.{}", labels.join(".")),
        };
        out.entry(address).or_insert(line);
    }
    out
}

fn body_to_json(body: &Body, shape: HclShape, top_level: bool) -> Value {
    let mut obj = Map::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                obj.insert(attr.key.to_string(), expr_to_json(&attr.expr, shape));
            }
            Structure::Block(block) => insert_block(&mut obj, block, shape, top_level),
        }
    }
    Value::Object(obj)
}

fn insert_block(obj: &mut Map<String, Value>, block: &Block, shape: HclShape, top_level: bool) {
    let content = body_to_json(&block.body, shape, false);
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let mut slot = obj
        .entry(block.identifier.to_string())
        .or_insert_with(|| empty_container(labels.is_empty()));
    for label in &labels {
        if !slot.is_object() {
            // A block both with and without labels under one name: keep the labelled one.
            *slot = Value::Object(Map::new());
        }
        slot = slot
            .as_object_mut()
            .expect("just made an object")
            .entry(label.to_string())
            .or_insert(Value::Null);
    }
    // Object shape: a labelled top-level block (resource, module, variable) is one object.
    // Everything else (nested blocks, unlabelled blocks, conftest shape) is a list.
    let as_object = shape == HclShape::Object && top_level && !labels.is_empty();
    if as_object {
        match slot {
            Value::Object(existing) => {
                if let Value::Object(new) = content {
                    existing.extend(new);
                }
            }
            other => *other = content,
        }
    } else {
        match slot {
            Value::Array(items) => items.push(content),
            other => *other = Value::Array(vec![content]),
        }
    }
}

fn empty_container(list: bool) -> Value {
    if list {
        Value::Array(Vec::new())
    } else {
        Value::Object(Map::new())
    }
}

/// Whether an expression is a literal that needs no evaluation.
fn is_literal(expr: &Expression) -> bool {
    match expr {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {
            true
        }
        Expression::Array(items) => items.iter().all(is_literal),
        Expression::Object(obj) => {
            obj.iter().all(|(k, v)| {
                matches!(k, ObjectKey::Identifier(_))
                    || matches!(k, ObjectKey::Expression(Expression::String(_))) && is_literal(v)
            }) && obj.values().all(is_literal)
        }
        _ => false,
    }
}

fn expr_to_json(expr: &Expression, shape: HclShape) -> Value {
    match expr {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Expression::String(s) => Value::String(s.clone()),
        // conftest shape: hcl2json renders any collection that is not fully literal as source.
        Expression::Array(_) | Expression::Object(_)
            if shape == HclShape::Conftest && !is_literal(expr) =>
        {
            Value::String(format!("${{{}}}", source(expr)))
        }
        Expression::Array(items) => {
            Value::Array(items.iter().map(|e| expr_to_json(e, shape)).collect())
        }
        Expression::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| (object_key(k), expr_to_json(v, shape)))
                .collect(),
        ),
        Expression::TemplateExpr(t) => Value::String(template_text(t)),
        Expression::Parenthesis(inner) if is_literal(inner) => expr_to_json(inner, shape),
        other => Value::String(format!("${{{}}}", source(other))),
    }
}

fn object_key(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(i) => i.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        ObjectKey::Expression(Expression::TemplateExpr(t)) => template_text(t),
        ObjectKey::Expression(e) => format!("${{{}}}", source(e)),
        other => hcl::format::to_string(other).unwrap_or_default(),
    }
}

fn template_text(t: &TemplateExpr) -> String {
    match t {
        TemplateExpr::QuotedString(s) => s.clone(),
        TemplateExpr::Heredoc(h) => h.template.clone(),
    }
}

fn source(expr: &Expression) -> String {
    use hcl::format::{Format, Formatter};
    let mut fmt = Formatter::builder().compact(true).build_vec();
    match expr.format(&mut fmt) {
        Ok(()) => String::from_utf8_lossy(&fmt.into_inner()).into_owned(),
        Err(_) => format!("{expr:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TF: &str = r#"
variable "env" { default = "dev" }

resource "aws_security_group" "web" {
  name = "${var.env}-web"
  ingress {
    from_port   = 22
    cidr_blocks = ["0.0.0.0/0", var.extra]
  }
  tags = { Name = "web", Env = var.env }
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.0"
}

locals { a = 1 }
"#;

    #[test]
    fn object_shape() {
        let (v, locs) = to_json(TF, HclShape::Object).unwrap();
        let sg = &v["resource"]["aws_security_group"]["web"];
        assert_eq!(sg["name"], "${var.env}-web");
        assert_eq!(sg["ingress"][0]["from_port"], 22);
        assert_eq!(
            sg["ingress"][0]["cidr_blocks"],
            json!(["0.0.0.0/0", "${var.extra}"])
        );
        assert_eq!(sg["tags"]["Env"], "${var.env}");
        assert_eq!(v["module"]["vpc"]["version"], "5.1.0");
        assert_eq!(v["variable"]["env"]["default"], "dev");
        assert_eq!(v["locals"][0]["a"], 1);
        assert_eq!(locs["aws_security_group.web"], 4);
        assert_eq!(locs["module.vpc"], 13);
        assert_eq!(locs["var.env"], 2);
    }

    #[test]
    fn conftest_shape() {
        let (v, _) = to_json(TF, HclShape::Conftest).unwrap();
        let sg = &v["resource"]["aws_security_group"]["web"][0];
        assert_eq!(
            sg["ingress"][0]["cidr_blocks"],
            "${[\"0.0.0.0/0\", var.extra]}"
        );
        assert_eq!(
            v["module"]["vpc"][0]["source"],
            "terraform-aws-modules/vpc/aws"
        );
    }

    #[test]
    fn parse_error_has_a_line() {
        let err = to_json("resource \"a\" \"b\" {\n  x = \n}\n", HclShape::Object).unwrap_err();
        assert!(err.line.is_some());
    }
}
