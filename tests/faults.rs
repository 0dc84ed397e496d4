//! Fault injection against the real daemon: what operators and hostile clients do that once
//! broke runwisp's promise (never lose a record, never leave a process, never fire twice, say
//! what is wrong). Each test runs the daemon under an address-space limit, so a regression in
//! memory fails the test instead of the machine.
//!
//! To add a case: start a [`Daemon::start_limited`] with the config it needs, do what the
//! operator or attacker does, then assert what they would see and that the daemon is alive.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use daemon::{Daemon, Limits};

/// Enough for the daemon's threads and arenas, far below what the old quadratic readers took.
const DAEMON_MEMORY: u64 = 2 << 30;
const MIB: u64 = 1 << 20;

fn limited(config: &str) -> Daemon {
    Daemon::start_limited(
        config,
        Limits {
            memory: Some(DAEMON_MEMORY),
            open_files: None,
        },
    )
}

#[test]
fn many_short_lines_followed_live_keep_the_daemon_small() {
    let mut d = limited(
        r#"
[tasks.chatty]
run = "seq 1 100000"
"#,
    );
    // Two viewers at once: `run-task --wait` (which triggers and follows) and `logs -f`.
    let out = d
        .project
        .command(&["run-task", "chatty", "--wait"])
        .env("RUNWISP_PASSWORD", &d.password)
        .output()
        .expect("run-task");
    d.assert_alive("while a chatty run was followed live");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let stdout = common::stdout(&out);
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert!(stdout.starts_with("triggered run "), "{}", &stdout[..100]);
    assert_eq!(lines.len(), 100_000, "every line is delivered");
    assert_eq!((lines[0], lines[99_999]), ("1", "100000"));
    let run = d.project.only_run("chatty");
    let follow = d
        .project
        .command(&["logs", &run.id.to_string(), "-f"])
        .output()
        .expect("logs -f");
    assert_eq!(common::stdout(&follow).lines().count(), 100_000);
    d.assert_alive("after the chatty run");
    let peak = d.peak_rss_mib();
    assert!(peak < 128, "the daemon peaked at {peak} MiB");
}

/// Reads an SSE response to its end over a plain socket; returns (line events, saw `done`).
fn read_stream(port: u16, token: &str, path: &str) -> (usize, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut lines = 0;
    let mut done = false;
    for line in BufReader::new(s).split(b'\n') {
        let Ok(line) = line else { break };
        if line.starts_with(b"event: line") {
            lines += 1;
        } else if line.starts_with(b"event: done") {
            done = true;
        }
    }
    (lines, done)
}

#[test]
fn eight_replays_of_a_large_log_stay_bounded() {
    let mut d = limited(
        r#"
[tasks.big]
run = "seq 1 300000"
log_max_size = "100MB"
"#,
    );
    let id = d.trigger("big");
    d.wait_ended(&id);
    let before = d.peak_rss_mib();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (port, token, path) = (
                d.port,
                d.token.clone(),
                format!("/api/runs/{id}/log/stream?from=1"),
            );
            std::thread::spawn(move || read_stream(port, &token, &path))
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().unwrap(), (300_000, true));
    }
    d.assert_alive("after eight replays");
    let grew = d.peak_rss_mib().saturating_sub(before);
    assert!(grew < 64, "eight replays grew the daemon by {grew} MiB");
}

#[test]
fn a_log_window_is_cut_by_bytes_and_says_where_to_go_on() {
    let mut d = limited(
        r#"
[tasks.zeros]
run = "head -c 20000000 /dev/zero"
log_max_size = "100MB"
"#,
    );
    let id = d.trigger("zeros");
    d.wait_ended(&id);
    // Eight at once: each answer is built a piece at a time.
    let windows: Vec<_> = (0..8)
        .map(|_| {
            let (url, token) = (d.url(&format!("/api/runs/{id}/log")), d.token.clone());
            std::thread::spawn(move || {
                daemon::answer(
                    daemon::agent()
                        .get(&url)
                        .header("Authorization", &format!("Bearer {token}"))
                        .call(),
                )
            })
        })
        .collect();
    for window in windows {
        let a = window.join().unwrap();
        assert_eq!(a.status, 200);
        assert!(a.text.len() as u64 <= 4 * MIB, "{} bytes", a.text.len());
        let v = a.json();
        let lines = v["lines"].as_array().unwrap();
        assert!(!lines.is_empty());
        let last = lines.last().unwrap()["n"].as_u64().unwrap();
        assert_eq!(
            v["next_from"].as_u64(),
            Some(last + 1),
            "{}",
            &a.text[..200]
        );
        assert!(v["total_lines"].as_u64().unwrap() > last);
        assert_eq!(v["finished"], true);
    }
    // Going on from next_from reaches the end, where next_from is null.
    let mut from = 1;
    let mut seen = 0;
    loop {
        let v = d.get(&format!("/api/runs/{id}/log?from={from}")).json();
        seen += v["lines"].as_array().unwrap().len() as u64;
        match v["next_from"].as_u64() {
            Some(next) => from = next,
            None => {
                assert_eq!(seen, v["total_lines"].as_u64().unwrap());
                break;
            }
        }
    }
    d.assert_alive("after the windows");
    let peak = d.peak_rss_mib();
    assert!(peak < 192, "the daemon peaked at {peak} MiB");
}

/// Starts a viewer, waits until it printed the run's first line, signals it, and checks the
/// run is still running afterwards.
fn viewer_leaves_the_run_alone(d: &Daemon, args: &[&str], signal: nix::sys::signal::Signal) {
    let mut viewer = d
        .project
        .command(args)
        .env("RUNWISP_PASSWORD", &d.password)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("viewer");
    // `run-task` says which run it triggered first.
    let mut out = BufReader::new(viewer.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..2 {
        line.clear();
        out.read_line(&mut line).unwrap();
        if line == "started\n" {
            break;
        }
    }
    assert_eq!(line, "started\n", "{args:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(viewer.id() as i32), signal).unwrap();
    let status = viewer.wait().unwrap();
    assert!(!status.success(), "{args:?} ended by {signal}");
    let running: Vec<_> = d
        .get("/api/runs?task=slow&status=running")
        .json()
        .get("runs")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    assert_eq!(running.len(), 1, "{args:?}: the run is still running");
}

#[test]
fn a_viewer_interrupted_never_stops_the_run() {
    use nix::sys::signal::Signal;
    let mut d = limited(
        r#"
[tasks.slow]
run = "echo started; sleep 60"
"#,
    );
    let id = d.trigger("slow");
    viewer_leaves_the_run_alone(&d, &["logs", &id, "-f"], Signal::SIGINT);
    viewer_leaves_the_run_alone(&d, &["logs", &id, "-f"], Signal::SIGTERM);
    // run-task --wait triggers a second run (queued behind the first: it prints nothing yet),
    // so stop the first to let it start.
    let stopped = d.post(&format!("/api/runs/{id}/stop"));
    assert_eq!(stopped.status, 202, "{}", stopped.text);
    d.wait_ended(&id);
    viewer_leaves_the_run_alone(&d, &["run-task", "slow", "--wait"], Signal::SIGINT);
    d.assert_alive("after the viewers");
}

fn send(d: &Daemon, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.pid() as i32), signal).unwrap();
}

#[test]
fn hangup_reloads_user_signals_leave_the_daemon_running_and_quit_stops_it_cleanly() {
    use nix::sys::signal::Signal;
    let mut d = limited(
        r#"
[services.web]
run = "sleep 600"
"#,
    );
    let log = d.project.data().join("daemon.log");
    common::wait_for("the service to run", Duration::from_secs(20), || {
        d.project.runs("web").iter().any(|r| r.pid.is_some())
    });
    for (signal, said) in [
        // The file is unchanged: the reload says so and touches nothing (the service keeps
        // its process, checked below).
        (Signal::SIGHUP, "reloaded: nothing changed"),
        (Signal::SIGUSR1, "SIGUSR1 received"),
        (Signal::SIGUSR2, "SIGUSR2 received"),
    ] {
        send(&d, signal);
        common::wait_for(said, Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains(said))
        });
        d.assert_alive(&format!("after {signal}"));
    }
    let service_pid = d.project.runs("web")[0].pid.expect("the service's pid");
    assert!(common::alive(service_pid));
    send(&d, Signal::SIGQUIT);
    let status = d.child.take().unwrap().wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGQUIT stops the daemon cleanly");
    assert!(
        !common::alive(service_pid),
        "the service was stopped with it"
    );
    let run = &d.project.runs("web")[0];
    assert_eq!(run.status.to_string(), "ended");
}

#[test]
fn a_flood_of_idle_connections_never_takes_the_descriptors_runs_need() {
    // The daemon cannot raise this limit; it serves at most half of it as connections.
    let d = Daemon::start_limited(
        r#"
[tasks.tick]
cron = "@every 1s"
run = "cat /dev/null > /dev/null"
"#,
        Limits {
            memory: Some(DAEMON_MEMORY),
            open_files: Some(256),
        },
    );
    let idle: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", d.port)).ok())
        .collect();
    assert!(idle.len() >= 300, "{} connections opened", idle.len());
    let before = d.project.runs("tick").len();
    common::wait_for(
        "three cron runs during the flood",
        Duration::from_secs(20),
        || d.project.runs("tick").len() >= before + 3,
    );
    for run in d
        .project
        .runs("tick")
        .iter()
        .filter(|r| r.status.to_string() == "ended")
    {
        assert_eq!(
            (run.exit_code, run.message.as_deref()),
            (Some(0), None),
            "a cron run failed during the flood: {run:?}"
        );
    }
    drop(idle);
    // Once the flood is gone the API answers again.
    common::wait_for("the API to answer", Duration::from_secs(20), || {
        // Not d.get: it panics on a refused connection, and until the daemon has seen the
        // flood close, new connections may still be refused.
        daemon::agent()
            .get(&d.url("/health"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });
}

#[test]
fn the_same_config_started_from_another_directory_finds_the_running_daemon() {
    let d = limited(
        r#"
[tasks.tick]
run = "true"
"#,
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let config = d.project.path().join("runwisp.toml");
    let config = config.to_str().unwrap();
    // A second daemon of the same configuration refuses: its data directory is the first's.
    let port = common::free_port().to_string();
    let second = d
        .project
        .command(&["-c", config, "--headless", "--port", &port])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", common::stderr(&second));
    let said = common::stderr(&second);
    assert!(said.contains(&d.pid().to_string()), "{said}");
    assert!(
        !elsewhere.path().join("data").exists(),
        "nothing was created here"
    );
    // And the clients find it from there too.
    let status = d
        .project
        .command(&["-c", config, "status"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", common::stderr(&status));
    assert!(
        common::stdout(&status).contains("healthy"),
        "{}",
        common::stdout(&status)
    );
}

#[test]
fn starting_a_daemon_leaves_a_live_standalone_exec_alone() {
    let project = common::Project::new(
        r#"
[tasks.job]
run = "echo started; sleep 30; echo finished"
"#,
    );
    let mut exec = project
        .command(&["exec", "job", "--standalone"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(exec.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    let d = Daemon::start_in(
        project,
        Limits {
            memory: Some(DAEMON_MEMORY),
            open_files: None,
        },
    );
    let run = d.project.only_run("job");
    assert_eq!(run.status.to_string(), "running", "{run:?}");
    assert!(
        common::alive(run.pid.unwrap()),
        "the exec'd task still runs"
    );
    assert!(matches!(exec.try_wait(), Ok(None)), "exec still runs");
    // The operator ends it the documented way: Ctrl-C on exec stops and records its run.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exec.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    exec.wait().unwrap();
    let run = d.project.only_run("job");
    assert_eq!(
        (
            run.status.to_string(),
            run.end_reason.map(|r| r.to_string())
        ),
        ("ended".to_string(), Some("stopped".to_string())),
        "{run:?}"
    );
}

#[test]
fn three_years_of_downtime_with_minutely_tasks_boot_at_once() {
    let mut config = String::new();
    for i in 0..100 {
        config.push_str(&format!(
            "[tasks.tick{i}]\ncron = \"* * * * *\"\ncatch_up = \"latest\"\nrun = \"true\"\n"
        ));
    }
    let project = common::Project::new(&config);
    // The history says the daemon first saw each task three years ago, and nothing since.
    {
        let data = project.data();
        std::fs::create_dir_all(&data).unwrap();
        drop(project.store());
        let db = rusqlite::Connection::open(data.join("runwisp.db")).unwrap();
        let now = runwisp::engine::clock::Clock::now(&runwisp::engine::clock::SystemClock);
        let three_years_ago = now.as_millisecond() - 3 * 365 * 86_400_000;
        for i in 0..100 {
            db.execute(
                "INSERT INTO task_anchors (task_name, first_seen) VALUES (?1, ?2)",
                rusqlite::params![format!("tick{i}"), three_years_ago],
            )
            .unwrap();
        }
    }
    // Booting within the fixture's 20 s is the test: walking 1.5 million missed minutes per
    // task took minutes.
    let d = Daemon::start_in(project, Limits::default());
    for i in [0, 57, 99] {
        let task = format!("tick{i}");
        common::wait_for("the catch-up run", Duration::from_secs(20), || {
            !d.project.runs(&task).is_empty()
        });
        let runs = d.project.runs(&task);
        assert_eq!(runs.len(), 1, "catch_up = latest runs one: {runs:?}");
        assert_eq!(runs[0].triggered_by.to_string(), "catch_up");
    }
    let log = std::fs::read_to_string(d.project.data().join("daemon.log")).unwrap();
    assert!(
        log.contains("missed about "),
        "the log says how many were missed"
    );
}
