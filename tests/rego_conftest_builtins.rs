//! conftest's test builtins (`parse_config`, `parse_config_file`,
//! `parse_combined_config_files`) in `verify` and `check`, and `verify --data`: conftest's own
//! examples that use them (tests/data/conftest-builtins), every parser, and the files a hostile
//! policy may not read.

mod common;

use common::*;

/// `(status, test name)` of every line of a `verify` listing.
fn statuses(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .map(|l| {
            let name = l.rsplit(": ").next().unwrap_or("");
            let name = name.split(" (").next().unwrap_or(name);
            (l[..4].to_string(), name.to_string())
        })
        .collect()
}

#[test]
fn conftest_combine_example_passes() {
    let (code, out, err) = thoth(&["verify", &data("conftest-builtins/combine")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2/2 tests passed"), "{out}");
}

#[test]
fn conftest_hcl2_example_parses_file_and_text() {
    let (code, out, err) = thoth(&["verify", &data("conftest-builtins/hcl2/policy")]);
    // test_unencrypted_azure_disk reads `disk.encryption_settings.enabled`, but a nested block
    // is a list in the gate's input (`encryption_settings = [{enabled = false}]`), as it is in
    // conftest's own hcl2 parser (hcl2json), so that one test fails here as it does there.
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        statuses(&out),
        [
            ("PASS".into(), "main.test_blank_input".into()),
            (
                "PASS".into(),
                "main.test_correctly_encrypted_azure_disk".into()
            ),
            ("FAIL".into(), "main.test_unencrypted_azure_disk".into()),
            ("PASS".into(), "main.test_fails_with_http_alb".into()),
        ] as [(String, String); 4],
        "{out}"
    );
}

#[test]
fn every_parser_and_verify_data() {
    let dir = data("conftest-builtins/formats/policy");
    let with_data = data("conftest-builtins/formats/data");
    let (code, out, err) = thoth(&["verify", &dir, "--data", &with_data]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8/8 tests passed"), "{out}");
    // Without --data the test that reads data.registries fails.
    let (code, out, _) = thoth(&["verify", &dir]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL") && out.contains("test_dockerfile_file_with_data"),
        "{out}"
    );
    let (code, _, err) = thoth(&["verify", &dir, "--data", "/nonexistent-thoth-dir"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn files_outside_the_policy_directory_are_refused() {
    let root = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("outside.yaml", "secret: 1\n"),
            ("policy/inside.yaml", "ok: 1\n"),
            (
                "policy/p_test.rego",
                concat!(
                    "package p\nimport rego.v1\n",
                    "test_inside if { parse_config_file(\"inside.yaml\") == {\"ok\": 1} }\n",
                    "test_parent if { parse_config_file(\"../outside.yaml\") }\n",
                    "test_absolute if { parse_config_file(\"/etc/passwd.yaml\") }\n",
                    "test_link if { parse_config_file(\"link.yaml\") }\n",
                    "test_combined if { parse_combined_config_files([\"inside.yaml\", \"../outside.yaml\"]) }\n",
                    "test_parser if { parse_config(\"toml\", \"a = 1\") }\n",
                ),
            ),
        ],
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        root.path().join("outside.yaml"),
        root.path().join("policy/link.yaml"),
    )
    .unwrap();
    let policy = root.path().join("policy");
    let (code, out, err) = thoth(&["verify", policy.to_str().unwrap()]);
    // A symlink out of the directory refuses the whole directory (fail closed: exit 2); the
    // builtins refuse one too (unit test in conftest_builtins).
    assert_eq!(code, 2, "{out}{err}");
    std::fs::remove_file(root.path().join("policy/link.yaml")).unwrap();
    let (code, out, err) = thoth(&["verify", policy.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let got = statuses(&out);
    assert!(
        got.contains(&("PASS".into(), "p.test_inside".into())),
        "{out}"
    );
    for t in [
        "test_parent",
        "test_absolute",
        "test_link",
        "test_combined",
        "test_parser",
    ] {
        assert!(
            got.contains(&("FAIL".into(), format!("p.{t}"))),
            "{t}: {out}"
        );
    }
    assert!(!out.contains("secret"), "{out}");
}

#[test]
fn check_policies_can_parse_their_own_fixtures() {
    let root = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            (
                "main.tf",
                "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n",
            ),
            (
                "policy/allowed.tf",
                "locals {\n  allowed = [\"aws_s3_bucket\"]\n}\n",
            ),
            (
                "policy/p.rego",
                concat!(
                    "package main\nimport rego.v1\n",
                    "allowed := parse_config_file(\"allowed.tf\").locals[0].allowed\n",
                    "deny contains msg if {\n  some t, _ in input.resource\n  not t in allowed\n",
                    "  msg := sprintf(\"%s not allowed\", [t])\n}\n",
                    "warn contains sprintf(\"allowed %v\", [allowed])\n",
                ),
            ),
        ],
    );
    let (code, v) = check_json(root.path(), &["--gates", "rego", "--no-builtin"]);
    assert_eq!(code, 0, "{v}");
    let msgs: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(msgs, ["allowed [\"aws_s3_bucket\"]"], "{v}");
}
