//! `--format junit`: JUnit XML, for CI systems that show test results.
//!
//! One `<testsuite>` per gate that ran. Each finding is a `<testcase classname="<gate>"
//! name="<rule_id> <file>:<line>">`: failures carry a `<failure>`, gate errors an `<error>`,
//! warnings and info pass and keep their text in `<system-out>`. A gate without findings gets
//! one passing `<testcase name="<gate> passed">`, so CI panels show that it ran.
//!
//! Everything that comes from a finding is untrusted text: quick-junit escapes the markup and
//! [`xml_chars`] replaces what XML cannot carry.

use super::display_order;
use crate::finding::{CheckReport, Finding, GateReport, Level};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;

/// Renders the report as a JUnit XML document followed by a newline.
pub(super) fn render(report: &CheckReport) -> String {
    let mut junit = Report::new("thoth-bot");
    for gate in &report.gates {
        junit.add_test_suite(testsuite(gate));
    }
    // Serialising to memory only fails on a writer error, which a String does not have.
    let mut out = junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- JUnit serialisation failed: {e} -->"));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn testsuite(gate: &GateReport) -> TestSuite {
    let name = gate.gate.as_str();
    let mut suite = TestSuite::new(name);
    if gate.findings.is_empty() {
        // A clean gate still reports one passing testcase, so CI panels show that it ran.
        let mut case = TestCase::new(format!("{name} passed"), TestCaseStatus::success());
        case.set_classname(name);
        suite.add_test_case(case);
    }
    let mut findings: Vec<&Finding> = gate.findings.iter().collect();
    findings.sort_by(|a, b| display_order(a, b));
    for f in findings {
        suite.add_test_case(testcase(f));
    }
    suite
}

fn testcase(f: &Finding) -> TestCase {
    let body = xml_chars(&details(f));
    let status = match f.level {
        Level::Failure | Level::Error => {
            let kind = if f.level == Level::Failure {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(xml_attr(&f.message));
            status.set_type(f.severity.as_str());
            status.set_description(body.clone());
            status
        }
        Level::Warning | Level::Info => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(xml_attr(&testcase_name(f)), status);
    case.set_classname(f.gate.as_str());
    if matches!(f.level, Level::Warning | Level::Info) {
        case.set_system_out(body);
    }
    case
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

/// quick-junit escapes markup, but XML 1.0 cannot carry some characters at all (not even as
/// references): those become U+FFFD, so a reader sees that something was there.
fn xml_chars(s: &str) -> String {
    s.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

/// For attribute values (names, messages), which quick-junit writes with raw line breaks and
/// tabs that every reader normalises to spaces anyway: spaces, said plainly. The full text is
/// in the element body.
fn xml_attr(s: &str) -> String {
    xml_chars(s).replace(['\t', '\n', '\r'], " ")
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
    fn characters_xml_cannot_carry_are_replaced() {
        assert_eq!(
            xml_chars("a\u{0}b\u{1b}c\u{7}d"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(xml_chars("\u{FFFE}\u{FFFF}"), "\u{FFFD}\u{FFFD}");
        assert_eq!(xml_chars("t\tn\nr\r<&>"), "t\tn\nr\r<&>");
        assert_eq!(xml_chars("é😀\u{D7FF}\u{E000}"), "é😀\u{D7FF}\u{E000}");
        assert_eq!(xml_attr("a\tb\nc\r\u{0}"), "a b c \u{FFFD}");
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
            .map(|c| match c {
                '\t' | '\n' | '\r' => ' ',
                c if is_xml_char(c) => c,
                _ => '\u{FFFD}',
            })
            .collect();
        assert_eq!(message, Some(expected.as_str()));
        assert!(!out.contains('\u{1b}') && !out.contains('\u{0}'));
    }
}
