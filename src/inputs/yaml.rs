//! YAML streams: one input document per `---` section, converted to JSON.
//!
//! Each section is measured before it is built. The pre-pass reads saphyr-parser's events once
//! and computes every anchor's expanded size and height, so an alias bomb ("billion laughs") is
//! refused in time linear in the file, never expanded. serde_yaml (which builds the value) has
//! no event API. Should saphyr reject a section that libyaml might accept, a second measure
//! walks serde_yaml's own alias expansion with a counting visitor that builds nothing and stops
//! at the first limit: slower (up to `max_yaml_nodes` visits), still bounded.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::limits::{self, Breach, ParseLimits};
use super::{InputDoc, InputKind, doc, parse_error};
use crate::finding::Finding;

/// Splits a YAML stream into documents, keeping each document's first line.
pub(super) fn parse_yaml(
    rel: &str,
    text: &str,
    limits: &ParseLimits,
) -> Result<Vec<InputDoc>, Finding> {
    let mut docs = Vec::new();
    let mut chunk = String::new();
    let mut chunk_start = 1u32;
    let mut sections = 0usize;
    let mut flush = |chunk: &mut String, start: u32, docs: &mut Vec<InputDoc>| {
        if chunk.trim().is_empty()
            || chunk
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            chunk.clear();
            return Ok(());
        }
        sections += 1;
        if sections > limits.max_docs_per_file {
            let breach = Breach::DocsPerFile {
                limit: limits.max_docs_per_file,
            };
            return Err(limits::file_finding(rel, Some(start), breach));
        }
        measure(chunk, limits).map_err(|(breach, line)| {
            let line = line.map(|l| start + l - 1);
            match breach {
                Some(breach) => limits::file_finding(rel, line, breach),
                None => parse_error(rel, line, "invalid YAML"),
            }
        })?;
        let value: serde_yaml::Value = serde_yaml::from_str(chunk).map_err(|e| {
            let line = e.location().map(|l| start + l.line() as u32 - 1);
            // serde_yaml's own alias cap can fire below ours (many aliases per event): it is a
            // limit too, not a syntax error.
            if e.to_string().starts_with("repetition limit exceeded") {
                return limits::file_finding(rel, line, Breach::YamlRepetition);
            }
            parse_error(rel, line, &e.to_string())
        })?;
        let template = super::cloudformation::is_yaml_template(&value);
        let value = if template {
            super::cloudformation::yaml_template_to_json(value)
        } else {
            yaml_to_json(value)
        };
        let mut locations = HashMap::new();
        if template {
            locations = super::cloudformation::resource_lines(chunk, start, &value);
        }
        if let Some(kind) = value.get("kind").and_then(Value::as_str) {
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            locations.insert(format!("{kind}/{name}"), start);
        }
        if !value.is_null() {
            let index = docs.len();
            docs.push(doc(rel, InputKind::Yaml, index, start, value, locations));
        }
        chunk.clear();
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
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

/// Checks one YAML section against the node and depth limits: `Err((breach, line))` when it
/// breaks one. Syntax errors pass: the real parse reports them with a better message.
fn measure(text: &str, limits: &ParseLimits) -> Result<(), (Option<Breach>, Option<u32>)> {
    super::depth::check_yaml_flow(text, limits.max_depth).map_err(|e| {
        let breach = Breach::Depth {
            limit: limits.max_depth,
        };
        (Some(breach), Some(e.line))
    })?;
    match measure_events(text, limits) {
        Some(result) => result.map_err(|(b, line)| (Some(b), Some(line))),
        None => measure_by_expansion(text, limits),
    }
}

/// A container still open in the event stream.
struct Open {
    anchor: usize,
    nodes: usize,
    height: usize,
}

/// The linear pre-pass over saphyr's events; `None` if saphyr rejects the text.
fn measure_events(text: &str, limits: &ParseLimits) -> Option<Result<(), (Breach, u32)>> {
    use saphyr_parser::{Event, Parser};
    // Anchor id (0 is "no anchor") -> (expanded nodes, height in containers).
    let mut anchors: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let nodes = Breach::YamlNodes {
        limit: limits.max_yaml_nodes,
    };
    let depth = Breach::Depth {
        limit: limits.max_depth,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let line = span.start.line() as u32;
        let done = match event {
            Event::Scalar(_, _, anchor, _) => (anchor, 1, 0),
            Event::Alias(id) => {
                let (n, h) = anchors.get(&id).copied().unwrap_or((1, 0));
                (0, n, h)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                stack.push(Open {
                    anchor,
                    nodes: 1,
                    height: 0,
                });
                if stack.len() >= limits.max_depth {
                    return Some(Err((depth, line)));
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(open) => (open.anchor, open.nodes, open.height + 1),
                None => continue,
            },
            _ => continue,
        };
        let (anchor, n, h) = done;
        if anchor != 0 {
            anchors.insert(anchor, (n, h));
        }
        if stack.len() + h >= limits.max_depth {
            return Some(Err((depth, line)));
        }
        let total = match stack.last_mut() {
            Some(parent) => {
                parent.nodes = parent.nodes.saturating_add(n);
                parent.height = parent.height.max(h);
                parent.nodes
            }
            None => n,
        };
        if total > limits.max_yaml_nodes {
            return Some(Err((nodes, line)));
        }
    }
    Some(Ok(()))
}

/// Walks one YAML document with serde_yaml's aliases expanded, building nothing.
fn measure_by_expansion(
    text: &str,
    limits: &ParseLimits,
) -> Result<(), (Option<Breach>, Option<u32>)> {
    let mut budget = Budget {
        nodes: 0,
        depth: 0,
        limits: *limits,
        breach: None,
    };
    let de = serde_yaml::Deserializer::from_str(text);
    match Measure(&mut budget).deserialize(de) {
        Ok(()) => Ok(()),
        Err(e) => {
            let line = e.location().map(|l| l.line() as u32);
            let breach = budget.breach.or_else(|| {
                // serde_yaml 0.9 is frozen: its message for its own alias cap will not change.
                (e.to_string() == "repetition limit exceeded").then_some(Breach::YamlRepetition)
            });
            match breach {
                Some(b) => Err((Some(b), line)),
                // Not a limit: the real parse below reports the syntax error with its line.
                None => Ok(()),
            }
        }
    }
}

struct Budget {
    nodes: usize,
    depth: usize,
    limits: ParseLimits,
    breach: Option<Breach>,
}

impl Budget {
    fn node<E: de::Error>(&mut self) -> Result<(), E> {
        self.nodes += 1;
        if self.nodes > self.limits.max_yaml_nodes {
            return self.breached(Breach::YamlNodes {
                limit: self.limits.max_yaml_nodes,
            });
        }
        Ok(())
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.node()?;
        self.depth += 1;
        if self.depth >= self.limits.max_depth {
            return self.breached(Breach::Depth {
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    fn breached<E: de::Error>(&mut self, breach: Breach) -> Result<(), E> {
        self.breach = Some(breach);
        Err(E::custom("input limit"))
    }
}

/// Counts one node and everything under it.
struct Measure<'b>(&'b mut Budget);

impl<'de> DeserializeSeed<'de> for Measure<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.node()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.node()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.0.node()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.node()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.0.node()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.node()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.node()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.0.node()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.node()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.node()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let budget = self.0;
        budget.enter::<A::Error>()?;
        while seq.next_element_seed(Measure(&mut *budget))?.is_some() {}
        budget.depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let budget = self.0;
        budget.enter::<A::Error>()?;
        while map.next_key_seed(Measure(&mut *budget))?.is_some() {
            map.next_value_seed(Measure(&mut *budget))?;
        }
        budget.depth -= 1;
        Ok(())
    }

    /// A tagged node (`!Ref x`): the tag is a string, the value is measured like any other.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        let budget = self.0;
        let ((), variant) = data.variant_seed(Measure(&mut *budget))?;
        variant.newtype_variant_seed(Measure(budget))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<InputDoc>, Finding> {
        parse_yaml("k.yaml", text, &ParseLimits::default())
    }

    #[test]
    fn yaml_multi_document_keeps_lines() {
        let text = "# c\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: Service\nmetadata:\n  name: b\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2, "the leading comment is skipped");
        assert_eq!(docs[1].line, 7);
        assert_eq!(docs[1].locations.get("Service/b"), Some(&7));
        assert_eq!(docs[1].index, 1);
    }

    #[test]
    fn bad_yaml_is_a_finding_with_a_line() {
        let err = parse("a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(err.rule_id, "parse-error");
        assert_eq!(err.file.as_deref(), Some("k.yaml"));
        assert!(err.line.unwrap() >= 3);
    }

    #[test]
    fn aliases_and_tags_within_limits_parse() {
        let text = "base: &b {x: 1, y: [1, 2]}\nuses: [*b, *b]\nref: !Ref thing\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs[0].value["uses"][1]["y"][1], 2);
        assert_eq!(docs[0].value["ref"], "thing");
    }
}
