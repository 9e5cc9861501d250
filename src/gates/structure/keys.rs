//! Unknown keys in the `.thothcf.toml` sections thoth-bot reads.
//!
//! ThothCTL's files carry descriptive keys (`description`, `owner`, `tags`, ...) beside the
//! ones thoth-bot acts on; those are accepted. An unknown key within edit distance 2 of a known
//! one is almost surely a typo that would silently turn a rule off, so it is an error with a
//! suggestion. Any other unknown key is reported as a warning and otherwise ignored.

/// Keys that describe a project or a rule and change nothing; accepted in every section.
const DESCRIPTIVE: &[&str] = &[
    "description",
    "owner",
    "owners",
    "team",
    "tags",
    "labels",
    "contact",
    "email",
    "name",
    "title",
    "notes",
    "comment",
    "maintainers",
    "url",
    "docs",
    "version",
    "cost_center",
];

/// One section and the keys thoth-bot reads in it.
pub struct Section {
    /// How messages name it: `[thothcf.governance]`, `[[project_structure.folders]]`.
    pub name: &'static str,
    pub known: &'static [&'static str],
    /// Whether other unknown keys are warned about; `false` for sections another tool owns
    /// (`[thothcf]`), where only near misses of our keys are reported.
    pub warn_unknown: bool,
}

pub const THOTHCF: Section = Section {
    name: "[thothcf]",
    known: &["governance", "builtin_policies"],
    warn_unknown: false,
};
pub const GOVERNANCE: Section = Section {
    name: "[thothcf.governance]",
    known: &["domain", "workload", "layer", "compliance"],
    warn_unknown: true,
};
pub const PROJECT_STRUCTURE: Section = Section {
    name: "[project_structure]",
    known: &["root_files", "ignore_folders", "folders", "locked"],
    warn_unknown: true,
};
pub const FOLDER: Section = Section {
    name: "[[project_structure.folders]]",
    known: &["name", "mandatory", "type", "parent", "content"],
    warn_unknown: true,
};

/// What the scan of one file found.
#[derive(Debug, Default)]
pub struct KeyReport {
    /// `(key, suggestion, line)` of the first near miss, if any.
    pub typo: Option<(String, String, Option<usize>)>,
    /// Warnings for other unknown keys: `(message, line)`.
    pub warnings: Vec<(String, Option<usize>)>,
}

/// Scans the sections of a parsed config file.
pub fn scan(table: &toml::Table, text: &str) -> KeyReport {
    let mut report = KeyReport::default();
    let sub = |t: &toml::Table, k: &str| t.get(k).and_then(toml::Value::as_table).cloned();
    if let Some(thothcf) = sub(table, "thothcf") {
        check(&thothcf, &THOTHCF, text, &mut report);
        if let Some(gov) = sub(&thothcf, "governance") {
            check(&gov, &GOVERNANCE, text, &mut report);
        }
    }
    if let Some(ps) = sub(table, "project_structure") {
        check(&ps, &PROJECT_STRUCTURE, text, &mut report);
        if let Some(folders) = ps.get("folders").and_then(toml::Value::as_array) {
            for f in folders.iter().filter_map(toml::Value::as_table) {
                check(f, &FOLDER, text, &mut report);
            }
        }
    }
    report
}

fn check(table: &toml::Table, section: &Section, text: &str, report: &mut KeyReport) {
    for key in table.keys() {
        if section.known.contains(&key.as_str()) || DESCRIPTIVE.contains(&key.as_str()) {
            continue;
        }
        let near = section
            .known
            .iter()
            .map(|k| (strsim::levenshtein(key, k), *k))
            .filter(|(d, _)| *d <= 2)
            .min();
        match near {
            Some((_, suggestion)) if report.typo.is_none() => {
                report.typo = Some((
                    format!("unknown key `{key}` in {}", section.name),
                    suggestion.to_string(),
                    line_of_key(text, key),
                ));
            }
            // Only the first near miss is reported.
            Some(_) => {}
            None if section.warn_unknown => report.warnings.push((
                format!("unknown key `{key}` in {} was ignored", section.name),
                line_of_key(text, key),
            )),
            None => {}
        }
    }
}

/// The 1-based line where `key = ...` is written (the first such line).
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            let t = t
                .strip_prefix(key)
                .or_else(|| t.strip_prefix(&format!("\"{key}\"")));
            t.is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}
