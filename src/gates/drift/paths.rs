//! Changed attribute paths of a resource change: the dotted paths (`tags.Name`,
//! `ingress.0.cidr_blocks.1`) where `change.before` and `change.after` differ, which is what a
//! rule's `attribute` glob is matched against.

use serde_json::Value;

/// Diffs two attribute objects into dotted paths, in document order (before's keys first, then
/// keys only `after` has).
///
/// - objects are compared by key, arrays by index; leaves by value;
/// - a key or index present on one side only is a change at that path;
/// - a nested `null` against an object or array counts as an empty one, so `tags: null` to
///   `tags: {Name: x}` is `tags.Name` (a tag-only change must read as one);
/// - when `before` or `after` is null as a whole (create / delete), the top-level keys of the
///   other side are listed.
///
/// Only paths come out, never values: drifted attributes may be secrets.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match (before, after) {
        (Value::Null, Value::Null) => {}
        (Value::Null, Value::Object(side)) | (Value::Object(side), Value::Null) => {
            out.extend(side.keys().cloned());
        }
        _ => diff(before, after, "", &mut out),
    }
    out
}

fn diff(before: &Value, after: &Value, path: &str, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    let found = out.len();
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, bv) in b {
                let child = join(path, key);
                match a.get(key) {
                    Some(av) => diff(bv, av, &child, out),
                    None => out.push(child),
                }
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(join(path, key));
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for i in 0..b.len().max(a.len()) {
                let child = join(path, &i.to_string());
                match (b.get(i), a.get(i)) {
                    (Some(bv), Some(av)) => diff(bv, av, &child, out),
                    _ => out.push(child),
                }
            }
        }
        (Value::Null, Value::Object(_)) => {
            diff(&Value::Object(Default::default()), after, path, out)
        }
        (Value::Object(_), Value::Null) => {
            diff(before, &Value::Object(Default::default()), path, out)
        }
        (Value::Null, Value::Array(_)) => diff(&Value::Array(Vec::new()), after, path, out),
        (Value::Array(_), Value::Null) => diff(before, &Value::Array(Vec::new()), path, out),
        _ => {}
    }
    // Differing leaves, differing kinds, and null against an empty container all land here.
    if out.len() == found && !path.is_empty() {
        out.push(path.to_string());
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
