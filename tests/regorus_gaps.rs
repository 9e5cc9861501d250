//! Regression tests for the places where regorus 0.14.1 differed from OPA 1.x
//! and that thoth-bot patches in `vendor/regorus` (see `vendor/regorus/PATCHES.md`):
//!
//! 1. A partial-set rule whose head iterates a path (`s contains input.a[_]`,
//!    v0 `s[input.a[_]]`) must yield an empty set when the path is missing
//!    (or is not a collection) instead of failing with "item cannot be indexed".
//! 2. A body-less function head (`covers("*", _)`) means `covers("*", _) := true`,
//!    also in Rego v1 syntax.
//! 3. An import alias used in the second module of a package spread over several
//!    files resolves when the whole package is evaluated (`data.main`).
//! 4. What the differential suite against OPA found: the empty set prints as `set()`,
//!    `sprintf` prints a negative integer's sign once, `some x in` over a scalar enumerates
//!    nothing, and `net.cidr_intersects` exists.
//!
//! The tests of 1 and 2 end with ones that make sure the patches did not silence genuine
//! errors.

use regorus::{Engine, Value};

// Patch 5b: the engine keeps the last query prepared; a new input, new data or a new policy
// must still be seen by the same query text.
fn query_json(e: &mut Engine, query: &str) -> Option<serde_json::Value> {
    let r = e.eval_query(query.to_string(), false).unwrap();
    r.result
        .first()
        .map(|r| serde_json::to_value(&r.expressions[0].value).unwrap())
}

#[test]
fn a_repeated_query_sees_each_input_and_later_policies_and_data() {
    let mut e = engine(false, "package p\nimport rego.v1\nv := input.x * 2\n");
    for x in [1, 5, 7] {
        e.set_input(Value::from_json_str(&format!("{{\"x\": {x}}}")).unwrap());
        assert_eq!(
            query_json(&mut e, "[data.p.v]"),
            Some(serde_json::json!([x * 2]))
        );
    }
    assert_eq!(query_json(&mut e, "[data.p.w]"), None);
    e.add_policy(
        "q.rego".to_string(),
        "package p\nimport rego.v1\nw := input.x + 1\n".to_string(),
    )
    .unwrap();
    assert_eq!(
        query_json(&mut e, "[data.p.w]"),
        Some(serde_json::json!([8]))
    );
    assert_eq!(query_json(&mut e, "[data.p.extra]"), None);
    e.add_data(Value::from_json_str(r#"{"p": {"extra": 3}}"#).unwrap())
        .unwrap();
    assert_eq!(
        query_json(&mut e, "[data.p.extra]"),
        Some(serde_json::json!([3]))
    );
}

// Patch 5a: a dynamic index into a non-data value and into data both still work.
#[test]
fn dynamic_indexes_into_values_and_data() {
    let mut e = engine(
        false,
        "package p\nimport rego.v1\nlast := input.path[count(input.path) - 1]\nsecond := data.p.table[input.path[1]]\ntable := {\"b\": \"B\"}\n",
    );
    e.set_input(Value::from_json_str(r#"{"path": ["a", "b", "c"]}"#).unwrap());
    assert_eq!(
        query_json(&mut e, "[data.p.last, data.p.second]"),
        Some(serde_json::json!(["c", "B"]))
    );
}

fn engine(v0: bool, policy: &str) -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(v0);
    engine
        .add_policy("policy.rego".to_string(), policy.to_string())
        .expect("policy parses");
    engine
}

fn eval_with(engine: &mut Engine, input: &str, rule: &str) -> anyhow::Result<Value> {
    engine.set_input_json(input)?;
    engine.eval_rule(rule.to_string())
}

fn set_of(items: &[&str]) -> Value {
    let mut set = Value::new_set();
    for item in items {
        set.as_set_mut().expect("a set").insert(Value::from(*item));
    }
    set
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_set()
        .expect("a set")
        .iter()
        .map(|v| v.as_string().expect("a string").to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// Gap 1: iterating a missing path in a partial-set rule head.
// ---------------------------------------------------------------------------

const SET_HEAD_V1: &str = r#"
package gaps

volumes contains input.spec.volumes[_]

vols contains pod.spec.volumes[_] if {
    pod := input
}

names contains c.name if {
    c := input.spec.containers[_]
}

pairs contains [input.spec.volumes[_], input.spec.mounts[_]]
"#;

const SET_HEAD_V0: &str = r#"
package gaps

volumes[input.spec.volumes[_]]

vols[pod.spec.volumes[_]] {
    pod := input
}
"#;

#[test]
fn v1_set_head_over_missing_path_is_empty() {
    let mut e = engine(false, SET_HEAD_V1);
    for rule in ["volumes", "vols", "names", "pairs"] {
        let v = eval_with(&mut e, r#"{"spec": {}}"#, &format!("data.gaps.{rule}"))
            .unwrap_or_else(|err| panic!("{rule} must not error: {err}"));
        assert_eq!(v, Value::new_set(), "{rule}");
    }
    // Missing parent as well.
    let v = eval_with(&mut e, "{}", "data.gaps.volumes").expect("no error");
    assert_eq!(v, Value::new_set());
}

#[test]
fn v1_set_head_over_present_path_yields_items() {
    let mut e = engine(false, SET_HEAD_V1);
    let input = r#"{"spec": {"volumes": ["a", "b"], "containers": [{"name": "c1"}]}}"#;
    assert_eq!(
        eval_with(&mut e, input, "data.gaps.volumes").unwrap(),
        set_of(&["a", "b"])
    );
    assert_eq!(
        eval_with(&mut e, input, "data.gaps.vols").unwrap(),
        set_of(&["a", "b"])
    );
    assert_eq!(
        eval_with(&mut e, input, "data.gaps.names").unwrap(),
        set_of(&["c1"])
    );
    // One loop present, the other missing: still no values and no error.
    assert_eq!(
        eval_with(&mut e, input, "data.gaps.pairs").unwrap(),
        Value::new_set()
    );
    let input = r#"{"spec": {"volumes": ["a"], "mounts": ["/m"]}}"#;
    let pairs = eval_with(&mut e, input, "data.gaps.pairs").unwrap();
    let mut expected = Value::new_set();
    expected
        .as_set_mut()
        .unwrap()
        .insert(Value::from(vec![Value::from("a"), Value::from("/m")]));
    assert_eq!(pairs, expected);
}

#[test]
fn v1_set_head_over_object_and_set_values() {
    let mut e = engine(false, SET_HEAD_V1);
    let v = eval_with(
        &mut e,
        r#"{"spec": {"volumes": {"x": "a", "y": "b"}}}"#,
        "data.gaps.volumes",
    )
    .unwrap();
    assert_eq!(v, set_of(&["a", "b"]));
}

#[test]
fn set_head_over_empty_collection_is_empty() {
    // regorus 0.14.1 returned undefined here (no error) for the same reason the
    // missing path case did not yield the empty set.
    let mut e = engine(false, SET_HEAD_V1);
    for volumes in ["[]", "{}"] {
        let input = format!(r#"{{"spec": {{"volumes": {volumes}}}}}"#);
        for rule in ["volumes", "vols"] {
            let v = eval_with(&mut e, &input, &format!("data.gaps.{rule}")).unwrap();
            assert_eq!(v, Value::new_set(), "{rule} over {volumes}");
        }
    }
}

#[test]
fn set_head_definitions_merge() {
    let mut e = engine(
        false,
        r#"
package gaps

volumes contains input.spec.volumes[_]

volumes contains "always"

volumes contains v if {
    some v in input.spec.extra
}
"#,
    );
    let v = eval_with(&mut e, r#"{"spec": {}}"#, "data.gaps.volumes").unwrap();
    assert_eq!(v, set_of(&["always"]));
    let v = eval_with(
        &mut e,
        r#"{"spec": {"volumes": ["a"], "extra": ["b"]}}"#,
        "data.gaps.volumes",
    )
    .unwrap();
    assert_eq!(v, set_of(&["a", "always", "b"]));
}

#[test]
fn set_head_over_scalar_or_null_is_empty_like_opa() {
    // OPA (topdown evalTerm.enumerate) yields no values when the iterated
    // value is not a collection; it does not raise an error.
    let mut e = engine(false, SET_HEAD_V1);
    for volumes in ["null", "5", "true", r#""abc""#] {
        let input = format!(r#"{{"spec": {{"volumes": {volumes}}}}}"#);
        for rule in ["volumes", "vols"] {
            let v = eval_with(&mut e, &input, &format!("data.gaps.{rule}"))
                .unwrap_or_else(|err| panic!("{rule} over {volumes} must not error: {err}"));
            assert_eq!(v, Value::new_set(), "{rule} over {volumes}");
        }
    }
}

#[test]
fn v0_set_head_over_missing_path_is_empty() {
    let mut e = engine(true, SET_HEAD_V0);
    for rule in ["volumes", "vols"] {
        let v = eval_with(&mut e, r#"{"spec": {}}"#, &format!("data.gaps.{rule}"))
            .unwrap_or_else(|err| panic!("{rule} must not error: {err}"));
        assert_eq!(v, Value::new_set(), "{rule}");
    }
}

#[test]
fn v0_set_head_over_present_path_yields_items() {
    let mut e = engine(true, SET_HEAD_V0);
    let input = r#"{"spec": {"volumes": ["a", "b", "a"]}}"#;
    for rule in ["volumes", "vols"] {
        let v = eval_with(&mut e, input, &format!("data.gaps.{rule}")).unwrap();
        let mut got = strings(&v);
        got.sort();
        assert_eq!(got, ["a", "b"], "{rule}");
    }
}

#[test]
fn set_head_used_from_another_rule() {
    // The way conftest policies consume such helpers.
    let mut e = engine(
        false,
        r#"
package gaps

volumes contains input.spec.volumes[_]

deny contains msg if {
    some v in volumes
    v == "hostPath"
    msg := "hostPath volumes are not allowed"
}
"#,
    );
    let v = eval_with(&mut e, r#"{"spec": {}}"#, "data.gaps.deny").unwrap();
    assert_eq!(v, Value::new_set());
    let v = eval_with(
        &mut e,
        r#"{"spec": {"volumes": ["hostPath"]}}"#,
        "data.gaps.deny",
    )
    .unwrap();
    assert_eq!(v, set_of(&["hostPath volumes are not allowed"]));
}

// ---------------------------------------------------------------------------
// Gap 2: body-less function heads.
// ---------------------------------------------------------------------------

const COVERS_V1: &str = r#"
package gaps

covers("*", _)

covers(x, x)

covers(pattern, value) if {
    endswith(pattern, "*")
    pattern != "*"
    startswith(value, trim_suffix(pattern, "*"))
}
"#;

const COVERS_V1_IMPORT: &str = r#"
package gaps

import rego.v1

covers("*", _)

covers(x, x)
"#;

const COVERS_V0: &str = r#"
package gaps

covers("*", _)

covers(x, x)

covers(pattern, value) {
    endswith(pattern, "*")
    pattern != "*"
    startswith(value, trim_suffix(pattern, "*"))
}
"#;

fn call(e: &mut Engine, expr: &str) -> Value {
    let results = e
        .eval_query(expr.to_string(), false)
        .unwrap_or_else(|err| panic!("{expr} must not error: {err}"));
    match results.result.first() {
        Some(r) => r.expressions[0].value.clone(),
        None => Value::Undefined,
    }
}

fn check_covers(e: &mut Engine, with_prefix_rule: bool) {
    assert_eq!(call(e, r#"data.gaps.covers("*", "x")"#), Value::from(true));
    assert_eq!(call(e, r#"data.gaps.covers("*", "*")"#), Value::from(true));
    assert_eq!(call(e, r#"data.gaps.covers("a", "a")"#), Value::from(true));
    assert_eq!(call(e, r#"data.gaps.covers("b", "a")"#), Value::Undefined);
    let prefix = call(e, r#"data.gaps.covers("ab*", "abc")"#);
    if with_prefix_rule {
        assert_eq!(prefix, Value::from(true));
    } else {
        assert_eq!(prefix, Value::Undefined);
    }
    assert_eq!(
        call(e, r#"data.gaps.covers("ab*", "xbc")"#),
        Value::Undefined
    );
}

#[test]
fn v1_bodyless_function_head_is_true() {
    let mut e = engine(false, COVERS_V1);
    check_covers(&mut e, true);
}

#[test]
fn v1_import_bodyless_function_head_is_true() {
    // `import rego.v1` in a policy loaded in v0 mode switches the parser to v1.
    let mut e = engine(true, COVERS_V1_IMPORT);
    check_covers(&mut e, false);
    let mut e = engine(false, COVERS_V1_IMPORT);
    check_covers(&mut e, false);
}

#[test]
fn v0_bodyless_function_head_is_true() {
    let mut e = engine(true, COVERS_V0);
    check_covers(&mut e, true);
}

#[test]
fn bodyless_function_head_used_in_rules() {
    let mut e = engine(
        false,
        r#"
package gaps

covers("*", _)

covers(x, x)

allowed contains r if {
    some r in input.requested
    some p in input.permitted
    covers(p, r)
}

denied if not covers(input.permitted[0], "secret")
"#,
    );
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a", "b"], "permitted": ["a"]}"#,
        "data.gaps.allowed",
    )
    .unwrap();
    assert_eq!(v, set_of(&["a"]));
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a"], "permitted": ["a"]}"#,
        "data.gaps.denied",
    )
    .unwrap();
    assert_eq!(v, Value::from(true));
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a", "b"], "permitted": ["*"]}"#,
        "data.gaps.allowed",
    )
    .unwrap();
    assert_eq!(v, set_of(&["a", "b"]));
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a"], "permitted": ["*"]}"#,
        "data.gaps.denied",
    )
    .unwrap();
    assert_eq!(v, Value::Undefined);
}

#[test]
fn bodyless_function_head_from_another_module() {
    // The conftest layout: helpers in a lib package, used by the policy package.
    // The callee's parameter checks must run against the callee's module.
    let mut e = Engine::new();
    e.add_policy(
        "lib.rego".to_string(),
        "package lib\n\ncovers(\"*\", _)\n\ncovers(x, x)\n".to_string(),
    )
    .unwrap();
    e.add_policy(
        "policy.rego".to_string(),
        r#"
package main

import data.lib

deny contains msg if {
    some r in input.requested
    not permitted(r)
    msg := sprintf("%s is not permitted", [r])
}

permitted(r) if {
    some p in input.permitted
    lib.covers(p, r)
}
"#
        .to_string(),
    )
    .unwrap();
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a", "b"], "permitted": ["a"]}"#,
        "data.main.deny",
    )
    .unwrap();
    assert_eq!(v, set_of(&["b is not permitted"]));
    let v = eval_with(
        &mut e,
        r#"{"requested": ["a", "b"], "permitted": ["*"]}"#,
        "data.main.deny",
    )
    .unwrap();
    assert_eq!(v, Value::new_set());
}

#[test]
fn repeated_parameter_variable_requires_equal_arguments() {
    // OPA unifies the arguments with the head: a variable used in two
    // parameters only matches equal arguments. (regorus 0.14.1 re-bound it.)
    let mut e = engine(
        false,
        r#"
package gaps

same(x, x)

first([x, _], x) := true

pair(x, [x, y]) := y
"#,
    );
    assert_eq!(call(&mut e, "data.gaps.same(1, 1)"), Value::from(true));
    assert_eq!(call(&mut e, "data.gaps.same(1, 2)"), Value::Undefined);
    assert_eq!(
        call(&mut e, "data.gaps.first([1, 2], 1)"),
        Value::from(true)
    );
    assert_eq!(call(&mut e, "data.gaps.first([1, 2], 2)"), Value::Undefined);
    assert_eq!(call(&mut e, "data.gaps.pair(1, [1, 2])"), Value::from(2));
    assert_eq!(call(&mut e, "data.gaps.pair(1, [3, 2])"), Value::Undefined);
    let mut e = engine(true, "package gaps\n\nsame(x, x)\n");
    assert_eq!(
        call(&mut e, "data.gaps.same(\"a\", \"a\")"),
        Value::from(true)
    );
    assert_eq!(
        call(&mut e, "data.gaps.same(\"b\", \"a\")"),
        Value::Undefined
    );
}

// ---------------------------------------------------------------------------
// Genuine errors still surface.
// ---------------------------------------------------------------------------

fn add_and_eval(v0: bool, policy: &str, input: &str, rule: &str) -> anyhow::Result<Value> {
    let mut e = Engine::new();
    e.set_rego_v0(v0);
    e.add_policy("policy.rego".to_string(), policy.to_string())?;
    eval_with(&mut e, input, rule)
}

#[test]
fn undefined_function_still_errors() {
    let policy = r#"
package gaps

volumes contains no_such_function(input.spec.volumes[_])
"#;
    let err = add_and_eval(
        false,
        policy,
        r#"{"spec": {"volumes": ["a"]}}"#,
        "data.gaps.volumes",
    )
    .expect_err("calling an undefined function must fail");
    assert!(
        err.to_string().contains("no_such_function"),
        "unexpected error: {err}"
    );
}

#[test]
fn type_error_in_strict_mode_still_errors() {
    let policy = r#"
package gaps

sizes contains count(input.spec.volumes[_])
"#;
    let mut e = engine(false, policy);
    e.set_strict_builtin_errors(true);
    // count() of a number is a type error in OPA's strict mode.
    let err = eval_with(&mut e, r#"{"spec": {"volumes": [1]}}"#, "data.gaps.sizes")
        .expect_err("count(1) must fail in strict mode");
    assert!(err.to_string().contains("count"), "unexpected error: {err}");
    // ... while the missing path is still an empty set in strict mode.
    let v = eval_with(&mut e, r#"{"spec": {}}"#, "data.gaps.sizes").unwrap();
    assert_eq!(v, Value::new_set());
}

#[test]
fn complete_rule_conflict_still_errors() {
    let policy = r#"
package gaps

first := input.spec.volumes[_]
"#;
    let err = add_and_eval(
        false,
        policy,
        r#"{"spec": {"volumes": ["a", "b"]}}"#,
        "data.gaps.first",
    )
    .expect_err("a complete rule with two values must fail");
    assert!(
        err.to_string().contains("multiple outputs"),
        "unexpected error: {err}"
    );
    // With the path missing the complete rule is undefined, as in OPA.
    let v = add_and_eval(false, policy, r#"{"spec": {}}"#, "data.gaps.first").unwrap();
    assert_eq!(v, Value::Undefined);
}

#[test]
fn v1_bodyless_rule_without_args_still_errors() {
    // Only function heads gained an implicit `:= true`; a bare rule name stays a
    // parse error in v1 (OPA rejects it too).
    let err = Engine::new()
        .add_policy(
            "policy.rego".to_string(),
            "package gaps\n\nallow\n".to_string(),
        )
        .expect_err("a bare `allow` must not parse in v1");
    assert!(
        err.to_string()
            .contains("rule must have a body or assignment"),
        "unexpected error: {err}"
    );
}

// ---------------------------------------------------------------------------
// Gap 3: an import alias in the second file of a multi-file package.
// ---------------------------------------------------------------------------

const MAIN_A: &str =
    "package main\nimport rego.v1\nimport data.kubernetes\ndeny contains \"a\" if { true }\n";
const MAIN_B: &str = "package main\nimport rego.v1\nimport data.kubernetes\ndeny contains \"b\" if { kubernetes.is_deployment }\n";
const KUBERNETES: &str =
    "package kubernetes\nimport rego.v1\nis_deployment if { input.kind = \"Deployment\" }\n";

fn multi_file_package() -> Engine {
    let mut engine = Engine::new();
    for (path, text) in [
        ("a.rego", MAIN_A),
        ("b.rego", MAIN_B),
        ("k.rego", KUBERNETES),
    ] {
        engine
            .add_policy(path.to_string(), text.to_string())
            .expect("policy parses");
    }
    engine
        .set_input_json(r#"{"kind": "Deployment"}"#)
        .expect("input");
    engine
}

fn query_value(engine: &mut Engine, query: &str) -> Value {
    let r = engine
        .eval_query(query.to_string(), false)
        .unwrap_or_else(|e| panic!("{query} must not error: {e}"));
    r.result
        .first()
        .and_then(|r| r.expressions.first())
        .map(|e| e.value.clone())
        .unwrap_or(Value::Undefined)
}

#[test]
fn import_alias_in_second_file_resolves_in_whole_package_query() {
    let mut e = multi_file_package();
    let pkg = query_value(&mut e, "data.main");
    assert_eq!(pkg["deny"], set_of(&["a", "b"]), "data.main = {pkg}");
    // Once through the whole of `data`, too.
    let mut e = multi_file_package();
    let all = query_value(&mut e, "data");
    assert_eq!(all["main"]["deny"], set_of(&["a", "b"]), "data = {all}");
}

#[test]
fn import_alias_in_second_file_resolves_in_rule_query() {
    let mut e = multi_file_package();
    assert_eq!(query_value(&mut e, "data.main.deny"), set_of(&["a", "b"]));
    // The alias still resolves to nothing when the imported rule is false.
    let mut e = multi_file_package();
    e.set_input_json(r#"{"kind": "Service"}"#).expect("input");
    assert_eq!(query_value(&mut e, "data.main"), {
        let mut obj = Value::new_object();
        obj.as_object_mut()
            .expect("an object")
            .insert(Value::from("deny"), set_of(&["a"]));
        obj
    });
}

// ---------------------------------------------------------------------------
// Gap 4 (found by the differential suite, scripts/rego_conformance.py).
// ---------------------------------------------------------------------------

const GAP4: &str = r#"
package gaps

import rego.v1

empty_set := sprintf("%v", [{x | some x in []}])

negative := sprintf("%d|%x", [-7, -255])

scalar_items contains x if {
    some x in input.volumes
}

overlap := [
    net.cidr_intersects("10.0.0.0/8", "10.1.0.0/16"),
    net.cidr_intersects("10.1.0.0/16", "10.0.0.0/8"),
    net.cidr_intersects("192.168.0.0/24", "10.0.0.0/8"),
    net.cidr_intersects("10.0.0.0/8", "fd00::/8"),
]
"#;

#[test]
fn empty_set_prints_as_set_parens() {
    let mut e = engine(false, GAP4);
    let v = eval_with(&mut e, "{}", "data.gaps.empty_set").unwrap();
    assert_eq!(v, Value::from("set()"));
}

#[test]
fn sprintf_prints_the_sign_of_negative_integers_once() {
    let mut e = engine(false, GAP4);
    let v = eval_with(&mut e, "{}", "data.gaps.negative").unwrap();
    assert_eq!(v, Value::from("-7|-ff"));
}

#[test]
fn some_in_over_a_scalar_enumerates_nothing() {
    let mut e = engine(false, GAP4);
    for input in [
        r#"{"volumes": "text"}"#,
        r#"{"volumes": null}"#,
        r#"{"volumes": 3}"#,
    ] {
        let v = eval_with(&mut e, input, "data.gaps.scalar_items").unwrap();
        assert_eq!(v, set_of(&[]), "{input}");
    }
    let v = eval_with(&mut e, r#"{"volumes": ["a"]}"#, "data.gaps.scalar_items").unwrap();
    assert_eq!(v, set_of(&["a"]));
}

#[test]
fn cidr_intersects_like_opa() {
    let mut e = engine(false, GAP4);
    let v = eval_with(&mut e, "{}", "data.gaps.overlap").unwrap();
    let want = Value::from_json_str("[true, true, false, false]").unwrap();
    assert_eq!(v, want);
    let bad = engine(
        false,
        "package bad\nimport rego.v1\nx := net.cidr_intersects(\"nope\", \"10.0.0.0/8\")\n",
    );
    let mut bad = bad;
    assert!(eval_with(&mut bad, "{}", "data.bad.x").is_err());
}
