//! The daemon as a library: started in-process through `runwisp::daemon::start`, driven over
//! its real REST API and its local socket, followed through the engine, stopped cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/inproc.rs"]
mod inproc;

use inproc::InProcess;
use runwisp::engine::model::{EndReason, RunId};

#[test]
fn an_in_process_daemon_serves_runs_and_stops_cleanly() {
    let d = InProcess::start(
        "[tasks.hello]\nrun = \"echo hello\"\n\n[services.web]\nrun = \"sleep 60\"\n",
    );
    // The local socket needs no password.
    let socket = d.dir.path().join("data/daemon.sock");
    let client = runwisp::client::Client::local(&socket).expect("the local socket");
    let run = client.trigger("hello", "cli").expect("trigger");
    let id = RunId::parse(&run.id).unwrap();
    let ended = d
        .runtime
        .block_on(d.daemon().engine().wait_ended(id))
        .unwrap()
        .expect("the run");
    assert_eq!(ended.end_reason, Some(EndReason::Success));
    // Over TCP without a token: refused.
    let health = ureq::get(&format!("{}/api/tasks", d.url)).call();
    assert!(
        matches!(health, Err(ureq::Error::StatusCode(401))),
        "{health:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let service_pid = loop {
        let runs = d
            .daemon()
            .engine()
            .store()
            .list_runs(Some("web"), 10)
            .unwrap();
        if let Some(pid) = runs.iter().find_map(|r| r.pid) {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(d);
    let alive = std::fs::read_to_string(format!("/proc/{service_pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    });
    assert!(!alive, "the service was stopped with the daemon");
}
