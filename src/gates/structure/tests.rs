use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::workspace::DEFAULT_IGNORE_FOLDERS;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

fn mkdir(root: &Path, rel: &str) {
    fs::create_dir_all(root.join(rel)).expect("mkdir");
}

fn load(project: &Path, stop_at: Option<&Path>, org: Option<&Path>) -> StructureConfig {
    match load_config(project, stop_at, org) {
        Ok(cfg) => cfg,
        Err(e) => panic!("config does not load: {e}"),
    }
}

fn load_err(project: &Path, stop_at: Option<&Path>, org: Option<&Path>) -> StructureConfigError {
    match load_config(project, stop_at, org) {
        Ok(cfg) => panic!("expected an error, got {cfg:?}"),
        Err(e) => e,
    }
}

/// Loads the project's own config and runs the gate over it.
fn check(root: &Path) -> GateReport {
    let cfg = load(root, Some(root), None);
    let ws = Workspace::open_with(root, &cfg.ignore_folders(), Default::default()).expect("ws");
    run(&ws, &cfg)
}

/// (rule_id, level, severity, file) of each finding.
fn summary(report: &GateReport) -> Vec<(&str, Level, Severity, Option<&str>)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.level, f.severity, f.file.as_deref()))
        .collect()
}

fn root_files(cfg: &StructureConfig) -> Vec<&str> {
    cfg.structure
        .as_ref()
        .map(|s| s.root_files.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

// ---- hierarchy ----

/// org/.thothcf.toml, repo/.thothcf_project.toml (space), repo/proj/.thothcf.toml.
fn three_levels(dir: &Path, project_section: bool) -> (PathBuf, PathBuf, PathBuf) {
    let org = dir.join("org");
    let repo = dir.join("repo");
    let project = repo.join("proj");
    write(
        &org,
        ".thothcf.toml",
        "[project_structure]\nroot_files = [\"ORG.md\"]\n[[project_structure.folders]]\nname = \"org-only\"\n",
    );
    write(
        &repo,
        ".thothcf_project.toml",
        "[project_structure]\nroot_files = [\"SPACE.md\"]\n",
    );
    let project_text = if project_section {
        "[template_input_parameters.env]\ntemplate_value = \"dev\"\n\n[project_structure]\nroot_files = [\"README.md\"]\n"
    } else {
        "[template_input_parameters.env]\ntemplate_value = \"dev\"\n"
    };
    write(&project, ".thothcf.toml", project_text);
    (org, repo, project)
}

#[test]
fn most_specific_project_structure_replaces_the_others_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (org, repo, project) = three_levels(dir.path(), true);

    let cfg = load(&project, Some(&repo), Some(&org));
    assert_eq!(root_files(&cfg), ["README.md"]);
    // Replaced whole: the org's folder rule is gone too.
    assert!(cfg.structure.as_ref().is_some_and(|s| s.folders.is_empty()));
    let sources: Vec<_> = cfg
        .sources
        .iter()
        .map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or_default())
        .collect();
    assert_eq!(
        sources,
        [".thothcf.toml", ".thothcf_project.toml", ".thothcf.toml"]
    );

    // Without a project section the space wins; without the space file, the org.
    let (org, repo, project) = three_levels(&dir.path().join("b"), false);
    assert_eq!(
        root_files(&load(&project, Some(&repo), Some(&org))),
        ["SPACE.md"]
    );
    fs::remove_file(repo.join(".thothcf_project.toml")).expect("rm");
    let cfg = load(&project, Some(&repo), Some(&org));
    assert_eq!(root_files(&cfg), ["ORG.md"]);
    assert_eq!(cfg.structure.map(|s| s.folders.len()), Some(1));
}

#[test]
fn space_file_is_the_nearest_one_up_to_the_repository_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let project = repo.join("spaces/a/proj");
    mkdir(&project, "");
    // Above the repository root: never read.
    write(
        dir.path(),
        ".thothcf_project.toml",
        "[project_structure]\nroot_files = [\"OUTSIDE\"]\n",
    );
    assert!(load(&project, Some(&repo), None).structure.is_none());

    write(
        &repo,
        ".thothcf_project.toml",
        "[project_structure]\nroot_files = [\"REPO\"]\n",
    );
    assert_eq!(root_files(&load(&project, Some(&repo), None)), ["REPO"]);
    write(
        &repo,
        "spaces/a/.thothcf_project.toml",
        "[project_structure]\nroot_files = [\"SPACE-A\"]\n",
    );
    assert_eq!(root_files(&load(&project, Some(&repo), None)), ["SPACE-A"]);
    // Without a stop, only the project folder itself is looked at.
    assert!(load(&project, None, None).structure.is_none());
}

#[test]
fn locked_org_mandatory_items_cannot_be_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = dir.path().join("org");
    let project = dir.path().join("proj");
    write(
        &org,
        ".thothcf.toml",
        r#"[project_structure]
locked = true
root_files = [".gitignore", "README.md"]

[[project_structure.folders]]
name = "modules"
content = ["main.tf"]

[[project_structure.folders]]
name = "docs"
mandatory = false
"#,
    );
    write(
        &project,
        ".thothcf.toml",
        r#"[project_structure]
root_files = ["README.md"]

[[project_structure.folders]]
name = "modules"
mandatory = false
content = ["variables.tf"]

[[project_structure.folders]]
name = "stacks"
"#,
    );
    write(&project, "README.md", "");
    write(&project, "stacks/main.tf", "");

    let cfg = load(&project, Some(&project), Some(&org));
    let ps = cfg.structure.clone().expect("structure");
    assert!(ps.locked);
    assert_eq!(ps.root_files, ["README.md", ".gitignore"]);
    let folders: Vec<_> = ps
        .folders
        .iter()
        .map(|f| (f.name.as_str(), f.mandatory, f.content.clone()))
        .collect();
    // The optional org folder `docs` is not forced in; `modules` is made mandatory again.
    assert_eq!(
        folders,
        [
            (
                "modules",
                true,
                vec!["variables.tf".to_string(), "main.tf".to_string()]
            ),
            ("stacks", true, vec![]),
        ]
    );

    let ws = Workspace::open(&project).expect("ws");
    let report = run(&ws, &cfg);
    assert_eq!(
        summary(&report),
        [
            (
                "structure.root-file",
                Level::Failure,
                Severity::High,
                Some(".gitignore")
            ),
            (
                "structure.folder",
                Level::Failure,
                Severity::Medium,
                Some("modules")
            ),
        ]
    );
    assert_eq!(report.checked, 4);
}

#[test]
fn unlocked_org_items_are_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = dir.path().join("org");
    let project = dir.path().join("proj");
    write(
        &org,
        ".thothcf.toml",
        "[project_structure]\nroot_files = [\".gitignore\"]\n[[project_structure.folders]]\nname = \"modules\"\n",
    );
    write(
        &project,
        ".thothcf.toml",
        "[project_structure]\nroot_files = [\"README.md\"]\n",
    );
    let ps = load(&project, None, Some(&org))
        .structure
        .expect("structure");
    assert_eq!(ps.root_files, ["README.md"]);
    assert!(ps.folders.is_empty() && !ps.locked);
}

#[test]
fn locked_below_the_org_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".thothcf.toml",
        "[project_structure]\nlocked = true\n",
    );
    let err = load_err(dir.path(), None, None);
    assert!(
        err.to_string().ends_with(
            ".thothcf.toml: project_structure.locked: `locked` is only honoured in the \
             org-level .thothcf.toml"
        ),
        "{err}"
    );
}

// ---- the checks ----

#[test]
fn content_applies_to_module_subfolders_holding_any_listed_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        r#"[project_structure]
[[project_structure.folders]]
name = "modules"
content = ["main.tf", "variables.tf", "outputs.tf"]
"#,
    );
    // `modules` itself holds no .tf file: not checked.
    write(root, "modules/README.md", "");
    write(root, "modules/vpc/main.tf", "");
    write(root, "modules/vpc/variables.tf", "");
    write(root, "modules/s3/main.tf", "");
    write(root, "modules/s3/variables.tf", "");
    write(root, "modules/s3/outputs.tf", "");
    // No listed file: not a module, not checked.
    write(root, "modules/docs/guide.md", "");
    write(root, "modules/vpc/files/policy.json", "");
    // Any depth.
    write(root, "modules/net/sub/deep/outputs.tf", "");
    // Never walked.
    write(root, "modules/.terraform/cache/main.tf", "");

    let report = check(root);
    assert_eq!(
        summary(&report),
        [
            (
                "structure.content",
                Level::Failure,
                Severity::Medium,
                Some("modules/net/sub/deep/main.tf")
            ),
            (
                "structure.content",
                Level::Failure,
                Severity::Medium,
                Some("modules/net/sub/deep/variables.tf")
            ),
            (
                "structure.content",
                Level::Failure,
                Severity::Medium,
                Some("modules/vpc/outputs.tf")
            ),
        ]
    );
    assert_eq!(
        report.findings[2].message,
        "`modules/vpc` is missing `outputs.tf`: folders under `modules` that hold any of \
         main.tf, variables.tf, outputs.tf must hold all of them"
    );
    assert!(!report.passed);
    assert_eq!(report.checked, 1);
}

#[test]
fn content_applies_to_the_folder_itself_when_it_holds_a_tf_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        "[project_structure]\n[[project_structure.folders]]\nname = \"stack\"\ncontent = [\"main.tf\", \"backend.tf\"]\n",
    );
    write(root, "stack/versions.tf", "");
    let report = check(root);
    assert_eq!(
        summary(&report),
        [
            (
                "structure.content",
                Level::Failure,
                Severity::Medium,
                Some("stack/main.tf")
            ),
            (
                "structure.content",
                Level::Failure,
                Severity::Medium,
                Some("stack/backend.tf")
            ),
        ]
    );
}

#[test]
fn missing_items_by_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        r#"[project_structure]
root_files = [".gitignore", "README.md", ".thothcf.toml", ".git"]

[[project_structure.folders]]
name = "modules"

[[project_structure.folders]]
name = "test"
mandatory = false
content = ["main.tf"]

[[project_structure.folders]]
name = "docs"
mandatory = false
content = ["main.tf", "README.md"]
"#,
    );
    write(root, "README.md", "");
    // `.git` is an ignored folder: looked up on disk, not walked.
    mkdir(root, ".git/objects");
    // An optional folder's missing content is informational too.
    write(root, "docs/main.tf", "");

    let report = check(root);
    assert_eq!(
        summary(&report),
        [
            (
                "structure.root-file",
                Level::Failure,
                Severity::High,
                Some(".gitignore")
            ),
            (
                "structure.folder",
                Level::Failure,
                Severity::Medium,
                Some("modules")
            ),
            (
                "structure.folder",
                Level::Info,
                Severity::Info,
                Some("test")
            ),
            (
                "structure.content",
                Level::Info,
                Severity::Info,
                Some("docs/README.md")
            ),
        ]
    );
    let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages[..3],
        [
            "required root file `.gitignore` is missing from the project root",
            "mandatory folder `modules` is missing",
            "optional folder `test` is not present",
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.gate == Gate::Structure && f.line.is_none())
    );
    assert_eq!(report.checked, 7);
}

#[test]
fn only_optional_items_missing_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        "[project_structure]\nroot_files = [\".thothcf.toml\"]\n[[project_structure.folders]]\nname = \"test\"\nmandatory = false\n",
    );
    let report = check(root);
    assert!(report.passed);
    assert_eq!(report.count(Level::Info), 1);
}

#[test]
fn child_folders_live_inside_their_parent_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        r#"[project_structure]
[[project_structure.folders]]
name = "modules"

[[project_structure.folders]]
name = "examples"
type = "child"
parent = "modules"

[[project_structure.folders]]
name = "complete"
type = "child"
parent = "examples"
content = ["main.tf"]

[[project_structure.folders]]
name = "network"
type = "child"
parent = "envs/prod"
"#,
    );
    mkdir(root, "modules/examples");
    // At the root, not under its parent: does not count.
    mkdir(root, "complete");
    mkdir(root, "envs/prod/network");

    let report = check(root);
    assert_eq!(
        summary(&report),
        [(
            "structure.folder",
            Level::Failure,
            Severity::Medium,
            Some("modules/examples/complete")
        )]
    );

    mkdir(root, "modules/examples/complete");
    write(root, "modules/examples/complete/README.md", "");
    write(root, "modules/examples/complete/extra/variables.tf", "");
    assert!(check(root).passed);
    write(root, "modules/examples/complete/outputs.tf", "");
    assert_eq!(
        summary(&check(root)),
        [(
            "structure.content",
            Level::Failure,
            Severity::Medium,
            Some("modules/examples/complete/main.tf")
        )]
    );
}

#[test]
fn parent_cycles_are_an_error_finding() {
    let rule = |name: &str, parent: &str| FolderRule {
        name: name.into(),
        mandatory: true,
        r#type: FolderType::Child,
        parent: Some(parent.into()),
        content: vec![],
    };
    let folders = vec![rule("a", "b"), rule("b", "a")];
    assert_eq!(
        resolve_path(&folders, 0),
        Err("folder `a` has a parent chain that loops back to itself".into())
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = StructureConfig {
        structure: Some(ProjectStructure {
            folders,
            ..Default::default()
        }),
        ..Default::default()
    };
    let report = run(&Workspace::open(dir.path()).expect("ws"), &cfg);
    assert_eq!(
        summary(&report),
        [
            ("structure.config", Level::Error, Severity::High, None),
            ("structure.config", Level::Error, Severity::High, None),
        ]
    );
}

#[test]
fn ignore_folders_are_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".thothcf.toml",
        r#"[project_structure]
ignore_folders = ["vendor", "modules/legacy"]
[[project_structure.folders]]
name = "modules"
content = ["main.tf", "outputs.tf"]
"#,
    );
    write(root, "modules/vendor/x/main.tf", "");
    write(root, "modules/legacy/main.tf", "");
    write(root, "modules/ok/main.tf", "");
    write(root, "modules/ok/outputs.tf", "");
    // Configured ignore list replaces the defaults.
    write(root, "modules/.terraform/main.tf", "");
    let cfg = load(root, None, None);
    assert_eq!(cfg.ignore_folders(), ["vendor", "modules/legacy"]);
    assert_eq!(
        summary(&check(root)),
        [(
            "structure.content",
            Level::Failure,
            Severity::Medium,
            Some("modules/.terraform/outputs.tf")
        )]
    );
    assert_eq!(
        StructureConfig::default().ignore_folders(),
        DEFAULT_IGNORE_FOLDERS
    );
}

#[test]
fn no_project_structure_anywhere_passes_with_one_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    // ThothCTL's other sections alone do not configure the gate.
    write(
        dir.path(),
        ".thothcf.toml",
        "[thothcf]\nproject_id = \"x\"\n[template_input_parameters.env]\ntemplate_value = \"dev\"\n",
    );
    let report = check(dir.path());
    assert!(report.passed);
    assert_eq!(report.checked, 0);
    assert_eq!(
        summary(&report),
        [(
            "structure.not-configured",
            Level::Info,
            Severity::Info,
            None
        )]
    );
    assert!(
        report.findings[0]
            .message
            .starts_with("no project structure is configured")
    );
}

// ---- config errors ----

#[test]
fn unknown_keys_in_our_sections_are_errors_naming_the_key() {
    let cases = [
        (
            "[project_structure]\nroot_file = [\"a\"]\n",
            "unknown key `root_file`",
            2,
        ),
        (
            "[project_structure]\n\n[[project_structure.folders]]\nname = \"m\"\nmandatry = false\n",
            "unknown key `mandatry`",
            5,
        ),
        (
            "[thothcf]\nproject_id = \"ok\"\n[thothcf.governance]\ndomian = \"payments\"\n",
            "unknown key `domian`",
            4,
        ),
    ];
    for (text, key, line) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), ".thothcf.toml", text);
        let err = load_err(dir.path(), None, None);
        let shown = err.to_string();
        assert!(shown.contains(key), "{shown}");
        assert!(
            shown.contains(&format!(".thothcf.toml:{line}: ")),
            "{shown}"
        );
        assert!(matches!(err, StructureConfigError::Invalid { .. }));
    }
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".thothcf_project.toml",
        "[project_structure]\nroot_files = [\"a\"]\nfolders = [ name = \n",
    );
    let err = load_err(dir.path(), Some(dir.path()), None);
    let shown = err.to_string();
    assert!(
        matches!(&err, StructureConfigError::Syntax { line: Some(3), .. }),
        "{shown}"
    );
    assert!(
        shown.contains(".thothcf_project.toml:3: TOML syntax error: "),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown}");
}

#[test]
fn bad_folder_rules_are_errors_naming_where() {
    let cases = [
        (
            "[[project_structure.folders]]\nname = \"x\"\ntype = \"child\"\n",
            "project_structure.folders[0].parent: type = \"child\" needs a `parent`",
        ),
        (
            "[[project_structure.folders]]\nname = \"a\"\n[[project_structure.folders]]\nname = \"x\"\nparent = \"a\"\n",
            "project_structure.folders[1].parent: `parent` is only meaningful with type = \"child\"",
        ),
        (
            "[[project_structure.folders]]\nname = \"../up\"\n",
            "project_structure.folders[0].name: must be a non-empty relative path without `..`",
        ),
        (
            "[project_structure]\nroot_files = [\"/etc/passwd\"]\n",
            "project_structure.root_files[0]: must be a non-empty path relative to the project \
             root, without `..`",
        ),
    ];
    for (text, want) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), ".thothcf.toml", text);
        let shown = load_err(dir.path(), None, None).to_string();
        assert!(shown.ends_with(want), "{shown}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".thothcf.toml",
        "[[project_structure.folders]]\nname = \"x\"\ntype = \"nested\"\n",
    );
    let shown = load_err(dir.path(), None, None).to_string();
    assert!(
        shown.contains("nested") && shown.contains(":3: "),
        "{shown}"
    );
}

#[test]
fn config_symlink_leaving_the_repository_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    mkdir(&repo, "");
    write(dir.path(), "secret.toml", "password = \"hunter2\"\n");
    std::os::unix::fs::symlink(dir.path().join("secret.toml"), repo.join(".thothcf.toml"))
        .expect("symlink");
    let err = load_err(&repo, Some(&repo), None);
    assert!(matches!(err, StructureConfigError::Escapes { .. }), "{err}");
}

// ---- governance ----

#[test]
fn governance_merges_across_levels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = dir.path().join("org");
    let repo = dir.path().join("repo");
    write(
        &org,
        ".thothcf.toml",
        "[thothcf.governance]\ndomain = \"org-default\"\ncompliance = [\"pci\"]\n",
    );
    write(
        &repo,
        ".thothcf_project.toml",
        "[thothcf.governance]\ndomain = \"payments\"\nlayer = \"network\"\n",
    );
    write(
        &repo,
        ".thothcf.toml",
        "[thothcf.governance]\nworkload = \"api\"\ncompliance = [\"soc2\", \"pci\"]\n",
    );
    let cfg = load(&repo, Some(&repo), Some(&org));
    assert_eq!(
        cfg.governance,
        Governance {
            domain: Some("payments".into()),
            workload: Some("api".into()),
            layer: Some("network".into()),
            compliance: vec!["pci".into(), "soc2".into()],
        }
    );
    assert!(cfg.structure.is_none());
}

#[test]
fn governance_selects_org_policy_dirs_and_fails_closed_on_missing_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = dir.path();
    for d in [
        "shared/policy",
        "domains/payments/policy",
        "workloads/api/policy",
        "layers/network/policy",
        "compliance/pci/policy",
        "compliance/soc2",
    ] {
        mkdir(org, d);
    }
    let gov = Governance {
        domain: Some("payments".into()),
        workload: Some("api".into()),
        layer: Some("netwrok".into()),
        compliance: vec!["pci".into(), "soc2".into(), "../shared".into()],
    };
    let (dirs, findings) = gov.org_policy_dirs(org);
    assert_eq!(
        dirs,
        [
            org.join("shared/policy"),
            org.join("workloads/api/policy"),
            org.join("domains/payments/policy"),
            org.join("compliance/pci/policy"),
        ]
    );
    let got: Vec<_> = findings
        .iter()
        .map(|f| (f.gate, f.rule_id.as_str(), f.level, f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Gate::Structure,
                "structure.governance",
                Level::Error,
                "[thothcf.governance] layer = `netwrok` selects `layers/netwrok/policy`, which \
                 does not exist in the org policy repository"
            ),
            (
                Gate::Structure,
                "structure.governance",
                Level::Error,
                "[thothcf.governance] compliance = `soc2` selects `compliance/soc2/policy`, \
                 which does not exist in the org policy repository"
            ),
            (
                Gate::Structure,
                "structure.governance",
                Level::Error,
                "[thothcf.governance] compliance = `../shared` is not a plain folder name (no \
                 `/`, `..` or empty names), so no org policies were selected for it"
            ),
        ]
    );

    // No selectors: shared only, no findings.
    let (dirs, findings) = Governance::default().org_policy_dirs(org);
    assert_eq!(dirs, [org.join("shared/policy")]);
    assert!(findings.is_empty());
}

#[test]
fn org_without_the_layout_is_one_flat_policy_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "deny.rego", "package main\n");
    let gov = Governance {
        domain: Some("payments".into()),
        ..Default::default()
    };
    let (dirs, findings) = gov.org_policy_dirs(dir.path());
    assert_eq!(dirs, [dir.path().to_path_buf()]);
    assert!(findings.is_empty());
}
