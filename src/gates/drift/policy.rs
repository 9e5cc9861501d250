//! `.driftpolicy` (YAML): which plan files are drift reports, the coverage threshold, and the
//! ordered rules that decide what each drifted resource does to the gate.
//!
//! Parsing fails closed: an unknown key, action or severity, a bad glob or an out-of-range
//! threshold is an error that names the file, the rule index and the field. All globs are
//! compiled here, once, so evaluating a plan never re-parses a pattern.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_yaml::Value;
use thiserror::Error;

use crate::finding::Severity;
use crate::workspace::{WorkspaceError, read_bounded};

/// The policy file's name, at the config directory's root.
pub const POLICY_FILE: &str = ".driftpolicy";
/// Plan files treated as drift reports when the policy does not list its own.
pub const DEFAULT_REPORTS: [&str; 3] = ["**/*.tfplan.json", "**/tfplan.json", "**/drift*.json"];
/// A policy file larger than this is refused rather than parsed.
const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// What a matching rule does with a drifted resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DriftAction {
    /// A `failure` finding: the gate fails.
    BlockDeploy,
    /// A `warning` finding (also what happens when no rule matches).
    #[default]
    Alert,
    /// No finding; counted as accepted, not as drift.
    AutoAccept,
    /// Removed from the report: no finding, not counted as a resource at all.
    Ignore,
}

impl DriftAction {
    /// The spelling used in `.driftpolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftAction::BlockDeploy => "block_deploy",
            DriftAction::Alert => "alert",
            DriftAction::AutoAccept => "auto_accept",
            DriftAction::Ignore => "ignore",
        }
    }

    /// Parses the `.driftpolicy` spelling exactly; `None` for anything else.
    pub fn parse(s: &str) -> Option<DriftAction> {
        [
            DriftAction::BlockDeploy,
            DriftAction::Alert,
            DriftAction::AutoAccept,
            DriftAction::Ignore,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// One `rules:` entry. The first rule whose globs match a drifted resource decides its fate.
#[derive(Debug, Clone)]
pub struct DriftRule {
    /// Glob over the resource address; unless it starts with `module.` it also matches the
    /// address inside modules (`aws_security_group.*` matches `module.net.aws_security_group.w`).
    pub resource: String,
    /// Optional glob over changed attribute paths (`tags.*`): an accepting rule matches only
    /// when every changed path matches, `alert` / `block_deploy` when any one does.
    pub attribute: Option<String>,
    /// Replaces the severity derived from the resource type.
    pub severity_override: Option<Severity>,
    /// What to do with a matching resource.
    pub action: DriftAction,
    resource_glob: GlobMatcher,
    attribute_glob: Option<GlobMatcher>,
}

impl DriftRule {
    /// Whether this rule applies to a resource with the given changed attribute paths.
    ///
    /// With an `attribute` glob, a rule that accepts drift (`auto_accept`, `ignore`) applies
    /// only when *every* changed path matches (`tags.*`: tag-only drift), while `alert` and
    /// `block_deploy` apply when any one does.
    pub fn matches(&self, address: &str, changed_paths: &[String]) -> bool {
        self.matches_address(address)
            && self.attribute_glob.as_ref().is_none_or(|g| {
                if matches!(self.action, DriftAction::AutoAccept | DriftAction::Ignore) {
                    !changed_paths.is_empty() && changed_paths.iter().all(|p| g.is_match(p))
                } else {
                    changed_paths.iter().any(|p| g.is_match(p))
                }
            })
    }

    /// The resource glob over the full address; a pattern that does not itself start with
    /// `module.` also matches resources inside modules (`aws_security_group.*` matches
    /// `module.net.aws_security_group.web`).
    fn matches_address(&self, address: &str) -> bool {
        if self.resource_glob.is_match(address) {
            return true;
        }
        !self.resource.starts_with("module.")
            && address.starts_with("module.")
            && self.resource_glob.is_match(strip_modules(address))
    }
}

/// The address without its `module.NAME.` prefixes (`NAME` may carry an index such as
/// `["a.b"]` or `[0]`).
fn strip_modules(address: &str) -> &str {
    let mut rest = address;
    while let Some(after) = rest.strip_prefix("module.") {
        let mut depth = 0usize;
        let mut quoted = false;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth = depth.saturating_sub(1),
                '.' if !quoted && depth == 0 => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(i) => rest = &after[i + 1..],
            None => break,
        }
    }
    rest
}

/// A parsed `.driftpolicy`. Build it with [`DriftPolicy::parse`], [`DriftPolicy::load`] or
/// [`Default`] (no threshold, default reports, no rules: every drift alerts), which also compile
/// its globs; the fields are for reading.
#[derive(Debug, Clone)]
pub struct DriftPolicy {
    /// Minimum % of resources without drift; below it the gate fails.
    pub coverage_threshold: Option<f64>,
    /// Globs over relative paths selecting which plan files are drift reports.
    pub reports: Vec<String>,
    /// Rules in file order.
    pub rules: Vec<DriftRule>,
    /// `require_plan: true`: a pull request is not judged finished until a pipeline pushed a
    /// plan for its head (`POST /api/v1/plans/...`); until then the check stays pending and the
    /// summary says "waiting for plan". Read from the base branch like the rest.
    pub require_plan: bool,
    report_set: GlobSet,
}

impl Default for DriftPolicy {
    fn default() -> Self {
        let reports: Vec<String> = DEFAULT_REPORTS.iter().map(|s| s.to_string()).collect();
        // The defaults are constants covered by a test; an empty set would only mean "no reports".
        let report_set = report_globs(&reports, POLICY_FILE).unwrap_or_else(|_| GlobSet::empty());
        DriftPolicy {
            coverage_threshold: None,
            reports,
            rules: Vec::new(),
            require_plan: false,
            report_set,
        }
    }
}

/// Why a `.driftpolicy` could not be used. Every variant names the file; rule errors name the
/// rule index and field as `rules[INDEX].FIELD`.
#[derive(Debug, Error)]
pub enum DriftConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: WorkspaceError,
    },
    #[error("{} is a symlink that points outside {}", path.display(), root.display())]
    Escapes { path: PathBuf, root: PathBuf },
    /// YAML syntax errors and wrong top-level keys or types.
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    /// A key `rules[index]` does not know.
    #[error(
        "{file}: rules[{index}]: unknown key `{key}` (expected resource, attribute, severity_override or action)"
    )]
    UnknownKey {
        file: String,
        index: usize,
        key: String,
    },
    /// A required field is absent.
    #[error("{file}: rules[{index}]: missing required field `{field}`")]
    MissingField {
        file: String,
        index: usize,
        field: &'static str,
    },
    /// A field with a value it cannot take.
    #[error("{file}: {location}: {message}")]
    InvalidValue {
        file: String,
        /// `rules[INDEX].FIELD`, `reports[INDEX]` or `coverage_threshold`.
        location: String,
        message: String,
    },
    #[error("{file}: {location}: invalid glob `{pattern}`: {source}")]
    BadGlob {
        file: String,
        location: String,
        pattern: String,
        source: globset::Error,
    },
}

/// The top level of `.driftpolicy`; rules are checked one by one so errors can name them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    /// % of resources without drift below which the gate fails.
    #[serde(default)]
    coverage_threshold: Option<f64>,
    /// Globs selecting drift report files.
    #[serde(default)]
    reports: Option<Vec<String>>,
    /// Rule mappings, validated by [`parse_rule`].
    #[serde(default)]
    rules: Vec<Value>,
    /// Wait for a pushed plan before judging (see [`DriftPolicy::require_plan`]).
    #[serde(default)]
    require_plan: bool,
}

const RULE_KEYS: [&str; 4] = ["resource", "attribute", "severity_override", "action"];

impl DriftPolicy {
    /// Parses `.driftpolicy` text; `file` names it in errors. An empty file is the default policy.
    pub fn parse(text: &str, file: &str) -> Result<DriftPolicy, DriftConfigError> {
        let raw: Option<RawPolicy> =
            serde_yaml::from_str(text).map_err(|e| DriftConfigError::Yaml {
                file: file.to_string(),
                message: e.to_string(),
            })?;
        // An empty (or comments-only) document is the default policy.
        let Some(raw) = raw else {
            return Ok(DriftPolicy::default());
        };
        if let Some(t) = raw.coverage_threshold
            && !(0.0..=100.0).contains(&t)
        {
            return Err(DriftConfigError::InvalidValue {
                file: file.to_string(),
                location: "coverage_threshold".into(),
                message: format!("{t} is not a percentage between 0 and 100"),
            });
        }
        let reports = raw
            .reports
            .unwrap_or_else(|| DEFAULT_REPORTS.iter().map(|s| s.to_string()).collect());
        let report_set = report_globs(&reports, file)?;
        let rules = raw
            .rules
            .iter()
            .enumerate()
            .map(|(index, value)| parse_rule(value, file, index))
            .collect::<Result<_, _>>()?;
        Ok(DriftPolicy {
            coverage_threshold: raw.coverage_threshold,
            reports,
            rules,
            require_plan: raw.require_plan,
            report_set,
        })
    }

    /// Loads `<config_dir>/.driftpolicy`; `Ok(None)` when there is none. A symlinked policy must
    /// stay inside `config_dir`.
    pub fn load(config_dir: &Path) -> Result<Option<DriftPolicy>, DriftConfigError> {
        let path = config_dir.join(POLICY_FILE);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        if meta.file_type().is_symlink() {
            let inside = match (path.canonicalize(), config_dir.canonicalize()) {
                (Ok(target), Ok(root)) => target.starts_with(root),
                _ => false,
            };
            if !inside {
                return Err(DriftConfigError::Escapes {
                    path,
                    root: config_dir.to_path_buf(),
                });
            }
        }
        let text = read_bounded(&path, POLICY_FILE, MAX_POLICY_BYTES).map_err(|source| {
            DriftConfigError::Read {
                path: path.clone(),
                source,
            }
        })?;
        DriftPolicy::parse(&text, POLICY_FILE).map(Some)
    }

    /// The drift policy of a project: `<config_dir>/.driftpolicy`, else the selected domain's,
    /// else the org's `shared/.driftpolicy` (see [`crate::decision::org_default`]); with the
    /// file it came from (`None`: no file anywhere, the default policy).
    pub fn resolve(
        config_dir: &Path,
        org: Option<&Path>,
        domain: Option<&str>,
    ) -> Result<(DriftPolicy, Option<String>), DriftConfigError> {
        if let Some(p) = DriftPolicy::load(config_dir)? {
            return Ok((p, Some(POLICY_FILE.to_string())));
        }
        for (dir, shown) in crate::decision::org_default::org_folders(org, domain) {
            if let Some(p) = DriftPolicy::load(&dir)? {
                return Ok((p, Some(format!("{shown}{POLICY_FILE}"))));
            }
        }
        Ok((DriftPolicy::default(), None))
    }

    /// Whether a relative, `/`-separated path is a drift report under this policy.
    /// Plans and drift reports pushed to the API are reports whatever the globs say.
    pub fn is_report(&self, rel_path: &str) -> bool {
        crate::inputs::pushed::is_pushed(rel_path) || self.report_set.is_match(rel_path)
    }

    /// The first rule matching a resource and its changed paths.
    pub fn matching_rule(&self, address: &str, changed_paths: &[String]) -> Option<&DriftRule> {
        self.rules
            .iter()
            .find(|r| r.matches(address, changed_paths))
    }
}

/// Report globs are path globs: `*` stops at `/`, `**/` spans folders.
fn report_globs(patterns: &[String], file: &str) -> Result<GlobSet, DriftConfigError> {
    let mut set = GlobSetBuilder::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|source| DriftConfigError::BadGlob {
                file: file.to_string(),
                location: format!("reports[{i}]"),
                pattern: pattern.clone(),
                source,
            })?;
        set.add(glob);
    }
    set.build().map_err(|source| DriftConfigError::BadGlob {
        file: file.to_string(),
        location: "reports".into(),
        pattern: patterns.join(", "),
        source,
    })
}

/// Address and attribute globs: `*` also matches `.` and `/` (tag keys may hold either).
fn value_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(false).build()
}

fn parse_rule(value: &Value, file: &str, index: usize) -> Result<DriftRule, DriftConfigError> {
    let invalid = |field: &str, message: String| DriftConfigError::InvalidValue {
        file: file.to_string(),
        location: format!("rules[{index}].{field}"),
        message,
    };
    let Value::Mapping(map) = value else {
        return Err(DriftConfigError::InvalidValue {
            file: file.to_string(),
            location: format!("rules[{index}]"),
            message: "a rule must be a mapping with `resource` and `action`".into(),
        });
    };
    for key in map.keys() {
        let name = key.as_str().map(str::to_string).unwrap_or_else(|| {
            serde_yaml::to_string(key)
                .unwrap_or_default()
                .trim()
                .to_string()
        });
        if !RULE_KEYS.contains(&name.as_str()) {
            return Err(DriftConfigError::UnknownKey {
                file: file.to_string(),
                index,
                key: name,
            });
        }
    }
    let string_field = |field: &'static str| -> Result<Option<String>, DriftConfigError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(field, "must be a string".into())),
        }
    };
    let compile = |field: &'static str, pattern: &str| {
        value_glob(pattern)
            .map(|g| g.compile_matcher())
            .map_err(|source| DriftConfigError::BadGlob {
                file: file.to_string(),
                location: format!("rules[{index}].{field}"),
                pattern: pattern.to_string(),
                source,
            })
    };

    let resource = string_field("resource")?.ok_or(DriftConfigError::MissingField {
        file: file.to_string(),
        index,
        field: "resource",
    })?;
    let resource_glob = compile("resource", &resource)?;
    let attribute = string_field("attribute")?;
    let attribute_glob = attribute
        .as_deref()
        .map(|a| compile("attribute", a))
        .transpose()?;
    let severity_override = string_field("severity_override")?
        .map(|s| {
            Severity::parse(&s)
                .filter(|sev| *sev != Severity::Info)
                .ok_or_else(|| {
                    invalid(
                        "severity_override",
                        format!("unknown severity `{s}` (expected critical, high, medium or low)"),
                    )
                })
        })
        .transpose()?;
    // A rule without `action` only re-grades severity: it alerts, like an unmatched resource.
    let action = string_field("action")?
        .map(|a| {
            DriftAction::parse(&a).ok_or_else(|| {
                invalid(
                    "action",
                    format!(
                        "unknown action `{a}` (expected block_deploy, alert, auto_accept or ignore)"
                    ),
                )
            })
        })
        .transpose()?
        .unwrap_or_default();
    Ok(DriftRule {
        resource,
        attribute,
        severity_override,
        action,
        resource_glob,
        attribute_glob,
    })
}
