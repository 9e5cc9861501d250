//! `--format junit`: JUnit XML, for CI systems that show test results.
//!
//! One `<testsuite>` per gate that ran. Each finding is a `<testcase classname="<gate>"
//! name="<rule_id> <file>:<line>">`: failures carry a `<failure>`, gate errors an `<error>`,
//! warnings and info pass and keep their text in `<system-out>`. A gate without findings gets
//! one passing `<testcase name="<gate> passed">`, so CI panels show that it ran.
//!
//! Everything that comes from a finding is untrusted text and goes through [`escape_text`] /
//! [`escape_attr`].

use super::display_order;
use crate::finding::{CheckReport, Finding, GateReport, Level};
use std::fmt::Write as _;

/// Renders the report as a JUnit XML document followed by a newline.
pub(super) fn render(report: &CheckReport) -> String {
    let tests: usize = report.gates.iter().map(testcase_count).sum();
    let failures: usize = report.gates.iter().map(|g| g.count(Level::Failure)).sum();
    let errors: usize = report.gates.iter().map(|g| g.count(Level::Error)).sum();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Writing to a String cannot fail; results of write! are ignored on purpose below.
    let _ = writeln!(
        out,
        "<testsuites name=\"thoth-bot\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for gate in &report.gates {
        testsuite(&mut out, gate);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Findings become one testcase each; a clean gate still reports one passing testcase.
fn testcase_count(gate: &GateReport) -> usize {
    gate.findings.len().max(1)
}

fn testsuite(out: &mut String, gate: &GateReport) {
    let name = gate.gate.as_str();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        testcase_count(gate),
        gate.count(Level::Failure),
        gate.count(Level::Error),
    );
    if gate.findings.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{name}\" name=\"{name} passed\"/>"
        );
    }
    let mut findings: Vec<&Finding> = gate.findings.iter().collect();
    findings.sort_by(|a, b| display_order(a, b));
    for f in findings {
        testcase(out, f);
    }
    out.push_str("  </testsuite>\n");
}

fn testcase(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\">",
        f.gate.as_str(),
        escape_attr(&testcase_name(f)),
    );
    let body = escape_text(&details(f));
    match f.level {
        Level::Failure | Level::Error => {
            let element = if f.level == Level::Failure {
                "failure"
            } else {
                "error"
            };
            let _ = writeln!(
                out,
                "      <{element} message=\"{}\" type=\"{}\">{body}</{element}>",
                escape_attr(&f.message),
                f.severity.as_str(),
            );
        }
        Level::Warning | Level::Info => {
            let _ = writeln!(out, "      <system-out>{body}</system-out>");
        }
    }
    out.push_str("    </testcase>\n");
}

/// `rule_id file:line`, `rule_id file` or just `rule_id`, depending on what is known.
fn testcase_name(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} {file}:{line}", f.rule_id),
        (Some(file), None) => format!("{} {file}", f.rule_id),
        (None, _) => f.rule_id.clone(),
    }
}

/// The element body: the finding's level and severity, message and whatever else is known.
fn details(f: &Finding) -> String {
    let mut text = format!("{} ({}): {}", f.level, f.severity, f.message);
    let extras = [
        ("resource", f.resource.as_deref()),
        ("pattern", f.pattern.as_deref()),
    ];
    for (key, value) in extras {
        if let Some(value) = value {
            let _ = write!(text, "\n{key}: {value}");
        }
    }
    text
}

/// Whether `c` may appear in an XML 1.0 document at all (the `Char` production). Anything
/// else cannot even be written as a character reference.
fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\u{9}' | '\u{A}' | '\u{D}'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes character data. Characters XML 1.0 cannot carry become U+FFFD, so a reader sees that
/// something was there.
fn escape_text(s: &str) -> String {
    escape(s, false)
}

/// Escapes an attribute value (to be written between double quotes). Tabs and line breaks
/// become character references: written raw, attribute-value normalisation would turn them into
/// spaces.
fn escape_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            // A raw CR in text is normalised away by parsers, so keep it as a reference.
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{NASTY, empty_report, nasty_report, sample_report};

    /// A parsed element: just enough XML to check the output's structure.
    #[derive(Debug, Default)]
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Element>,
        text: String,
    }

    impl Element {
        fn attr(&self, key: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }
        fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
            self.children.iter().filter(move |c| c.name == name)
        }
    }

    /// A strict little XML 1.0 checker/parser for this output: one XML declaration, elements,
    /// double-quoted attributes, text, the five predefined entities and character references.
    /// Panics with a message on anything not well-formed (or outside that subset).
    fn parse_xml(doc: &str) -> Element {
        for c in doc.chars() {
            assert!(is_xml_char(c), "raw invalid XML character {c:?}");
        }
        let rest = doc
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .unwrap_or_else(|| panic!("missing XML declaration"));
        let mut stack: Vec<Element> = vec![Element::default()];
        let mut chars = rest.char_indices().peekable();
        let mut text = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '<' => {
                    let end = rest[i..]
                        .find('>')
                        .unwrap_or_else(|| panic!("unclosed tag"));
                    let tag = &rest[i + 1..i + end];
                    while chars.peek().is_some_and(|(j, _)| *j <= i + end) {
                        chars.next();
                    }
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&text);
                    }
                    text.clear();
                    if let Some(name) = tag.strip_prefix('/') {
                        let done = stack.pop().unwrap_or_default();
                        assert_eq!(done.name, name, "mismatched closing tag");
                        push_child(&mut stack, done);
                    } else {
                        let (body, empty) = match tag.strip_suffix('/') {
                            Some(body) => (body, true),
                            None => (tag, false),
                        };
                        let element = parse_tag(body);
                        if empty {
                            push_child(&mut stack, element);
                        } else {
                            stack.push(element);
                        }
                    }
                }
                '>' => panic!("raw `>` in text"),
                '&' => {
                    let end = rest[i..].find(';').unwrap_or_else(|| panic!("bad entity"));
                    text.push(unescape_entity(&rest[i + 1..i + end]));
                    while chars.peek().is_some_and(|(j, _)| *j <= i + end) {
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        assert!(text.trim().is_empty(), "text after the root element");
        assert_eq!(stack.len(), 1, "unclosed elements");
        let mut document = stack.pop().unwrap_or_default();
        assert_eq!(document.children.len(), 1, "exactly one root element");
        document.children.pop().unwrap_or_default()
    }

    fn push_child(stack: &mut [Element], child: Element) {
        match stack.last_mut() {
            Some(parent) => parent.children.push(child),
            None => panic!("closing tag without an opening one"),
        }
    }

    fn parse_tag(body: &str) -> Element {
        let body = body.trim_end();
        let (name, mut rest) = body.split_once(' ').unwrap_or((body, ""));
        assert!(is_name(name), "bad element name {name:?}");
        let mut attrs = Vec::new();
        while !rest.trim().is_empty() {
            let (key, after) = rest
                .trim_start()
                .split_once("=\"")
                .unwrap_or_else(|| panic!("bad attribute in {body:?}"));
            assert!(is_name(key), "bad attribute name {key:?}");
            let close = after
                .find('"')
                .unwrap_or_else(|| panic!("unclosed attribute"));
            let raw = &after[..close];
            assert!(!raw.contains('<'), "raw `<` in attribute");
            assert!(
                !raw.contains(['\t', '\n', '\r']),
                "raw whitespace in attribute"
            );
            assert!(attrs.iter().all(|(k, _)| k != key), "duplicate attribute");
            attrs.push((key.to_owned(), unescape(raw)));
            rest = &after[close + 1..];
        }
        Element {
            name: name.to_owned(),
            attrs,
            ..Element::default()
        }
    }

    fn is_name(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }

    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let end = rest[amp..]
                .find(';')
                .unwrap_or_else(|| panic!("bad entity"));
            out.push(unescape_entity(&rest[amp + 1..amp + end]));
            rest = &rest[amp + end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn unescape_entity(name: &str) -> char {
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) if is_xml_char(c) => c,
            _ => panic!("bad entity or character reference &{name};"),
        }
    }

    fn count_attr(e: &Element, key: &str) -> usize {
        e.attr(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn escaper_handles_markup_and_control_characters() {
        assert_eq!(escape_text("<>&\"'"), "&lt;&gt;&amp;&quot;&apos;");
        assert_eq!(escape_attr("<>&\"'"), "&lt;&gt;&amp;&quot;&apos;");
        assert_eq!(
            escape_text("a\u{0}b\u{1b}c\u{7}d"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(escape_text("\u{FFFE}\u{FFFF}"), "\u{FFFD}\u{FFFD}");
        assert_eq!(escape_text("t\tn\nr\r"), "t\tn\nr&#13;");
        assert_eq!(escape_attr("t\tn\nr\r"), "t&#9;n&#10;r&#13;");
        assert_eq!(escape_text("é😀\u{D7FF}\u{E000}"), "é😀\u{D7FF}\u{E000}");
        // The checker agrees: escaping then parsing gives the text back, minus invalid chars.
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a k=\"{}\">{}</a>",
            escape_attr(NASTY),
            escape_text(NASTY)
        );
        let root = parse_xml(&doc);
        let expected: String = NASTY
            .chars()
            .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect();
        assert_eq!(root.attr("k"), Some(expected.as_str()));
        assert_eq!(root.text, expected);
    }

    #[test]
    fn sample_report_structure_and_counts() {
        let root = parse_xml(&render(&sample_report()));
        assert_eq!(root.name, "testsuites");
        assert_eq!(count_attr(&root, "tests"), 7);
        assert_eq!(count_attr(&root, "failures"), 2);
        assert_eq!(count_attr(&root, "errors"), 1);

        let suites: Vec<&Element> = root.children_named("testsuite").collect();
        let names: Vec<&str> = suites.iter().filter_map(|s| s.attr("name")).collect();
        assert_eq!(names, ["structure", "rego", "drift"]);
        let counts: Vec<(usize, usize, usize)> = suites
            .iter()
            .map(|s| {
                (
                    count_attr(s, "tests"),
                    count_attr(s, "failures"),
                    count_attr(s, "errors"),
                )
            })
            .collect();
        assert_eq!(counts, [(2, 0, 0), (4, 2, 0), (1, 0, 1)]);
        for suite in &suites {
            let cases: Vec<&Element> = suite.children_named("testcase").collect();
            assert_eq!(cases.len(), count_attr(suite, "tests"));
            let failures = cases
                .iter()
                .filter(|c| c.children_named("failure").count() == 1)
                .count();
            let errors = cases
                .iter()
                .filter(|c| c.children_named("error").count() == 1)
                .count();
            assert_eq!(failures, count_attr(suite, "failures"));
            assert_eq!(errors, count_attr(suite, "errors"));
            for case in cases {
                assert_eq!(case.attr("classname"), suite.attr("name"));
            }
        }

        let rego_cases: Vec<&Element> = suites[1].children_named("testcase").collect();
        let case_names: Vec<&str> = rego_cases.iter().filter_map(|c| c.attr("name")).collect();
        assert_eq!(
            case_names,
            [
                "secrets.hardcoded db/main.tf:3",
                "tags.owner main.tf:4",
                "s3.public_bucket main.tf:12",
                "style.naming main.tf:12",
            ]
        );
        let s3 = rego_cases[2];
        let failure = s3.children_named("failure").next();
        assert_eq!(
            failure.and_then(|f| f.attr("message")),
            Some("bucket `logs` is public")
        );
        assert_eq!(failure.and_then(|f| f.attr("type")), Some("critical"));
        assert_eq!(
            failure.map(|f| f.text.as_str()),
            Some(
                "failure (critical): bucket `logs` is public\nresource: aws_s3_bucket.logs\n\
                 pattern: public_s3_buckets"
            )
        );
        // A warning passes but keeps its text.
        let owner = rego_cases[1];
        assert_eq!(owner.children.len(), 1);
        assert_eq!(
            owner
                .children_named("system-out")
                .next()
                .map(|o| o.text.as_str()),
            Some("warning (medium): resource has no `owner` tag\nresource: aws_s3_bucket.logs")
        );

        let structure_names: Vec<&str> = suites[0]
            .children_named("testcase")
            .filter_map(|c| c.attr("name"))
            .collect();
        assert_eq!(
            structure_names,
            ["structure.readme", "structure.layout modules/net/main.tf"]
        );
        let drift_case = suites[2].children_named("testcase").next();
        let error = drift_case.and_then(|c| c.children_named("error").next());
        assert_eq!(
            error.and_then(|e| e.attr("message")),
            Some(".driftpolicy: line 2: unknown key `sevrity`")
        );
    }

    #[test]
    fn empty_reports() {
        let root = parse_xml(&render(&empty_report()));
        assert_eq!(count_attr(&root, "tests"), 3);
        assert_eq!(count_attr(&root, "failures"), 0);
        assert_eq!(count_attr(&root, "errors"), 0);
        for suite in root.children_named("testsuite") {
            let gate = suite.attr("name").unwrap_or_default();
            let cases: Vec<&Element> = suite.children_named("testcase").collect();
            assert_eq!(cases.len(), 1);
            assert_eq!(
                cases[0].attr("name"),
                Some(format!("{gate} passed").as_str())
            );
            assert!(cases[0].children.is_empty());
        }

        let root = parse_xml(&render(&CheckReport::new(Vec::new())));
        assert_eq!(count_attr(&root, "tests"), 0);
        assert!(root.children.is_empty());
    }

    #[test]
    fn hostile_strings_stay_well_formed() {
        let out = render(&nasty_report());
        let root = parse_xml(&out);
        let case = root
            .children_named("testsuite")
            .flat_map(|s| s.children_named("testcase"))
            .next();
        let message = case
            .and_then(|c| c.children_named("failure").next())
            .and_then(|f| f.attr("message"));
        let expected: String = NASTY
            .chars()
            .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect();
        assert_eq!(message, Some(expected.as_str()));
        assert!(!out.contains('\u{1b}') && !out.contains('\u{0}'));
    }
}
