#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The command channel (`notifications.md` §6): the event JSON on stdin, a non-zero exit, the
//! timeout stopping the whole tree, nothing left behind, output capped.
#[path = "common/notify_channel.rs"]
mod channel;

use std::path::Path;
use std::time::{Duration, Instant};

use channel::*;
use runwisp::api::NotifyEvent;
use runwisp::notify::{send, send_with, Outcome};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Commands.

/// Whether `pid` is gone (or a zombie about to be reaped), waiting up to 3 s.
fn gone(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        let alive = match &stat {
            Ok(s) => !s
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        };
        if !alive {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pid_in(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn command_gets_the_event_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    let n = command(&format!("cat > '{}'; echo stored", file.display()));
    let outcome = send(&n, &failed());
    assert_eq!(delivered(&outcome), "the command exited 0: stored");
    let got: NotifyEvent = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(got, failed());
    let raw: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(raw["kind"], "run.failed");
}

#[test]
fn command_nonzero_exit_is_final() {
    let outcome = send(
        &command("echo 'cannot page: no route' >&2; echo more >&2; exit 3"),
        &failed(),
    );
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "the command exited with code 3: cannot page: no route".into()
        }
    );
    let outcome = send(&command("exit 127"), &failed());
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "the command exited with code 127".into()
        }
    );
}

#[test]
fn command_past_its_timeout_is_stopped_with_its_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // A background child, a `setsid` escapee, and a shell that ignores SIGTERM (so do its
    // children): only SIGKILL after the grace period ends them.
    let run = format!(
        "sleep 60 & echo $! > '{d}/bg'; setsid sleep 60 & echo $! > '{d}/escaped'; \
         trap '' TERM; sleep 60; sleep 60"
    );
    let limits = quick();
    let started = Instant::now();
    let outcome = send_with(&command(&run), &failed(), &limits);
    let took = started.elapsed();
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: "the command did not finish within 1s and was stopped".into()
        }
    );
    assert!(
        took >= limits.command_timeout + limits.kill_grace,
        "{took:?}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    for name in ["bg", "escaped"] {
        let pid = pid_in(&dir.path().join(name));
        assert!(gone(pid), "the {name} process {pid} is still running");
    }
}

#[test]
fn command_leaves_nothing_behind_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let run = format!("sleep 60 & echo $! > '{d}/bg'; echo sent");
    let started = Instant::now();
    let outcome = send(&command(&run), &failed());
    assert_eq!(delivered(&outcome), "the command exited 0: sent");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid = pid_in(&dir.path().join("bg"));
    assert!(gone(pid), "the background process {pid} is still running");
}

#[test]
fn command_output_is_capped() {
    let outcome = send(
        &command("head -c 100000 /dev/zero | tr '\\0' 'x'; exit 0"),
        &failed(),
    );
    let detail = delivered(&outcome);
    assert!(detail.len() <= 4096 + 40, "{}", detail.len());
}
