//! The other commands on the real binary: `init`, `validate`, `list`, `cron`, `runs`, `logs`,
//! and bare `runwisp` without a configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;

use common::*;

#[test]
fn init_writes_a_valid_starter_and_refuses_to_overwrite() {
    let p = Project::new("");
    std::fs::remove_file(p.path().join("runwisp.toml")).unwrap();
    let bare = p.run(&[]);
    assert_eq!(bare.status.code(), Some(1));
    assert_eq!(
        stderr(&bare),
        "runwisp: there is no runwisp.toml here; create the starter configuration with `runwisp init`, then edit it\n"
    );

    let out = p.run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(p.path().join("runwisp.toml")).unwrap();
    assert_eq!(written, runwisp::engine::config::STARTER);
    let again = p.run(&["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again),
        "runwisp: runwisp.toml already exists; use `runwisp init --force` to overwrite it\n"
    );
    std::fs::write(p.path().join("runwisp.toml"), "junk = 1\n").unwrap();
    assert_eq!(p.run(&["init", "--force"]).status.code(), Some(0));
    let valid = p.run(&["validate"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
    assert_eq!(
        stdout(&valid),
        "runwisp.toml is valid: 2 tasks, 0 services\n"
    );
}

#[test]
fn validate_prints_every_error_with_its_place() {
    let p = Project::new(
        r#"[tasks.backup]
run = "pg_dump"
cron = "0 0 31 2 *"
retry_dealy = "5s"

[tasks.web]
run = "x"

[services.web]
run = "y"
"#,
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp.toml:3:8: tasks.backup.cron: invalid cron expression \"0 0 31 2 *\": it can never fire: no calendar day matches its day and month fields\n\
         runwisp.toml:4:1: tasks.backup.retry_dealy: unknown key `retry_dealy`; did you mean `retry_delay`?\n\
         runwisp.toml:9:11: services.web: the name \"web\" is used by both a task and a service; tasks, services and pipelines share one namespace\n\
         runwisp: runwisp.toml has 3 errors\n"
    );
    // A bad file refuses every command that needs it, with the same errors.
    let exec = p.run(&["exec", "backup"]);
    assert_eq!(exec.status.code(), Some(1));
    assert!(stderr(&exec).contains("runwisp.toml:4:1:"));
}

#[test]
fn list_shows_schedules_and_next_firings() {
    let p = Project::new(
        r#"
[scheduler]
timezone = "Europe/Bratislava"

[tasks.backup]
run = "true"
cron = "30 2 * * *"
description = "Nightly dump"

[tasks.deploy]
run = "true"
on_overlap = "skip"
api_trigger = false
cron = "@every 1h"

[services.web]
run = "sleep 100"
instances = 3
"#,
    );
    let out = p.run(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "NAME    SCHEDULE      WHEN                                     NEXT                                           CONCURRENCY  POLICY  API  DESCRIPTION");
    assert!(
        lines[1].starts_with("backup  30 2 * * *    At 02:30 every day in Europe/Bratislava  20"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("T02:30:00+0"), "{}", lines[1]);
    assert!(
        lines[1].ends_with("(Europe/Bratislava)  1            queue   yes  Nightly dump"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("deploy  @every 1h     every 1h                                 20"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains(":00:00+0"), "{}", lines[2]);
    assert!(
        lines[2].ends_with("1            skip    no"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("web     (service x3)  -                                        -"),
        "{}",
        lines[3]
    );

    let json = p.run(&["list", "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(entries[0]["name"], "backup");
    assert_eq!(entries[0]["timezone"], "Europe/Bratislava");
    assert_eq!(
        entries[0]["schedule_words"],
        "At 02:30 every day in Europe/Bratislava"
    );
    assert_eq!(entries[1]["schedule_words"], "every 1h");
    assert_eq!(entries[2]["schedule_words"], serde_json::Value::Null);
    assert!(entries[0]["next"].as_str().unwrap().contains("T02:30:00+0"));
    assert_eq!(entries[2]["kind"], "service");
    assert_eq!(entries[2]["instances"], 3);
}

#[test]
fn cron_prints_the_schedulers_firings() {
    let p = Project::new("");
    let out = p.run(&[
        "cron",
        "30 2 * * *",
        "--tz",
        "America/New_York",
        "--from",
        "2025-03-08T12:00:00Z",
        "-n",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "At 02:30 every day (America/New_York):\n2025-03-09T03:00:00-04:00\n2025-03-10T02:30:00-04:00\n"
    );
    let utc = p.run(&[
        "cron",
        "*/5 * * * *",
        "--tz",
        "UTC",
        "--from",
        "2025-01-01T00:00:00Z",
        "-n",
        "1",
    ]);
    assert_eq!(
        stdout(&utc),
        "Every 5 minutes (UTC):\n2025-01-01T00:05:00+00:00\n"
    );
    let json = p.run(&[
        "cron",
        "@every 90m",
        "--tz",
        "UTC",
        "--from",
        "2025-01-01T00:00:00Z",
        "-n",
        "2",
        "--json",
    ]);
    assert_eq!(
        stdout(&json),
        "[\"2025-01-01T01:30:00+00:00\",\"2025-01-01T03:00:00+00:00\"]\n"
    );
    for (args, message) in [
        (vec!["cron", "0 0 31 2 *"], "runwisp: invalid cron expression \"0 0 31 2 *\": it can never fire: no calendar day matches its day and month fields\n"),
        (vec!["cron", "* * * * *", "--tz", "Mars/Olympus"], "runwisp: unknown time zone \"Mars/Olympus\" (use an IANA name such as \"Europe/Bratislava\" or \"UTC\")\n"),
        (vec!["cron", "* * * * *", "--from", "yesterday"], "runwisp: --from \"yesterday\" is not an RFC 3339 instant with an offset, like 2025-03-09T01:00:00Z\n"),
    ] {
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), message);
    }
}

#[test]
fn runs_and_logs_read_the_history() {
    let p = Project::new("[tasks.t]\nrun = \"echo one; echo two >&2\"\n");
    let empty = p.run(&["runs"]);
    assert_eq!(
        stdout(&empty),
        "no runs recorded yet: there is no runwisp data directory at data (it is `data/` beside the configuration file unless --data names another)\n"
    );
    assert_eq!(p.run(&["exec", "t"]).status.code(), Some(0));
    let run = p.only_run("t");
    let json = p.run(&["runs", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["id"], run.id.to_string());
    assert_eq!(rows[0]["end_reason"], "success");
    assert_eq!(rows[0]["triggered_by"], "cli");
    let created = rows[0]["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2025-01-01T00:00:00.000Z".len(), "{created}");
    assert!(created.ends_with('Z'));
    assert!(rows[0]["duration_ms"].as_i64().is_some());
    assert!(rows[0].get("pid").is_none(), "process ids stay internal");
    let logs = p.run(&["logs", &run.id.to_string()]);
    let text = stdout(&logs);
    assert!(
        text == "one\n[ERR] two\n" || text == "[ERR] two\none\n",
        "{text}"
    );

    for (id, message) in [
        ("../../../etc/passwd", "runwisp: \"../../../etc/passwd\" is not a run id (give its 26 characters, like 01J9ZK8Q4V6T3M2N1P0R5S7W8X, or at least 4 of its first or last ones, like 7W8X)\n"),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "runwisp: no run 01ARZ3NDEKTSV4RRFFQ69G5FAV in data directory data\n"),
    ] {
        let out = p.run(&["logs", id]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stderr(&out), message);
    }
    let bad = p.run(&["runs", "../x"]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn logs_take_a_unique_prefix_or_suffix_of_a_run_id() {
    let p = Project::new("[tasks.t]\nrun = \"echo one\"\n");
    assert_eq!(p.run(&["exec", "t"]).status.code(), Some(0));
    let run = p.only_run("t");
    let full = run.id.to_string();
    let tail = full[22..].to_string();
    for short in [tail.to_lowercase(), full[..20].to_string()] {
        let out = p.run(&["logs", &short]);
        assert_eq!(out.status.code(), Some(0), "{short}: {}", stderr(&out));
        assert_eq!(stdout(&out), "one\n", "{short}");
    }
    let none = p.run(&["logs", "ZZZZ"]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(
        stderr(&none),
        "runwisp: no run whose id starts or ends with ZZZZ in data directory data\n"
    );
    let short = p.run(&["logs", "7W8"]);
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("at least 4 of its first or last ones"));

    // Eleven older runs end like the real one: twelve candidates, ten listed.
    let store = p.store();
    for fill in "0123456789A".chars() {
        let id = format!("01H{}{tail}", fill.to_string().repeat(19));
        store
            .insert_run(&runwisp::engine::store::NewRun {
                id: runwisp::engine::model::RunId::parse(&id).unwrap(),
                ..runwisp::engine::store::NewRun::new(
                    runwisp::engine::model::TaskName::parse("old").unwrap(),
                    runwisp::engine::model::RunKind::Task,
                    runwisp::engine::model::TriggeredBy::Cli,
                    1_748_744_400_000,
                )
            })
            .unwrap();
    }
    drop(store);
    let out = p.run(&["logs", &tail]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let head = format!(
        "runwisp: {tail} matches 12 runs in data directory data: {} (t, success, started 20",
        run.id
    );
    assert!(err.starts_with(&head), "{err}");
    let last = format!(
        ", 01H{}{tail} (old, pending, created 2025-06-01T02:20:00Z) and 2 more; give more characters of the run id\n",
        "2".repeat(19)
    );
    assert!(err.ends_with(&last), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The whole id still names its run.
    assert_eq!(stdout(&p.run(&["logs", &run.id.to_string()])), "one\n");
}

#[test]
fn usage_errors_exit_1_not_2() {
    let p = Project::new("");
    let out = p.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.run(&["--help"]).status.code(), Some(0));
}

/// `runwisp runs` names a service replica's run by its index: `web#0`, `web#1`.
#[test]
fn runs_show_which_replica_ran() {
    let p = Project::new("[services.web]\nrun = \"sleep 60\"\ninstances = 2\n");
    let port = free_port().to_string();
    let mut daemon = p.spawn(&["--headless", "--port", &port]);
    p.wait_booted(&mut daemon);
    wait_for("both replicas", std::time::Duration::from_secs(20), || {
        p.runs("web").iter().filter(|r| r.pid.is_some()).count() == 2
    });
    let out = p.run(&["runs", "web"]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    daemon.wait().unwrap();
    let table = stdout(&out);
    assert!(
        table.contains("web#0") && table.contains("web#1"),
        "{table}"
    );
}
