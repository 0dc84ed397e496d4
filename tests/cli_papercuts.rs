//! Paper cuts users found on the real binary: read-only commands that created the data
//! directory, subcommand help listing options that do not apply, a silent `exec` queued
//! behind another run, `list --url` reading the local file, and bare `runwisp` refusing a
//! healthy daemon because the file on disk has an error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{stderr, stdout, wait_for, Project};
use daemon::Daemon;

const HINT: &str = "(it is `data/` beside the configuration file unless --data names another)";
const SOME_RUN: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

#[test]
fn read_only_commands_never_create_the_data_directory() {
    let p = Project::new("[tasks.t]\nrun = \"true\"\n");
    let password = p.run(&["password"]);
    assert_eq!(password.status.code(), Some(1));
    assert_eq!(
        stderr(&password),
        format!("runwisp: there is no runwisp data directory at data {HINT}; the daemon creates it, and its password, at its first start\n")
    );
    let status = p.run(&["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(
        stderr(&status),
        format!("runwisp: no runwisp daemon is running here: there is no runwisp data directory at data {HINT}\n")
    );
    let runs = p.run(&["runs"]);
    assert_eq!(runs.status.code(), Some(0), "{}", stderr(&runs));
    assert_eq!(
        stdout(&runs),
        format!("no runs recorded yet: there is no runwisp data directory at data {HINT}\n")
    );
    for args in [vec!["logs", SOME_RUN], vec!["logs", "-f", SOME_RUN]] {
        let logs = p.run(&args);
        assert_eq!(logs.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&logs),
            format!(
                "runwisp: no run {SOME_RUN}: there is no runwisp data directory at data {HINT}\n"
            ),
            "{args:?}"
        );
    }
    assert_eq!(p.run(&["list"]).status.code(), Some(0));
    let elsewhere = p.run(&["password", "--data", "elsewhere"]);
    assert!(
        stderr(&elsewhere).contains("no runwisp data directory at elsewhere "),
        "{}",
        stderr(&elsewhere)
    );
    assert!(!p.data().exists(), "a read-only command created data/");
    assert!(!p.path().join("elsewhere").exists());

    // An existing (empty) data directory is read, never set up or tightened either.
    std::fs::create_dir(p.data()).unwrap();
    std::fs::set_permissions(p.data(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for args in [
        vec!["password"],
        vec!["status"],
        vec!["runs"],
        vec!["logs", SOME_RUN],
    ] {
        let out = p.run(&args);
        let expected = if args[0] == "runs" { 0 } else { 1 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !p.data().join("logs").exists(),
            "{args:?} created data/logs"
        );
    }
    let mode = std::fs::metadata(p.data()).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o755,
        "a read-only command changed the data directory's mode"
    );
}

/// The long options `runwisp ARGS --help` lists, with their help text.
fn help_options(p: &Project, args: &[&str]) -> Vec<(String, String)> {
    let out = p.run(&[args, &["--help"]].concat());
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    stdout(&out)
        .lines()
        .filter_map(|line| {
            let at = line.find("--")?;
            let rest = &line[at + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let help = rest
                .split_once("  ")
                .map_or("", |(_, h)| h.trim())
                .to_string();
            (line.trim_start().starts_with('-')).then_some((name, help))
        })
        .collect()
}

#[test]
fn subcommand_help_lists_only_the_options_that_apply() {
    let p = Project::new("");
    let not_for = |args: &[&str], absent: &[&str]| {
        let options = help_options(&p, args);
        for name in absent {
            assert!(
                !options.iter().any(|(o, _)| o == name),
                "`runwisp {} --help` lists --{name}: {options:?}",
                args.join(" ")
            );
        }
        options
    };
    let runs = not_for(&["runs"], &["theme", "keymap", "host", "port"]);
    assert!(runs.iter().any(|(o, _)| o == "url"));
    not_for(
        &["cron"],
        &["url", "password", "theme", "keymap", "host", "port"],
    );
    not_for(
        &["validate"],
        &["url", "password", "theme", "keymap", "host", "port"],
    );
    not_for(
        &["password"],
        &["url", "password", "theme", "keymap", "host", "port"],
    );
    not_for(&["daemon"], &["url", "password", "theme", "keymap"]);
    not_for(&["tui"], &["host", "port"]);
    for sub in ["runs", "list", "status", "cron"] {
        let options = help_options(&p, &[sub]);
        let json = options.iter().find(|(o, _)| o == "json");
        assert!(
            json.is_some_and(|(_, help)| !help.is_empty()),
            "`runwisp {sub} --help`: --json without help text: {options:?}"
        );
    }
    // An option before a subcommand that does not take it is refused, not ignored.
    let out = p.run(&["--theme", "light", "runs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--theme does not apply to `runwisp runs`"),
        "{}",
        stderr(&out)
    );
    // Where it applies it still works before the subcommand, as it did when it was global.
    let out = p.run(&["--url", "http://127.0.0.1:1", "--password", "x", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("runwisp: cannot reach the runwisp daemon at http://127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn exec_says_when_its_run_waits_in_the_queue() {
    let d = Daemon::start("[tasks.slow]\nrun = \"sleep 2; echo done\"\n");
    let first = d.project.spawn(&["exec", "slow"]);
    wait_for("the first run", Duration::from_secs(10), || {
        d.get("/api/runs?task=slow").json()["runs"][0]["status"] == "running"
    });
    let second = d.project.run(&["exec", "slow"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let err = stderr(&second);
    let line = err.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("runwisp: run ")
            && line.ends_with(" is queued behind 1 run(s) of slow; waiting"),
        "{err}"
    );
    assert_eq!(stdout(&second), "done\n");
    assert_eq!(first.wait_with_output().unwrap().status.code(), Some(0));
}

const ZONED: &str = r#"
[scheduler]
timezone = "Europe/Bratislava"

[tasks.nightly]
run = "true"
cron = "30 2 * * *"

[services.web]
run = "sleep 100"
instances = 2
"#;

#[test]
fn list_with_url_shows_what_the_daemon_reports() {
    let d = Daemon::start(ZONED);
    // The file here changed since the daemon started: --url asks the daemon, not the file.
    std::fs::write(
        d.project.path().join("runwisp.toml"),
        "[tasks.other]\nrun = \"true\"\n",
    )
    .unwrap();
    let url = d.url("");
    for args in [
        vec![
            "list",
            "--url",
            url.as_str(),
            "--password",
            d.password.as_str(),
        ],
        vec!["list", "--url"],
    ] {
        let out = d
            .project
            .command(&args)
            .env("TZ", "Asia/Tokyo")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains("other"), "{args:?}: {text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1]
                .starts_with("nightly  30 2 * * *    At 02:30 every day in Europe/Bratislava  20"),
            "{args:?}: {text}"
        );
        assert!(lines[1].contains("T02:30:00+0"), "{text}");
        assert!(lines[1].contains("(Europe/Bratislava)"), "{text}");
        assert!(lines[2].starts_with("web      (service x2)"), "{text}");
    }
    let json = d.project.run(&["list", "--url", "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(entries[0]["name"], "nightly");
    assert_eq!(entries[0]["timezone"], "Europe/Bratislava");
    assert!(entries[0]["next"].as_str().unwrap().contains("T02:30:00+0"));
    assert_eq!(entries[1]["kind"], "service");
    assert_eq!(entries[1]["instances"], 2);
}

#[test]
fn list_computes_next_in_the_tasks_zone_not_the_callers() {
    let p = Project::new(ZONED);
    let out = p
        .command(&["list"])
        .env("TZ", "Asia/Tokyo")
        .output()
        .unwrap();
    let text = stdout(&out);
    let nightly = text.lines().nth(1).unwrap_or_default();
    assert!(nightly.contains("T02:30:00+0"), "{text}");
    assert!(nightly.contains("(Europe/Bratislava)"), "{text}");
    // Without a daemon, `list --url` says so instead of reading the file.
    let out = p.run(&["list", "--url"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("runwisp: no runwisp daemon is running for data directory data"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bare_runwisp_attaches_to_a_healthy_daemon_despite_a_broken_file() {
    let d = Daemon::start("[tasks.ok]\nrun = \"true\"\n");
    std::fs::write(
        d.project.path().join("runwisp.toml"),
        "[tasks.ok]\nrun = \"true\"\nretry_dealy = \"5s\"\n",
    )
    .unwrap();
    let out = d.project.run(&[]);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "runwisp: warning: runwisp.toml:3:1: tasks.ok.retry_dealy: unknown key `retry_dealy`; did you mean `retry_delay`?",
        "{err}"
    );
    assert_eq!(
        lines[1],
        "runwisp: warning: runwisp.toml has 1 error; attaching to the daemon already running for data directory data, which keeps the configuration it started with",
        "{err}"
    );
    // It went on to attach: without a terminal, that is where it stops.
    assert_eq!(
        lines[2..],
        ["runwisp: the terminal UI needs a terminal; `runwisp --headless` runs the daemon without one"],
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(d.get("/health").status, 200, "the daemon keeps running");

    // With no daemon, the broken file is refused as before.
    let p = Project::new("[tasks.ok]\nrun = \"true\"\nretry_dealy = \"5s\"\n");
    let out = p.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp.toml:3:1: tasks.ok.retry_dealy: unknown key `retry_dealy`; did you mean `retry_delay`?\n\
         runwisp: runwisp.toml has 1 error\n"
    );
}
