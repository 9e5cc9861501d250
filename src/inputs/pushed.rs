//! Where plans and drift reports pushed to the API (`/api/v1/plans`, `/api/v1/drift`) appear
//! in a checkout: the worker writes them under [`DIR`] at the root of the head before the gates
//! run, so the input parser reads them like committed files (Rego sees each as `input`) and the
//! drift gate counts every one as a report whatever its globs say.
//!
//! Layout: `.thoth-pushed/plan/tfplan.json` (the root project),
//! `.thoth-pushed/plan/<project>/tfplan.json`, `.thoth-pushed/drift-<environment>.json`.
//! The names are checked here ([`project`], [`environment`]) before anything is stored, so a
//! stored name can never climb out of that folder.

/// The folder of pushed reports, at the root of the head checkout.
pub const DIR: &str = ".thoth-pushed";

/// Longest project path accepted.
const MAX_PROJECT_CHARS: usize = 200;
/// Deepest project path accepted.
const MAX_PROJECT_DEPTH: usize = 16;
/// Longest environment name accepted.
const MAX_ENVIRONMENT_CHARS: usize = 64;

/// Why a project directory or an environment name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{value}`: {reason}")]
pub struct NameError {
    what: &'static str,
    value: String,
    reason: &'static str,
}

fn plain(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A project directory as given (`?project=`), normalised: relative, `/`-separated segments
/// of letters, digits, `.`, `_`, `-` (no `.` or `..` segment). Empty or `.`: the root.
pub fn project(dir: &str) -> Result<String, NameError> {
    let err = |reason| NameError {
        what: "project",
        value: dir.chars().take(80).collect(),
        reason,
    };
    let trimmed = dir.trim_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Ok(String::new());
    }
    if dir.len() > MAX_PROJECT_CHARS {
        return Err(err("longer than 200 characters"));
    }
    if dir.starts_with('/') {
        return Err(err("must be relative to the repository root"));
    }
    let segments: Vec<&str> = trimmed.split('/').collect();
    if segments.len() > MAX_PROJECT_DEPTH {
        return Err(err("more than 16 folders deep"));
    }
    if !segments.iter().all(|s| plain(s)) {
        return Err(err(
            "expected folder names of letters, digits, `.`, `_` and `-` (no `..`)",
        ));
    }
    Ok(segments.join("/"))
}

/// An environment name (`?environment=`): letters, digits, `.`, `_`, `-`, at most 64.
pub fn environment(name: &str) -> Result<String, NameError> {
    let err = |reason| NameError {
        what: "environment",
        value: name.chars().take(80).collect(),
        reason,
    };
    if name.len() > MAX_ENVIRONMENT_CHARS {
        return Err(err("longer than 64 characters"));
    }
    if !plain(name) {
        return Err(err("expected letters, digits, `.`, `_` and `-`"));
    }
    Ok(name.to_string())
}

/// Where the plan of `project` (a [`project`] result) is written, relative to the head.
pub fn plan_path(project: &str) -> String {
    if project.is_empty() {
        format!("{DIR}/plan/tfplan.json")
    } else {
        format!("{DIR}/plan/{project}/tfplan.json")
    }
}

/// Where the drift report of `environment` (an [`environment`] result) is written.
pub fn drift_path(environment: &str) -> String {
    format!("{DIR}/drift-{environment}.json")
}

/// Whether a relative path is one of the pushed reports.
pub fn is_pushed(rel: &str) -> bool {
    rel.strip_prefix(DIR).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_or_refused() {
        assert_eq!(project("").ok(), Some(String::new()));
        assert_eq!(project("./").ok(), Some(String::new()));
        assert_eq!(project("envs/prod/").ok(), Some("envs/prod".into()));
        for bad in ["../x", "a/../b", "/etc", "a//b", "a b", "a\\b", "x/./y"] {
            assert!(project(bad).is_err(), "{bad}");
        }
        assert!(project(&"a/".repeat(17)).is_err());
        assert_eq!(environment("prod-eu_1.a").ok(), Some("prod-eu_1.a".into()));
        for bad in ["", "..", "a/b", "prod env", &"x".repeat(65)] {
            assert!(environment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_stay_in_the_folder() {
        assert_eq!(plan_path(""), ".thoth-pushed/plan/tfplan.json");
        assert_eq!(
            plan_path("infra/prod"),
            ".thoth-pushed/plan/infra/prod/tfplan.json"
        );
        assert_eq!(drift_path("prod"), ".thoth-pushed/drift-prod.json");
        assert!(is_pushed(&plan_path("x")));
        assert!(!is_pushed(".thoth-pushedx/a.json"));
    }
}
