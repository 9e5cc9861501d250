//! Several projects in one repository: every folder with a `.thothcf.toml` is judged as a
//! project of its own (`check --recursive`, and always by the bot); the summary shows each and
//! the worst one decides.

mod common;
mod support;

use common::*;
use serde_json::Value;
use support::world::*;

const PROJECT: &str = "[thothcf]\nproject_id = \"p\"\n";
const NEEDS_README: &str =
    "[thothcf]\nproject_id = \"network\"\n\n[project_structure]\nroot_files = [\"README.md\"]\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("README.md", "# infra\n"),
            ("payments/.thothcf.toml", PROJECT),
            ("payments/main.tf", INSECURE_TF),
            ("network/.thothcf.toml", NEEDS_README),
            ("network/main.tf", BASE_TF),
        ],
    );
    dir
}

#[test]
fn check_recursive_judges_each_project_with_its_own_config() {
    let dir = tree();
    let (code, v) = check_json(dir.path(), &["--recursive"]);
    assert_eq!(code, 1, "{v:#}");
    let projects: Vec<(String, bool)> = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["project"].as_str().unwrap().into(),
                p["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        projects,
        [
            (".".to_string(), true),
            ("network".to_string(), false),
            ("payments".to_string(), false)
        ]
    );
    let of = |project: &str| -> Vec<&Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["project"] == project && f["level"] != "info")
            .collect()
    };
    // payments' files are its own, named from the repository root.
    assert!(!of("payments").is_empty());
    assert!(
        of("payments").iter().all(|f| f["file"]
            .as_str()
            .is_none_or(|p| p.starts_with("payments/"))),
        "{v:#}"
    );
    // network's structure rule (README.md) is its own; the root's README does not count.
    assert!(
        of("network").iter().any(|f| f["gate"] == "structure"),
        "{v:#}"
    );
    // The root project does not judge the nested projects' files again.
    assert!(of(".").is_empty(), "{v:#}");

    // Without --recursive: one project, as before.
    let (_, plain) = check_json(dir.path(), &[]);
    assert!(plain.get("projects").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_shows_each_project_and_the_worst_decides() {
    let mut w = World::new().await;
    w.base_sha = w.repo.commit(
        &[
            ("payments/.thothcf.toml", PROJECT),
            ("network/.thothcf.toml", PROJECT),
            ("network/main.tf", BASE_TF),
        ],
        "two projects",
    );
    let app = w.start(&w.config(&w.sled(), 1)).await;
    let head = w.push_pr(
        3,
        &[
            ("payments/main.tf", INSECURE_TF),
            ("network/main.tf", &BASE_TF.replace("alerts", "alarms")),
        ],
    );
    assert_eq!(w.open_pr(app.addr, "d-projects", 3, &head).await, 202);
    let run = w.wait_completed(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let comment = marked_comments(&w, 3).pop().expect("summary").body;
    assert!(comment.contains("### Projects"), "{comment}");
    assert!(comment.contains("| `payments` | **failed** |"), "{comment}");
    assert!(comment.contains("| `network` | passed |"), "{comment}");
    assert!(comment.contains("#### `payments` · rego"), "{comment}");
    assert!(comment.contains("`payments/main.tf:"), "{comment}");
    assert!(comment.contains("project payments: "), "{comment}");
    app.stop().await;
}
