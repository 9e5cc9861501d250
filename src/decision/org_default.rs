//! Org defaults for the config files a project may not have.
//!
//! ThothCTL's org policy repository keeps `shared/.driftpolicy` and
//! `shared/ai_decision_config.yaml` as defaults, and a domain may have its own `.driftpolicy`
//! (and `ai_decision_config.yaml`). Each applies only when the project has no file of its own:
//! precedence is project, then the selected domain, then shared. The first file found is used
//! whole (never merged), and its origin is named so the summary can say where a setting came
//! from.

use std::path::{Path, PathBuf};

use super::config::{CONFIG_FILE, DecisionConfig, DecisionConfigError};

/// The org file name of the decision defaults, in `shared/` and `domains/<domain>/`.
pub const ORG_DECISION_FILE: &str = "ai_decision_config.yaml";

/// The org folders that may hold a default, most specific first: `(folder, how to name it)`
/// (`org domains/fintech/`, `org shared/`).
pub fn org_folders(org: Option<&Path>, domain: Option<&str>) -> Vec<(PathBuf, String)> {
    let Some(org) = org else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Governance selectors are plain folder names; anything else selects nothing here (the
    // structure gate reports it).
    if let Some(d) = domain.filter(|d| is_plain_name(d)) {
        out.push((org.join("domains").join(d), format!("org domains/{d}/")));
    }
    out.push((org.join("shared"), "org shared/".to_string()));
    out
}

fn is_plain_name(value: &str) -> bool {
    !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains('/')
        && !value.contains('\\')
}

/// The decision config of a project: its `.thothctl/ai_decision_config.yaml`, else the selected
/// domain's `ai_decision_config.yaml`, else the org's `shared/ai_decision_config.yaml`; with the
/// file it came from (`None`: the defaults).
pub fn decision_config(
    config_dir: &Path,
    org: Option<&Path>,
    domain: Option<&str>,
) -> Result<(DecisionConfig, Option<String>), DecisionConfigError> {
    let dir = config_dir.join(".thothctl");
    if let Some(c) = DecisionConfig::load_file(&config_dir.join(CONFIG_FILE), Some(&dir))? {
        return Ok((c, Some(CONFIG_FILE.to_string())));
    }
    for (folder, shown) in org_folders(org, domain) {
        if let Some(c) = DecisionConfig::load_file(&folder.join(ORG_DECISION_FILE), None)? {
            return Ok((c, Some(format!("{shown}{ORG_DECISION_FILE}"))));
        }
    }
    Ok((DecisionConfig::default(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn decision_config_from_project_then_domain_then_shared() {
        let org = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let (o, p) = (org.path(), project.path());
        write(o, "shared/.driftpolicy", "coverage_threshold: 10\n");
        write(o, "shared/ai_decision_config.yaml", "enabled: true\n");
        write(o, "domains/fin/ai_decision_config.yaml", "enabled: false\n");

        let (c, from) = decision_config(p, Some(o), None).unwrap();
        assert!(c.enabled);
        assert_eq!(from.as_deref(), Some("org shared/ai_decision_config.yaml"));
        let (c, from) = decision_config(p, Some(o), Some("fin")).unwrap();
        assert!(!c.enabled);
        assert_eq!(
            from.as_deref(),
            Some("org domains/fin/ai_decision_config.yaml")
        );
        write(p, CONFIG_FILE, "enabled: true\n");
        let (c, from) = decision_config(p, Some(o), Some("fin")).unwrap();
        assert!(c.enabled);
        assert_eq!(from.as_deref(), Some(CONFIG_FILE));

        // No org: the defaults, from nowhere.
        let empty = tempfile::tempdir().unwrap();
        let (_, from) = decision_config(empty.path(), None, None).unwrap();
        assert_eq!(from, None);
        // A selector that is not a plain name selects nothing.
        let (_, from) = decision_config(empty.path(), Some(o), Some("../x")).unwrap();
        assert_eq!(from.as_deref(), Some("org shared/ai_decision_config.yaml"));
    }
}
