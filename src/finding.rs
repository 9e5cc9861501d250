//! The findings model shared by every gate, the reports and (later) the decision engine.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which gate produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// `.thothcf.toml` `[project_structure]`.
    Structure,
    /// Rego policies (conftest semantics).
    Rego,
    /// `.driftpolicy` over drift reports.
    Drift,
}

impl Gate {
    /// All gates in evaluation order.
    pub const ALL: [Gate; 3] = [Gate::Structure, Gate::Rego, Gate::Drift];

    /// The lowercase name used on the CLI and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Structure => "structure",
            Gate::Rego => "rego",
            Gate::Drift => "drift",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Gate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "structure" => Ok(Gate::Structure),
            "rego" => Ok(Gate::Rego),
            "drift" => Ok(Gate::Drift),
            other => Err(format!(
                "unknown gate `{other}` (expected structure, rego or drift)"
            )),
        }
    }
}

/// How bad a finding is. Ordered from most to least severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    #[default]
    Medium,
    Low,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Parses a severity leniently (case-insensitive, common synonyms); `None` when unknown.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" => Some(Severity::Critical),
            "high" | "error" => Some(Severity::High),
            "medium" | "moderate" | "warning" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "info" | "informational" | "note" | "none" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding does to its gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The gate could not run (bad policy, bad config, evaluation limit): fails closed.
    Error,
    /// A rule was violated: the gate fails.
    Failure,
    /// Reported, does not fail the gate.
    Warning,
    /// Informational only.
    Info,
}

impl Level {
    /// Whether a finding at this level fails its gate.
    pub fn is_blocking(self) -> bool {
        matches!(self, Level::Error | Level::Failure)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Failure => "failure",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a gate found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub gate: Gate,
    /// Stable rule identifier (policy metadata `id`, or `package.rule`, or a built-in id).
    pub rule_id: String,
    pub level: Level,
    pub severity: Severity,
    pub message: String,
    /// Path relative to the project root, `/`-separated.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// Resource address the finding is about (`aws_s3_bucket.logs`).
    pub resource: Option<String>,
    /// Blocking pattern (`hardcoded_secrets`, `public_s3_buckets`, ...), used by the decision engine.
    pub pattern: Option<String>,
    /// Controls of the selected compliance frameworks the rule maps to (`SOC2 CC6.1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// The project (folder with a `.thothcf.toml`, `.` for the root) of a repository that
    /// holds several; `None` when it holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl Finding {
    /// A finding with no location; fill the rest with the builder methods.
    pub fn new(
        gate: Gate,
        rule_id: impl Into<String>,
        level: Level,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            gate,
            rule_id: rule_id.into(),
            level,
            severity,
            message: message.into(),
            file: None,
            line: None,
            resource: None,
            pattern: None,
            controls: Vec::new(),
            project: None,
        }
    }

    /// A gate-could-not-run finding: fails closed.
    pub fn error(gate: Gate, rule_id: impl Into<String>, message: impl Into<String>) -> Self {
        Finding::new(gate, rule_id, Level::Error, Severity::High, message)
    }

    pub fn at(mut self, file: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn with_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }
}

/// What one gate reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub gate: Gate,
    /// False when any finding is an error or a failure.
    pub passed: bool,
    /// How many items the gate looked at (rules, files, resources: gate-specific).
    pub checked: usize,
    pub findings: Vec<Finding>,
    /// Rego packages (namespaces) that were evaluated, for the Rego gate; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The policy sets that ran, with their rule counts (`built-in (34 rules)`,
    /// `org layer=networking (2 rules)`), for the Rego gate; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_sets: Vec<String>,
    /// The config files the gate read, as the summary names them (`.thothcf.toml`,
    /// `org shared/.driftpolicy`): where each setting came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_files: Vec<String>,
}

impl GateReport {
    /// Builds a report; `passed` is derived from the findings so it cannot disagree with them.
    pub fn new(gate: Gate, checked: usize, findings: Vec<Finding>) -> Self {
        let passed = !findings.iter().any(|f| f.level.is_blocking());
        GateReport {
            gate,
            passed,
            checked,
            findings,
            namespaces: Vec::new(),
            policy_sets: Vec::new(),
            config_files: Vec::new(),
        }
    }

    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}

/// The result of running the gates over one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub passed: bool,
    pub gates: Vec<GateReport>,
    /// The projects of a repository that holds several (`.` is the root), in walk order;
    /// empty for one project. Findings name theirs in [`Finding::project`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
}

impl CheckReport {
    pub fn new(gates: Vec<GateReport>) -> Self {
        let passed = gates.iter().all(|g| g.passed);
        CheckReport {
            passed,
            gates,
            projects: Vec::new(),
        }
    }

    /// The part of a several-project report that belongs to `project`, as its own report.
    pub fn of_project(&self, project: &str) -> CheckReport {
        let gates = self
            .gates
            .iter()
            .map(|g| {
                let findings = g
                    .findings
                    .iter()
                    .filter(|f| f.project.as_deref() == Some(project))
                    .cloned()
                    .collect();
                GateReport::new(g.gate, g.checked, findings)
            })
            .collect();
        CheckReport::new(gates)
    }

    /// Every finding of every gate, in gate order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.gates.iter().flat_map(|g| g.findings.iter())
    }

    /// CLI exit code: 0 passed, 1 a gate failed, 2 a gate could not run.
    pub fn exit_code(&self) -> i32 {
        if self.findings().any(|f| f.level == Level::Error) {
            2
        } else if self.passed {
            0
        } else {
            1
        }
    }
}
