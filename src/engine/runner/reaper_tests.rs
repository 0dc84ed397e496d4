//! The reaper against real processes: parallel spawns, failed spawns and adopted orphans.

use super::*;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

async fn status(rx: oneshot::Receiver<ExitStatus>) -> ExitStatus {
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("an exit status within 5 s")
        .expect("an exit status, not a dropped sender")
}

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script);
    cmd
}

#[tokio::test]
async fn parallel_spawns_each_get_their_own_status_and_orphans_are_reaped() {
    // Children that exit at once, spawned from four threads together: many exit before
    // their spawn returns.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let code = t * 50 + i;
                        let (_, rx) = spawn(&mut sh(&format!("exit {code}"))).expect("spawn");
                        (code, rx)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        for (code, rx) in thread.join().expect("spawning thread") {
            assert_eq!(status(rx).await, ExitStatus::Code(code));
        }
    }
    let (_, rx) = spawn(&mut sh("kill -9 $$")).expect("spawn");
    assert_eq!(status(rx).await, ExitStatus::Signal(9));

    // Spawns that fail (their child is reaped by the failing spawn itself) among ones that
    // succeed, from two threads: the reaper neither stalls nor loses a status.
    let threads: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for i in 0..20 {
                    let mut missing = Command::new("/nonexistent/runwisp-test-binary");
                    assert!(spawn(&mut missing).is_err());
                    let mut bad_dir = sh("exit 0");
                    bad_dir.current_dir("/nonexistent/runwisp-test-dir");
                    assert!(spawn(&mut bad_dir).is_err());
                    let code = 100 + t * 20 + i;
                    let (_, rx) = spawn(&mut sh(&format!("exit {code}"))).expect("spawn");
                    statuses.push((code, rx));
                }
                statuses
            })
        })
        .collect();
    for thread in threads {
        for (code, rx) in thread.join().expect("spawning thread") {
            assert_eq!(status(rx).await, ExitStatus::Code(code));
        }
    }

    // A background child outlives its parent, is adopted by this process (a subreaper)
    // and reaped when it exits: no zombie is left.
    let mut cmd = sh("sleep 0.2 & echo $!");
    cmd.stdout(Stdio::piped());
    let (mut child, rx) = spawn(&mut cmd).expect("spawn");
    assert_eq!(status(rx).await, ExitStatus::Code(0));
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read the orphan's pid");
    let orphan: i32 = out.trim().parse().expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(stat) = super::super::procs::stat(orphan) {
        assert!(Instant::now() < deadline, "orphan never reaped: {stat:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn spawned_children_are_known_until_reaped() {
    let (child, rx) = spawn(&mut sh("sleep 0.3")).expect("spawn");
    let pid = child.id() as i32;
    assert!(spawned_children().contains(&pid));
    assert_eq!(status(rx).await, ExitStatus::Code(0));
    assert!(!spawned_children().contains(&pid));
}
