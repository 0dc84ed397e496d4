//! Escapees that leave the run's process group *and* its environment (`setsid env -i CMD &`),
//! adopted by runwisp when the run's shell exits: stopped when the run ends, every time, and
//! never taken from another run that is still running.

use super::*;

/// The living processes whose pid or session is `leader`: what is left of an escapee that
/// called `setsid` and of everything it started.
fn what_is_left_of(leader: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(procs::stat)
        .filter(|s| !s.zombie && (s.pid == leader || s.sid == leader))
        .map(|s| s.pid)
        .collect()
}

/// Kills what a failing round left, so a failure does not leave processes behind.
fn kill_all(pids: &[i32]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn read_pid(path: &std::path::Path) -> i32 {
    let text = std::fs::read_to_string(path).expect("the pid file");
    text.trim().parse().expect("a pid")
}

#[tokio::test]
async fn escapees_without_group_or_environment_are_stopped_when_the_run_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = [
        "setsid env -i sleep 300 &",
        "setsid env -i sh -c 'sleep 300 & wait' &",
    ];
    for round in 0..10 {
        for form in forms {
            let pid_file = tmp.path().join(format!("pid-{round}"));
            let command = format!("{form} echo $! > {}", pid_file.display());
            let (outcome, log, _) =
                run(&spec(&command, tmp.path()), tmp.path(), StopHandle::new()).await;
            let left = what_is_left_of(read_pid(&pid_file));
            kill_all(&left);
            assert_eq!(
                left,
                Vec::<i32>::new(),
                "round {round}: {form} left {left:?}"
            );
            assert_eq!(outcome.end_reason, EndReason::Success, "{log}");
            assert!(
                log.contains("process(es) it started were still running; stopping them"),
                "round {round}: {form}: {log}"
            );
        }
    }
}

#[tokio::test]
async fn another_running_runs_orphans_are_left_to_it() {
    for round in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let (a_pid, b_pids) = (tmp.path().join("a"), tmp.path().join("b"));
        let (b1, b2) = (tmp.path().join("b1"), tmp.path().join("b2"));
        // A leaves an escapee, then ends once B (started after it) has left two orphans.
        let a = spec(
            &format!(
                "setsid env -i sleep 300 & echo $! > {a}; i=0; \
                 until [ -s {b} ] || [ $i -ge 500 ]; do sleep 0.02; i=$((i+1)); done",
                a = a_pid.display(),
                b = b_pids.display(),
            ),
            tmp.path(),
        );
        // B's orphans are adopted by runwisp while B runs on: one keeps B's output, the
        // other drops it, so only B's still running tells A it may be B's.
        let mut b = spec(
            &format!(
                "sh -c 'setsid env -i sleep 300 & echo $! > {b1}; \
                 setsid env -i sleep 300 > /dev/null 2>&1 & echo $! > {b2}'; \
                 echo ready > {b}; sleep 60",
                b1 = b1.display(),
                b2 = b2.display(),
                b = b_pids.display(),
            ),
            tmp.path(),
        );
        b.timeout = Some(Duration::from_secs(60));
        let stop_b = StopHandle::new();
        let a_run = async {
            let (outcome, log, _) = run(&a, tmp.path(), StopHandle::new()).await;
            let a_left = what_is_left_of(read_pid(&a_pid));
            let b_alive = [read_pid(&b1), read_pid(&b2)].map(alive);
            stop_b.stop();
            (outcome, log, a_left, b_alive)
        };
        let b_run = async {
            while !a_pid.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            run(&b, tmp.path(), stop_b.clone()).await
        };
        let ((a_outcome, a_log, a_left, b_alive), (b_outcome, b_log, _)) =
            tokio::join!(a_run, b_run);
        let (b1, b2) = (read_pid(&b1), read_pid(&b2));
        let b1_left = alive(b1);
        kill_all(&a_left);
        kill_all(&[b1, b2]);
        assert_eq!(a_left, Vec::<i32>::new(), "round {round}: {a_log}");
        assert_eq!(a_outcome.end_reason, EndReason::Success, "{a_log}");
        assert_eq!(b_alive, [true, true], "round {round}: A took B's orphans");
        assert_eq!(b_outcome.end_reason, EndReason::Stopped, "{b_log}");
        // B's stop takes the orphan that kept its output. (The other one is B's only when no
        // other test's run that started before it is still running, so it is not asserted.)
        assert!(!b1_left, "round {round}: B's stop left {b1}: {b_log}");
    }
}

/// The stop ladder (here after a timeout) finds an orphan that was adopted while the run's
/// shell was still running.
#[tokio::test]
async fn a_stop_reaches_orphans_adopted_while_the_run_was_running() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let pid_file = tmp.path().join(format!("pid-{round}"));
        let command = format!(
            "sh -c 'setsid env -i sleep 300 & echo $! > {}'; sleep 60",
            pid_file.display()
        );
        let mut s = spec(&command, tmp.path());
        s.timeout = Some(Duration::from_millis(500));
        s.graceful_stop = Duration::from_millis(300);
        let (outcome, log, _) = run(&s, tmp.path(), StopHandle::new()).await;
        let left = what_is_left_of(read_pid(&pid_file));
        kill_all(&left);
        assert_eq!(left, Vec::<i32>::new(), "round {round}: {log}");
        assert_eq!(outcome.end_reason, EndReason::Timeout, "{log}");
    }
}
