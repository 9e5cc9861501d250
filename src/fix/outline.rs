//! Where things are in a `.tf` file: its resource blocks with their attributes and nested blocks,
//! each with 1-based line numbers, for the line edits of the fix patterns.
//!
//! The text is parsed by hcl-edit (the parser the gates use, with their nesting bound and their
//! parse stack), never by ad-hoc brace counting, so strings, heredocs and comments cannot fool
//! the line numbers. Only what the patterns read is kept: literal strings, numbers, booleans and
//! lists of those; anything else (references, function calls, templates) is [`Val::Other`].

use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Body, Structure};

use crate::inputs::depth;
use crate::inputs::limits::MAX_DEPTH;

/// How deep nested blocks are outlined. The deepest block a pattern reads is
/// `server_side_encryption_configuration > rule > apply_server_side_encryption_by_default`.
const MAX_BLOCK_DEPTH: usize = 6;

/// How deep lists are read into [`Val::List`]; deeper values are [`Val::Other`].
const MAX_VALUE_DEPTH: usize = 3;

/// A literal value as far as the patterns care.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Bool(bool),
    Num(f64),
    List(Vec<Val>),
    /// An expression, object, template or anything deeper than the outline reads.
    Other,
}

/// `key = value` in a block body.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub key: String,
    /// First and last line of the attribute (a list may span several).
    pub start: u32,
    pub end: u32,
    pub value: Val,
}

/// A block (`resource "T" "N" {`, `ingress {`) with the lines of its header and closing brace.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub ident: String,
    pub labels: Vec<String>,
    pub open: u32,
    pub close: u32,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

impl Block {
    pub fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.key == key)
    }

    pub fn blocks_named<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.ident == ident)
    }
}

/// A parsed `.tf` file: its lines (without line terminators) and its resource blocks.
#[derive(Debug, Clone)]
pub(crate) struct Outline {
    pub lines: Vec<String>,
    pub resources: Vec<Block>,
}

/// Why a file has no outline (and so no fixes).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum OutlineError {
    #[error("nesting reaches the limit of {MAX_DEPTH} levels at line {0}")]
    TooDeep(u32),
    #[error("HCL syntax error{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Syntax { line: Option<u32>, message: String },
}

impl Outline {
    /// Outlines HCL source. The nesting is bounded before the recursive parser sees the text.
    pub fn parse(text: &str) -> Result<Outline, OutlineError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        depth::check_hcl(text, MAX_DEPTH).map_err(|e| OutlineError::TooDeep(e.line))?;
        let body = crate::inputs::hcl::parse_edit_body(text).map_err(|e| OutlineError::Syntax {
            line: e.line,
            message: e.message,
        })?;
        let index = LineIndex::new(text);
        let resources = body
            .blocks()
            .filter(|b| b.ident.as_str() == "resource" && b.labels.len() == 2)
            .filter_map(|b| outline_block(b, &index, 0))
            .collect();
        Ok(Outline {
            lines: split_lines(text),
            resources,
        })
    }

    /// The resource block `TYPE.NAME`.
    pub fn resource(&self, address: &str) -> Option<&Block> {
        let (rtype, name) = address.split_once('.')?;
        self.resources
            .iter()
            .find(|b| b.labels[0] == rtype && b.labels[1] == name)
    }

    /// Line `n` (1-based), "" past the end.
    pub fn line(&self, n: u32) -> &str {
        (n as usize)
            .checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map_or("", String::as_str)
    }

    /// Lines `start..=end` joined with `\n`.
    pub fn text(&self, start: u32, end: u32) -> String {
        (start..=end)
            .map(|n| self.line(n))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The lines of a text without their terminators (`\r\n` or `\n`); a final newline does not
/// start another line.
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// Byte offset to 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter_map(|(i, b)| (b == b'\n').then_some(i + 1)),
        );
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }

    /// Lines of a span (`end` is exclusive).
    fn lines(&self, span: std::ops::Range<usize>) -> (u32, u32) {
        let start = self.line(span.start);
        (start, self.line(span.end.saturating_sub(1)).max(start))
    }
}

fn outline_block(
    block: &hcl::edit::structure::Block,
    index: &LineIndex,
    depth: usize,
) -> Option<Block> {
    let (open, close) = index.lines(block.span()?);
    let (attrs, blocks) = outline_body(&block.body, index, depth);
    Some(Block {
        ident: block.ident.as_str().to_string(),
        labels: block
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect(),
        open,
        close,
        attrs,
        blocks,
    })
}

fn outline_body(body: &Body, index: &LineIndex, depth: usize) -> (Vec<Attr>, Vec<Block>) {
    let mut attrs = Vec::new();
    let mut blocks = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) => {
                let Some(span) = a.span() else { continue };
                let (start, end) = index.lines(span);
                attrs.push(Attr {
                    key: a.key.as_str().to_string(),
                    start,
                    end,
                    value: value(&a.value, 0),
                });
            }
            Structure::Block(b) if depth < MAX_BLOCK_DEPTH => {
                blocks.extend(outline_block(b, index, depth + 1));
            }
            Structure::Block(_) => {}
        }
    }
    (attrs, blocks)
}

fn value(expr: &Expression, depth: usize) -> Val {
    if let Some(s) = expr.as_str() {
        Val::Str(s.to_string())
    } else if let Some(b) = expr.as_bool() {
        Val::Bool(b)
    } else if let Some(n) = expr.as_number() {
        n.as_f64().map_or(Val::Other, Val::Num)
    } else if let Some(list) = expr.as_array().filter(|_| depth < MAX_VALUE_DEPTH) {
        Val::List(list.iter().map(|e| value(e, depth + 1)).collect())
    } else {
        Val::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_attributes_have_their_lines() {
        let text = "# a comment with { braces\nresource \"aws_s3_bucket\" \"a\" {\n  bucket = \"x}\"\n  policy = <<EOF\n}\nEOF\n  tags = [\n    \"a\",\n  ]\n  versioning {\n    enabled = false\n  }\n}\n";
        let o = Outline::parse(text).expect("parses");
        let b = o.resource("aws_s3_bucket.a").expect("bucket");
        assert_eq!((b.open, b.close), (2, 13));
        assert_eq!(b.attr("bucket").map(|a| (a.start, a.end)), Some((3, 3)));
        assert_eq!(b.attr("policy").map(|a| (a.start, a.end)), Some((4, 6)));
        let tags = b.attr("tags").expect("tags");
        assert_eq!((tags.start, tags.end), (7, 9));
        assert_eq!(tags.value, Val::List(vec![Val::Str("a".into())]));
        let v = b.blocks_named("versioning").next().expect("versioning");
        assert_eq!((v.open, v.close), (10, 12));
        assert_eq!(v.attr("enabled").map(|a| &a.value), Some(&Val::Bool(false)));
    }

    #[test]
    fn crlf_and_bom_keep_line_numbers() {
        let text = "\u{feff}resource \"aws_ebs_volume\" \"v\" {\r\n  size = 10\r\n}\r\n";
        let o = Outline::parse(text).expect("parses");
        let v = o.resource("aws_ebs_volume.v").expect("volume");
        assert_eq!((v.open, v.close), (1, 3));
        assert_eq!(o.line(2), "  size = 10");
        assert_eq!(o.lines.len(), 3);
    }

    #[test]
    fn too_deep_and_broken_files_have_no_outline() {
        let deep = format!("x = {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
        assert!(matches!(
            Outline::parse(&deep),
            Err(OutlineError::TooDeep(1))
        ));
        assert!(matches!(
            Outline::parse("resource \"a\" \"b\" {\n"),
            Err(OutlineError::Syntax { .. })
        ));
    }
}
