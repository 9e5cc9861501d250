//! Helpers for the CLI integration tests: build small projects in temp dirs and run the binary.

#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Writes `files` (relative path, contents) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

/// Runs `thoth-bot ARGS`, returning (exit code, stdout, stderr).
pub fn thoth(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_thoth-bot"))
        .args(args)
        .output()
        .expect("run thoth-bot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `thoth-bot check DIR --format json EXTRA...` and parses the document.
pub fn check_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["check", d, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = thoth(&args);
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v)
}

/// `(rule_id, level, file, line)` of every finding of a gate, sorted.
pub fn findings(v: &Value, gate: &str) -> Vec<(String, String, Option<String>, Option<u64>)> {
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["gate"] == gate)
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["level"].as_str().unwrap().to_string(),
                f["file"].as_str().map(String::from),
                f["line"].as_u64(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn gate_passed(v: &Value, gate: &str) -> bool {
    v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == gate)
        .unwrap_or_else(|| panic!("gate {gate} missing in {v}"))["passed"]
        .as_bool()
        .unwrap()
}

/// Path of a test-data file in this repository.
pub fn data(rel: &str) -> String {
    format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}
