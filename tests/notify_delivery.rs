#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Delivering notifications through the real daemon (`notifications.md` §6): a receiver that
//! answers 429 with Retry-After, a receiver that is down while the bell and the other channels
//! go on, the daemon killed (SIGKILL) with a delivery pending, and a hanging command notifier at
//! SIGTERM. The fixture (the daemon, the outbox, the receivers' checks) is
//! `common/notify_fixture.rs`.
//!
//! Everything this binary spawns goes through runwisp's reaper: the daemon too, whose exit is
//! read from the reaper's answer, never by waiting on the child.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/notify_fixture.rs"]
mod notify_fixture;
#[allow(dead_code)]
#[path = "common/notify_http.rs"]
mod notify_http;

use std::time::{Duration, Instant};

use common::Project;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use notify_fixture::{
    assert_one_sent, bell, bell_of, deliveries, deliveries_settled, deliveries_until,
    failing_config, failing_project, received, unique, until, webhook, write_config, Delivery,
    Wisp, PATIENCE,
};
use notify_http::{closed_port, Receiver, Reply};
use runwisp::engine::runner::reaper::ExitStatus;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// 1. 429 with Retry-After.

#[test]
fn a_429_with_retry_after_2_is_retried_no_sooner_than_2_s_later() {
    let rx = Receiver::start(vec![
        Reply::status(429, "").header("Retry-After", "2"),
        Reply::status(200, "ok"),
    ]);
    let project = failing_project("", &webhook("limited", &rx.url("/limited")), &["limited"]);
    let wisp = Wisp::start(&project, &[]);
    let run = wisp.run_to_end("t");
    let got = received(&rx, "the retry after the 429", 2);
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_secs(2),
        "the retry came {gap:?} after the 429 that said Retry-After: 2"
    );
    for request in &got {
        let event: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(event["run"]["id"], run["id"]);
        assert_eq!(event["title"], "t failed (exit 3)");
    }
    let rows = deliveries_settled(&project, "the delivery recorded as sent");
    assert_one_sent(&rows, 2, "");
    assert_eq!(rx.requests().len(), 2, "nothing more after the 200");
}

// ---------------------------------------------------------------------------------------------
// 2. A receiver that is down.

#[test]
fn a_receiver_that_is_down_is_retried_while_the_bell_and_other_channels_go_on() {
    let port = closed_port();
    let live = Receiver::start(vec![Reply::status(200, "ok")]);
    let notifiers = format!(
        r##"{}
[[notifier]]
id = "live"
type = "slack"
webhook_url = "{}"
"##,
        webhook("dead", &format!("http://127.0.0.1:{port}/hook")),
        live.url("/services/T/B/live")
    );
    let project = failing_project("", &notifiers, &["dead", "live"]);
    let wisp = Wisp::start(&project, &[]);
    let before = Instant::now();
    let run = wisp.run_to_end("t");

    let rows = deliveries_until(&project, "three attempts at the dead receiver", |rows| {
        rows.iter().any(|d| d.notifier == "dead" && d.attempts >= 3)
    });
    // Back-off from 1 s, doubling: the third attempt is at least 1 s + 2 s after the first.
    assert!(
        before.elapsed() >= Duration::from_secs(3),
        "three attempts within {:?}: {rows:#?}",
        before.elapsed()
    );
    let dead: Vec<&Delivery> = rows.iter().filter(|d| d.notifier == "dead").collect();
    assert_eq!(dead.len(), 1, "{rows:#?}");
    assert_eq!(dead[0].status, "pending", "still within its 5 minutes");
    assert!(
        dead[0].last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "the last error is kept: {dead:#?}"
    );

    // The dead channel delays neither the live one nor the bell.
    let got = received(&live, "the live channel", 1);
    assert_eq!(got.len(), 1);
    let text = got[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains(run["id"].as_str().unwrap()), "{text}");
    let failed = bell_of(&project, "run.failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].count, 1);
    assert_eq!(failed[0].run_id.as_deref(), run["id"].as_str());
    assert!(
        bell_of(&project, "notify.delivery_failed").is_empty(),
        "not given up before its 5 minutes"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Killed with a delivery pending.

/// A daemon killed while the delivery of a failure waits for its retry: the channel answered
/// the first attempt 503 with `Retry-After: retry_after` (seconds).
struct KilledWithADeliveryPending {
    rx: Receiver,
    project: Project,
    run: Value,
    /// The outbox once the first attempt was answered.
    rows: Vec<Delivery>,
    daemon: Wisp,
}

fn killed_with_a_delivery_pending(retry_after: &str) -> KilledWithADeliveryPending {
    let rx = Receiver::start(vec![
        Reply::status(503, "busy").header("Retry-After", retry_after),
        Reply::status(200, "ok"),
    ]);
    let project = failing_project("", &webhook("later", &rx.url("/later")), &["later"]);
    let mut daemon = Wisp::start(&project, &[]);
    let run = daemon.run_to_end("t");
    let rows = deliveries_until(&project, "the first attempt answered 503", |rows| {
        rows.iter().any(|d| d.attempts == 1)
    });
    daemon.signal(Signal::SIGKILL);
    assert!(daemon.wait_exit(PATIENCE), "SIGKILL ends the daemon");
    KilledWithADeliveryPending {
        rx,
        project,
        run,
        rows,
        daemon,
    }
}

#[test]
fn a_delivery_pending_when_the_daemon_is_killed_is_sent_once_after_the_restart() {
    let KilledWithADeliveryPending {
        rx,
        project,
        run,
        rows,
        daemon: first,
    } = killed_with_a_delivery_pending("4");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, "pending");
    assert_eq!(
        first.status,
        Some(ExitStatus::Signal(Signal::SIGKILL as i32))
    );
    assert_eq!(
        rx.requests().len(),
        1,
        "only the 503 before the kill (the retry was due 4 s later)"
    );

    let second = Wisp::start(&project, &[]);
    let rows = deliveries_settled(&project, "the pending delivery sent after the restart");
    assert_one_sent(&rows, 2, "one delivery, not a second one: ");
    let got = rx.requests();
    assert_eq!(got.len(), 2, "the 503, then the one send after the restart");
    for request in &got {
        let event = request.json();
        assert_eq!(event["kind"], "run.failed");
        assert_eq!(event["run"]["id"], run["id"]);
    }
    // Stopped cleanly, it has nothing left to send.
    drop(second);
    assert_eq!(rx.requests().len(), 2, "sent exactly once");
    assert_eq!(bell_of(&project, "run.failed").len(), 1);
}

/// A delivery whose five minutes ran out while the daemon was down is given up at the next
/// start, not sent late: the channel hears nothing more, and the bell says why (README,
/// "Delivery").
#[test]
fn a_delivery_whose_five_minutes_ran_out_while_the_daemon_was_down_is_given_up_not_sent() {
    let KilledWithADeliveryPending { rx, project, .. } = killed_with_a_delivery_pending("30");

    // Ten minutes pass while it is down: the delivery was queued before them.
    let conn = rusqlite::Connection::open(project.data().join("runwisp.db")).unwrap();
    let aged = conn
        .execute(
            "UPDATE deliveries SET created_at = created_at - 600000, next_at = next_at - 600000",
            [],
        )
        .unwrap();
    assert_eq!(aged, 1);
    drop(conn);

    let second = Wisp::start(&project, &[]);
    let rows = deliveries_until(&project, "the late delivery given up", |rows| {
        rows.iter().all(|d| d.status != "pending")
    });
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, "failed", "{rows:#?}");
    let error = rows[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("5 minutes ran out"), "{error}");
    let told = until(
        "the bell says the delivery failed",
        PATIENCE,
        || bell_of(&project, "notify.delivery_failed"),
        |rows| !rows.is_empty(),
    );
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0].body.contains("5 minutes ran out"), "{told:#?}");
    drop(second);
    assert_eq!(
        rx.requests().len(),
        1,
        "only the 503 before the kill: nothing sent late"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A hanging command at shutdown.

/// Living processes whose command line or environment holds `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let marker = marker.as_bytes();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            ["cmdline", "environ"].iter().any(|file| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker))
            })
        })
        .filter(|pid| common::alive(*pid))
        .collect()
}

#[test]
fn a_hanging_command_notifier_neither_holds_up_shutdown_nor_outlives_the_daemon() {
    let marker = unique("RWNDT_HANG_");
    let hang = format!(
        r##"
[[notifier]]
id = "hang"
type = "command"
run = "{marker}=1 sleep 600"
"##
    );
    let daemon = r##"
[daemon]
shutdown_timeout = "2s"
"##;
    let project = failing_project(daemon, &hang, &["hang"]);
    let mut wisp = Wisp::start(&project, &[]);
    wisp.run_to_end("t");
    let hanging = until(
        "the command notifier running",
        PATIENCE,
        || processes_with(&marker),
        |pids| !pids.is_empty(),
    );

    let stopping = Instant::now();
    wisp.signal(Signal::SIGTERM);
    let exited = wisp.wait_exit(Duration::from_secs(2 + 8));
    let took = stopping.elapsed();
    // Whatever happens, nothing of this test is left running.
    let mut left = processes_with(&marker);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = processes_with(&marker);
    }
    for pid in &left {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    assert!(
        exited,
        "the daemon did not exit within shutdown_timeout + 8 s"
    );
    assert!(
        took <= Duration::from_secs(2 + 5),
        "the daemon took {took:?} to stop (shutdown_timeout = 2s)"
    );
    assert_eq!(
        wisp.status,
        Some(ExitStatus::Code(0)),
        "a clean stop: {}",
        wisp.stderr_text()
    );
    assert!(
        left.is_empty(),
        "the command notifier outlived the daemon (which stopped in {took:?}): pids {left:?} \
         (first seen {hanging:?})"
    );
    // The send stays pending for the next start.
    let rows = deliveries(&project);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, "pending", "{rows:#?}");
}

// ---------------------------------------------------------------------------------------------
// 5. A notifier added by a reload.

/// The delivery workers follow reloads (they wait on the configuration's own signal, not on
/// the event broadcast): a webhook notifier that a SIGHUP adds delivers the next failure.
#[test]
fn a_notifier_added_by_a_reload_delivers_the_next_failure() {
    let rx = Receiver::start(vec![Reply::status(200, "ok")]);
    let project = failing_project("", "", &[]);
    let mut wisp = Wisp::start(&project, &[]);
    let before = wisp.run_to_end("t");
    // Handled before the reload: its failure is in the bell (the lane is read a moment after
    // a commit, and the notifiers in force when it is read are the ones told).
    let id = before["id"].as_str().map(str::to_string);
    until(
        "the failure before the reload in the bell",
        PATIENCE,
        || bell(&project),
        |rows| rows.iter().any(|row| row.run_id == id),
    );
    write_config(
        &project,
        &failing_config("", &webhook("late", &rx.url("/late")), &["late"]),
    );
    wisp.signal(Signal::SIGHUP);
    // The reload takes a moment: a failure before it is in force tells no one, so fail again
    // until one is delivered.
    let deadline = Instant::now() + PATIENCE;
    let mut after = Vec::new();
    let got = loop {
        after.push(wisp.run_to_end("t")["id"].clone());
        let waited = Instant::now();
        while rx.requests().is_empty() && waited.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let got = rx.requests();
        if !got.is_empty() {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "no failure was delivered after the reload"
        );
    };
    for request in &got {
        let event: Value = serde_json::from_slice(&request.body).unwrap();
        assert_ne!(
            event["run"]["id"], before["id"],
            "the run before the reload told no one"
        );
        assert!(after.contains(&event["run"]["id"]), "{event}");
        assert_eq!(event["title"], "t failed (exit 3)");
    }
}
