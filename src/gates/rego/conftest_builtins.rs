//! conftest's test builtins for policies: `parse_config(parser, text)`,
//! `parse_config_file(path)` and `parse_combined_config_files(paths)`.
//!
//! They return exactly what the gate's input would be for that text or file: the same parsers
//! ([`crate::inputs::parse_text_with`]), the same HCL shape and the same [`ParseLimits`]. Policies
//! are written by people the bot does not trust, so files are read only inside one base directory
//! (the policy directory: `verify DIR`, or the project's policy folder for `check`), after
//! symlinks are resolved, each file within the workspace's per-file size limit and all of them
//! within the run's byte budget. conftest resolves paths against the calling policy file's folder;
//! regorus does not tell an extension who called it, so here they are relative to the base.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, anyhow, bail};
use regorus::{Engine, Value};
use serde_json::Value as Json;

use crate::inputs::{self, HclShape, InputKind, ParseLimits};
use crate::workspace::Limits;

/// Where and how the builtins read configuration.
#[derive(Debug, Clone)]
pub struct ConfigAccess {
    /// Files are read only inside this directory; `None`: `parse_config_file` is an error.
    pub base: Option<PathBuf>,
    pub shape: HclShape,
    pub parse_limits: ParseLimits,
    /// Largest file read (the workspace's per-file limit).
    pub max_file_bytes: u64,
}

impl Default for ConfigAccess {
    fn default() -> Self {
        ConfigAccess {
            base: None,
            shape: HclShape::Object,
            parse_limits: ParseLimits::default(),
            max_file_bytes: Limits::default().max_file_bytes,
        }
    }
}

struct Reader {
    access: ConfigAccess,
    /// The canonical base, resolved once.
    base: Option<PathBuf>,
    /// Bytes read so far by every call on every engine clone (bounded by `max_bytes_per_job`).
    spent: AtomicU64,
}

/// Registers the three builtins on `engine`.
pub fn register(engine: &mut Engine, access: ConfigAccess) -> anyhow::Result<()> {
    let base = access.base.as_ref().and_then(|b| b.canonicalize().ok());
    let reader = Arc::new(Reader {
        access,
        base,
        spent: AtomicU64::new(0),
    });
    let r = reader.clone();
    engine.add_extension(
        "parse_config".into(),
        2,
        Box::new(move |args: Vec<Value>| {
            let parser = string_arg(&args, 0, "parse_config")?;
            let text = string_arg(&args, 1, "parse_config")?;
            let kind = kind_of_parser(&parser)?;
            r.charge(text.len() as u64)?;
            Ok(Value::from(r.parse("parse_config", kind, &text)?))
        }),
    )?;
    let r = reader.clone();
    engine.add_extension(
        "parse_config_file".into(),
        1,
        Box::new(move |args: Vec<Value>| {
            let path = string_arg(&args, 0, "parse_config_file")?;
            Ok(Value::from(r.parse_file(&path)?))
        }),
    )?;
    let r = reader;
    engine.add_extension(
        "parse_combined_config_files".into(),
        1,
        Box::new(move |args: Vec<Value>| {
            let paths = args
                .first()
                .and_then(|a| a.as_array().ok())
                .ok_or_else(|| anyhow!("parse_combined_config_files expects an array of paths"))?;
            let mut combined = Vec::new();
            for p in paths.iter() {
                let path = p
                    .as_string()
                    .map_err(|_| anyhow!("parse_combined_config_files: a path is not a string"))?
                    .to_string();
                // conftest: one entry per document, multi-document YAML files included.
                for doc in r.file_docs(&path)? {
                    combined.push(serde_json::json!({ "path": path, "contents": doc }));
                }
            }
            Ok(Value::from(Json::Array(combined)))
        }),
    )?;
    Ok(())
}

fn string_arg(args: &[Value], i: usize, func: &str) -> anyhow::Result<String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => bail!("{func}: argument {} must be a string", i + 1),
    }
}

/// conftest parser names for the formats the gate reads.
fn kind_of_parser(name: &str) -> anyhow::Result<InputKind> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "hcl2" | "hcl" | "tf" => InputKind::Hcl,
        "yaml" | "yml" => InputKind::Yaml,
        "json" => InputKind::Json,
        "dockerfile" => InputKind::Dockerfile,
        other => {
            bail!("parse_config: parser {other:?} is not supported (hcl2, yaml, json, dockerfile)")
        }
    })
}

impl Reader {
    fn charge(&self, bytes: u64) -> anyhow::Result<()> {
        let limit = self.access.parse_limits.max_bytes_per_job;
        let before = self.spent.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > limit {
            bail!("configuration parsed by policies exceeds {limit} bytes in this run");
        }
        Ok(())
    }

    fn docs(&self, name: &str, kind: InputKind, text: &str) -> anyhow::Result<Vec<Json>> {
        let docs = inputs::parse_text_with(
            name,
            kind,
            text,
            self.access.shape,
            &self.access.parse_limits,
        )
        .map_err(|f| anyhow!("{name}: {}", f.message))?;
        Ok(docs.into_iter().map(|d| d.value).collect())
    }

    /// One document as itself, several (multi-document YAML) as an array, none as null.
    fn parse(&self, name: &str, kind: InputKind, text: &str) -> anyhow::Result<Json> {
        let mut docs = self.docs(name, kind, text)?;
        Ok(match docs.len() {
            0 => Json::Null,
            1 => docs.remove(0),
            _ => Json::Array(docs),
        })
    }

    fn parse_file(&self, path: &str) -> anyhow::Result<Json> {
        let (kind, text) = self.read(path)?;
        self.parse(path, kind, &text)
    }

    fn file_docs(&self, path: &str) -> anyhow::Result<Vec<Json>> {
        let (kind, text) = self.read(path)?;
        self.docs(path, kind, &text)
    }

    /// Reads `path` (relative to the base) if it resolves inside the base and is small enough.
    fn read(&self, path: &str) -> anyhow::Result<(InputKind, String)> {
        let base = self
            .base
            .as_ref()
            .ok_or_else(|| anyhow!("parse_config_file: no policy directory to read {path} from"))?;
        let rel = Path::new(path);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::Prefix(_))) {
            bail!("parse_config_file: {path}: only paths relative to the policy directory");
        }
        let kind = inputs::kind_for(path)
            .ok_or_else(|| anyhow!("parse_config_file: {path}: no parser for this file type"))?;
        let full = base
            .join(rel)
            .canonicalize()
            .with_context(|| format!("parse_config_file: cannot read {path}"))?;
        if !full.starts_with(base) {
            bail!("parse_config_file: {path} is outside the policy directory");
        }
        let limit = self.access.max_file_bytes;
        let file = std::fs::File::open(&full)
            .with_context(|| format!("parse_config_file: cannot read {path}"))?;
        let mut buf = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("parse_config_file: cannot read {path}"))?;
        if buf.len() as u64 > limit {
            bail!("parse_config_file: {path} is larger than {limit} bytes");
        }
        self.charge(buf.len() as u64)?;
        let text = String::from_utf8(buf)
            .map_err(|_| anyhow!("parse_config_file: {path} is not UTF-8 text"))?;
        Ok((kind, text))
    }
}

/// The non-Rego files of a policy directory (`(relative path, shown path, text)`) that a
/// `*_test.rego` file names in a string literal, e.g. `parse_config_file("deployment.yaml")`.
pub fn files_named_by_tests(files: &[(String, String, String)]) -> BTreeSet<String> {
    let mut quoted = BTreeSet::new();
    for (rel, _, text) in files {
        if !rel.ends_with("_test.rego") {
            continue;
        }
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        for (i, lit) in text.split('"').enumerate() {
            if i % 2 == 1 && !lit.is_empty() && lit.len() < 1024 {
                let lit = lit.trim_start_matches("./");
                quoted.insert(if dir.is_empty() {
                    lit.to_string()
                } else {
                    format!("{dir}/{lit}")
                });
                quoted.insert(lit.to_string());
            }
        }
    }
    files
        .iter()
        .filter(|(rel, _, _)| !rel.ends_with(".rego") && quoted.contains(rel))
        .map(|(rel, _, _)| rel.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(base: &Path) -> Engine {
        let mut e = Engine::new();
        let access = ConfigAccess {
            base: Some(base.to_path_buf()),
            max_file_bytes: 64,
            ..Default::default()
        };
        register(&mut e, access).unwrap();
        e.add_policy(
            "p.rego".into(),
            "package p\nimport rego.v1\nf(x) := parse_config_file(x)\nc(x) := parse_config(\"yaml\", x)\n".into(),
        )
        .unwrap();
        e
    }

    fn call(e: &mut Engine, q: &str) -> String {
        match e.eval_query(q.into(), false) {
            Ok(r) => format!("{:?}", r.result.first().map(|r| &r.expressions[0].value)),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn paths_stay_inside_the_base_and_files_are_bounded() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("policy");
        std::fs::create_dir(&base).unwrap();
        std::fs::write(root.path().join("out.yaml"), "secret: 1\n").unwrap();
        std::fs::write(base.join("in.yaml"), "ok: 1\n").unwrap();
        std::fs::write(base.join("big.yaml"), format!("k: {}\n", "x".repeat(100))).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path().join("out.yaml"), base.join("link.yaml")).unwrap();
        let mut e = engine(&base);
        assert!(call(&mut e, "data.p.f(\"in.yaml\")").contains("ok"));
        let out = call(&mut e, "data.p.f(\"../out.yaml\")");
        assert!(out.contains("outside the policy directory"), "{out}");
        #[cfg(unix)]
        {
            let out = call(&mut e, "data.p.f(\"link.yaml\")");
            assert!(out.contains("outside the policy directory"), "{out}");
        }
        let out = call(&mut e, "data.p.f(\"/etc/passwd\")");
        assert!(out.contains("only paths relative"), "{out}");
        let out = call(&mut e, "data.p.f(\"big.yaml\")");
        assert!(out.contains("larger than 64 bytes"), "{out}");
        let out = call(&mut e, "data.p.c(\"a: &a [1]\\nb: *a\\nc: {{{{{{\")");
        assert!(out.starts_with("error"), "{out}");
        assert!(!out.contains("secret"));
    }

    #[test]
    fn fixtures_named_by_tests_are_not_data() {
        let files = vec![
            (
                "t/a_test.rego".into(),
                String::new(),
                "x := parse_config_file(\"d.yaml\")".into(),
            ),
            ("t/d.yaml".into(), String::new(), "a: 1".into()),
            ("t/data.json".into(), String::new(), "{}".into()),
        ];
        let got = files_named_by_tests(&files);
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["t/d.yaml"]);
    }
}
