//! Loading policy sets: Rego sources (v0 or v1, detected per file), data files, and the rule
//! names conftest would evaluate (`deny`, `violation`, `warn`, suffixed forms, `exception`).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regorus::Engine;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::Value as Json;

use super::conftest_builtins::{self, ConfigAccess};
pub use super::data::merge_config;
use super::data::{data_error, is_config_file, parse_data};
use crate::finding::{Finding, Gate, Level, Severity};
use crate::workspace::{Limits, Workspace};

/// Wall-clock budget of one rule evaluation against one input document.
pub const DEFAULT_EVAL_LIMIT: Duration = Duration::from_secs(2);

/// A Rego file as loaded: where it came from and which package it declares.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// Display path (`policy/s3.rego`, `<org>/shared/policy/x.rego`, `builtin:terraform/s3.rego`).
    pub path: String,
    pub package: String,
    pub source: String,
}

/// The rules of one package that the gate evaluates.
#[derive(Debug, Clone, Default)]
pub struct PackageRules {
    /// `data.thoth.s3`
    pub package: String,
    /// Rule names (`deny`, `deny_public_acl`, `warn`, `violation_x`).
    pub rules: Vec<String>,
    /// Whether the package defines conftest `exception` rules.
    pub has_exception: bool,
    /// The first file declaring the package (for error messages).
    pub file: String,
}

impl PackageRules {
    /// A query for this package's reported rules only, in `rules` order then `exception`:
    /// an array of `{x | x := data.pkg.rule}`. A whole-package query would also evaluate
    /// every helper rule, and the comprehension turns an undefined complete rule into `[]`
    /// instead of making the whole array undefined.
    pub fn rules_query(&self) -> String {
        let names = self
            .rules
            .iter()
            .map(String::as_str)
            .chain(self.has_exception.then_some("exception"));
        let items: Vec<String> = names
            .enumerate()
            .map(|(i, r)| format!("{{thoth_r{i} | thoth_r{i} := {}.{r}}}", self.package))
            .collect();
        // One item per line: the engine's parser refuses lines longer than its column limit,
        // and a long one-line query failed on every document (the gate then fell back to one
        // query per package, several times slower).
        format!("[{}]", items.join(",\n"))
    }
}

/// One place policies come from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// A directory on disk; `label` prefixes paths in messages.
    Dir { path: PathBuf, label: String },
    /// In-memory files (the built-in library): `(path, contents)`.
    Embedded(Vec<(String, String)>),
    /// A directory whose data files (JSON, YAML) are loaded and whose Rego files are not
    /// (`verify --data`).
    Data { path: PathBuf, label: String },
}

/// Policies and data loaded into one engine, ready to evaluate.
#[derive(Clone)]
pub struct PolicySet {
    pub(crate) engine: Engine,
    pub packages: Vec<PackageRules>,
    pub files: Vec<PolicyFile>,
    /// Broken policies and data: each is an error finding (the gate fails closed).
    pub errors: Vec<Finding>,
    /// Policies that load but can never report anything (see [`ignored_packages`]).
    pub warnings: Vec<Finding>,
    /// `test_*` rules found in `*_test.rego` files (loaded only for `verify`).
    pub tests: Vec<(String, String, String)>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("packages", &self.packages)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Also load `*_test.rego` files and collect `test_*` rules (for `verify`).
    pub include_tests: bool,
    /// Evaluation wall-clock limit per rule and input (default [`DEFAULT_EVAL_LIMIT`]).
    pub eval_limit: Option<Duration>,
    /// What conftest's `parse_config*` builtins may read; with no base, the first policy
    /// directory among the sources.
    pub config: ConfigAccess,
}

/// A rule head at the start of a line: `deny`, `warn_x`, `violation[...]`, `exception ...`.
pub(crate) fn rule_heads(source: &str) -> (Vec<String>, bool) {
    let mut rules = Vec::new();
    let mut exception = false;
    for line in source.lines() {
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let rest = line[name.len()..].trim_start();
        // A rule head continues with `[`, `contains`, `if`, `{`, `=`, `:=`; anything else
        // (e.g. `import`, a package line) is not a rule.
        let is_head = rest.starts_with('[')
            || rest.starts_with('{')
            || rest.starts_with('=')
            || rest.starts_with(":=")
            || rest.starts_with("contains ")
            || rest.starts_with("if ")
            || rest.starts_with("if{");
        if !is_head {
            continue;
        }
        if name == "exception" {
            exception = true;
        } else if is_gate_rule(&name) && !rules.contains(&name) {
            rules.push(name);
        }
    }
    (rules, exception)
}

/// conftest's rule naming: `deny`, `violation`, `warn`, optionally `_suffix`.
pub fn is_gate_rule(name: &str) -> bool {
    ["deny", "violation", "warn"].iter().any(|p| {
        name == *p
            || name
                .strip_prefix(p)
                .is_some_and(|r| r.starts_with('_') && r.len() > 1)
    })
}

fn test_heads(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Whether a file reads as Rego v1 (used to pick which parse error to report).
fn looks_v1(source: &str) -> bool {
    source.contains("import rego.v1")
        || source
            .lines()
            .any(|l| !l.starts_with('#') && (l.contains(" if {") || l.contains(" contains ")))
}

impl PolicySet {
    /// Loads every source into one engine. Never fails: problems become error findings.
    pub fn load(sources: &[PolicySource], opts: LoadOptions) -> PolicySet {
        let mut engine = Engine::new();
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: opts.eval_limit.unwrap_or(DEFAULT_EVAL_LIMIT),
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });
        let mut config = opts.config.clone();
        if config.base.is_none() {
            config.base = sources.iter().find_map(|s| match s {
                PolicySource::Dir { path, .. } => Some(path.clone()),
                _ => None,
            });
        }
        let registered = conftest_builtins::register(&mut engine, config);
        let mut set = PolicySet {
            engine,
            packages: Vec::new(),
            files: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            tests: Vec::new(),
        };
        if let Err(e) = registered {
            set.errors.push(Finding::error(
                Gate::Rego,
                "policy-error",
                format!("conftest builtins: {e}"),
            ));
        }
        let mut packages: BTreeMap<String, PackageRules> = BTreeMap::new();
        let mut user_files = Vec::new();
        // `config.yaml` / `config.json` of every source, merged in source order.
        let mut config = Json::Null;
        for source in sources {
            let user = matches!(source, PolicySource::Dir { .. });
            let before = set.files.len();
            for (path, text) in set.read_source(source, opts.include_tests) {
                if is_config_file(&path) {
                    match parse_data(&path, &text) {
                        Ok(v) => merge_config(&mut config, v),
                        Err(msg) => set.errors.push(data_error(&path, &msg)),
                    }
                    continue;
                }
                set.add_file(path, text, opts.include_tests, &mut packages);
            }
            if user {
                user_files.extend(set.files[before..].iter().cloned());
            }
        }
        if !config.is_null()
            && let Err(e) = set.engine.add_data(regorus::Value::from(
                serde_json::json!({ "config": config }),
            ))
        {
            set.errors.push(Finding::error(
                Gate::Rego,
                "policy-data-error",
                format!("config.yaml / config.json cannot be loaded as data.config: {e}"),
            ));
        }
        set.packages = packages.into_values().collect();
        set.warnings = ignored_packages(&user_files, &set.files, &set.packages);
        set
    }

    fn read_source(&mut self, source: &PolicySource, tests: bool) -> Vec<(String, String)> {
        match source {
            PolicySource::Embedded(files) => files.clone(),
            PolicySource::Dir { path, label } | PolicySource::Data { path, label } => {
                let data_only = matches!(source, PolicySource::Data { .. });
                let ws = match Workspace::open_with(path, &[".git".into()], Limits::default()) {
                    Ok(ws) => ws,
                    Err(e) => {
                        self.errors
                            .push(Finding::error(Gate::Rego, "policy-error", e.to_string()));
                        return Vec::new();
                    }
                };
                for esc in ws.escapes() {
                    self.errors.push(Finding::error(
                        Gate::Rego,
                        "policy-error",
                        format!(
                            "{label}/{}: symlink points outside the policy directory ({}); not read",
                            esc.path, esc.target
                        ),
                    ));
                }
                let mut out = Vec::new();
                for f in ws.files() {
                    let rego = f.rel.to_ascii_lowercase().ends_with(".rego");
                    if !is_policy_or_data(&f.rel) || (data_only && rego) {
                        continue;
                    }
                    let shown = join_label(label, &f.rel);
                    match ws.read_to_string(&f.rel) {
                        Ok(text) => out.push((f.rel.clone(), shown, text)),
                        Err(e) => self.errors.push(
                            Finding::error(Gate::Rego, "policy-error", e.to_string())
                                .at(shown, None),
                        ),
                    }
                }
                // conftest keeps test fixtures beside the tests: a file a test names is parsed by
                // the test (`parse_config_file`), not loaded as data.
                let fixtures = if tests && !data_only {
                    conftest_builtins::files_named_by_tests(&out)
                } else {
                    Default::default()
                };
                out.into_iter()
                    .filter(|(rel, _, _)| !fixtures.contains(rel))
                    .map(|(_, shown, text)| (shown, text))
                    .collect()
            }
        }
    }

    fn add_file(
        &mut self,
        path: String,
        text: String,
        include_tests: bool,
        packages: &mut BTreeMap<String, PackageRules>,
    ) {
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        if name.ends_with(".rego") {
            let is_test = name.ends_with("_test.rego");
            if is_test && !include_tests {
                return;
            }
            match self.add_rego(&path, &text) {
                Ok(package) => {
                    if is_test {
                        for t in test_heads(&text) {
                            self.tests.push((package.clone(), t, path.clone()));
                        }
                    } else {
                        let (rules, exception) = rule_heads(&text);
                        let entry =
                            packages
                                .entry(package.clone())
                                .or_insert_with(|| PackageRules {
                                    package: package.clone(),
                                    file: path.clone(),
                                    ..Default::default()
                                });
                        for r in rules {
                            if !entry.rules.contains(&r) {
                                entry.rules.push(r);
                            }
                        }
                        entry.has_exception |= exception;
                    }
                    self.files.push(PolicyFile {
                        path,
                        package,
                        source: text,
                    });
                }
                Err(f) => self.errors.push(*f),
            }
        } else if let Err(msg) = self.add_data(&name, &text) {
            self.errors.push(data_error(&path, &msg));
        }
    }

    /// Adds a Rego file, trying v1 then v0 syntax; returns its package (`data.x.y`).
    fn add_rego(&mut self, path: &str, text: &str) -> Result<String, Box<Finding>> {
        self.engine.set_rego_v0(false);
        let v1 = self.engine.add_policy(path.to_string(), text.to_string());
        let err_v1 = match v1 {
            Ok(pkg) => return Ok(pkg),
            Err(e) => e,
        };
        self.engine.set_rego_v0(true);
        let v0 = self.engine.add_policy(path.to_string(), text.to_string());
        self.engine.set_rego_v0(false);
        let err = match v0 {
            Ok(pkg) => return Ok(pkg),
            Err(_) if looks_v1(text) => err_v1,
            Err(e) => e,
        };
        let msg = err.to_string();
        let line = error_line(&msg, path);
        Err(Box::new(
            Finding::error(
                Gate::Rego,
                "policy-error",
                format!("broken policy {path}: {}", first_lines(&msg, 6)),
            )
            .at(path, line),
        ))
    }

    fn add_data(&mut self, name: &str, text: &str) -> Result<(), String> {
        let json = parse_data(name, text)?;
        self.engine
            .add_data(regorus::Value::from(json))
            .map_err(|e| e.to_string())
    }

    /// The first file that declares `package`, for messages.
    pub fn file_of(&self, package: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.package == package)
            .map(|f| f.path.as_str())
    }

    /// One query evaluating every package's reported rules: an array with one
    /// [`PackageRules::rules_query`] value per package (index = position in `packages`).
    pub fn all_rules_query(&self) -> String {
        let items: Vec<String> = self.packages.iter().map(|p| p.rules_query()).collect();
        format!("[{}]", items.join(",\n"))
    }

    /// Whether any policy was loaded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A package of the user's policy directories that defines no `deny`, `violation` or `warn`
/// rule (under any suffix) and that no other policy refers to (`data.<package>`) can never
/// report anything: a warning says it was ignored, so a misnamed rule is not a silent pass.
fn ignored_packages(
    user: &[PolicyFile],
    all: &[PolicyFile],
    packages: &[PackageRules],
) -> Vec<Finding> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for f in user {
        if !seen.insert(f.package.as_str()) {
            continue;
        }
        let reports = packages
            .iter()
            .any(|p| p.package == f.package && !p.rules.is_empty());
        // `import data.x` and `data.x.rule` both name it; a text search is enough for a warning.
        let used = all
            .iter()
            .any(|o| o.package != f.package && o.source.contains(f.package.as_str()));
        if !reports && !used {
            out.push(
                Finding::new(
                    Gate::Rego,
                    "policy-ignored",
                    Level::Warning,
                    Severity::Low,
                    format!(
                        "{}: package {} defines no deny, violation or warn rule and no other policy uses it, so it was ignored",
                        f.path,
                        f.package.trim_start_matches("data.")
                    ),
                )
                .at(f.path.clone(), None),
            );
        }
    }
    out
}

fn is_policy_or_data(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    lower.ends_with(".rego")
        || lower.ends_with(".json")
        || lower.ends_with(".yaml")
        || lower.ends_with(".yml")
}

fn join_label(label: &str, rel: &str) -> String {
    if label.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", label.trim_end_matches('/'))
    }
}

fn first_lines(msg: &str, n: usize) -> String {
    msg.lines().take(n).collect::<Vec<_>>().join("\n")
}

/// Finds `path:LINE:COL` in a regorus error message.
pub fn error_line(msg: &str, path: &str) -> Option<u32> {
    let idx = msg.find(&format!("{path}:"))?;
    let rest = &msg[idx + path.len() + 1..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Built-in policy library compiled into the binary (the repository's `policy/`).
pub fn builtin_library() -> PolicySource {
    PolicySource::Embedded(
        crate::builtin::POLICY_FILES
            .iter()
            .map(|(p, s)| (format!("builtin:{p}"), s.to_string()))
            .collect(),
    )
}

/// A directory source labelled by its path as given.
pub fn dir_source(path: &Path) -> PolicySource {
    PolicySource::Dir {
        path: path.to_path_buf(),
        label: path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_that_can_never_report_is_a_warning_unless_another_uses_it() {
        let src = |files: &[(&str, &str)]| {
            PolicySource::Embedded(
                files
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.rego"),
            "package main\nimport rego.v1\nimport data.lib\ndeny contains \"a\" if { lib.yes }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("lib.rego"),
            "package lib\nimport rego.v1\nyes := true\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("typo.rego"),
            "package typo\nimport rego.v1\ndenny contains \"x\" if { true }\n",
        )
        .unwrap();
        let set = PolicySet::load(
            &[
                dir_source(dir.path()),
                src(&[("b.rego", "package unused_builtin\nx := 1\n")]),
            ],
            LoadOptions::default(),
        );
        assert!(set.errors.is_empty(), "{:?}", set.errors);
        let warned: Vec<&str> = set.warnings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].contains("package typo defines no deny"),
            "{warned:?}"
        );
        assert_eq!(set.warnings[0].level, crate::finding::Level::Warning);
    }

    #[test]
    fn finds_conftest_rule_heads() {
        let src = "package main\nimport rego.v1\ndeny contains msg if { true }\ndeny_public[msg] {\n}\nwarn_x := 1\ndenyall contains 1 if { true }\nexception contains r if { r := [\"x\"] }\ndeny contains 2 if { true }\n";
        let (rules, exc) = rule_heads(src);
        assert_eq!(rules, ["deny", "deny_public", "warn_x"]);
        assert!(exc);
    }

    #[test]
    fn v0_and_v1_in_one_set() {
        let set = PolicySet::load(
            &[PolicySource::Embedded(vec![
                (
                    "a.rego".into(),
                    "package a\nimport rego.v1\ndeny contains \"x\" if { input.a }\n".into(),
                ),
                (
                    "b.rego".into(),
                    "package b\ndeny[msg] { input.b; msg := \"y\" }\n".into(),
                ),
            ])],
            LoadOptions::default(),
        );
        assert!(set.errors.is_empty(), "{:?}", set.errors);
        assert_eq!(set.packages.len(), 2);
    }

    #[test]
    fn broken_policy_names_file_and_line() {
        let set = PolicySet::load(
            &[PolicySource::Embedded(vec![(
                "p/broken.rego".into(),
                "package a\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n".into(),
            )])],
            LoadOptions::default(),
        );
        assert_eq!(set.errors.len(), 1);
        let e = &set.errors[0];
        assert_eq!(e.file.as_deref(), Some("p/broken.rego"));
        assert!(e.line.is_some(), "{e:?}");
        assert!(e.message.contains("p/broken.rego"), "{}", e.message);
    }
}
