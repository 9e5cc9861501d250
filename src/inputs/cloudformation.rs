//! CloudFormation templates among the inputs: how one is recognised, so the org policy
//! repository's `cloudformation/` folders judge exactly these documents, and how a YAML
//! template's short-form intrinsics (`!Ref`, `!GetAtt a.b`, `!Sub`, ...) become the long JSON
//! forms (`{"Ref": x}`, `{"Fn::GetAtt": ["a", "b"]}`, `{"Fn::Sub": ...}`), as cfn-flip does.
//!
//! The YAML has already passed the depth and node limits of [`super::ParseLimits`] when it is
//! converted, so the recursion here is bounded by them.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Whether a parsed YAML or JSON document is a CloudFormation template: it has
/// `AWSTemplateFormatVersion`, or a `Resources` entry whose `Type` starts with `AWS::`.
pub fn is_template(value: &Value) -> bool {
    let Some(obj) = value.as_object() else {
        return false;
    };
    if obj.contains_key("AWSTemplateFormatVersion") {
        return true;
    }
    obj.get("Resources")
        .and_then(Value::as_object)
        .is_some_and(|resources| {
            resources.values().any(|r| {
                r.get("Type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("AWS::"))
            })
        })
}

/// Whether a parsed YAML value (tags kept) is a CloudFormation template.
pub fn is_yaml_template(value: &serde_yaml::Value) -> bool {
    use serde_yaml::Value as Y;
    let Y::Mapping(m) = value else {
        return false;
    };
    if m.contains_key("AWSTemplateFormatVersion") {
        return true;
    }
    matches!(m.get("Resources"), Some(Y::Mapping(resources)) if resources.values().any(|r| {
        matches!(r.get("Type"), Some(Y::String(t)) if t.starts_with("AWS::"))
    }))
}

/// A YAML template as JSON, each short-form intrinsic turned into its long form. Tags that
/// are not CloudFormation's become `Fn::<Tag>`, as cfn-flip does.
pub fn yaml_template_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let inner = t.value;
            match name.as_str() {
                "Ref" | "Condition" => single(&name, yaml_template_to_json(inner)),
                // `!GetAtt Resource.Attribute` splits at the first dot; the list form is kept.
                "GetAtt" => match inner {
                    Y::String(s) => {
                        let parts: Vec<Value> = match s.split_once('.') {
                            Some((a, b)) => vec![a.into(), b.into()],
                            None => vec![s.into()],
                        };
                        single("Fn::GetAtt", Value::Array(parts))
                    }
                    other => single("Fn::GetAtt", yaml_template_to_json(other)),
                },
                _ => single(&format!("Fn::{name}"), yaml_template_to_json(inner)),
            }
        }
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_template_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (key_string(k), yaml_template_to_json(v)))
                .collect(),
        ),
        scalar => super::yaml_to_json(scalar),
    }
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

fn key_string(k: serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s,
        other => serde_yaml::to_string(&other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Logical id -> 1-based line of each entry of the template's `Resources` section, found in the
/// text (YAML or pretty-printed JSON), relative to `first_line`.
pub fn resource_lines(text: &str, first_line: u32, value: &Value) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let Some(resources) = value.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| {
        let t = l.trim_start().trim_start_matches('"');
        t.starts_with("Resources\"") || t.starts_with("Resources:")
    }) else {
        return out;
    };
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim_start();
        let t = t.strip_prefix('"').unwrap_or(t);
        let Some((name, _)) = t.split_once(':') else {
            continue;
        };
        let name = name.trim_end().trim_end_matches('"');
        if resources.contains_key(name) && !out.contains_key(name) {
            out.insert(name.to_string(), first_line + i as u32);
        }
        if out.len() == resources.len() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_templates_by_version_or_aws_resource_types() {
        assert!(is_template(
            &json!({"AWSTemplateFormatVersion": "2010-09-09"})
        ));
        assert!(is_template(
            &json!({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}})
        ));
        assert!(!is_template(
            &json!({"Resources": {"B": {"Type": "Custom"}}})
        ));
        assert!(!is_template(&json!({"kind": "Deployment"})));
        assert!(!is_template(&json!([1, 2])));
    }

    #[test]
    fn short_forms_become_long_forms() {
        let yaml = r#"
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  B:
    Type: AWS::S3::Bucket
    Properties:
      A: !Ref Env
      B: !Sub "${Env}-b"
      C: !GetAtt Role.Arn
      D: !If [IsProd, !Ref X, !Ref "AWS::NoValue"]
      E: !Join ["-", [a, !Ref Env]]
      F: !Select [0, !GetAZs ""]
      G: !FindInMap [M, !Ref "AWS::Region", Ami]
      H: !Base64 hello
      I: !Equals [!Ref Env, prd]
      J: !Not [!Condition IsProd]
      K: !And [!Condition A, !Or [!Condition B, !Condition C]]
      L: !ImportValue shared-vpc
      M: !Split [",", "a,b"]
      N: !Cidr [!GetAtt Vpc.CidrBlock, 6, 5]
"#;
        let v: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        assert!(is_yaml_template(&v));
        let j = yaml_template_to_json(v);
        let p = &j["Resources"]["B"]["Properties"];
        assert_eq!(p["A"], json!({"Ref": "Env"}));
        assert_eq!(p["B"], json!({"Fn::Sub": "${Env}-b"}));
        assert_eq!(p["C"], json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(
            p["D"],
            json!({"Fn::If": ["IsProd", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(p["E"], json!({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}));
        assert_eq!(p["F"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(
            p["G"],
            json!({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Ami"]})
        );
        assert_eq!(p["H"], json!({"Fn::Base64": "hello"}));
        assert_eq!(p["I"], json!({"Fn::Equals": [{"Ref": "Env"}, "prd"]}));
        assert_eq!(p["J"], json!({"Fn::Not": [{"Condition": "IsProd"}]}));
        assert_eq!(
            p["K"],
            json!({"Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, {"Condition": "C"}]}]})
        );
        assert_eq!(p["L"], json!({"Fn::ImportValue": "shared-vpc"}));
        assert_eq!(p["M"], json!({"Fn::Split": [",", "a,b"]}));
        assert_eq!(
            p["N"],
            json!({"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 6, 5]})
        );
    }

    #[test]
    fn resource_lines_in_yaml_and_json() {
        let yaml = "AWSTemplateFormatVersion: x\nResources:\n  Web:\n    Type: AWS::EC2::Instance\n  Db:\n    Type: AWS::RDS::DBInstance\n";
        let v = json!({"Resources": {"Web": {}, "Db": {}}});
        let lines = resource_lines(yaml, 1, &v);
        assert_eq!(lines.get("Web"), Some(&3));
        assert_eq!(lines.get("Db"), Some(&5));
        let json_text = "{\n  \"Resources\": {\n    \"Web\": {\n      \"Type\": \"AWS::EC2::Instance\"\n    },\n    \"Db\": {}\n  }\n}\n";
        let lines = resource_lines(json_text, 1, &v);
        assert_eq!(lines.get("Web"), Some(&3));
        assert_eq!(lines.get("Db"), Some(&6));
    }
}
