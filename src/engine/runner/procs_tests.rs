//! Finding a run's processes against real ones: start times, and escapees found every time.

use super::*;

#[test]
fn a_process_started_after_ticks_now_is_not_older() {
    let before = ticks_now().expect("the boot clock");
    let mut sleep = std::process::Command::new("/bin/sleep");
    sleep.arg("1");
    let (child, _exited) = super::super::reaper::spawn(&mut sleep).expect("spawn sleep");
    let started = stat(child.id() as i32).map(|s| s.start_time);
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    assert!(
        started.is_some_and(|t| t >= before),
        "{started:?} < {before}"
    );
    let me = stat(std::process::id() as i32).expect("own stat");
    assert!(me.start_time <= before);
}

/// The start time a run records (crash recovery compares it with `/proc` to tell a reused pid)
/// is the kernel's own, whether it was told from the clock or read.
#[test]
fn a_spawned_child_start_time_is_the_kernels() {
    for _ in 0..50 {
        let before = ticks_now();
        let mut sleep = std::process::Command::new("/bin/sleep");
        sleep.arg("1");
        let (child, _exited) = super::super::reaper::spawn(&mut sleep).expect("spawn sleep");
        let pid = child.id() as i32;
        let told = start_time_of(pid, before);
        let read = stat(pid).map(|s| s.start_time);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        assert!(told.is_some());
        assert_eq!(told, read);
    }
}

#[test]
fn reads_our_own_stat() {
    let me = std::process::id() as i32;
    let s = stat(me).expect("own stat");
    assert_eq!(s.pid, me);
    assert!(!s.zombie);
    assert!(s.start_time > 0);
    assert!(stat(i32::MAX).is_none());
}

#[tokio::test]
async fn what_a_run_leaves_behind_is_never_missed() {
    use std::os::unix::process::CommandExt;
    // As the runner does: the run's own process group, its id in the environment, and the
    // time just before the spawn, in the unit of a process's start time, and its place among
    // the active runs (so other tests' runs leave its orphans alone).
    let spawn = |run_id: &str, script: &str| {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(script)
            .env("RUNWISP_RUN_ID", run_id)
            .process_group(0);
        let since = ticks_now().expect("the boot clock");
        let registration = orphans::Registration::new(run_id, Some(since));
        let (child, exited) = super::super::reaper::spawn(&mut cmd).expect("spawn sh");
        registration.started(child.id() as i32, Vec::new());
        (child.id() as i32, since, exited, registration)
    };
    // "Maybe" is always a correct answer (another test's process, adopted by this one, may
    // be young), so the test asks until it gets "gone".
    let gone_within_5s = |pgid: i32, since: u64| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !surely_gone(pgid, since) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    };

    // A run that leaves nothing behind.
    let (pgid, since, exited, _registration) = spawn("01GONETEST0000000000000000", "true");
    exited.await.expect("exit status");
    assert!(gone_within_5s(pgid, since).await);
    assert_eq!(
        leftovers("01GONETEST0000000000000000", pgid, Some(since)),
        Vec::<i32>::new()
    );

    // Escapees in their own session: one that outlives the run, and one that forks a
    // daemon and exits at once, handing the daemon over while it may be in the middle of
    // an exec (its environment reads empty) and itself in the middle of its exit (its
    // environment may read as anything). Found at once, every time, and never "gone".
    let scripts = [
        "setsid sleep 5 > /dev/null 2>&1 &",
        "setsid sh -c 'sleep 5 & :' > /dev/null 2>&1 &",
    ];
    for (round, script) in scripts.iter().cycle().take(30).enumerate() {
        let run_id = "01ESCAPETEST00000000000000";
        let (pgid, since, exited, registration) = spawn(run_id, script);
        exited.await.expect("exit status");
        registration.ending();
        assert!(!surely_gone(pgid, since), "round {round}: gone at once");
        let left = leftovers(run_id, pgid, Some(since));
        let until = std::time::Instant::now() + Duration::from_millis(20);
        while std::time::Instant::now() < until {
            assert!(!surely_gone(pgid, since), "round {round}: gone meanwhile");
        }
        assert!(!left.is_empty(), "round {round}: {script} left nothing?");
        stop_ladder(run_id, Some(pgid), Some(since), Duration::ZERO).await;
        assert_eq!(
            run_processes(run_id, None),
            Vec::<i32>::new(),
            "round {round}"
        );
        assert!(
            gone_within_5s(pgid, since).await,
            "round {round}: never gone"
        );
    }
}
