//! `runwisp exec` on the real binary: exit codes and recorded runs, log caps under each policy
//! with bounded memory, timeouts and Ctrl-C that leave no process behind, and the refusal
//! beside a daemon's lock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;

use std::time::Duration;

use common::*;
use runwisp::engine::datadir::DataDir;
use runwisp::engine::model::{EndReason, RunStatus, TriggeredBy};

#[test]
fn a_failing_task_returns_its_code_and_is_recorded_failed() {
    let p = Project::new(
        r#"
[tasks.broken]
run = "echo starting; sleep 0.2; echo 'disk not found' >&2; exit 3"
"#,
    );
    let out = p.run(&["exec", "broken"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "starting\n");
    assert!(stderr(&out).contains("disk not found\n"));
    assert!(
        stderr(&out).contains("ended failed (exit code 3)"),
        "{}",
        stderr(&out)
    );
    let run = p.only_run("broken");
    assert_eq!(run.status, RunStatus::Ended);
    assert_eq!(run.end_reason, Some(EndReason::Failed));
    assert_eq!(run.exit_code, Some(3));
    assert_eq!(run.triggered_by, TriggeredBy::Cli);
    assert!(run.start_at.is_some() && run.end_at.is_some());
    let log = p.log(&run);
    assert!(log.starts_with("starting\n"), "{log}");
    assert!(log.contains("[ERR] disk not found\n"), "{log}");
}

#[test]
fn a_successful_task_streams_and_records_success() {
    let p = Project::new(
        r#"
[tasks.hello]
run = "echo \"hello from $RUNWISP_TASK in $(basename $PWD)\"; printf 'no newline'"
working_dir = "sub"
env = { EXTRA = "1" }
"#,
    );
    std::fs::create_dir(p.path().join("sub")).unwrap();
    let out = p.run(&["exec", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello from hello in sub\nno newline\n");
    let run = p.only_run("hello");
    assert_eq!(
        (run.end_reason, run.exit_code),
        (Some(EndReason::Success), Some(0))
    );
    let listed = p.run(&["runs", "hello"]);
    assert!(
        stdout(&listed).contains(&run.id.to_string()),
        "{}",
        stdout(&listed)
    );
    let logs = p.run(&["logs", &run.id.to_string()]);
    assert_eq!(stdout(&logs), "hello from hello in sub\nno newline\n");
}

#[test]
fn a_run_that_prints_nothing_has_no_log_file_and_logs_says_so() {
    let p = Project::new("[tasks.quiet]\nrun = \"true\"\n");
    let out = p.run(&["exec", "quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let run = p.only_run("quiet");
    assert_eq!(run.end_reason, Some(EndReason::Success));
    let folder = p.data().join("logs/quiet");
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
    let logs = p.run(&["logs", &run.id.to_string()]);
    assert_eq!(logs.status.code(), Some(0));
    assert_eq!(stdout(&logs), "");
    assert_eq!(
        stderr(&logs),
        format!("runwisp: run {} printed nothing\n", run.id)
    );
}

#[test]
fn refusals_are_one_sentence_and_record_nothing() {
    let p = Project::new(
        r#"
[tasks.nightly]
run = "true"
cron = "0 4 * * *"
api_trigger = false

[services.web]
run = "sleep 100"
"#,
    );
    let cases = [
        ("nightly", "runwisp: API triggering disabled for this task (\"nightly\" has api_trigger = false and only runs on its schedule)\n"),
        ("web", "runwisp: \"web\" is a service; services are kept alive by the daemon, not run with exec\n"),
        ("missing", &format!("runwisp: there is no task named \"missing\" in {} (tasks: nightly)\n", p.path().join("runwisp.toml").display())),
        ("../etc", "runwisp: \"../etc\" is not a task name: a name must start with an ASCII letter or a digit\n"),
    ];
    for (task, message) in cases {
        let out = p.run(&["exec", task]);
        assert_eq!(out.status.code(), Some(1), "{task}");
        assert_eq!(stderr(&out), message, "{task}");
    }
    assert!(!p.data().join("runwisp.db").exists() || p.runs("nightly").is_empty());
}

#[test]
fn standalone_exec_is_refused_while_a_daemon_holds_the_data_directory() {
    let p = Project::new("[tasks.t]\nrun = \"touch ran\"\n");
    let dir = DataDir::open(&p.data()).unwrap();
    let lock = dir.lock_exclusive().unwrap();
    let out = p.run(&["exec", "--standalone", "t"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "runwisp: a runwisp daemon (pid {}) is running for data directory {}; --standalone runs tasks in-process only when no daemon holds it (drop --standalone to run it through the daemon)\n",
            std::process::id(),
            dir.root().display()
        )
    );
    // Without --standalone exec would go through the daemon; this one never said where it
    // listens, so exec refuses too, and nothing runs.
    let out = p.run(&["exec", "t"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has not said where it listens yet"),
        "{}",
        stderr(&out)
    );
    assert!(!p.path().join("ran").exists(), "the task must not run");
    drop(lock);
    let out = p.run(&["exec", "t"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.path().join("ran").exists());
}

/// A child that ignores SIGTERM and a `setsid` grandchild: after the timeout, nothing is left.
#[test]
fn a_timeout_leaves_no_process_alive() {
    let p = Project::new(
        r#"
[tasks.stuck]
run = """
sh -c 'trap "" TERM; echo $$ >> pids; sleep 300' &
setsid sh -c 'echo $$ >> pids; sleep 300' &
wait
"""
timeout = "1s"
graceful_stop = "500ms"
"#,
    );
    let out = p.run(&["exec", "stuck"]);
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let run = p.only_run("stuck");
    assert_eq!(run.end_reason, Some(EndReason::Timeout));
    let pids: Vec<i32> = std::fs::read_to_string(p.path().join("pids"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(!alive(pid), "pid {pid} outlived the run");
    }
    assert!(p.log(&run).contains("[SYSTEM] timeout of 1s reached; sending SIGTERM to the process group (graceful_stop 500ms)"));
}

#[test]
fn ctrl_c_stops_the_run_and_records_it_stopped() {
    // The task double-forks a grandchild into its own session before it waits.
    let p = Project::new(
        "[tasks.long]\nrun = \"(setsid sh -c 'echo $$ > gpid; exec sleep 300' &); echo $$ > pid; sleep 300\"\n",
    );
    let mut child = p.spawn(&["exec", "long"]);
    let pid_file = p.path().join("pid");
    wait_for("the task to start", Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n'))
    });
    let task_pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gpid_file = p.path().join("gpid");
    wait_for("the grandchild to start", Duration::from_secs(10), || {
        std::fs::read_to_string(&gpid_file).is_ok_and(|s| s.ends_with('\n'))
    });
    let grandchild: i32 = std::fs::read_to_string(&gpid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(grandchild));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let run = p.only_run("long");
    assert_eq!(run.end_reason, Some(EndReason::Stopped));
    assert!(!alive(task_pid));
    assert!(
        !alive(grandchild),
        "the double-forked setsid grandchild survived"
    );
}

/// Prints `megabytes` MB in 1 KB lines through a task with a 1 MB cap, sampling runwisp's
/// memory the whole time.
fn chatty(policy: &str, megabytes: u32) -> (Project, std::process::ExitStatus, u64) {
    let p = Project::new(&format!(
        r#"
[tasks.chatty]
run = "head -c {bytes} /dev/zero | tr '\\0' 'x' | fold -w 1023; echo finished"
log_max_size = "1MB"
log_on_full = "{policy}"
"#,
        bytes = megabytes as u64 * 1024 * 1024
    ));
    let mut child = p.spawn(&["exec", "chatty"]);
    let mut peak = 0;
    let status = loop {
        if let Some(rss) = anon_rss_kb(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (p, status, peak)
}

const CAP: u64 = 1024 * 1024;
/// Room for the cut marker and runwisp's own `[SYSTEM]` lines.
const SLACK: u64 = 512;

#[test]
fn drop_old_rotates_one_generation_and_memory_stays_flat() {
    let (p, status, peak_kb) = chatty("drop_old", 64);
    assert_eq!(status.code(), Some(0));
    let run = p.only_run("chatty");
    assert_eq!(run.end_reason, Some(EndReason::Success));
    let log = p.log_path(&run);
    let prev = log.with_extension("log.prev");
    let current = std::fs::read_to_string(&log).unwrap();
    assert!(
        current.starts_with("[SYSTEM] log reached log_max_size (1MB); earlier output moved to"),
        "{}",
        &current[..100]
    );
    assert!(current.ends_with("finished\n"));
    assert!(std::fs::metadata(&log).unwrap().len() <= CAP + SLACK);
    assert!(std::fs::metadata(&prev).unwrap().len() <= CAP + SLACK);
    let files = std::fs::read_dir(log.parent().unwrap()).unwrap().count();
    assert_eq!(files, 2, "one .log and one .log.prev, nothing else");
    eprintln!("peak anonymous RSS {peak_kb} kB");
    assert!(
        peak_kb < 16 * 1024,
        "runwisp used {peak_kb} kB for 64 MB of output"
    );
}

#[test]
fn drop_new_keeps_the_head_and_lets_the_run_finish() {
    let (p, status, peak_kb) = chatty("drop_new", 32);
    assert_eq!(status.code(), Some(0));
    let run = p.only_run("chatty");
    assert_eq!(run.end_reason, Some(EndReason::Success));
    let log = p.log(&run);
    assert!(log.len() as u64 <= CAP + SLACK);
    assert!(log.ends_with("[SYSTEM] log reached log_max_size (1MB); further output is dropped (log_on_full = \"drop_new\")\n"));
    assert!(!log.contains("finished"));
    assert!(peak_kb < 16 * 1024, "runwisp used {peak_kb} kB");
}

#[test]
fn kill_task_stops_the_run_as_log_overflow() {
    let (p, status, _) = chatty("kill_task", 512);
    let run = p.only_run("chatty");
    assert_eq!(run.end_reason, Some(EndReason::LogOverflow));
    assert_ne!(status.code(), Some(0));
    assert_eq!(status.code(), run.exit_code);
    let log = p.log(&run);
    assert!(log.len() as u64 <= CAP + SLACK);
    assert!(log.contains(
        "[SYSTEM] log reached log_max_size (1MB); stopping the run (log_on_full = \"kill_task\")\n"
    ));
    assert!(!log.contains("finished"));
}

/// `exec` in this process retries as the daemon would: each attempt is its own recorded run
/// (`retry`, chained by `retry_of_run_id`), and exec exits with the last attempt's code.
#[test]
fn standalone_exec_follows_retry_attempts() {
    let p = Project::new(
        r#"
[tasks.flaky]
run = "echo attempt $RUNWISP_ATTEMPT; [ \"$RUNWISP_ATTEMPT\" = 3 ] || exit 7"
retry_attempts = 2
retry_delay = "1s"
"#,
    );
    let out = p.run(&["exec", "flaky"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "attempt 1\nattempt 2\nattempt 3\n");
    assert!(
        stderr(&out).contains("retry 1 of 2 in 1s"),
        "{}",
        stderr(&out)
    );
    let mut runs = p.runs("flaky");
    runs.reverse();
    let shape: Vec<_> = runs
        .iter()
        .map(|r| (r.retry_attempt, r.triggered_by, r.end_reason, r.exit_code))
        .collect();
    assert_eq!(
        shape,
        [
            (0, TriggeredBy::Cli, Some(EndReason::Failed), Some(7)),
            (1, TriggeredBy::Retry, Some(EndReason::Failed), Some(7)),
            (2, TriggeredBy::Retry, Some(EndReason::Success), Some(0)),
        ]
    );
    assert_eq!(runs[1].retry_of_run_id, Some(runs[0].id));
    assert_eq!(runs[2].retry_of_run_id, Some(runs[1].id));
    // Out of attempts: the last failure's code is exec's.
    let p =
        Project::new("[tasks.bad]\nrun = \"exit 5\"\nretry_attempts = 1\nretry_delay = \"1s\"\n");
    let out = p.run(&["exec", "bad"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(p.runs("bad").len(), 2);
}
