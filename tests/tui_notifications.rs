//! The TUI's notifications end to end: the real binary in tmux against a real daemon. A task
//! that exits 3 is run from the command line; the TUI's footer shows "t failed (exit 3)" live,
//! `n` lists it, `enter` opens its run, `m` marks it read and the footer clears.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;

use common::{free_port, Project};
use tmux::Tmux;

/// The list's row of the failure: the main pane's part of its line.
fn list_row(screen: &str) -> Option<String> {
    screen
        .lines()
        .filter_map(|l| l.split_once('│').map(|(_, main)| main.trim().to_string()))
        .find(|main| main.contains("t failed (exit 3)"))
}

#[test]
fn a_failure_shows_in_the_footer_and_the_list_and_is_marked_read() {
    let port = free_port();
    let p = Project::new(&format!(
        r#"
[daemon]
listen = "127.0.0.1:{port}"

[tasks.t]
run = "exit 3"
"#
    ));
    let runwisp = format!("env TZ=UTC {}", env!("CARGO_BIN_EXE_runwisp"));
    let tmux = Tmux::start("bell", p.path(), &runwisp);
    tmux.wait_for("● connected", Duration::from_secs(30));
    assert!(!tmux.footer().contains("failed"), "{}", tmux.screen());

    // A failure elsewhere (the command line) reaches the footer live.
    let out = p.run(&["run-task", "t"]);
    assert!(out.status.success(), "{out:?}");
    tmux.wait_until("the failure in the footer", Duration::from_secs(20), |t| {
        t.footer().contains("✗ t failed (exit 3)")
    });

    // `n` lists it, unread.
    tmux.keys(&["n"]);
    let screen = tmux.wait_for("Notifications 1 unread", Duration::from_secs(5));
    let row = list_row(&screen).unwrap_or_else(|| panic!("its row:\n{screen}"));
    assert!(row.starts_with("● ✗"), "unread, an error: {row}");

    // `enter` opens its run's log; `esc` shows the task's history.
    tmux.keys(&["Enter"]);
    tmux.wait_for("· failed (exit 3)", Duration::from_secs(10));
    tmux.keys(&["Escape"]);
    tmux.wait_for("(manual)", Duration::from_secs(5));
    assert!(
        tmux.footer().contains("t failed (exit 3)"),
        "opening it does not mark it read: {}",
        tmux.screen()
    );

    // Back in the list, `m` marks it read: the list says so, and the footer clears.
    tmux.keys(&["n", "m"]);
    tmux.wait_until("the row read", Duration::from_secs(10), |t| {
        let screen = t.screen();
        !screen.contains("unread") && list_row(&screen).is_some_and(|row| !row.contains('●'))
    });
    tmux.keys(&["Escape"]);
    tmux.wait_until("the footer cleared", Duration::from_secs(5), |t| {
        !t.footer().contains("failed")
    });

    // This TUI started the daemon: quit and stop it.
    tmux.keys(&["q"]);
    tmux.wait_for("Stop the daemon", Duration::from_secs(5));
    tmux.keys(&["Right", "Enter"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(30));
}
