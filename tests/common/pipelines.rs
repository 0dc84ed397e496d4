//! What the pipeline tests share: the tree of a run, its states, how often a step ran, and
//! waits.
#![allow(dead_code)] // each test binary uses its own part

use std::time::{Duration, Instant};

use super::daemon::Daemon;
use serde_json::Value;

pub fn tree(d: &Daemon, id: &str) -> Value {
    let a = d.get(&format!("/api/runs/{id}/tree"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// The steps of a tree by position, flattened (`"2.1"`, and a sub-pipeline's as `"2/1"`).
pub fn states(steps: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    for s in steps.as_array().unwrap() {
        let pos = format!("{prefix}{}", s["step"].as_str().unwrap());
        out.push((pos.clone(), s["state"].as_str().unwrap().to_string()));
        let nested = if s["kind"] == "pipeline" {
            format!("{pos}/")
        } else {
            prefix.to_string()
        };
        states(&s["steps"], &nested, out);
    }
}

pub fn flat(t: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    states(&t["steps"], "", &mut out);
    out
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// How many times a step appended its line to `file` in the project folder.
pub fn count(d: &Daemon, file: &str) -> usize {
    std::fs::read_to_string(d.project.path().join(file))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

pub fn ms(t: &Value) -> i64 {
    let text = t.as_str().unwrap();
    let ts: jiff::Timestamp = text.parse().unwrap();
    ts.as_millisecond()
}

pub fn wait_ended_within(d: &Daemon, id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let run = d.get(&format!("/api/runs/{id}")).json();
        if run["status"] == "ended" {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} did not end: {run}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process whose command line contains `marker` is alive.
pub fn process_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(marker)
            })
            .unwrap_or(false)
    })
}

/// The runs of `task`, newest first.
pub fn runs_of(d: &Daemon, task: &str) -> Vec<Value> {
    d.get(&format!("/api/tasks/{task}/runs")).json()["runs"]
        .as_array()
        .unwrap()
        .clone()
}
