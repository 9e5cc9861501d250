//! The deployment files in `deploy/` hold together: every YAML parses, the Kubernetes objects
//! have what running the bot safely needs (replicas, probes, non-root, a PDB that selects the
//! pods, secrets that exist), compose runs several replicas on PostgreSQL, the Dockerfile is
//! multi-stage, non-root and health-checked, the systemd unit outlives the grace period, and
//! every `THOTH_*` variable they set is one the bot reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn deploy_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&root().join("deploy"), &mut out);
    out.sort();
    out
}

/// Every document of every YAML file under deploy/, with its file.
fn yaml_docs() -> Vec<(PathBuf, Value)> {
    let mut docs = Vec::new();
    for f in deploy_files() {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "yaml" && ext != "yml" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", f.display()));
            if !v.is_null() {
                docs.push((f.clone(), v));
            }
        }
    }
    docs
}

fn kind<'a>(docs: &'a [(PathBuf, Value)], k: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|(_, v)| v["kind"].as_str() == Some(k))
        .map(|(_, v)| v)
        .collect()
}

fn one<'a>(docs: &'a [(PathBuf, Value)], k: &str) -> &'a Value {
    let found = kind(docs, k);
    assert_eq!(found.len(), 1, "expected one {k}");
    found[0]
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
}

/// `selector` (matchLabels) selects objects labelled `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(sel) = selector.as_mapping() else {
        return false;
    };
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn kubernetes_manifests_are_complete() {
    let docs = yaml_docs();
    assert!(!docs.is_empty());
    let dep = one(&docs, "Deployment");
    let spec = &dep["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2, "two replicas");
    let pod_labels = &spec["template"]["metadata"]["labels"];
    assert!(selects(&spec["selector"]["matchLabels"], pod_labels));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);

    let containers = pod["containers"].as_sequence().unwrap();
    assert!(!containers.is_empty());
    for c in containers {
        assert_eq!(
            c["livenessProbe"]["httpGet"]["path"].as_str(),
            Some("/healthz")
        );
        assert_eq!(
            c["readinessProbe"]["httpGet"]["path"].as_str(),
            Some("/readyz")
        );
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
        assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
        // Several replicas need the shared store.
        let store = env_value(c, "THOTH_STORE").expect("THOTH_STORE");
        assert!(
            store.get("valueFrom").is_some()
                || store["value"].as_str().unwrap().starts_with("postgres://")
        );
        // The kill comes after the bot's own grace period.
        let grace: u64 = env_value(c, "THOTH_SHUTDOWN_GRACE_SECS").unwrap()["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > grace);
        // The probes' port is the one the bot listens on.
        let listen = env_value(c, "THOTH_LISTEN").unwrap()["value"]
            .as_str()
            .unwrap();
        let port = c["ports"][0]["containerPort"].as_u64().unwrap();
        assert!(listen.ends_with(&format!(":{port}")), "{listen} vs {port}");
    }

    // Every secret the pod refers to is in the Secret template.
    let secret = one(&docs, "Secret");
    let name = secret["metadata"]["name"].as_str().unwrap();
    let keys: BTreeSet<&str> = secret["stringData"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    for c in containers {
        for e in c["env"].as_sequence().unwrap() {
            let r = &e["valueFrom"]["secretKeyRef"];
            if !r.is_null() {
                assert_eq!(r["name"].as_str(), Some(name));
                assert!(keys.contains(r["key"].as_str().unwrap()), "{:?}", r["key"]);
            }
        }
    }
    for v in pod["volumes"].as_sequence().unwrap() {
        if let Some(s) = v.get("secret") {
            assert_eq!(s["secretName"].as_str(), Some(name));
            for item in s["items"].as_sequence().unwrap() {
                assert!(keys.contains(item["key"].as_str().unwrap()));
            }
        }
    }

    let pdb = one(&docs, "PodDisruptionBudget");
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"], pod_labels));
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap() < spec["replicas"].as_u64().unwrap());
    let svc = one(&docs, "Service");
    assert!(selects(&svc["spec"]["selector"], pod_labels));
    assert_eq!(svc["spec"]["ports"][0]["targetPort"].as_str(), Some("http"));
}

#[test]
fn compose_runs_replicas_on_postgres() {
    let text = std::fs::read_to_string(root().join("deploy/compose.yaml")).unwrap();
    let c: Value = serde_yaml::from_str(&text).unwrap();
    let services = &c["services"];
    assert!(
        services["postgres"]["image"]
            .as_str()
            .unwrap()
            .starts_with("postgres:")
    );
    let bot = &services["thoth-bot"];
    assert!(bot["deploy"]["replicas"].as_u64().unwrap() >= 2);
    assert!(
        bot["environment"]["THOTH_STORE"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    assert_eq!(
        bot["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(
        bot["build"]["dockerfile"].as_str(),
        Some("deploy/Dockerfile")
    );
    assert!(!bot["stop_grace_period"].is_null());
    // One published port for the forge: the proxy in front of the replicas.
    assert!(
        bot.get("ports").is_none(),
        "replicas cannot share a host port"
    );
    assert!(!services["proxy"]["ports"].as_sequence().unwrap().is_empty());
    for (name, s) in services.as_mapping().unwrap() {
        assert!(
            s.get("image").is_some() || s.get("build").is_some(),
            "{name:?}"
        );
    }
}

#[test]
fn dockerfile_is_multistage_non_root_and_health_checked() {
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let starts = |w: &'static str| instructions.iter().filter(move |l| l.starts_with(w));
    assert!(starts("FROM ").count() >= 2, "multi-stage");
    let last_from = instructions
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap();
    let user = instructions[last_from..]
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    let user = user.split(':').next().unwrap().trim();
    assert!(user != "0" && user != "root", "USER {user}");
    assert!(text.contains("HEALTHCHECK"), "HEALTHCHECK");
    assert!(
        text.contains(r#""healthcheck"]"#),
        "health-checked by the binary"
    );
    assert!(text.contains("--locked"));
    let expose = starts("EXPOSE ").next().expect("EXPOSE");
    assert!(text.contains(&format!("THOTH_LISTEN=0.0.0.0:{}", &expose[7..])));
}

#[test]
fn systemd_unit_outlives_the_grace_period() {
    let text = std::fs::read_to_string(root().join("deploy/systemd/thoth-bot.service")).unwrap();
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .collect::<Vec<_>>()
    };
    assert!(get("ExecStart")[0].contains(" serve"));
    assert_eq!(get("DynamicUser"), ["yes"], "never root");
    assert!(
        get("Environment")
            .iter()
            .any(|e| e.starts_with("THOTH_STORE=sled:"))
    );
    let grace: u64 = get("Environment")
        .iter()
        .find_map(|e| e.strip_prefix("THOTH_SHUTDOWN_GRACE_SECS="))
        .unwrap()
        .parse()
        .unwrap();
    let stop: u64 = get("TimeoutStopSec")[0].parse().unwrap();
    assert!(stop > grace);
    assert_eq!(get("KillSignal"), ["SIGTERM"]);
}

/// `THOTH_*` names in a text.
fn env_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("THOTH_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        out.insert(name.trim_end_matches('_').to_string());
        rest = &rest[i + 6..];
    }
    out
}

/// Variables the bot reads: the config loader, the CLI and the logger.
fn known_env() -> BTreeSet<String> {
    let mut known = BTreeSet::new();
    for f in [
        "src/config.rs",
        "src/config/forges.rs",
        "src/cli/dispatch.rs",
    ] {
        known.extend(env_names(&std::fs::read_to_string(root().join(f)).unwrap()));
    }
    known
}

#[test]
fn deploy_files_only_set_variables_the_bot_reads() {
    let known = known_env();
    // Set for compose itself, not for the bot.
    let compose_only = ["THOTH_DB_PASSWORD"];
    for f in deploy_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        for name in env_names(&text) {
            assert!(
                known.contains(&name) || compose_only.contains(&name.as_str()),
                "{} sets {name}, which the bot does not read",
                f.display()
            );
        }
    }
}
