//! Running the three gates over one project: what `thoth-bot check` and the worker both call.
//!
//! Configuration (`.thothcf.toml`, `.driftpolicy`, `policy/`) is read from `config_dir`, which the
//! worker points at the **base** checkout, so a pull request cannot weaken its own gates; the
//! judged files come from `project_dir` (the head). The CLI uses one directory for both.

pub mod projects;

use std::path::{Path, PathBuf};

use crate::finding::{CheckReport, Finding, Gate, GateReport, Level, Severity};
use crate::gates::drift::{self, DriftPolicy};
use crate::gates::rego::conftest_builtins::ConfigAccess;
use crate::gates::rego::explain::{self, RuleDoc};
use crate::gates::rego::layered::LayeredPolicies;
use crate::gates::rego::levels::{LevelKind, PolicyLevel, sources_for};
use crate::gates::rego::policy::{self as rego_policy, LoadOptions, PolicySource};
use crate::gates::structure::{self, StructureConfig};
use crate::inputs::{self, HclShape, InputFormat, ParseLimits};
use crate::workspace::{Limits, Workspace};

/// Everything a check run needs to know.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The files being judged (the PR head).
    pub project_dir: PathBuf,
    /// Where configuration and project policies are read (the PR base); defaults to `project_dir`.
    pub config_dir: Option<PathBuf>,
    /// Repository root, the upper bound for the `.thothcf_project.toml` (space) search.
    pub repo_root: Option<PathBuf>,
    /// Extra policy directories (`--policy`), in addition to `<config_dir>/policy`.
    pub policy_dirs: Vec<PathBuf>,
    /// Org policy repository (`--org-policy` / `THOTH_POLICY_REPO`).
    pub org_policy: Option<PathBuf>,
    /// Evaluate the built-in library even when `.thothcf.toml` says `builtin_policies = false`.
    pub with_builtin: bool,
    /// Never evaluate the built-in library (`check --no-builtin`).
    pub no_builtin: bool,
    /// Which gates to run.
    pub gates: Vec<Gate>,
    pub input_shape: HclShape,
    pub limits: Limits,
    /// How much the judged files may make the parsers do (YAML aliases, nesting, documents).
    pub parse_limits: ParseLimits,
    /// Rego packages to evaluate (`--namespace`, globs such as `main` or `terraform.*`);
    /// empty: every package (the bot's default).
    pub namespaces: Vec<String>,
    /// Judge every folder with a `.thothcf.toml` as a project of its own (`check
    /// --recursive`; the bot always does).
    pub recursive: bool,
    /// Folders (relative to `project_dir`) left out of the walk: nested projects.
    pub exclude: Vec<String>,
}

impl CheckOptions {
    /// Defaults for a local run over `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CheckOptions {
            project_dir: dir.into(),
            config_dir: None,
            repo_root: None,
            policy_dirs: Vec::new(),
            org_policy: None,
            with_builtin: false,
            no_builtin: false,
            gates: Gate::ALL.to_vec(),
            input_shape: HclShape::Object,
            limits: Limits::default(),
            parse_limits: ParseLimits::default(),
            namespaces: Vec::new(),
            recursive: false,
            exclude: Vec::new(),
        }
    }

    fn config_dir(&self) -> &Path {
        self.config_dir.as_deref().unwrap_or(&self.project_dir)
    }
}

/// The policy levels a run evaluates, in resolution order: the built-in library, the org
/// folders the governance selectors pick (shared, layer, workload, domain, compliance),
/// `--policy` folders, the project's `policy/`. The built-in library is a level like the others:
/// it runs unless `[thothcf] builtin_policies = false` (org or project) or `--no-builtin`.
pub fn policy_levels(
    opts: &CheckOptions,
    cfg: &StructureConfig,
) -> (Vec<PolicyLevel>, Vec<Finding>) {
    let mut levels = Vec::new();
    let mut findings = Vec::new();
    if let Some(org) = &opts.org_policy {
        if org.is_dir() {
            let (dirs, errs) = cfg.governance.org_policy_levels(org);
            findings.extend(errs);
            for (selector, d) in dirs {
                let label = d
                    .strip_prefix(org)
                    .map(|r| format!("org:{}", r.display()))
                    .unwrap_or_else(|_| d.display().to_string());
                levels.push(PolicyLevel::new(
                    LevelKind::Org { selector },
                    PolicySource::Dir { path: d, label },
                ));
            }
        } else {
            findings.push(Finding::error(
                Gate::Rego,
                "policy-error",
                format!("org policy directory {} does not exist", org.display()),
            ));
        }
    }
    for dir in &opts.policy_dirs {
        if dir.is_dir() {
            levels.push(PolicyLevel::new(
                LevelKind::Extra,
                rego_policy::dir_source(dir),
            ));
        } else {
            findings.push(Finding::error(
                Gate::Rego,
                "policy-error",
                format!("policy directory {} does not exist", dir.display()),
            ));
        }
    }
    let project_policy = opts.config_dir().join("policy");
    if project_policy.is_dir() {
        levels.push(PolicyLevel::new(
            LevelKind::Project,
            PolicySource::Dir {
                path: project_policy,
                label: "policy".into(),
            },
        ));
    }
    let builtin = !opts.no_builtin && (opts.with_builtin || cfg.builtin_policies != Some(false));
    if builtin {
        levels.insert(
            0,
            PolicyLevel::new(LevelKind::Builtin, rego_policy::builtin_library()),
        );
    }
    (levels, findings)
}

/// Every policy source of [`policy_levels`], whatever input format it judges (format folders
/// included), in resolution order.
pub fn policy_sources(
    opts: &CheckOptions,
    cfg: &StructureConfig,
) -> (Vec<PolicySource>, Vec<Finding>) {
    let (levels, findings) = policy_levels(opts, cfg);
    let mut sources = Vec::new();
    for level in &levels {
        let mut seen = Vec::new();
        for format in InputFormat::ALL {
            if let Some(src) = level.source_for(format) {
                let key = match &src {
                    PolicySource::Dir { label, .. } | PolicySource::Data { label, .. } => {
                        label.clone()
                    }
                    PolicySource::Embedded(_) => String::new(),
                };
                if !seen.contains(&key) {
                    seen.push(key);
                    sources.push(src);
                }
            }
        }
    }
    (sources, findings)
}

/// `/thoth explain RULE_ID`: the rule's documentation from the policies this run would evaluate
/// (config dir, `--policy` dirs, org folders), then from the built-in library.
pub fn explain_rule(opts: &CheckOptions, rule_id: &str) -> Option<RuleDoc> {
    let cfg = structure::load_config(
        opts.config_dir(),
        opts.repo_root.as_deref(),
        opts.org_policy.as_deref(),
    )
    .unwrap_or_default();
    let (levels, _) = policy_levels(opts, &cfg);
    // Each input format has its own policies and data: look in each, as the gate loads them.
    InputFormat::ALL
        .into_iter()
        .find_map(|f| explain::explain(&sources_for(&levels, f), rule_id))
        .or_else(|| explain::explain(&[rego_policy::builtin_library()], rule_id))
}

/// The Rego gate's input documents of a project, each with the time the gate takes to evaluate
/// the run's policies over it alone (best of `repeat` runs). The differential suite against OPA
/// (`scripts/rego_conformance.py`) feeds OPA these exact documents and compares the times.
pub fn rego_inputs_timed(opts: &CheckOptions, repeat: u32) -> anyhow::Result<serde_json::Value> {
    let cfg = structure::load_config(
        opts.config_dir(),
        opts.repo_root.as_deref(),
        opts.org_policy.as_deref(),
    )
    .unwrap_or_default();
    let ws = Workspace::open_with(&opts.project_dir, &cfg.ignore_folders(), opts.limits)?;
    let parsed = inputs::parse_workspace(
        &ws,
        opts.input_shape,
        &["policy".to_string()],
        &opts.parse_limits,
    );
    let (levels, _) = policy_levels(opts, &cfg);
    let set = LayeredPolicies::load(&levels, &load_options(opts));
    let mut docs = Vec::new();
    for doc in &parsed.docs {
        let one = inputs::Inputs {
            docs: vec![doc.clone()],
            errors: Vec::new(),
        };
        let mut best = std::time::Duration::MAX;
        for _ in 0..repeat.max(1) {
            let start = std::time::Instant::now();
            let _ = set.run(&one);
            best = best.min(start.elapsed());
        }
        docs.push(serde_json::json!({
            "file": doc.file,
            "index": doc.index,
            "value": doc.value,
            "eval_us": best.as_micros() as u64,
        }));
    }
    Ok(serde_json::json!({ "docs": docs }))
}

/// The `--namespace` globs as one matcher (`None`: every package). A bad glob is an error
/// finding, and then no package matches.
fn namespace_filter(globs: &[String]) -> Result<Option<globset::GlobSet>, Finding> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(false)
            .build()
            .map_err(|e| {
                Finding::error(Gate::Rego, "policy-error", format!("--namespace {g}: {e}"))
            })?;
        b.add(glob);
    }
    b.build()
        .map(Some)
        .map_err(|e| Finding::error(Gate::Rego, "policy-error", format!("--namespace: {e}")))
}

/// How the gate loads policies for this run: conftest's `parse_config*` builtins parse as the
/// gate's inputs are parsed (same HCL shape and limits).
fn load_options(opts: &CheckOptions) -> LoadOptions {
    // conftest's builtins read files relative to the project's own policies (then the first
    // `--policy` folder), whatever the resolution order puts first.
    let project_policy = opts.config_dir().join("policy");
    let base = if project_policy.is_dir() {
        Some(project_policy)
    } else {
        opts.policy_dirs.iter().find(|d| d.is_dir()).cloned()
    };
    LoadOptions {
        config: ConfigAccess {
            base,
            shape: opts.input_shape,
            parse_limits: opts.parse_limits,
            max_file_bytes: opts.limits.max_file_bytes,
        },
        ..Default::default()
    }
}

/// Runs the selected gates. Never fails: anything that cannot run is an error finding.
pub fn run_check(opts: &CheckOptions) -> CheckReport {
    if opts.recursive {
        let projects = projects::discover(opts.config_dir());
        if !projects.is_empty() {
            return projects::run_projects(opts, &projects);
        }
    }
    let config_dir = opts.config_dir().to_path_buf();
    let structure_cfg = structure::load_config(
        &config_dir,
        opts.repo_root.as_deref(),
        opts.org_policy.as_deref(),
    );
    let (structure_cfg, structure_err) = match structure_cfg {
        Ok(c) => (c, None),
        Err(e) => (
            StructureConfig::default(),
            Some(Finding::error(
                Gate::Structure,
                "structure-config",
                e.to_string(),
            )),
        ),
    };
    let mut ignore = structure_cfg.ignore_folders();
    ignore.extend(opts.exclude.iter().cloned());
    let ws = match Workspace::open_with(&opts.project_dir, &ignore, opts.limits) {
        Ok(ws) => ws,
        Err(e) => {
            let gates = opts
                .gates
                .iter()
                .map(|g| {
                    GateReport::new(*g, 0, vec![Finding::error(*g, "workspace", e.to_string())])
                })
                .collect();
            return CheckReport::new(gates);
        }
    };
    let mut gates = Vec::new();
    if opts.gates.contains(&Gate::Structure) {
        let _timer = crate::metrics::stage_timer(crate::metrics::Stage::GateStructure);
        let mut report = match &structure_err {
            Some(f) => GateReport::new(Gate::Structure, 0, vec![f.clone()]),
            None => structure::run(&ws, &structure_cfg),
        };
        report.findings.extend(workspace_findings(&ws));
        let mut gate = GateReport::new(Gate::Structure, report.checked, report.findings);
        if let Some(org) = opts.org_policy.as_deref() {
            gate.config_files = structure_cfg
                .sources
                .iter()
                .map(|p| shown_config_path(p, &config_dir, org))
                .collect();
        }
        gates.push(gate);
    }
    let need_inputs = opts.gates.contains(&Gate::Rego) || opts.gates.contains(&Gate::Drift);
    let parsed = if need_inputs {
        inputs::parse_workspace(
            &ws,
            opts.input_shape,
            &["policy".to_string()],
            &opts.parse_limits,
        )
    } else {
        inputs::Inputs::default()
    };
    if opts.gates.contains(&Gate::Rego) {
        let _timer = crate::metrics::stage_timer(crate::metrics::Stage::GateRego);
        let (levels, mut extra) = policy_levels(opts, &structure_cfg);
        let mut set = LayeredPolicies::load(&levels, &load_options(opts));
        match namespace_filter(&opts.namespaces) {
            Ok(Some(filter)) => {
                set.retain_packages(|p| filter.is_match(p.package.trim_start_matches("data.")))
            }
            Ok(None) => {}
            Err(f) => {
                extra.push(f);
                set.retain_packages(|_| false);
            }
        }
        let report = set.run(&parsed);
        extra.extend(report.findings);
        let mut gate = GateReport::new(Gate::Rego, report.checked, extra);
        gate.namespaces = set.namespaces();
        gate.policy_sets = set.policy_sets(&levels);
        gates.push(gate);
    }
    if opts.gates.contains(&Gate::Drift) {
        let _timer = crate::metrics::stage_timer(crate::metrics::Stage::GateDrift);
        let resolved = DriftPolicy::resolve(
            &config_dir,
            opts.org_policy.as_deref(),
            structure_cfg.governance.domain.as_deref(),
        );
        gates.push(match resolved {
            Ok((policy, from)) => {
                let mut gate = drift::run(&policy, &parsed.docs);
                // Named when an org repository could have supplied it.
                if opts.org_policy.is_some() {
                    gate.config_files = from.into_iter().collect();
                }
                gate
            }
            Err(e) => GateReport::new(
                Gate::Drift,
                0,
                vec![
                    Finding::error(Gate::Drift, "drift-config", e.to_string())
                        .at(".driftpolicy", None),
                ],
            ),
        });
    }
    if let Some(org) = opts.org_policy.as_deref().filter(|o| o.is_dir()) {
        let (maps, errors) =
            crate::gates::compliance::load(org, &structure_cfg.governance.compliance);
        crate::gates::compliance::annotate(&mut gates, &maps);
        if !errors.is_empty()
            && let Some(rego) = gates.iter_mut().find(|g| g.gate == Gate::Rego)
        {
            rego.findings.extend(errors);
            rego.passed = false;
        }
    }
    let report = CheckReport::new(gates);
    tracing::debug!(
        findings = report.findings().count(),
        passed = report.passed,
        "gates done"
    );
    report
}

/// A config file as the summary names it: `org domains/fintech/.thothcf.toml` in the org
/// repository, else relative to the project's config directory.
fn shown_config_path(path: &Path, config_dir: &Path, org: &Path) -> String {
    if let Ok(rel) = path.strip_prefix(org) {
        return format!("org {}", rel.display());
    }
    path.strip_prefix(config_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// What the walk itself found: symlinks out of the tree, oversized inputs, a truncated walk.
fn workspace_findings(ws: &Workspace) -> Vec<Finding> {
    let mut out = Vec::new();
    for esc in ws.escapes() {
        out.push(
            Finding::new(
                Gate::Structure,
                "symlink-escape",
                Level::Failure,
                Severity::High,
                format!(
                    "{} is a symlink to {} outside the repository; it was not read",
                    esc.path, esc.target
                ),
            )
            .at(esc.path.clone(), None),
        );
    }
    for rel in ws.oversized() {
        if inputs::kind_for(rel).is_some() {
            out.push(
                Finding::new(
                    Gate::Structure,
                    "file-too-large",
                    Level::Failure,
                    Severity::Medium,
                    format!(
                        "{rel} exceeds the {} byte limit and was not evaluated",
                        ws.limits().max_file_bytes
                    ),
                )
                .at(rel.clone(), None),
            );
        }
    }
    if ws.truncated() {
        out.push(Finding::error(
            Gate::Structure,
            "repository-too-large",
            format!(
                "the repository exceeds the limit of {} files or {} folder levels; not every file was evaluated",
                ws.limits().max_files,
                ws.limits().max_depth
            ),
        ));
    }
    out
}
