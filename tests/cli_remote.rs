//! The CLI as a client of a running daemon: `exec` through it, `run-task`, `status`,
//! `password`, `logs -f`, `runs --url`, run ids shortened to a prefix or suffix (resolved by the
//! daemon), and connection problems as one sentence.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::time::Duration;

use common::{stderr, stdout, wait_for};
use daemon::Daemon;

const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello from $RUNWISP_TRIGGER; echo warn >&2; exit 3"

[tasks.once]
run = "echo start; sleep 2; echo end"
on_overlap = "skip"

[tasks.ok]
run = "echo fine"
"#;

#[test]
fn exec_goes_through_the_daemon_when_one_runs() {
    let d = Daemon::start(CONFIG);
    let out = d.project.command(&["exec", "hello"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello from cli\n");
    assert!(stderr(&out).contains("warn\n"));
    let runs = d.get("/api/runs?task=hello").json();
    assert_eq!(runs["runs"][0]["triggered_by"], "cli");
    assert_eq!(runs["runs"][0]["exit_code"], 3);

    // The daemon's concurrency policy applies to exec too.
    let first = d.project.spawn(&["exec", "once"]);
    wait_for("the first run", Duration::from_secs(10), || {
        d.get("/api/runs?task=once").json()["runs"][0]["status"] == "running"
    });
    let second = d.project.run(&["exec", "once"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains(
            "ended skipped (exit code -1): task already running, skipping (policy: skip)"
        ),
        "{}",
        stderr(&second)
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0));
}

#[test]
fn run_task_status_password_and_logs() {
    let d = Daemon::start(CONFIG);
    let out = d.project.run(&["run-task", "ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    assert!(
        line.starts_with("triggered run ") && line.ends_with(" for task \"ok\"\n"),
        "{line}"
    );
    let id = line.split_whitespace().nth(2).unwrap().to_string();

    let waited = d.project.run(&["run-task", "hello", "--wait"]);
    assert_eq!(waited.status.code(), Some(3));
    assert!(stdout(&waited).contains("hello from cli"));

    let status = d.project.run(&["status"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.starts_with(&format!(
            "runwisp {} is healthy at http://127.0.0.1:{}",
            env!("CARGO_PKG_VERSION"),
            d.port
        )),
        "{text}"
    );
    assert!(
        text.contains("zone Etc/UTC") || text.contains("zone UTC"),
        "{text}"
    );

    let no_daemon = common::Project::new(CONFIG);
    let status = no_daemon.run(&["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(
        stderr(&status),
        "runwisp: no runwisp daemon is running here: there is no runwisp data directory at data (it is `data/` beside the configuration file unless --data names another)\n"
    );

    d.wait_ended(&id);
    let logs = d.project.run(&["logs", "-f", &id]);
    assert_eq!(stdout(&logs), "fine\n");
    let remote_runs =
        d.project
            .run(&["runs", "ok", "--url", &d.url(""), "--password", &d.password]);
    assert!(
        stdout(&remote_runs).contains(&id),
        "{}",
        stdout(&remote_runs)
    );

    std::fs::write(d.project.data().join("password"), "generated-secret\n").unwrap();
    let printed = d.project.run(&["password"]);
    assert_eq!(stdout(&printed), "generated-secret\n");
}

#[test]
fn connection_problems_are_one_sentence() {
    let p = common::Project::new(CONFIG);
    let out = p.run(&["run-task", "ok"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: no runwisp daemon is running for data directory data; start one with `runwisp --headless`, or give --url\n"
    );
    let out = p.run(&["run-task", "ok", "--url", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: --url needs the daemon's password: give --password or set RUNWISP_PASSWORD (or set RUNWISP_TOKEN to a token made by `runwisp token create`)\n"
    );
    let out = p.run(&[
        "run-task",
        "ok",
        "--url",
        "http://127.0.0.1:1",
        "--password",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("runwisp: cannot reach the runwisp daemon at http://127.0.0.1:1: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let d = Daemon::start(CONFIG);
    let out = p.run(&["run-task", "ok", "--url", &d.url(""), "--password", "wrong"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "runwisp: Invalid password\n");
    let out = p.run(&[
        "exec",
        "nope",
        "--url",
        &d.url(""),
        "--password",
        &d.password,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "runwisp: there is no task named \"nope\"\n");
}

#[test]
fn a_short_run_id_is_resolved_by_the_daemon() {
    let d = Daemon::start(CONFIG);
    let first = d.trigger("ok");
    d.wait_ended(&first);
    let second = d.trigger("ok");
    d.wait_ended(&second);
    let remote = ["--url", &d.url(""), "--password", &d.password];

    // A unique suffix (any case) or prefix, through `logs -f` and `logs --url`.
    let tail = second[22..].to_lowercase();
    let out = d.project.run(&["logs", "-f", &tail]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "fine\n");
    let out = d
        .project
        .run(&[&["logs", &first[..22]][..], &remote[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "fine\n");

    // The API: one run, none, a refused reference, and several (409 naming them).
    assert_eq!(d.get(&format!("/api/runs/{tail}")).json()["id"], second);
    let none = d.get("/api/runs/ZZZZ");
    assert_eq!(none.status, 404);
    assert_eq!(
        none.detail(),
        "there is no run whose id starts or ends with ZZZZ"
    );
    assert_eq!(d.get("/api/runs/7W8").status, 400);
    assert_eq!(d.get("/api/runs/7W8X%27").status, 400);
    let common = first
        .chars()
        .zip(second.chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        common >= 4,
        "{first} and {second} share {common} characters"
    );
    let prefix = &first[..common.min(8)];
    let both = d.get(&format!("/api/runs/{prefix}"));
    assert_eq!(both.status, 409, "{}", both.text);
    let detail = both.detail();
    let head = format!("{prefix} matches 2 runs: {second} (ok, success, started 20");
    assert!(detail.starts_with(&head), "{detail}");
    assert!(
        detail.contains(&format!(" and {first} (ok, success, started 20")),
        "{detail}"
    );
    assert!(
        detail.ends_with("; give more characters of the run id"),
        "{detail}"
    );

    // The CLI says the same through the daemon.
    let out = d
        .project
        .run(&[&["logs", prefix][..], &remote[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("runwisp: {detail}\n"));
    let out = d.project.run(&["logs", "-f", "ZZZZ"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: there is no run whose id starts or ends with ZZZZ\n"
    );
}
