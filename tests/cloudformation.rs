//! CloudFormation templates as inputs: a YAML template with short-form intrinsics and its JSON
//! twin (tests/data/cloudformation) give the same findings, at the resources' lines.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// `(rule_id, message, resource, line)` of every rego finding of `check` over a project holding
/// `template` (and the data folder's `policy/`), judged with the test org repository's
/// networking layer and SOC2 policies.
fn findings_for(template: &str) -> Vec<(String, String, Option<String>, Option<u64>)> {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data(&format!("cloudformation/{template}"))).unwrap();
    let policy =
        std::fs::read_to_string(data("cloudformation/policy/cloudformation/intrinsics.rego"))
            .unwrap();
    write_tree(
        dir.path(),
        &[
            (template, text.as_str()),
            ("policy/cloudformation/intrinsics.rego", policy.as_str()),
            (
                ".thothcf.toml",
                "[thothcf.governance]\nlayer = \"networking\"\ncompliance = [\"soc2\"]\n",
            ),
        ],
    );
    let org = data("org-iac-policies");
    let (code, v) = check_json(dir.path(), &["--gates", "rego", "--org-policy", &org]);
    assert_eq!(code, 1, "{v:#}");
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f: &Value| {
            assert_eq!(f["file"], template, "{f}");
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
                f["resource"].as_str().map(String::from),
                f["line"].as_u64(),
            )
        })
        .collect();
    out.sort();
    out
}

fn line_of(template: &str, needle: &str) -> u64 {
    let text =
        std::fs::read_to_string(Path::new(&data(&format!("cloudformation/{template}")))).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

#[test]
fn yaml_short_forms_and_the_json_twin_give_the_same_findings() {
    let yaml = findings_for("template.yaml");
    let json = findings_for("template.json");
    let strip = |v: &[(String, String, Option<String>, Option<u64>)]| -> Vec<(String, String)> {
        v.iter().map(|f| (f.0.clone(), f.1.clone())).collect()
    };
    assert_eq!(strip(&yaml), strip(&json));
    let ids: Vec<&str> = yaml.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ORG-CFN-NAME-001",   // public_bucket is not PascalCase
            "ORG-CFN-TAG-001",    // public_bucket has no Owner tag
            "ORG-NET-CFN-001",    // WebSg open to the world
            "PRJ-CFN-ROLE",       // LegacyWorker's Role is a literal (Worker's is !GetAtt)
            "PRJ-CFN-SUB",        // LogsBucket's name is a literal (public_bucket's is !Sub)
            "SOC2-CFN-S3-PUBLIC"  // public_bucket is public
        ]
    );
    // Findings carry the resource's line, in either syntax.
    for (template, found) in [("template.yaml", &yaml), ("template.json", &json)] {
        for f in found {
            let resource = f.2.as_deref().unwrap();
            let quoted = format!("\"{resource}\": {{");
            let needle = if template.ends_with(".json") {
                quoted
            } else {
                format!("  {resource}:")
            };
            assert_eq!(f.3, Some(line_of(template, &needle)), "{template}: {f:?}");
        }
    }
}

#[test]
fn a_short_form_template_parses_to_the_long_forms() {
    let text = std::fs::read_to_string(data("cloudformation/template.yaml")).unwrap();
    let docs = thoth_bot::inputs::parse_text(
        "template.yaml",
        thoth_bot::inputs::InputKind::Yaml,
        &text,
        thoth_bot::inputs::HclShape::Object,
    )
    .unwrap();
    let twin: Value = serde_json::from_str(
        &std::fs::read_to_string(data("cloudformation/template.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].value, twin);
    assert_eq!(
        docs[0].format(),
        thoth_bot::inputs::InputFormat::CloudFormation
    );
}
