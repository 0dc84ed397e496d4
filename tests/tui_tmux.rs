//! The terminal UI end to end: the real binary in tmux against a real daemon. Bare `runwisp`
//! starts the daemon, the task list appears, `r` + Enter runs a task whose output appears on
//! screen, `s` stops a long run, the daemon restarts under the TUI and it reconnects by itself,
//! `q` leaves the shell usable. Quitting offers to stop only a daemon this TUI started (and
//! that still runs): never one started elsewhere. Another test drives the first-start editor to
//! a saved config, and stops the daemon it started.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;

use common::{free_port, wait_for, Project};
use tmux::Tmux;

fn runwisp() -> String {
    format!("env TZ=UTC {}", env!("CARGO_BIN_EXE_runwisp"))
}

fn lock_pid(p: &Project) -> Option<i32> {
    std::fs::read_to_string(p.data().join("daemon.lock"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn run_watch_stop_survive_a_daemon_restart_and_quit() {
    let port = free_port();
    let p = Project::new(&format!(
        r#"
[daemon]
listen = "127.0.0.1:{port}"

[tasks.hello]
run = "echo hello from the tui; echo second line"

[tasks.long]
run = "echo long started; sleep 300"
"#
    ));
    let tmux = Tmux::start("tui", p.path(), &runwisp());
    tmux.wait_for("● connected", Duration::from_secs(30));
    let screen = tmux.wait_for("long", Duration::from_secs(10));
    assert!(screen.contains("hello"), "{screen}");

    // `r` on the selected task asks first; Enter runs it and opens its live log.
    tmux.keys(&["r"]);
    tmux.wait_for("Run task hello now?", Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    tmux.wait_for("hello from the tui", Duration::from_secs(15));
    tmux.wait_for("second line", Duration::from_secs(15));

    // `esc` shows the task with its history, the run just made included.
    tmux.keys(&["Escape"]);
    tmux.wait_for("(manual)", Duration::from_secs(5));
    let screen = tmux.wait_for("TRIGGER", Duration::from_secs(10));
    assert!(!screen.contains("no runs yet"), "{screen}");
    assert!(!screen.contains("Recent activity"), "{screen}");

    // Quitting offers to stop the daemon this TUI started; esc cancels.
    tmux.keys(&["q"]);
    tmux.wait_for("Stop the daemon", Duration::from_secs(5));
    tmux.keys(&["Escape"]);

    // Back to the sidebar, down to `long`, run it, then stop it.
    tmux.keys(&["Escape", "j", "r", "Enter"]);
    tmux.wait_for("long started", Duration::from_secs(15));
    tmux.keys(&["s"]);
    tmux.wait_for("Stop run", Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    tmux.wait_for("stopped (exit", Duration::from_secs(20));

    // The daemon goes away and comes back; the TUI reconnects by itself.
    let pid = lock_pid(&p).expect("the daemon's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    tmux.wait_for("reconnecting", Duration::from_secs(20));
    wait_for(
        "the old daemon to let go of the lock",
        Duration::from_secs(20),
        || {
            runwisp::engine::datadir::DataDir::open(&p.data())
                .unwrap()
                .daemon_holding_lock()
                .unwrap()
                .is_none()
        },
    );
    let mut again = p
        .command(&["--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tmux.wait_for("● connected", Duration::from_secs(30));

    // The daemon now is not the one this TUI started: quitting does not offer to stop it, and
    // leaves it running; the shell is usable afterwards.
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("Quit the terminal UI?", Duration::from_secs(5));
    assert!(!screen.contains("Stop the daemon"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(30));
    assert!(
        again.try_wait().unwrap().is_none(),
        "the daemon started elsewhere still runs"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(again.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = again.wait().unwrap();
    assert!(
        status.success(),
        "the restarted daemon was stopped cleanly: {status}"
    );
    tmux.keys(&["echo shell-$((40+2))", "Enter"]);
    tmux.wait_for("shell-42", Duration::from_secs(5));
    let runs = p.runs("hello");
    assert_eq!(
        runs[0].triggered_by,
        runwisp::engine::model::TriggeredBy::Tui
    );
    assert_eq!(
        p.runs("long")[0].end_reason,
        Some(runwisp::engine::model::EndReason::Stopped)
    );
}

#[test]
fn first_start_edits_and_saves_a_valid_config() {
    let p = Project::new("");
    std::fs::remove_file(p.path().join("runwisp.toml")).unwrap();
    let port = free_port();
    let tmux = Tmux::start(
        "tui",
        p.path(),
        &format!("RUNWISP_PORT={port} {}", runwisp()),
    );
    tmux.wait_for("New runwisp.toml", Duration::from_secs(15));
    tmux.wait_for("valid: 2 task(s)", Duration::from_secs(5));
    // A stray character at the top is a TOML error, shown under the editor with its line.
    tmux.keys(&["x"]);
    let screen = tmux.wait_for("error(s)", Duration::from_secs(5));
    assert!(screen.contains("runwisp.toml:1:"), "{screen}");
    tmux.keys(&["C-s"]);
    tmux.wait_for("fix the errors below before saving", Duration::from_secs(5));
    assert!(!p.path().join("runwisp.toml").exists());
    tmux.keys(&["BSpace"]);
    tmux.wait_for("valid: 2 task(s)", Duration::from_secs(5));
    tmux.keys(&["C-s"]);
    // Saved; the daemon starts and the TUI attaches to it.
    tmux.wait_for("heartbeat", Duration::from_secs(30));
    let written = std::fs::read_to_string(p.path().join("runwisp.toml")).unwrap();
    assert_eq!(written, runwisp::engine::config::STARTER);
    // The starter's `#:schema` line finds its schema beside it.
    let schema = std::fs::read_to_string(p.path().join("runwisp.schema.json")).unwrap();
    assert!(schema.contains("\"$schema\""), "{schema}");
    // This TUI started the daemon: quitting offers to stop it, and does.
    tmux.keys(&["q"]);
    tmux.wait_for("Stop the daemon", Duration::from_secs(5));
    tmux.keys(&["Right", "Enter"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(30));
    assert!(tmux.screen().contains("the daemon stopped"));
    assert!(runwisp::engine::datadir::DataDir::open(&p.data())
        .unwrap()
        .daemon_holding_lock()
        .unwrap()
        .is_none());
}

#[test]
fn quitting_beside_a_daemon_started_elsewhere_never_offers_to_stop_it() {
    let port = free_port();
    let p = Project::new(&format!(
        r#"
[daemon]
listen = "127.0.0.1:{port}"

[tasks.hello]
run = "echo hello"
"#
    ));
    // A daemon of its own, as systemd or another terminal would run it.
    let mut daemon = p.spawn(&["--headless"]);
    p.wait_booted(&mut daemon);
    let tmux = Tmux::start("tui", p.path(), &runwisp());
    tmux.wait_for("● connected", Duration::from_secs(30));
    tmux.wait_for("hello", Duration::from_secs(10));
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("Quit the terminal UI?", Duration::from_secs(5));
    assert!(!screen.contains("Stop the daemon"), "{screen}");
    assert!(!screen.contains("Leave the daemon running"), "{screen}");
    // Right then Enter is Cancel here, not "stop": the TUI stays.
    tmux.keys(&["Right", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!tmux.screen().contains("EXITED"), "{}", tmux.screen());
    tmux.keys(&["q", "Enter"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(30));
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(daemon.wait().unwrap().success());
}
