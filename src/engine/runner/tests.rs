//! The runner against real processes: exit codes, environment, capture order, timeouts and
//! stops that leave nothing behind, and the log cap.

use std::time::Duration;

use super::*;

fn spec(command: &str, dir: &std::path::Path) -> RunSpec {
    RunSpec {
        run_id: RunId::new(),
        task: TaskName::parse("unit").unwrap(),
        command: command.to_string(),
        working_dir: dir.to_path_buf(),
        env: BTreeMap::from([("GREETING".to_string(), "hello".to_string())]),
        trigger: TriggeredBy::Cli,
        retry_attempt: 0,
        replica: None,
        timeout: None,
        graceful_stop: Duration::from_millis(500),
        log_max_size: 1 << 20,
        log_on_full: LogOnFull::DropOld,
        disk_floor: 0,
    }
}

async fn run(
    spec: &RunSpec,
    dir: &std::path::Path,
    stop: StopHandle,
) -> (Outcome, String, Started) {
    let path = dir.join(format!("{}.log", spec.run_id));
    let file = crate::engine::datadir::create_private_file(&path).unwrap();
    let mut started = None;
    let outcome = execute(spec, Some(file), path.clone(), None, stop, |s| {
        started = Some(s)
    })
    .await;
    (
        outcome,
        std::fs::read_to_string(&path).unwrap(),
        started.expect("on_start called"),
    )
}

fn alive(pid: i32) -> bool {
    procs::stat(pid).is_some_and(|s| !s.zombie)
}

#[tokio::test]
async fn exit_code_environment_and_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(
        "echo \"$GREETING $RUNWISP_TASK $RUNWISP_TRIGGER $RUNWISP_ATTEMPT\"; echo bad >&2; sleep 0.2; pwd; exit 3",
        tmp.path(),
    );
    let (outcome, log, _) = run(&s, tmp.path(), StopHandle::new()).await;
    assert_eq!(
        outcome,
        Outcome {
            end_reason: EndReason::Failed,
            exit_code: 3,
            message: None
        }
    );
    let cwd = std::fs::canonicalize(tmp.path()).unwrap();
    assert_eq!(
        log,
        format!("hello unit cli 1\n[ERR] bad\n{}\n", cwd.display())
    );
}

/// Bursts of output between pauses longer than the writer's linger: a writer job that gave its
/// thread back is started again, and every line of each stream lands once, in order.
#[tokio::test]
async fn bursts_between_quiet_spells_are_captured_whole_and_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        "for i in 1 2 3 4 5 6; do seq 1 20000 | sed \"s/^/o$i-/\"; echo e$i >&2; sleep 0.05; done",
        tmp.path(),
    );
    s.log_max_size = 64 << 20;
    let (outcome, log, _) = run(&s, tmp.path(), StopHandle::new()).await;
    assert_eq!(outcome.end_reason, EndReason::Success);
    let (errs, outs): (Vec<&str>, Vec<&str>) = log.lines().partition(|l| l.starts_with("[ERR] "));
    let want: Vec<String> = (1..=6)
        .flat_map(|i| (1..=20000).map(move |n| format!("o{i}-{n}")))
        .collect();
    assert_eq!(outs.len(), want.len());
    assert!(outs.iter().zip(&want).all(|(got, want)| got == want));
    assert_eq!(
        errs,
        (1..=6).map(|i| format!("[ERR] e{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn success_and_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, _) = run(&spec("true", tmp.path()), tmp.path(), StopHandle::new()).await;
    assert_eq!((ok.end_reason, ok.exit_code), (EndReason::Success, 0));
    let (killed, _, _) = run(
        &spec("kill -9 $$", tmp.path()),
        tmp.path(),
        StopHandle::new(),
    )
    .await;
    assert_eq!(
        (killed.end_reason, killed.exit_code),
        (EndReason::Failed, 137)
    );
}

#[tokio::test]
async fn a_missing_working_dir_fails_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec("true", tmp.path());
    s.working_dir = tmp.path().join("nope");
    let path = tmp.path().join("x.log");
    let file = crate::engine::datadir::create_private_file(&path).unwrap();
    let outcome = execute(
        &s,
        Some(file),
        path.clone(),
        None,
        StopHandle::new(),
        |_| panic!("must not start"),
    )
    .await;
    assert_eq!(
        (outcome.end_reason, outcome.exit_code),
        (EndReason::Failed, -1)
    );
    let message = outcome.message.unwrap();
    assert!(message.starts_with("cannot start /bin/sh in "), "{message}");
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("[SYSTEM] cannot start"));
}

/// A child that ignores SIGTERM and a grandchild in its own session: after the timeout,
/// neither may be alive.
#[tokio::test]
async fn timeout_stops_the_group_and_escapees() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    let command = format!(
        "sh -c 'trap \"\" TERM; echo $$ >> {p}; sleep 60' & \
         setsid sh -c 'echo $$ >> {p}; sleep 60' & \
         echo started; wait",
        p = pids.display()
    );
    let mut s = spec(&command, tmp.path());
    s.timeout = Some(Duration::from_millis(700));
    s.graceful_stop = Duration::from_millis(300);
    let (outcome, log, started) = run(&s, tmp.path(), StopHandle::new()).await;
    assert_eq!(outcome.end_reason, EndReason::Timeout);
    assert!(
        log.contains("[SYSTEM] timeout of 700ms reached; sending SIGTERM"),
        "{log}"
    );
    let recorded: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(recorded.len(), 2, "both descendants started");
    for pid in recorded {
        assert!(!alive(pid), "process {pid} survived the timeout");
    }
    assert!(procs::run_processes(&s.run_id.to_string(), Some(started.pid)).is_empty());
}

#[tokio::test]
async fn background_leftovers_are_stopped_when_the_command_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("pid");
    let command = format!(
        "setsid sh -c 'echo $$ > {}; exec sleep 60' > /dev/null 2>&1 & sleep 0.2; echo done",
        pid_file.display()
    );
    let (outcome, log, _) = run(&spec(&command, tmp.path()), tmp.path(), StopHandle::new()).await;
    assert_eq!(outcome.end_reason, EndReason::Success);
    assert!(
        log.contains("process(es) it started were still running; stopping them"),
        "{log}"
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid));
}

#[tokio::test]
async fn an_operator_stop_ends_the_run_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let stop = StopHandle::new();
    let s = spec("echo up; sleep 30", tmp.path());
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.stop();
    });
    let (outcome, log, _) = run(&s, tmp.path(), stop).await;
    assert_eq!(
        (outcome.end_reason, outcome.exit_code),
        (EndReason::Stopped, 143)
    );
    assert!(
        log.starts_with("up\n[SYSTEM] stop requested; sending SIGTERM"),
        "{log}"
    );
}

/// A command that overflows a `kill_task` log and exits on its own before the stop reaches it
/// still ends `log_overflow`, as its log says, never `success`.
#[tokio::test]
async fn kill_task_then_a_quick_exit_is_still_log_overflow() {
    for _ in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        // All of it fits the pipe's buffer, so the shell exits before the log is cut.
        let mut s = spec(
            "head -c 3000 /dev/zero | tr '\\0' x | fold -w 99; exit 0",
            tmp.path(),
        );
        s.log_max_size = 1024;
        s.log_on_full = LogOnFull::KillTask;
        let (outcome, log, _) = run(&s, tmp.path(), StopHandle::new()).await;
        assert!(log.contains("[SYSTEM] log reached log_max_size (1KB); stopping the run"));
        assert_eq!(outcome.end_reason, EndReason::LogOverflow, "{log:.200}");
    }
}

#[tokio::test]
async fn kill_task_ends_the_run_with_log_overflow() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec("yes runwisp", tmp.path());
    s.log_max_size = 64 * 1024;
    s.log_on_full = LogOnFull::KillTask;
    let (outcome, log, _) = run(&s, tmp.path(), StopHandle::new()).await;
    assert_eq!(outcome.end_reason, EndReason::LogOverflow);
    assert!(log.len() <= 64 * 1024 + 400, "{}", log.len());
    assert!(log.contains("[SYSTEM] log reached log_max_size (64KB); stopping the run"));
}

#[path = "escapee_tests.rs"]
mod escapees;
