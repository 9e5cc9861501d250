//! `thoth-bot verify`: runs the `test_*` rules of `*_test.rego` files, the `opa test` /
//! `conftest verify` convention. A test passes when its rule evaluates to `true`.

use std::fmt::Write as _;

use super::policy::{LoadOptions, PolicySet, PolicySource};
use crate::finding::Finding;

/// The outcome of one test rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// `data.thoth.s3_test`
    pub package: String,
    pub name: String,
    pub file: String,
    pub passed: bool,
    /// Evaluation error, when the rule did not merely evaluate to false/undefined.
    pub error: Option<String>,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Policies or data that could not be loaded (fail closed: exit 2).
    pub load_errors: Vec<Finding>,
    pub results: Vec<TestResult>,
}

impl VerifyReport {
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| !r.passed).count()
    }

    /// 0 all passed, 1 a test failed, 2 the policies could not be loaded.
    pub fn exit_code(&self) -> i32 {
        if !self.load_errors.is_empty() {
            2
        } else if self.failed() > 0 {
            1
        } else {
            0
        }
    }

    /// Human-readable listing: one line per test, then a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.load_errors {
            let loc = match (&e.file, e.line) {
                (Some(f), Some(l)) => format!("{f}:{l}: "),
                (Some(f), None) => format!("{f}: "),
                _ => String::new(),
            };
            let _ = writeln!(out, "ERROR {loc}{}", e.message);
        }
        for r in &self.results {
            let status = if r.passed { "PASS" } else { "FAIL" };
            let pkg = r.package.strip_prefix("data.").unwrap_or(&r.package);
            let _ = write!(out, "{status} {}: {pkg}.{}", r.file, r.name);
            if let Some(e) = &r.error {
                let first = e
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("");
                let _ = write!(out, " ({first})");
            }
            out.push('\n');
        }
        let passed = self.results.len() - self.failed();
        let _ = writeln!(
            out,
            "{passed}/{} tests passed{}",
            self.results.len(),
            if self.load_errors.is_empty() {
                String::new()
            } else {
                format!(", {} policy errors", self.load_errors.len())
            }
        );
        out
    }
}

/// Loads the sources with their tests and runs every test rule.
pub fn verify(sources: &[PolicySource]) -> VerifyReport {
    let set = PolicySet::load(
        sources,
        LoadOptions {
            include_tests: true,
            ..Default::default()
        },
    );
    let mut report = VerifyReport {
        load_errors: set.errors.clone(),
        results: Vec::new(),
    };
    if !set.errors.is_empty() {
        return report;
    }
    let mut engine = set.engine.clone();
    engine.set_input(regorus::Value::new_object());
    for (package, name, file) in &set.tests {
        let (passed, error) = match engine.eval_rule(format!("{package}.{name}")) {
            Ok(v) => (v == regorus::Value::Bool(true), None),
            Err(e) => (false, Some(e.to_string())),
        };
        report.results.push(TestResult {
            package: package.clone(),
            name: name.clone(),
            file: file.clone(),
            passed,
            error,
        });
    }
    report
}
