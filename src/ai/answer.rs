//! The answer the model must give (documented in docs/ai-review.md), and its validation. A
//! model's output is untrusted input: every list and string is bounded, every number checked.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::finding::Severity;

/// The most findings, recommendations and fixes kept from one answer; the rest are dropped.
pub const MAX_ITEMS: usize = 30;
/// Longer strings are cut.
const MAX_TEXT: usize = 2_000;
/// A larger answer is refused before parsing.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The model's review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiAnswer {
    /// 0..=100.
    pub risk_score: u8,
    /// 0..=1.
    pub confidence: f64,
    pub findings: Vec<AiFinding>,
    pub recommendations: Vec<String>,
    pub fixes: Vec<AiFix>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiFinding {
    pub file: String,
    /// 1-based; `None` for a finding about a whole file.
    pub line: Option<u32>,
    pub severity: Severity,
    pub title: String,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiFix {
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
    pub replacement: String,
    pub rule_id: String,
}

/// Parses and validates the text of an answer. The error says what did not match, for the
/// retry prompt and the summary.
pub fn parse(text: &str) -> Result<AiAnswer, String> {
    if text.len() > MAX_ANSWER_BYTES {
        return Err(format!("the answer is over {MAX_ANSWER_BYTES} bytes"));
    }
    let body = strip_code_fence(text.trim());
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("the answer is not a JSON object")?;
    let risk = obj
        .get("risk_score")
        .and_then(Value::as_f64)
        .ok_or("risk_score is missing or not a number")?;
    if !(0.0..=100.0).contains(&risk) {
        return Err(format!("risk_score {risk} is not within 0-100"));
    }
    let confidence = obj
        .get("confidence")
        .and_then(Value::as_f64)
        .ok_or("confidence is missing or not a number")?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(format!("confidence {confidence} is not within 0-1"));
    }
    let list = |key: &str| -> Result<Vec<Value>, String> {
        match obj.get(key) {
            Some(Value::Array(a)) => Ok(a.iter().take(MAX_ITEMS).cloned().collect()),
            Some(_) => Err(format!("{key} is not an array")),
            None => Err(format!("{key} is missing")),
        }
    };
    let findings = list("findings")?
        .iter()
        .enumerate()
        .map(|(i, f)| finding(f).map_err(|e| format!("findings[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let recommendations = list("recommendations")?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.as_str()
                .map(text_of)
                .ok_or_else(|| format!("recommendations[{i}] is not a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fixes = list("fixes")?
        .iter()
        .enumerate()
        .map(|(i, f)| fix(f).map_err(|e| format!("fixes[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AiAnswer {
        risk_score: risk.round() as u8,
        confidence: (confidence * 100.0).round() / 100.0,
        findings,
        recommendations,
        fixes,
    })
}

/// Models often wrap JSON in a markdown fence despite being told not to.
fn strip_code_fence(s: &str) -> &str {
    let Some(rest) = s.strip_prefix("```") else {
        return s;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

fn text_of(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(text_of)
        .ok_or_else(|| format!("{key} is missing or not a string"))
}

fn line(v: &Value, key: &str) -> Result<Option<u32>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=10_000_000).contains(n))
            .map(|n| Some(n as u32))
            .ok_or_else(|| format!("{key} is not a line number")),
    }
}

fn finding(v: &Value) -> Result<AiFinding, String> {
    let severity = v
        .get("severity")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase())
        .and_then(|s| serde_json::from_value(Value::String(s)).ok())
        .ok_or("severity must be critical, high, medium, low or info")?;
    Ok(AiFinding {
        file: string(v, "file")?,
        line: line(v, "line")?,
        severity,
        title: string(v, "title")?,
        explanation: string(v, "explanation")?,
    })
}

fn fix(v: &Value) -> Result<AiFix, String> {
    let start = line(v, "start_line")?.ok_or("start_line is missing")?;
    let end = line(v, "end_line")?.ok_or("end_line is missing")?;
    if end < start {
        return Err("end_line is before start_line".into());
    }
    Ok(AiFix {
        file: string(v, "file")?,
        start_line: start,
        end_line: end,
        replacement: v
            .get("replacement")
            .and_then(Value::as_str)
            .ok_or("replacement is missing or not a string")?
            .chars()
            .take(20_000)
            .collect(),
        rule_id: string(v, "rule_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"risk_score": 42, "confidence": 0.8,
        "findings": [{"file": "main.tf", "line": 3, "severity": "High", "title": "t", "explanation": "e"}],
        "recommendations": ["r"],
        "fixes": [{"file": "main.tf", "start_line": 3, "end_line": 4, "replacement": "x", "rule_id": "R"}]}"#;

    #[test]
    fn a_matching_answer_parses_even_in_a_fence() {
        let a = parse(GOOD).unwrap();
        assert_eq!(a.risk_score, 42);
        assert_eq!(a.findings[0].severity, Severity::High);
        assert_eq!(a.fixes[0].end_line, 4);
        assert_eq!(parse(&format!("```json\n{GOOD}\n```")).unwrap(), a);
    }

    #[test]
    fn mismatches_say_what_is_wrong() {
        for (text, what) in [
            ("approve", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"risk_score": 101, "confidence": 1}"#, "0-100"),
            (r#"{"risk_score": 1, "confidence": 2}"#, "0-1"),
            (
                r#"{"risk_score": 1, "confidence": 1, "findings": []}"#,
                "recommendations is missing",
            ),
            (
                r#"{"risk_score": 1, "confidence": 1, "findings": [{"file": "a", "severity": "bad", "title": "t", "explanation": "e"}], "recommendations": [], "fixes": []}"#,
                "findings[0]: severity",
            ),
            (
                r#"{"risk_score": 1, "confidence": 1, "findings": [], "recommendations": [], "fixes": [{"file": "a", "start_line": 5, "end_line": 2, "replacement": "", "rule_id": "r"}]}"#,
                "fixes[0]: end_line",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn lists_and_texts_are_bounded() {
        let many: Vec<String> = (0..40).map(|_| "x".repeat(3_000)).collect();
        let text = serde_json::json!({"risk_score": 0, "confidence": 0, "findings": [],
            "recommendations": many, "fixes": []})
        .to_string();
        let a = parse(&text).unwrap();
        assert_eq!(a.recommendations.len(), MAX_ITEMS);
        assert_eq!(a.recommendations[0].len(), MAX_TEXT);
    }
}
