//! The documentation stays in step with the code: every config key and variable is in
//! docs/configuration.md, every rule of the default library in docs/policies.md, and relative
//! links in the Markdown files point at files that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Words matching `PREFIX[A-Z0-9_-]*` in `text`.
fn words(text: &str, prefix: &str, extra: char) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let w: String = rest[i..]
            .chars()
            .take_while(|c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_' || *c == extra
            })
            .collect();
        out.insert(w.trim_end_matches(['_', '-']).to_string());
        rest = &rest[i + prefix.len()..];
    }
    out
}

#[test]
fn configuration_doc_lists_every_variable_and_key() {
    let doc = read("docs/configuration.md");
    let config = read("src/config.rs") + &read("src/config/forges.rs");
    for name in words(&config, "THOTH_", '_') {
        assert!(
            doc.contains(&name),
            "docs/configuration.md does not mention {name}"
        );
    }
    // Every field of the config structs appears as a key (`key`, or `[key]` for a section).
    for line in config.lines() {
        let Some((key, _)) = line
            .trim()
            .strip_prefix("pub ")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        let key = key.trim();
        if !key.contains(' ') && !key.contains('(') {
            assert!(
                doc.contains(&format!("`{key}`")) || doc.contains(&format!("`[{key}]`")),
                "docs/configuration.md: key `{key}`"
            );
        }
    }
}

fn rego_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rego_files(&p, out);
        } else if p.to_string_lossy().ends_with(".rego")
            && !p.to_string_lossy().ends_with("_test.rego")
        {
            out.push(p);
        }
    }
}

#[test]
fn policies_doc_lists_every_rule_of_the_default_library() {
    let doc = read("docs/policies.md");
    let mut files = Vec::new();
    rego_files(&root().join("policy"), &mut files);
    let mut ids = BTreeSet::new();
    for f in files {
        ids.extend(words(&std::fs::read_to_string(f).unwrap(), "THOTH-", '-'));
    }
    assert!(ids.len() >= 30, "{ids:?}");
    for id in ids {
        assert!(
            doc.contains(&format!("| {id} |")),
            "docs/policies.md misses {id}"
        );
    }
}

#[test]
fn relative_links_point_at_existing_files() {
    let mut docs = vec![
        PathBuf::from("README.md"),
        PathBuf::from("deploy/README.md"),
    ];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = e.unwrap().file_name();
        // Markdown only: docs/ also holds the pages' screenshots.
        if name.to_string_lossy().ends_with(".md") {
            docs.push(Path::new("docs").join(name));
        }
    }
    for doc in docs {
        let text = read(doc.to_str().unwrap());
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            if target.contains("://") || target.starts_with('#') {
                continue;
            }
            let file = target.split('#').next().unwrap();
            let path = root().join(doc.parent().unwrap()).join(file);
            assert!(path.exists(), "{}: broken link {target}", doc.display());
        }
    }
}
