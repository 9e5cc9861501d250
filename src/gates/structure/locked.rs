//! A locked org structure (`locked = true` in the org's `.thothcf.toml`): what a team's own
//! structure may not drop.

use super::config::ProjectStructure;
use super::normalize;

/// Puts the org's mandatory items back into a lower level's structure. A lower-level folder rule
/// for the same folder stays, but is made mandatory and gets the org's content files added.
pub(super) fn enforce_locked(effective: &mut ProjectStructure, org: &ProjectStructure) {
    effective.locked = true;
    for file in &org.root_files {
        if !effective
            .root_files
            .iter()
            .any(|f| normalize(f) == normalize(file))
        {
            effective.root_files.push(file.clone());
        }
    }
    for org_rule in org.folders.iter().filter(|f| f.mandatory) {
        let same = effective.folders.iter_mut().find(|f| {
            normalize(&f.name) == normalize(&org_rule.name)
                && f.r#type == org_rule.r#type
                && f.parent.as_deref().map(normalize) == org_rule.parent.as_deref().map(normalize)
        });
        match same {
            Some(rule) => {
                rule.mandatory = true;
                for c in &org_rule.content {
                    if !rule.content.contains(c) {
                        rule.content.push(c.clone());
                    }
                }
            }
            None => effective.folders.push(org_rule.clone()),
        }
    }
}
