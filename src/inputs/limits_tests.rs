//! The parser limits against the hostile inputs of issue 11 and against generated ones.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::Value;

use super::limits::{MAX_DEPTH, ParseLimits, RULE_ID};
use super::{HclShape, InputDoc, InputKind, parse_text_with};
use crate::finding::{Finding, Level};

/// Three levels of 2,000 aliases each over one scalar: 8e9 nodes once expanded.
pub fn yaml_bomb() -> String {
    let level = |alias: &str| vec![alias; 2_000].join(",");
    format!(
        "a: &a lol\nb: &b [{}]\nc: &c [{}]\nd: [{}]\n",
        level("*a"),
        level("*b"),
        level("*c")
    )
}

/// Aliases of a 2,000-item literal list: few alias expansions, many nodes.
fn yaml_wide_bomb() -> String {
    let items = vec!["x"; 2_000].join(",");
    format!(
        "a: &a [{items}]\nb: &b [{}]\nc: [{}]\n",
        vec!["*a"; 2_000].join(","),
        vec!["*b"; 2_000].join(",")
    )
}

fn nested(open: &str, leaf: &str, close: &str, levels: usize) -> String {
    format!("{}{leaf}{}", open.repeat(levels), close.repeat(levels))
}

fn parse(rel: &str, kind: InputKind, text: &str) -> Result<Vec<InputDoc>, Finding> {
    parse_text_with(rel, kind, text, HclShape::Object, &ParseLimits::default())
}

/// Runs `f` on a fresh thread with a 2 MiB stack, the size of a Tokio worker thread.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow, no panic")
}

fn assert_limit(result: Result<Vec<InputDoc>, Finding>, rel: &str, what: &str) {
    let f = result.expect_err("the limit must refuse the file");
    assert_eq!(f.rule_id, RULE_ID, "{}", f.message);
    assert_eq!(f.level, Level::Failure);
    assert_eq!(f.file.as_deref(), Some(rel));
    assert!(f.message.contains(rel), "{}", f.message);
    assert!(f.message.contains(what), "{}", f.message);
}

fn quick(started: Instant) {
    // Generous for a loaded debug build; the failure mode this guards against takes minutes.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn yaml_alias_bombs_are_refused_before_expansion() {
    for bomb in [yaml_bomb(), yaml_wide_bomb()] {
        let started = Instant::now();
        assert_limit(
            parse("bomb.yaml", InputKind::Yaml, &bomb),
            "bomb.yaml",
            "YAML aliases expand past the limit of",
        );
        quick(started);
    }
    let f = parse("w.yaml", InputKind::Yaml, &yaml_wide_bomb()).unwrap_err();
    assert!(f.message.contains("1000000 nodes"), "{}", f.message);
}

#[test]
fn yaml_nodes_limit_is_exact() {
    let limits = ParseLimits {
        max_yaml_nodes: 7,
        ..ParseLimits::default()
    };
    // map + key + anchored list (1 + 2) + key + alias copy (1 + 2) = 9 nodes.
    let text = "a: &a [1, 2]\nb: *a\n";
    let f = parse_text_with("y.yaml", InputKind::Yaml, text, HclShape::Object, &limits);
    assert_limit(f, "y.yaml", "limit of 7 nodes");
    let limits = ParseLimits {
        max_yaml_nodes: 9,
        ..limits
    };
    let docs = parse_text_with("y.yaml", InputKind::Yaml, text, HclShape::Object, &limits);
    assert_eq!(docs.unwrap()[0].value["b"][1], 2);
}

#[test]
fn deep_terraform_is_refused_without_touching_the_parser() {
    let tf = format!("x = {}\n", nested("[", "1", "]", 50_000));
    assert!(tf.len() > 100_000);
    let started = Instant::now();
    let result = on_small_stack(move || parse("deep.tf", InputKind::Hcl, &tf));
    assert_limit(result, "deep.tf", "nesting reaches the limit of 128 levels");
    quick(started);
    let tf = format!("x = \"{}\"\n", nested("${[", "1", "]}", 25_000));
    let result = on_small_stack(move || parse("interp.tf", InputKind::Hcl, &tf));
    assert_limit(result, "interp.tf", "limit of 128 levels");
    let tf = format!("x = 1{}\n", "+1".repeat(50_000));
    let result = on_small_stack(move || parse("ops.tf", InputKind::Hcl, &tf));
    assert_limit(result, "ops.tf", "limit of 128 levels");
}

#[test]
fn deep_json_and_yaml_are_refused_with_the_same_message() {
    let json = nested("[", "1", "]", 50_000);
    assert_limit(
        parse("deep.json", InputKind::Json, &json),
        "deep.json",
        "nesting reaches the limit of 128 levels",
    );
    let yaml = format!("x: {}\n", nested("[", "1", "]", 50_000));
    assert_limit(
        parse("deep.yaml", InputKind::Yaml, &yaml),
        "deep.yaml",
        "nesting reaches the limit of 128 levels",
    );
    let block: String = (0..200)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    assert_limit(
        parse("block.yaml", InputKind::Yaml, &block),
        "block.yaml",
        "nesting reaches the limit of 128 levels",
    );
}

/// One level under the limit of every construct that nests, parsed, converted (both shapes)
/// and dropped, called from a 2 MiB thread in whatever profile the tests run: 128 is safe
/// (HCL parses on its own thread, see `hcl::PARSE_STACK`).
#[test]
fn nesting_just_under_the_limit_parses_on_a_small_stack() {
    let n = MAX_DEPTH - 1;
    let under = |s: usize| n - s;
    let cases: Vec<(&str, String)> = vec![
        (
            "brackets",
            format!("x = {}\n", nested("[", "1", "]", under(0))),
        ),
        (
            "objects",
            format!("x = {}\n", nested("{a = ", "1", "}", under(0))),
        ),
        (
            "parens",
            format!("x = {}\n", nested("(", "1", ")", under(0))),
        ),
        (
            "calls",
            format!("x = {}\n", nested("f(", "1", ")", under(0))),
        ),
        ("blocks", nested("b {\n", "a = 1\n", "}\n", under(0))),
        (
            "interpolations",
            format!("x = {}\n", nested("\"${", "1", "}\"", under(0) / 2)),
        ),
        ("binary", format!("x = 1{}\n", "+1".repeat(under(0)))),
        ("unary", format!("x = {}true\n", "!".repeat(under(0)))),
        (
            "conditionals",
            format!("x = {}1\n", "a ? 1 : ".repeat(under(0))),
        ),
        (
            "directives",
            format!(
                "x = \"{}x{}\"\n",
                "%{if a}".repeat(under(2)),
                "%{endif}".repeat(under(2))
            ),
        ),
        (
            "for",
            format!("x = {}\n", nested("[for v in ", "x", " : v]", under(0))),
        ),
    ];
    for (name, tf) in cases {
        for shape in [HclShape::Object, HclShape::Conftest] {
            let tf = tf.clone();
            let result = on_small_stack(move || {
                let limits = ParseLimits::default();
                parse_text_with("ok.tf", InputKind::Hcl, &tf, shape, &limits)
                    .map(|docs| docs.len())
                    .map_err(|f| f.message)
            });
            assert_eq!(result, Ok(1), "{name} ({shape:?})");
        }
    }
    let json = nested("[", "1", "]", n);
    let yaml = nested("[", "1", "]", n);
    let ok = on_small_stack(move || {
        parse("ok.json", InputKind::Json, &json).is_ok()
            && parse("ok.yaml", InputKind::Yaml, &yaml).is_ok()
    });
    assert!(ok);
}

#[test]
fn documents_per_file_limit() {
    let limits = ParseLimits::default();
    let text = "a: 1\n---\n".repeat(limits.max_docs_per_file + 1);
    let started = Instant::now();
    assert_limit(
        parse("many.yaml", InputKind::Yaml, &text),
        "many.yaml",
        "more than the limit of 1000 documents",
    );
    quick(started);
    let text = "a: 1\n---\n".repeat(limits.max_docs_per_file);
    assert_eq!(
        parse("ok.yaml", InputKind::Yaml, &text).unwrap().len(),
        1000
    );
}

/// The outcome every generated input must end in: a value, or a finding.
fn outcome(result: &Result<Vec<InputDoc>, Finding>) -> Result<usize, &str> {
    match result {
        Ok(docs) => Ok(docs.len()),
        Err(f) => {
            assert_eq!(f.level, Level::Failure);
            assert!(
                f.rule_id == RULE_ID || f.rule_id == "parse-error",
                "{}",
                f.rule_id
            );
            Err(f.rule_id.as_str())
        }
    }
}

/// HCL wrappers with the nesting each adds: `(open, close, levels)`.
const HCL_WRAPPERS: &[(&str, &str, usize)] = &[
    ("[", "]", 1),
    ("{a = ", "}", 1),
    ("(", ")", 1),
    ("f(", ")", 1),
    ("[1, ", "]", 1),
    ("\"${", "}\"", 2),
    ("\"x${", "}y\"", 2),
    ("<<EOT\n${", "}\nEOT\n", 2),
];

const HCL_TOKENS: &[&str] = &[
    "[", "]", "{", "}", "(", ")", "\"", "${", "%{", "$${", "#", "//", "/*", "*/", "\n", "<<EOT\n",
    "EOT\n", "+", "-", "!", "?", ":", "==", "=", ",", " ", "1", "x", "\\", "if ", "endif",
];

fn soup(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..400).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hcl_nesting_is_a_value_or_a_limit(
        wrappers in prop::collection::vec(0..HCL_WRAPPERS.len(), 0..200),
    ) {
        let mut text = String::from("1");
        let mut levels = 0;
        for w in &wrappers {
            let (open, close, n) = HCL_WRAPPERS[*w];
            text = format!("{open}{text}{close}");
            levels += n;
        }
        let result = parse("p.tf", InputKind::Hcl, &format!("x = {text}\n"));
        if levels < MAX_DEPTH {
            prop_assert_eq!(outcome(&result), Ok(1), "{:?}", result.as_ref().err());
        } else {
            prop_assert_eq!(outcome(&result), Err(RULE_ID));
        }
    }

    #[test]
    fn hcl_token_soup_never_panics(text in soup(HCL_TOKENS)) {
        let _ = outcome(&parse("s.tf", InputKind::Hcl, &format!("x = {text}\n")));
        let _ = outcome(&parse("s.tf", InputKind::Hcl, &text));
    }

    #[test]
    fn json_and_yaml_nesting_is_a_value_or_a_limit(
        wrappers in prop::collection::vec(any::<bool>(), 0..200),
    ) {
        let mut json = String::from("1");
        let mut yaml = String::from("1");
        for map in &wrappers {
            json = if *map { format!("{{\"k\": {json}}}") } else { format!("[{json}]") };
            yaml = if *map { format!("{{k: {yaml}}}") } else { format!("[{yaml}, 2]") };
        }
        for (rel, kind, text) in [("p.json", InputKind::Json, json), ("p.yaml", InputKind::Yaml, yaml)] {
            let result = parse(rel, kind, &text);
            if wrappers.len() < MAX_DEPTH {
                prop_assert_eq!(outcome(&result), Ok(1), "{:?}", result.as_ref().err());
            } else {
                prop_assert_eq!(outcome(&result), Err(RULE_ID));
            }
        }
    }

    /// Anchor `i` lists scalars and aliases of earlier anchors; its expanded size is known, so
    /// the document is either refused by a limit or parsed to exactly that many nodes.
    #[test]
    fn yaml_alias_graphs_are_a_value_or_a_limit(
        anchors in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..12), 1..12),
    ) {
        let limits = ParseLimits { max_yaml_nodes: 20_000, ..ParseLimits::default() };
        let mut sizes: Vec<usize> = Vec::new();
        let mut text = String::new();
        for (i, refs) in anchors.iter().enumerate() {
            let mut size = 1usize;
            let items: Vec<String> = refs
                .iter()
                .map(|r| {
                    if i == 0 {
                        size += 1;
                        "s".to_string()
                    } else {
                        let j = r.index(i);
                        size = size.saturating_add(sizes[j]);
                        format!("*a{j}")
                    }
                })
                .collect();
            text.push_str(&format!("k{i}: &a{i} [{}]\n", items.join(", ")));
            sizes.push(size);
        }
        let total = sizes.iter().fold(1usize, |t, s| t.saturating_add(1).saturating_add(*s));
        let result = parse_text_with("g.yaml", InputKind::Yaml, &text, HclShape::Object, &limits);
        match &result {
            Ok(docs) => {
                prop_assert!(total <= limits.max_yaml_nodes);
                prop_assert_eq!(count(&docs[0].value), total);
            }
            Err(f) => {
                prop_assert_eq!(f.rule_id.as_str(), RULE_ID, "{}", f.message);
                // serde_yaml's own alias cap may fire first on a small file; ours never early.
                prop_assert!(total > limits.max_yaml_nodes || f.message.contains("per parser event"));
            }
        }
    }
}

/// Nodes of a JSON value the way the YAML limit counts them: keys count too.
fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(|v| 1 + count(v)).sum::<usize>(),
        _ => 1,
    }
}
