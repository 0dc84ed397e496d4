//! `runwisp --headless` as a real process: start-up refusals, SIGTERM within
//! `shutdown_timeout`, kill -9 and crash recovery (once, and in a loop), retention at boot, and a
//! full disk.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use runwisp::engine::model::{EndReason, RunId, RunStatus};

/// A daemon this test started: killed (and reaped) if the test ends without stopping it, so
/// a failing test never leaves a daemon behind.
struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts the daemon on a free port and waits until it wrote `daemon.pid` (the end of boot).
fn start(p: &Project) -> Running {
    let _ = std::fs::remove_file(p.data().join("daemon.pid"));
    let port = free_port().to_string();
    let mut child = p.spawn(&["--headless", "--port", &port]);
    p.wait_booted(&mut child);
    Running(child)
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).expect("signal the daemon");
}

fn stop(mut child: Running) -> std::process::ExitStatus {
    signal(&child, Signal::SIGTERM);
    child.wait().expect("daemon exit")
}

/// Pids the tasks wrote into files named `*.pid` in the project folder.
fn task_pids(p: &Project) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(p.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pid") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Ok(pid) = line.trim().parse() {
                    pids.push(pid);
                }
            }
        }
    }
    pids
}

#[test]
fn start_up_refusals_name_the_problem() {
    let p = Project::new("[tasks.t]\nrun = \"true\"\ncron = \"@every 1h\"\n");
    let first = start(&p);
    let second = p.run(&["--headless", "--port", &free_port().to_string()]);
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        stderr(&second),
        format!(
            "runwisp: a runwisp daemon (pid {}) is already running for data directory {}\n",
            first.id(),
            p.data().display()
        )
    );
    assert!(stop(first).success());

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = p.run(&["daemon", "--port", &port]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("runwisp: cannot listen on 127.0.0.1:{port}: the port is already in use; choose another with --port or [daemon] listen\n")
    );

    let bad = Project::new("[tasks.t]\nrun = \"true\"\ncron = \"61 * * * *\"\n");
    let out = bad.run(&["--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("runwisp.toml:3:8: tasks.t.cron: invalid cron expression"),
        "{}",
        stderr(&out)
    );
    assert!(
        !bad.data().exists(),
        "nothing starts with a bad configuration"
    );
}

#[test]
fn sigterm_stops_a_term_ignoring_run_within_shutdown_timeout() {
    let p = Project::new(
        r#"
[daemon]
shutdown_timeout = "2s"

[services.stubborn]
run = "trap '' TERM; echo $$ >> stubborn.pid; echo started; while true; do sleep 1; done"
graceful_stop = "30s"
"#,
    );
    let daemon = start(&p);
    wait_for("the service to run", Duration::from_secs(10), || {
        !task_pids(&p).is_empty()
    });
    let began = Instant::now();
    let status = stop(daemon);
    let took = began.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took < Duration::from_secs(2 + 5),
        "shutdown took {took:?} with shutdown_timeout 2s"
    );
    let run = p.only_run("stubborn");
    assert_eq!(run.end_reason, Some(EndReason::Stopped));
    for pid in task_pids(&p) {
        assert!(!alive(pid), "pid {pid} survived the shutdown");
    }
    let log = std::fs::read_to_string(p.data().join("daemon.log")).unwrap();
    assert!(
        log.contains("has graceful_stop 30s which is longer than [daemon] shutdown_timeout 2s"),
        "{log}"
    );
    assert!(!p.data().join("daemon.pid").exists());
}

const CRASHY: &str = r#"
[services.worker]
run = """
echo "worker $RUNWISP_RUN_ID starting"
sh -c 'trap "" TERM; echo $$ >> stubborn.pid; exec sleep 300' &
setsid sh -c 'echo $$ >> escaped.pid; exec sleep 300' &
echo $$ >> worker.pid
echo partial output
wait
"""
instances = 2
graceful_stop = "500ms"

[tasks.tick]
cron = "@every 1s"
run = "echo $$ >> tick.pid; sleep 0.5"
"#;

#[test]
fn kill_9_leaves_crashed_runs_with_their_logs_and_no_processes() {
    let p = Project::new(CRASHY);
    let mut daemon = start(&p);
    wait_for(
        "both replicas and their children",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(p.path().join("escaped.pid"))
                .is_ok_and(|s| s.lines().count() == 2)
                && std::fs::read_to_string(p.path().join("stubborn.pid"))
                    .is_ok_and(|s| s.lines().count() == 2)
                && p.runs("worker")
                    .iter()
                    .filter(|r| r.status == RunStatus::Running)
                    .count()
                    == 2
        },
    );
    let before: Vec<_> = p.runs("worker");
    let orphans: Vec<i32> = task_pids(&p)
        .into_iter()
        .filter(|pid| alive(*pid))
        .collect();
    signal(&daemon, Signal::SIGKILL);
    daemon.wait().unwrap();

    let daemon = start(&p);
    for pid in orphans {
        wait_for(
            &format!("pid {pid} to be gone"),
            Duration::from_secs(10),
            || !alive(pid),
        );
    }
    let after = p.runs("worker");
    let mut checked = 0;
    for run in &before {
        let now = after
            .iter()
            .find(|r| r.id == run.id)
            .expect("a run known before the crash is kept");
        if run.status == RunStatus::Running {
            assert_eq!(now.end_reason, Some(EndReason::Crashed));
            assert_eq!(now.exit_code, Some(-2));
            let log = p.log(now);
            assert!(log.contains("partial output"), "{log}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "both replicas were running at the kill");
    assert!(stop(daemon).success());
}

/// The reference documents retry failed, timed-out and crashed runs alike: a run that a
/// kill -9 left behind is recorded `crashed` and then retried when `retry_attempts` allows.
#[test]
fn a_crashed_run_is_retried_when_its_task_allows() {
    let p = Project::new(
        r#"
[tasks.deploy]
retry_attempts = 1
retry_delay = "1s"
run = "if [ \"$RUNWISP_ATTEMPT\" = 1 ]; then echo first; sleep 60; else echo again; fi"
"#,
    );
    let mut daemon = start(&p);
    assert!(p.run(&["run-task", "deploy"]).status.success());
    wait_for("the first attempt to run", Duration::from_secs(20), || {
        p.runs("deploy")
            .first()
            .is_some_and(|r| r.status == RunStatus::Running)
    });
    let first = p.only_run("deploy");
    signal(&daemon, Signal::SIGKILL);
    daemon.wait().unwrap();
    let daemon = start(&p);
    wait_for("the retry to end", Duration::from_secs(20), || {
        p.runs("deploy").len() == 2 && p.runs("deploy")[0].end_reason.is_some()
    });
    let runs = p.runs("deploy");
    let (retry, crashed) = (&runs[0], &runs[1]);
    assert_eq!(crashed.id, first.id);
    assert_eq!(crashed.end_reason, Some(EndReason::Crashed));
    assert_eq!(
        (
            retry.end_reason,
            retry.retry_attempt,
            retry.retry_of_run_id,
            retry.triggered_by.to_string(),
        ),
        (
            Some(EndReason::Success),
            1,
            Some(first.id),
            "retry".to_string()
        ),
        "{retry:?}"
    );
    assert_eq!(p.log(retry), "again\n");
    assert!(stop(daemon).success());
}

#[test]
fn twenty_kills_in_a_row_lose_no_run_and_leave_no_process() {
    let p = Project::new(CRASHY);
    let mut seen: BTreeSet<RunId> = BTreeSet::new();
    for round in 0..20 {
        let mut daemon = start(&p);
        let known = p.store().list_runs(None, 1_000_000).unwrap().len();
        // Let new runs be created and started, then kill at once.
        wait_for("a new run", Duration::from_secs(10), || {
            p.store().list_runs(None, 1_000_000).unwrap().len() > known
        });
        std::thread::sleep(Duration::from_millis(50 * (round % 5)));
        for run in p.store().list_runs(None, 1_000_000).unwrap() {
            seen.insert(run.id);
        }
        signal(&daemon, Signal::SIGKILL);
        daemon.wait().unwrap();
    }
    let daemon = start(&p);
    let all = p.store().list_runs(None, 1_000_000).unwrap();
    let ids: BTreeSet<RunId> = all.iter().map(|r| r.id).collect();
    let lost: Vec<_> = seen.difference(&ids).collect();
    assert!(lost.is_empty(), "runs lost across kills: {lost:?}");
    assert!(stop(daemon).success());
    let all = p.store().list_runs(None, 1_000_000).unwrap();
    let unended: Vec<_> = all
        .iter()
        .filter(|r| r.status != RunStatus::Ended)
        .collect();
    assert!(
        unended.is_empty(),
        "every run ends up recorded as ended: {unended:#?}"
    );
    assert!(all.iter().any(|r| r.end_reason == Some(EndReason::Crashed)));
    for pid in task_pids(&p) {
        wait_for(
            &format!("pid {pid} to be gone"),
            Duration::from_secs(10),
            || !alive(pid),
        );
    }
}

#[test]
fn a_stop_right_after_boot_leaves_no_run_pending() {
    // Replicas and a due task are being recorded as the SIGTERM arrives: every row they made
    // must be ended by the time the daemon exits, not left for the next boot to call crashed.
    let p = Project::new(
        "[tasks.tick]\ncron = \"@every 1s\"\nrun = \"true\"\n\n[services.many]\nrun = \"sleep 30\"\ninstances = 8\n",
    );
    // The SIGTERM lands at a different moment of the replicas' start each round.
    for round in 0..30u64 {
        let daemon = start(&p);
        std::thread::sleep(Duration::from_millis(round % 10));
        assert!(stop(daemon).success());
        let unended: Vec<_> = p
            .store()
            .list_runs(None, 1_000_000)
            .unwrap()
            .into_iter()
            .filter(|r| r.status != RunStatus::Ended)
            .collect();
        assert!(unended.is_empty(), "round {round}: {unended:#?}");
    }
}

#[test]
fn retention_at_boot_deletes_rows_and_log_files_together() {
    let p = Project::new("[tasks.t]\nrun = \"echo run\"\nkeep_runs = 3\n");
    for _ in 0..6 {
        assert_eq!(p.run(&["exec", "t"]).status.code(), Some(0));
    }
    let before = p.runs("t");
    assert_eq!(before.len(), 6);
    let daemon = start(&p);
    // The sweep deletes the rows first, then their files: wait for both.
    let log_files = || std::fs::read_dir(p.data().join("logs/t")).map_or(0, |d| d.count());
    wait_for("the boot sweep", Duration::from_secs(10), || {
        p.runs("t").len() == 3 && log_files() == 3
    });
    let kept = p.runs("t");
    assert_eq!(
        kept.iter().map(|r| &r.id).collect::<Vec<_>>(),
        before[..3].iter().map(|r| &r.id).collect::<Vec<_>>(),
        "the newest three stay"
    );
    assert_eq!(log_files(), 3, "their log files went with them");
    for run in &kept {
        assert!(p.log_path(run).exists());
    }
    assert!(stop(daemon).success());
}

/// Unmounts a test's tmpfs when dropped.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Mounts a tmpfs of `size` at `dir` (created); None, having said so, when the machine cannot
/// and RUNWISP_SKIP_ROOT_TESTS=1 allows skipping (otherwise the test fails).
fn small_tmpfs(dir: &std::path::Path, size: &str) -> Option<Unmount> {
    std::fs::create_dir(dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        // Not a silent pass: a machine that cannot run it says so on purpose.
        assert_eq!(
            std::env::var("RUNWISP_SKIP_ROOT_TESTS").as_deref(),
            Ok("1"),
            "mounting a small tmpfs needs root; run the tests as root, or set \
             RUNWISP_SKIP_ROOT_TESTS=1 to skip this one"
        );
        eprintln!("skipped: mounting a small tmpfs needs root (RUNWISP_SKIP_ROOT_TESTS=1)");
        return None;
    }
    Some(Unmount(dir.to_path_buf()))
}

/// The disk fills while a run is active (something else wrote to it) and is freed later: the
/// run's end, which could not be written meanwhile, is recorded once there is room, with the
/// run's own exit code, and the daemon said what it was doing.
#[test]
fn an_end_that_cannot_be_written_for_a_full_disk_is_retried_until_it_is() {
    let p = Project::new(
        r#"
[storage]
min_free_space = "0"

[tasks.filler]
run = "echo filling; dd if=/dev/zero of=data/filler bs=64k 2>/dev/null; dd if=/dev/zero of=data/filler2 bs=4k 2>/dev/null; exit 0"
"#,
    );
    let Some(_unmount) = small_tmpfs(&p.data(), "8m") else {
        return;
    };
    let daemon = start(&p);
    assert!(p.run(&["run-task", "filler"]).status.success());
    let log = p.data().join("daemon.log");
    // The run has ended (its process is gone) while the disk is full; daemon.log is on that
    // disk too, so what the daemon says is read once there is room again.
    wait_for("the run to start", Duration::from_secs(30), || {
        p.runs("filler").first().is_some_and(|r| r.pid.is_some())
    });
    let pid = p.only_run("filler").pid.unwrap();
    wait_for("the run's process to end", Duration::from_secs(30), || {
        !common::alive(pid)
    });
    // Not a synchronisation: the disk stays full a while, as an operator's would, and the
    // run must still show no end (its first writes failed; nothing was faked).
    std::thread::sleep(Duration::from_millis(1500));
    let run = p.only_run("filler");
    assert_eq!(
        run.end_reason, None,
        "the end could not be written yet: {run:?}"
    );
    let _ = std::fs::remove_file(p.data().join("filler"));
    let _ = std::fs::remove_file(p.data().join("filler2"));
    wait_for("the end to be recorded", Duration::from_secs(30), || {
        p.runs("filler")
            .first()
            .is_some_and(|r| r.end_reason.is_some())
    });
    let run = p.only_run("filler");
    assert_eq!(
        (run.end_reason, run.exit_code),
        (Some(EndReason::Success), Some(0)),
        "{run:?}"
    );
    // The daemon's log is written in the background: wait for the line, not a moment.
    wait_for(
        "the daemon to say the end was recorded late",
        Duration::from_secs(20),
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("is recorded, after")),
    );
    assert!(stop(daemon).success());
}

#[test]
fn a_full_disk_refuses_runs_clearly_and_corrupts_nothing() {
    let p = Project::new(
        r#"
[storage]
min_free_space = "1MB"

[tasks.chatty]
cron = "@every 1s"
run = "head -c 8000000 /dev/zero | tr '\\0' 'x' | fold -w 100"
"#,
    );
    let Some(_unmount) = small_tmpfs(&p.data(), "4m") else {
        return;
    };
    let daemon = start(&p);
    wait_for("a refused run", Duration::from_secs(20), || {
        p.runs("chatty").iter().any(|r| {
            r.message
                .as_deref()
                .is_some_and(|m| m.starts_with("not started: the data disk has"))
        })
    });
    assert!(
        stop(daemon).success(),
        "the daemon kept going and stopped cleanly"
    );
    let runs = p.runs("chatty");
    let filled = runs.iter().find(|r| {
        r.message.as_deref().is_some_and(|m| {
            m.starts_with("the data disk has only")
                && m.ends_with("below [storage] min_free_space (1MB); further output is dropped")
        })
    });
    let filled =
        filled.unwrap_or_else(|| panic!("the run that filled the disk says so: {runs:#?}"));
    assert_eq!(
        filled.end_reason,
        Some(EndReason::Success),
        "the run itself went on and finished"
    );
    assert!(p.log(filled).contains("[SYSTEM] the data disk has only"));
    let refused = runs.iter().find(|r| {
        r.message
            .as_deref()
            .is_some_and(|m| m.starts_with("not started"))
    });
    assert_eq!(refused.map(|r| r.exit_code), Some(Some(-1)));
    let store = p.store();
    assert!(store.list_runs(None, 1000).is_ok());
    let check: String = rusqlite::Connection::open(p.data().join("runwisp.db"))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// A daemon started in the background by a terminal UI that has since quit writes its log lines
/// to a closed stderr: it must keep running and still stop cleanly.
#[test]
fn a_closed_stderr_does_not_kill_the_daemon() {
    let p = Project::new("[tasks.t]\nrun = \"true\"\ncron = \"@every 1s\"\n");
    let port = free_port().to_string();
    let mut child = Running(
        p.command(&["--headless", "--port", &port])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("boot", Duration::from_secs(20), || {
        p.data().join("daemon.pid").exists()
    });
    drop(child.stderr.take());
    let known = p.runs("t").len();
    wait_for(
        "more firings after stderr closed",
        Duration::from_secs(10),
        || p.runs("t").len() > known + 1,
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    let status = stop(child);
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(p.data().join("daemon.log")).unwrap();
    assert!(log.contains("runwisp stopped"), "{log}");
}
