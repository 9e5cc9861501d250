//! Dockerfile to conftest's shape: a list of `{Cmd, Flags, Value, Stage, JSON, Original}`
//! instructions, `Cmd` lowercased, as the buildkit parser that conftest uses produces them.

use serde_json::{Value, json};

/// Parses a Dockerfile. Unknown syntax is kept as an instruction, so nothing here can fail.
pub fn parse(text: &str) -> Value {
    let mut out = Vec::new();
    let mut stage: i64 = -1;
    let mut pending = String::new();
    let mut start_line = 0u32;
    let mut escape = '\\';
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if pending.is_empty() {
            let t = line.trim_start();
            if let Some(directive) = t.strip_prefix("# escape=") {
                escape = directive.trim().chars().next().unwrap_or('\\');
            }
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            start_line = i as u32 + 1;
        } else if line.trim_start().starts_with('#') {
            // Comments inside a continued instruction are dropped, as Docker does.
            continue;
        }
        if let Some(stripped) = line.strip_suffix(escape) {
            pending.push_str(stripped);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let instruction = std::mem::take(&mut pending);
        if let Some(v) = instruction_json(instruction.trim(), &mut stage, start_line) {
            out.push(v);
        }
    }
    if !pending.trim().is_empty()
        && let Some(v) = instruction_json(pending.trim(), &mut stage, start_line)
    {
        out.push(v);
    }
    Value::Array(out)
}

fn instruction_json(text: &str, stage: &mut i64, line: u32) -> Option<Value> {
    let (cmd, rest) = match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim_start()),
        None => (text, ""),
    };
    if cmd.is_empty() {
        return None;
    }
    let cmd = cmd.to_ascii_lowercase();
    if cmd == "from" {
        *stage += 1;
    }
    let (flags, rest) = split_flags(rest);
    let (value, is_json) = if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(rest)
        && matches!(
            cmd.as_str(),
            "run" | "cmd" | "entrypoint" | "shell" | "volume" | "copy" | "add"
        )
        && items.iter().all(Value::is_string)
    {
        (items, true)
    } else {
        let parts: Vec<Value> = match cmd.as_str() {
            "run" | "cmd" | "entrypoint" | "shell" | "maintainer" | "healthcheck" => {
                vec![Value::String(rest.to_string())]
            }
            "env" | "label" | "arg" => name_values(rest),
            _ => rest
                .split_whitespace()
                .map(|s| Value::String(s.to_string()))
                .collect(),
        };
        (parts, false)
    };
    Some(json!({
        "Cmd": cmd,
        "Flags": flags,
        "Value": value,
        "Stage": (*stage).max(0),
        "SubCmd": "",
        "JSON": is_json,
        "Original": text,
        "Line": line,
    }))
}

/// Leading `--flag=value` words (e.g. `COPY --from=build`).
fn split_flags(rest: &str) -> (Vec<Value>, &str) {
    let mut flags = Vec::new();
    let mut rest = rest;
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(Value::String(rest[..end].to_string()));
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

/// `ENV a=1 b="x y"` or `ENV a 1` -> `["a", "1", "b", "x y"]`.
fn name_values(rest: &str) -> Vec<Value> {
    let words = shell_words(rest);
    if !words.is_empty() && !words[0].contains('=') {
        let mut it = rest.splitn(2, char::is_whitespace);
        let name = it.next().unwrap_or("").to_string();
        let value = it.next().unwrap_or("").trim().to_string();
        return vec![Value::String(name), Value::String(value)];
    }
    words
        .into_iter()
        .flat_map(|w| {
            let (k, v) = w.split_once('=').unwrap_or((w.as_str(), ""));
            [Value::String(k.to_string()), Value::String(v.to_string())]
        })
        .collect()
}

fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conftest_shape() {
        let v = parse(
            "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nRUN go build \\\n  -o /app\nFROM alpine\nCOPY --from=build /app /app\nENV A=1 B=\"two words\"\nUSER root\nCMD [\"/app\"]\n",
        );
        let items = v.as_array().unwrap();
        assert_eq!(items.len(), 7);
        assert_eq!(items[0]["Cmd"], "from");
        assert_eq!(items[0]["Value"], json!(["golang:1.22", "AS", "build"]));
        assert_eq!(items[1]["Value"], json!(["go build    -o /app"]));
        assert_eq!(items[1]["Line"], 3);
        assert_eq!(items[2]["Stage"], 1);
        assert_eq!(items[3]["Flags"], json!(["--from=build"]));
        assert_eq!(items[4]["Value"], json!(["A", "1", "B", "two words"]));
        assert_eq!(items[5]["Value"], json!(["root"]));
        assert_eq!(items[6]["JSON"], true);
        assert_eq!(items[6]["Value"], json!(["/app"]));
    }
}
