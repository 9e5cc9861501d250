//! Embeds the default policy library (`policy/`, without tests) into the binary, so the bot
//! runs on its defaults with nothing but the executable.

use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect(&path, root, out);
        } else if meta.is_file() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let wanted = (name.ends_with(".rego") && !name.ends_with("_test.rego"))
                || name.ends_with(".json")
                || name.ends_with(".yaml")
                || name.ends_with(".yml");
            if wanted {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, path.clone()));
            }
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let policy = manifest.join("policy");
    println!("cargo:rerun-if-changed=policy");
    let mut files = Vec::new();
    collect(&policy, &policy, &mut files);
    files.sort();
    let mut code = String::from("/// The default policy library: `(path, contents)`.\n");
    code.push_str("pub static POLICY_FILES: &[(&str, &str)] = &[\n");
    for (rel, path) in &files {
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    fs::write(out.join("builtin_policies.rs"), code).expect("write generated file");
}
