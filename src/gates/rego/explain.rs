//! `/thoth explain RULE_ID`: what a rule checks and how to fix it, from the policies' own
//! metadata.
//!
//! Two metadata shapes are read: a package-level `docs` object keyed by rule id (the default
//! library's convention: `{"THOTH-AWS-S3-001": {"title", "description", "remediation"}}`) and
//! conftest's `__rego_metadata__` (`id`, `title`, `description`, `custom.remediation`). A rule id
//! of the default shape `package.rule` (findings without an `id`) names the package's file, and
//! the file's leading comment serves as the description.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::policy::{LoadOptions, PolicySet, PolicySource};

/// What is known about a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub rule_id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub remediation: Option<String>,
    /// Display path of the policy file that defines it.
    pub file: Option<String>,
    /// `data.x.y`
    pub package: String,
}

impl RuleDoc {
    /// Markdown for a PR reply.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("**{}**", self.rule_id);
        if let Some(t) = &self.title {
            out.push_str(&format!(": {t}"));
        }
        out.push_str("\n\n");
        if let Some(d) = &self.description {
            out.push_str(&format!("{d}\n\n"));
        }
        if let Some(r) = &self.remediation {
            out.push_str(&format!("**How to fix:** {r}\n\n"));
        }
        let pkg = self.package.trim_start_matches("data.");
        match &self.file {
            Some(f) => out.push_str(&format!("Defined in `{f}` (package `{pkg}`).")),
            None => out.push_str(&format!("Package `{pkg}`.")),
        }
        out
    }
}

/// Looks `rule_id` up in the policies of `sources`.
pub fn explain(sources: &[PolicySource], rule_id: &str) -> Option<RuleDoc> {
    let set = PolicySet::load(sources, LoadOptions::default());
    explain_in(&set, rule_id)
}

/// Looks `rule_id` up in a loaded policy set.
pub fn explain_in(set: &PolicySet, rule_id: &str) -> Option<RuleDoc> {
    Explainer::new(set).explain(rule_id)
}

/// Looks rules up in one policy set, evaluating each package's metadata once. A job explains
/// every rule that fired; evaluating `docs` and `__rego_metadata__` of every package again for
/// each rule, on a fresh engine clone that had to prepare the whole library each time, took
/// about half a second per job.
pub struct Explainer<'a> {
    set: &'a PolicySet,
    engine: regorus::Engine,
    values: HashMap<String, Json>,
}

impl<'a> Explainer<'a> {
    pub fn new(set: &'a PolicySet) -> Self {
        Explainer {
            set,
            engine: set.engine.clone(),
            values: HashMap::new(),
        }
    }

    fn eval(&mut self, query: String) -> Json {
        if let Some(v) = self.values.get(&query) {
            return v.clone();
        }
        let v = eval(&mut self.engine, &query);
        self.values.insert(query, v.clone());
        v
    }

    /// What is known about `rule_id`, as [`explain_in`].
    pub fn explain(&mut self, rule_id: &str) -> Option<RuleDoc> {
        let set = self.set;
        let mut packages: Vec<&str> = set.files.iter().map(|f| f.package.as_str()).collect();
        packages.sort_unstable();
        packages.dedup();
        let found = packages.iter().find_map(|package| {
            let docs = self.eval(format!("{package}.docs"));
            if let Some(entry) = docs.get(rule_id).filter(|e| e.is_object()) {
                return Some(doc_from(set, package, rule_id, entry, &["remediation"]));
            }
            let meta = self.eval(format!("{package}.__rego_metadata__"));
            (meta.get("id").and_then(Json::as_str) == Some(rule_id))
                .then(|| doc_from(set, package, rule_id, &meta, &["custom", "remediation"]))
        });
        found.or_else(|| by_package_rule(set, rule_id))
    }
}

/// A [`RuleDoc`] from a metadata object; `remediation` is tried first, then the other shape.
fn doc_from(
    set: &PolicySet,
    package: &str,
    rule_id: &str,
    entry: &Json,
    remediation: &[&str],
) -> RuleDoc {
    let other: &[&str] = if remediation == ["remediation"] {
        &["custom", "remediation"]
    } else {
        &["remediation"]
    };
    RuleDoc {
        rule_id: rule_id.to_string(),
        title: text(entry, &["title"]),
        description: text(entry, &["description"]),
        remediation: text(entry, remediation).or_else(|| text(entry, other)),
        file: file_for(set, package, rule_id),
        package: package.to_string(),
    }
}

/// The file of `package` that mentions `needle`, else its first file.
fn file_for(set: &PolicySet, package: &str, needle: &str) -> Option<String> {
    let in_pkg = || set.files.iter().filter(|f| f.package == package);
    in_pkg()
        .find(|f| f.source.contains(needle))
        .or_else(|| in_pkg().next())
        .map(|f| f.path.clone())
}

/// `package.rule`, the id of findings that carry no `id` of their own: the package's file and
/// its leading comment.
fn by_package_rule(set: &PolicySet, rule_id: &str) -> Option<RuleDoc> {
    let (pkg, rule) = rule_id.rsplit_once('.')?;
    let package = format!("data.{pkg}");
    let file = set
        .files
        .iter()
        .find(|f| f.package == package && f.source.contains(rule))?;
    Some(RuleDoc {
        rule_id: rule_id.to_string(),
        title: None,
        description: leading_comment(&file.source),
        remediation: None,
        file: Some(file.path.clone()),
        package,
    })
}

fn eval(engine: &mut regorus::Engine, query: &str) -> Json {
    match engine.eval_query(query.to_string(), false) {
        Ok(r) => r
            .result
            .first()
            .and_then(|r| r.expressions.first())
            .map(|e| super::to_json(&e.value))
            .unwrap_or(Json::Null),
        Err(_) => Json::Null,
    }
}

fn text(v: &Json, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The `#` comment block at the top of a Rego file, as one paragraph.
fn leading_comment(source: &str) -> Option<String> {
    let lines: Vec<&str> = source
        .lines()
        .map(str::trim)
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let text = lines.join(" ").trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::rego::policy::builtin_library;

    #[test]
    fn library_rules_are_explained_from_their_docs() {
        let doc = explain(&[builtin_library()], "THOTH-AWS-S3-001").expect("documented");
        assert_eq!(
            doc.title.as_deref(),
            Some("S3 bucket without server-side encryption")
        );
        assert!(
            doc.remediation
                .unwrap()
                .contains("aws_s3_bucket_server_side_encryption")
        );
        assert_eq!(doc.file.as_deref(), Some("builtin:terraform/s3.rego"));
        assert!(explain(&[builtin_library()], "NO-SUCH-RULE").is_none());
    }

    #[test]
    fn conftest_metadata_and_package_rule_ids() {
        let files = vec![(
            "policy/k8s.rego".to_string(),
            r#"# Containers must not run as root.
package k8s.root

__rego_metadata__ := {"id": "K8S-ROOT", "title": "Root containers", "description": "Runs as root.", "custom": {"remediation": "Set runAsNonRoot."}}

deny contains msg if { input.x; msg := "root" }
"#
            .to_string(),
        )];
        let src = [PolicySource::Embedded(files)];
        let doc = explain(&src, "K8S-ROOT").unwrap();
        assert_eq!(doc.remediation.as_deref(), Some("Set runAsNonRoot."));
        let doc = explain(&src, "k8s.root.deny").unwrap();
        assert_eq!(
            doc.description.as_deref(),
            Some("Containers must not run as root.")
        );
        assert!(doc.to_markdown().contains("`policy/k8s.rego`"));
    }
}
