#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `runwisp schema` against an independent validator: the real binary's schema is checked with
//! Python's `tomllib` and `jsonschema` (`tests/oracle/config_schema_check.py`). The schema is
//! valid draft 2020-12; the starter and every fixture the loader accepts validate; fixtures the
//! loader rejects for an unknown key, a bad choice, a type or a range fail it; and the duration
//! and size patterns accept exactly what the loader's unit grammars read.

#[path = "common/oracle.rs"]
mod oracle;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use runwisp::engine::config::{load_str, STARTER};
use serde_json::{json, Value};

fn python_has_jsonschema() -> bool {
    oracle::python_has("jsonschema, tomllib")
}

/// What the real `runwisp schema` prints.
fn schema() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_runwisp"))
        .arg("schema")
        .output()
        .expect("run runwisp schema");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("{\n  \""), "pretty JSON: {text:.40}");
    serde_json::from_str(&text).expect("runwisp schema prints JSON")
}

/// The oracle's verdict on each document: `Ok(())` or the schema's complaints.
struct Verdicts {
    schema_error: Option<String>,
    results: BTreeMap<String, Result<(), Vec<String>>>,
}

fn check(schema: &Value, documents: &[(String, String)]) -> Verdicts {
    let documents: Vec<Value> = documents
        .iter()
        .map(|(name, toml)| json!({ "name": name, "toml": toml }))
        .collect();
    let input = json!({ "schema": schema, "documents": documents }).to_string();
    let out = oracle::run("config_schema_check.py", input.as_bytes());
    assert!(out.status.success(), "the oracle failed: {out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_string();
            let verdict = if r["valid"].as_bool().unwrap() {
                Ok(())
            } else {
                let errors = r["errors"].as_array().unwrap();
                Err(errors
                    .iter()
                    .map(|e| e.as_str().unwrap().to_string())
                    .collect())
            };
            (name, verdict)
        })
        .collect();
    Verdicts {
        schema_error: report["schema_error"].as_str().map(str::to_string),
        results,
    }
}

fn loads(name: &str, text: &str) -> bool {
    load_str(name, text, Path::new("/srv/app/runwisp.toml")).is_ok()
}

/// `text` with every `X_env = "…"` and `X_file = "…"` line made an inline `X`, so the loader
/// judges a file as it would with its variables set and its files readable.
fn with_inline_secrets(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match line.split_once(" = ") {
            Some((key, _)) if key.ends_with("_env") || key.ends_with("_file") => {
                let key = key.trim_end_matches("_env").trim_end_matches("_file");
                out.push_str(&format!("{key} = \"https://example.com/inline\"\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The starter with its `[[notifier]]` and `[[notification_route]]` examples uncommented, as
/// `the_starter_files_notifier_examples_are_valid` does it.
fn starter_with_examples() -> String {
    let start = STARTER.find("# [[notifier]]").expect("notifier examples");
    let mut text = STARTER[..start].to_string();
    for line in STARTER[start..].lines() {
        let Some(line) = line.strip_prefix("# ") else {
            continue;
        };
        let is_setting = line
            .split_once(" = ")
            .is_some_and(|(key, _)| !key.contains(' '));
        if !(line.starts_with('[') || line.starts_with('#') || is_setting) {
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
fn the_schema_is_valid_draft_2020_12_and_refuses_unknown_keys() {
    if !python_has_jsonschema() {
        return;
    }
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["additionalProperties"], false);
    let task = &s["properties"]["tasks"];
    assert_eq!(task["additionalProperties"], false);
    assert_eq!(
        task["patternProperties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"]
    );
    let types: Vec<&str> = s["properties"]["notifier"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["properties"]["type"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["slack", "discord", "telegram", "email", "webhook", "command"]
    );
    let verdicts = check(&s, &[]);
    assert_eq!(verdicts.schema_error, None);
}

#[test]
fn the_starter_and_every_fixture_the_loader_accepts_validate() {
    if !python_has_jsonschema() {
        return;
    }
    assert!(
        STARTER.starts_with("#:schema ./runwisp.schema.json\n"),
        "the starter's first line points editors at the schema `runwisp init` writes"
    );
    let mut documents = vec![
        ("starter".to_string(), STARTER.to_string()),
        ("starter+examples".to_string(), starter_with_examples()),
    ];
    for (name, text) in &documents {
        assert!(
            loads(name, &with_inline_secrets(text)),
            "the loader accepts {name}"
        );
    }
    let mut accepted = Vec::new();
    for (name, text) in fixtures() {
        if loads(&name, &with_inline_secrets(&text)) {
            accepted.push(name.clone());
            documents.push((name, text));
        }
    }
    // The fixtures of valid files; the rest are rejected by the loader.
    for valid in [
        "maximal.toml",
        "deploy_hooks.toml",
        "working_dir_home.toml",
        "notifier_env_unset.toml",
    ] {
        assert!(accepted.iter().any(|a| a == valid), "{valid}: {accepted:?}");
    }
    let verdicts = check(&schema(), &documents);
    assert_eq!(verdicts.schema_error, None);
    assert_eq!(verdicts.results.len(), documents.len());
    let failed: Vec<String> = verdicts
        .results
        .iter()
        .filter_map(|(name, v)| v.as_ref().err().map(|e| format!("{name}: {e:#?}")))
        .collect();
    assert!(
        failed.is_empty(),
        "valid files the schema rejects:\n{}",
        failed.join("\n")
    );
}

/// Fixtures the loader rejects for something the schema knows too, with a word the schema's
/// complaint contains (the key or the value it is about).
const REJECTED: &[(&str, &str)] = &[
    // Unknown keys and sections, and keys of the other kind of table.
    ("unknown_key_suggestion.toml", "retry_dealy"),
    ("unknown_key_no_suggestion.toml", "colour"),
    ("unknown_table.toml", "logging"),
    ("pipeline_errors.toml", "steps"),
    ("notify_after_in_defaults.toml", "notify_after_failures"),
    ("task_with_instances.toml", "instances"),
    ("service_with_task_keys.toml", "cron"),
    ("notifier_unknown_keys.toml", "notifier/0"),
    ("many_errors.toml", "retry_dealy"),
    // Values outside a closed set.
    ("bad_on_overlap.toml", "wait"),
    ("bad_catch_up.toml", "none"),
    ("bad_log_on_full.toml", "truncate"),
    ("bad_retry_backoff.toml", "fibonacci"),
    ("bad_restart_backoff.toml", "random"),
    ("restart_always.toml", "always"),
    ("route_bad_kind.toml", "run.failure"),
    ("route_bad_severity.toml", "critical"),
    ("notifier_unknown_type.toml", "notifier/0"),
    // Types, ranges and the unit grammars.
    ("wrong_type_integer.toml", "max_concurrent"),
    ("wrong_type_bool.toml", "api_trigger"),
    ("duration_as_integer.toml", "timeout"),
    ("max_concurrent_zero.toml", "max_concurrent"),
    ("max_concurrent_too_large.toml", "max_concurrent"),
    ("queue_max_zero.toml", "queue_max"),
    ("retry_attempts_too_many.toml", "retry_attempts"),
    ("keep_runs_zero.toml", "keep_runs"),
    ("instances_too_many.toml", "instances"),
    ("max_catch_up_runs_zero.toml", "max_catch_up_runs"),
    ("notify_after_bad.toml", "notify_after"),
    ("bad_duration.toml", "5 minutes"),
    ("bad_size_unit.toml", "10MiB"),
    ("negative_size.toml", "-1gb"),
    ("zero_log_max_size.toml", "log_max_size"),
    // Required keys, names, and secret sources.
    ("missing_run.toml", "run"),
    ("hostile_names.toml", "tasks"),
    ("route_errors.toml", "notification_route"),
    ("notifier_missing_type.toml", "notifier/0"),
    ("notifier_missing_secret.toml", "notifier/0"),
    ("notifier_two_secrets.toml", "notifier/0"),
    ("notifier_three_secret_sources.toml", "notifier/0"),
    ("telegram_bad_chat_id.toml", "notifier/"),
];

#[test]
fn fixtures_with_unknown_keys_bad_choices_types_or_ranges_fail_the_schema() {
    if !python_has_jsonschema() {
        return;
    }
    let all: BTreeMap<String, String> = fixtures().into_iter().collect();
    let mut documents = Vec::new();
    for (name, _) in REJECTED {
        let text = all.get(*name).unwrap_or_else(|| panic!("fixture {name}"));
        assert!(!loads(name, text), "the loader rejects {name}");
        documents.push((name.to_string(), text.clone()));
    }
    let verdicts = check(&schema(), &documents);
    for (name, word) in REJECTED {
        match &verdicts.results[*name] {
            Ok(()) => panic!("the schema accepts {name}, which the loader rejects"),
            Err(errors) => assert!(
                errors.iter().any(|e| e.contains(word)),
                "{name}: no complaint about {word:?}: {errors:#?}"
            ),
        }
    }
}

/// The duration and size patterns against the loader's own grammars, on keys that take zero
/// (`graceful_stop`, `min_free_space`) and values below the 100-year and 1024tb caps.
#[test]
fn duration_and_size_patterns_accept_exactly_what_the_loader_reads() {
    if !python_has_jsonschema() {
        return;
    }
    let durations = [
        "300ms",
        "5s",
        "10m",
        "1h30m",
        "2d",
        "1w",
        "0s",
        "1w2d3h4m5s6ms",
        " 5s ",
        "\t5s",
        "5s\n",
        "007s",
        "1h1h",
        "",
        " ",
        "5",
        "5x",
        "-5s",
        "s",
        "1.5h",
        "5 s",
        "5 minutes",
        "5S",
        "5sec",
        "5mh",
        "5msm",
        "h5",
        "5s5",
        "+5s",
        "1m 5s",
        "５s",
    ];
    let sizes = [
        "512b",
        "512",
        "10kb",
        "10MB",
        "1.5gb",
        "1tb",
        "0",
        "0b",
        "10 MB",
        " 10mb ",
        "10Kb",
        "1.50GB",
        "01.5tb",
        "",
        "mb",
        "-1mb",
        "1.5",
        "1.5b",
        "10 parsecs",
        "1.2.3mb",
        "10MiB",
        ".5mb",
        "5.mb",
        "1e3",
        "10k",
        "10 m b",
        "+10mb",
        "1_000",
    ];
    let mut documents = Vec::new();
    let mut expected = BTreeMap::new();
    for (i, d) in durations.iter().enumerate() {
        let name = format!("duration {i} {d:?}");
        let text = format!(
            "[tasks.t]\nrun = \"x\"\ngraceful_stop = {}\n",
            serde_json::to_string(d).unwrap()
        );
        expected.insert(name.clone(), loads(&name, &text));
        documents.push((name, text));
    }
    for (i, s) in sizes.iter().enumerate() {
        let name = format!("size {i} {s:?}");
        let text = format!(
            "[storage]\nmin_free_space = {}\n",
            serde_json::to_string(s).unwrap()
        );
        expected.insert(name.clone(), loads(&name, &text));
        documents.push((name, text));
    }
    for (i, n) in [0i64, 1, 1 << 20, -1].iter().enumerate() {
        let name = format!("size integer {i} {n}");
        let text = format!("[storage]\nmin_free_space = {n}\n");
        expected.insert(name.clone(), loads(&name, &text));
        documents.push((name, text));
    }
    assert!(expected.values().any(|ok| *ok) && expected.values().any(|ok| !*ok));
    let verdicts = check(&schema(), &documents);
    let mismatches: Vec<String> = expected
        .iter()
        .filter(|(name, ok)| verdicts.results[*name].is_ok() != **ok)
        .map(|(name, ok)| format!("{name}: loader {ok}, schema {:?}", verdicts.results[name]))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// `runwisp init` writes the schema the starter's `#:schema` line names, beside it.
#[test]
fn init_writes_the_schema_beside_the_starter() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_runwisp"))
        .arg("init")
        .current_dir(dir.path())
        .env_remove("RUNWISP_CONFIG")
        .env_remove("RUNWISP_DATA")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join("runwisp.schema.json")).unwrap();
    let printed = Command::new(env!("CARGO_BIN_EXE_runwisp"))
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(written.as_bytes(), printed.stdout);
    let starter = std::fs::read_to_string(dir.path().join("runwisp.toml")).unwrap();
    assert_eq!(
        starter.lines().next(),
        Some("#:schema ./runwisp.schema.json")
    );
}
