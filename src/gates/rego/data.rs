//! Policy data files beside the Rego sources: JSON or YAML objects merged into `data`, and the
//! `config.*` files ThothCTL passes to conftest as `data.config`, merged level by level.

use serde_json::Value as Json;

use crate::finding::{Finding, Gate};

/// A data file's text as a JSON object (`.json` as JSON, anything else as YAML).
pub(super) fn parse_data(name: &str, text: &str) -> Result<Json, String> {
    let json: Json = if name.to_ascii_lowercase().ends_with(".json") {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        let y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        crate::inputs::yaml_to_json(y)
    };
    if !json.is_object() {
        return Err("top level must be an object".into());
    }
    Ok(json)
}

pub(super) fn data_error(path: &str, msg: &str) -> Finding {
    Finding::error(
        Gate::Rego,
        "policy-data-error",
        format!("{path}: bad data file: {msg}"),
    )
    .at(path, None)
}

/// `config.yaml`, `config.yml` or `config.json`: ThothCTL passes it to conftest as
/// `data.config`, so it is not merged into `data` like other data files.
pub(super) fn is_config_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    matches!(name.as_str(), "config.yaml" | "config.yml" | "config.json")
}

/// Merges a later level's config into the merged one: objects merge key by key, anything else
/// (scalars, lists) replaces the earlier value.
pub fn merge_config(into: &mut Json, later: Json) {
    match (into, later) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge_config(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
