//! Policy levels: the places policies come from, in resolution order (built-in library, org
//! `shared`, `layers/<layer>`, `workloads/<workload>`, `domains/<domain>`,
//! `compliance/<framework>`, `--policy` folders, the project's own `policy/`).
//!
//! A level's `policy/` may keep its policies by input format, as ThothCTL's org policy template
//! does: `hcl/` judges Terraform/HCL inputs only and `cloudformation/` CloudFormation templates
//! only. Files directly in `policy/` judge every input, but only in a level without those
//! folders: the template keeps older copies of some rules there, and loading both would define
//! the rules twice.

use std::path::Path;

use super::policy::PolicySource;
use crate::inputs::InputFormat;

/// What a level is, for summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelKind {
    /// The library compiled into the binary.
    Builtin,
    /// A folder of the org policy repository; `selector` is `shared`, `layer=networking`, ...
    Org { selector: String },
    /// A `--policy` folder.
    Extra,
    /// The project's own `policy/`.
    Project,
}

/// One level of policies.
#[derive(Debug, Clone)]
pub struct PolicyLevel {
    pub kind: LevelKind,
    pub source: PolicySource,
}

impl PolicyLevel {
    /// A level of `kind` over `source`.
    pub fn new(kind: LevelKind, source: PolicySource) -> Self {
        PolicyLevel { kind, source }
    }

    /// How summaries name the level: `built-in`, `org shared`, `org layer=networking`,
    /// `project policy`, or the folder given with `--policy`.
    pub fn name(&self) -> String {
        match (&self.kind, &self.source) {
            (LevelKind::Builtin, _) => "built-in".into(),
            (LevelKind::Org { selector }, _) => format!("org {selector}"),
            (LevelKind::Project, _) => "project policy".into(),
            (LevelKind::Extra, PolicySource::Dir { label, .. }) => label.clone(),
            (LevelKind::Extra, _) => "--policy".into(),
        }
    }

    /// The format folders (`hcl`, `cloudformation`) this level keeps its policies in; empty
    /// when its policies judge every input.
    pub fn format_folders(&self) -> Vec<&'static str> {
        let PolicySource::Dir { path, .. } = &self.source else {
            return Vec::new();
        };
        InputFormat::ALL
            .iter()
            .filter_map(|f| f.folder())
            .filter(|f| is_real_dir(&path.join(f)))
            .collect()
    }

    /// The policies of this level that judge inputs of `format`, if any.
    pub fn source_for(&self, format: InputFormat) -> Option<PolicySource> {
        let folders = self.format_folders();
        if folders.is_empty() {
            return Some(self.source.clone());
        }
        let folder = format.folder().filter(|f| folders.contains(f))?;
        match &self.source {
            PolicySource::Dir { path, label } => Some(PolicySource::Dir {
                path: path.join(folder),
                label: format!("{}/{folder}", label.trim_end_matches('/')),
            }),
            _ => None,
        }
    }
}

/// A folder that is not a symlink: a symlinked format folder is walked (and its escape
/// reported) like any other file of the level.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Every source of `levels` that judges inputs of `format`, in resolution order.
pub fn sources_for(levels: &[PolicyLevel], format: InputFormat) -> Vec<PolicySource> {
    levels.iter().filter_map(|l| l.source_for(format)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_level(path: &Path) -> PolicyLevel {
        PolicyLevel::new(
            LevelKind::Org {
                selector: "shared".into(),
            },
            PolicySource::Dir {
                path: path.to_path_buf(),
                label: "org:shared/policy".into(),
            },
        )
    }

    fn label(s: Option<PolicySource>) -> Option<String> {
        match s? {
            PolicySource::Dir { label, .. } => Some(label),
            _ => None,
        }
    }

    #[test]
    fn format_folders_replace_top_level_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("hcl")).unwrap();
        let level = dir_level(dir.path());
        assert_eq!(level.format_folders(), ["hcl"]);
        assert_eq!(
            label(level.source_for(InputFormat::Hcl)).as_deref(),
            Some("org:shared/policy/hcl")
        );
        assert!(level.source_for(InputFormat::CloudFormation).is_none());
        assert!(level.source_for(InputFormat::Other).is_none());
    }

    #[test]
    fn a_level_without_format_folders_judges_every_input() {
        let dir = tempfile::tempdir().unwrap();
        let level = dir_level(dir.path());
        for f in InputFormat::ALL {
            assert_eq!(
                label(level.source_for(f)).as_deref(),
                Some("org:shared/policy")
            );
        }
    }
}
