//! Helpers of the scoped-token tests (tests/tokens.rs, tests/tokens_clients.rs): calls with a
//! token, the CLI's `token` commands, and a look at every value the history holds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::time::Duration;

use crate::common::{self, stderr, stdout, Project};
use crate::daemon::{agent, answer, Answer, Daemon};

pub const CONFIG: &str = r#"
[tasks.deploy]
run = "echo deploying; echo deployed"

[tasks.other]
run = "echo other"
"#;

pub const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How a token is presented.
#[derive(Clone, Copy)]
pub enum Via {
    Bearer,
    ApiKey,
}

/// `METHOD path` on `d` with `token`, presented `via`.
pub fn call(d: &Daemon, method: &str, path: &str, token: &str, via: Via) -> Answer {
    let url = d.url(path);
    let (name, value) = match via {
        Via::Bearer => ("Authorization", format!("Bearer {token}")),
        Via::ApiKey => ("X-API-Key", token.to_string()),
    };
    answer(match method {
        "GET" => agent().get(&url).header(name, &value).call(),
        "DELETE" => agent().delete(&url).header(name, &value).call(),
        "POST" => agent().post(&url).header(name, &value).send_empty(),
        other => panic!("no {other} route in the table yet"),
    })
}

pub fn get(d: &Daemon, path: &str, token: &str) -> Answer {
    call(d, "GET", path, token, Via::Bearer)
}

pub fn post(d: &Daemon, path: &str, token: &str) -> Answer {
    call(d, "POST", path, token, Via::Bearer)
}

/// Asserts `a` is the refusal of token `name`.
pub fn assert_forbidden(a: &Answer, name: &str, what: &str) {
    assert_eq!(a.status, 403, "{what}: {}", a.text);
    assert_eq!(a.content_type, "application/problem+json", "{what}");
    assert_eq!(
        a.detail(),
        format!("token \"{name}\" may not do this"),
        "{what}"
    );
}

/// `runwisp token ARGS` in the daemon's project; the output when it succeeds.
pub fn token_cli(project: &Project, args: &[&str]) -> std::process::Output {
    let mut full = vec!["token"];
    full.extend_from_slice(args);
    let out = project.run(&full);
    assert!(
        out.status.success(),
        "runwisp {full:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Creates a token through the CLI and returns its text, checking its shape.
pub fn create(project: &Project, args: &[&str]) -> String {
    let mut full = vec!["create"];
    full.extend_from_slice(args);
    let out = token_cli(project, &full);
    let printed = stdout(&out);
    let token = printed.trim_end_matches('\n');
    assert_eq!(printed.lines().count(), 1, "the token alone: {printed:?}");
    assert_token_shape(token);
    assert!(
        !stderr(&out).contains(token),
        "the token is printed once, on stdout"
    );
    token.to_string()
}

pub fn assert_token_shape(token: &str) {
    let body = token.strip_prefix("rw_").expect("rw_ prefix");
    assert_eq!(body.len(), 43, "{token}");
    assert!(body.chars().all(|c| BASE62.contains(c)), "{token}");
}

/// Every value of every row of every table of the history, as text and as bytes.
pub fn every_value(project: &Project) -> Vec<(String, Vec<u8>)> {
    let db = rusqlite::Connection::open_with_flags(
        project.data().join("runwisp.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = select.column_count();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..width {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                let bytes = match value {
                    rusqlite::types::Value::Text(t) => t.into_bytes(),
                    rusqlite::types::Value::Blob(b) => b,
                    rusqlite::types::Value::Integer(n) => n.to_string().into_bytes(),
                    rusqlite::types::Value::Real(f) => f.to_string().into_bytes(),
                    rusqlite::types::Value::Null => Vec::new(),
                };
                out.push((table.clone(), bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits until run `id` ended, reading it with `token`.
pub fn wait_ended(d: &Daemon, id: &str, token: &str) {
    common::wait_for(&format!("run {id} to end"), Duration::from_secs(30), || {
        get(d, &format!("/api/runs/{id}"), token).json()["status"] == "ended"
    });
}
