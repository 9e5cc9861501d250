//! Compliance mappings of an org policy repository: `compliance/<framework>/mapping.yaml` maps
//! rule ids (or `*` patterns of them) to the framework's controls. For each framework a project
//! selects (`compliance = ["soc2"]`), findings of mapped rules carry their controls
//! (`SOC2 CC6.1`) into JSON, SARIF and the summary, and count as compliance violations.
//!
//! ```yaml
//! framework: SOC2          # the name shown before each control (default: the folder name)
//! controls:
//!   CC6.1: [SOC2-S3-PUBLIC, "ORG-NET-*"]
//!   CC7.2: [ORG-RDS-002]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

use crate::finding::{Finding, Gate, GateReport};

/// A mapping file larger than this is refused (it is org-written, but still parsed by us).
const MAX_MAPPING_BYTES: u64 = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    framework: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    controls: BTreeMap<String, Vec<String>>,
}

/// One framework's mapping, ready to match rule ids.
#[derive(Debug)]
pub struct ComplianceMap {
    pub framework: String,
    /// `(control, matcher of a rule id)`, in file order of controls.
    rules: Vec<(String, GlobMatcher)>,
}

impl ComplianceMap {
    /// The controls (`SOC2 CC6.1`) `rule_id` maps to.
    pub fn controls_of(&self, rule_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .filter(|(_, m)| m.is_match(rule_id))
            .map(|(c, _)| format!("{} {c}", self.framework))
            .collect();
        out.dedup();
        out
    }
}

/// The mappings of the `frameworks` a project selects, from `org/compliance/<fw>/mapping.yaml`.
/// A framework without a mapping file maps nothing; a broken file is an error finding (the
/// count of violations would otherwise silently drop).
pub fn load(org: &Path, frameworks: &[String]) -> (Vec<ComplianceMap>, Vec<Finding>) {
    let mut maps = Vec::new();
    let mut errors = Vec::new();
    for fw in frameworks {
        let rel = format!("compliance/{fw}/mapping.yaml");
        let path = org.join(&rel);
        if !path.is_file() {
            continue;
        }
        let err = |why: String| {
            Finding::error(
                Gate::Rego,
                "compliance-mapping",
                format!("org {rel}: {why}"),
            )
        };
        match read(&path, fw) {
            Ok(m) => maps.push(m),
            Err(why) => errors.push(err(why)),
        }
    }
    (maps, errors)
}

fn read(path: &Path, folder: &str) -> Result<ComplianceMap, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_MAPPING_BYTES {
        return Err(format!("larger than {MAX_MAPPING_BYTES} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let file: MappingFile = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let _ = file.description;
    let framework = file
        .framework
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| folder.to_ascii_uppercase());
    let mut rules = Vec::new();
    for (control, patterns) in file.controls {
        for p in patterns {
            let glob = GlobBuilder::new(&p)
                .literal_separator(false)
                .build()
                .map_err(|e| format!("control {control}: pattern `{p}`: {e}"))?;
            rules.push((control.clone(), glob.compile_matcher()));
        }
    }
    Ok(ComplianceMap { framework, rules })
}

/// Gives every finding of `report` the controls its rule maps to.
pub fn annotate(gates: &mut [GateReport], maps: &[ComplianceMap]) {
    if maps.is_empty() {
        return;
    }
    for gate in gates {
        for f in &mut gate.findings {
            let mut controls: Vec<String> = maps
                .iter()
                .flat_map(|m| m.controls_of(&f.rule_id))
                .collect();
            controls.sort();
            controls.dedup();
            f.controls = controls;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Level, Severity};

    fn org(mapping: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("compliance/soc2");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("mapping.yaml"), mapping).unwrap();
        dir
    }

    #[test]
    fn ids_and_patterns_map_to_controls_of_selected_frameworks() {
        let dir = org(
            "framework: SOC2\ncontrols:\n  CC6.1: [S3-PUBLIC, \"ORG-NET-*\"]\n  CC7.2: [ORG-NET-002]\n",
        );
        let (maps, errs) = load(dir.path(), &["soc2".into(), "pci".into()]);
        assert!(errs.is_empty(), "{errs:?}");
        let mut gates = vec![GateReport::new(
            Gate::Rego,
            3,
            vec![
                Finding::new(
                    Gate::Rego,
                    "ORG-NET-002",
                    Level::Failure,
                    Severity::High,
                    "m",
                ),
                Finding::new(Gate::Rego, "S3-PUBLIC", Level::Failure, Severity::High, "m"),
                Finding::new(Gate::Rego, "OTHER", Level::Failure, Severity::High, "m"),
            ],
        )];
        annotate(&mut gates, &maps);
        let controls: Vec<_> = gates[0]
            .findings
            .iter()
            .map(|f| f.controls.clone())
            .collect();
        assert_eq!(
            controls,
            [
                vec!["SOC2 CC6.1".to_string(), "SOC2 CC7.2".to_string()],
                vec!["SOC2 CC6.1".to_string()],
                vec![]
            ]
        );
        // Not selected: nothing loaded.
        assert!(load(dir.path(), &[]).0.is_empty());
    }

    #[test]
    fn a_broken_mapping_is_an_error_finding() {
        let dir = org("controls:\n  CC6.1: [\"[\"]\n");
        let (maps, errs) = load(dir.path(), &["soc2".into()]);
        assert!(maps.is_empty());
        assert!(
            errs[0].message.contains("compliance/soc2/mapping.yaml"),
            "{errs:?}"
        );
        let dir = org("framwork: SOC2\n");
        assert!(
            load(dir.path(), &["soc2".into()]).1[0]
                .message
                .contains("framwork")
        );
    }
}
