#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Notification rules through the real daemon (`notifications.md` §6): 25 failures in one
//! coalescing window are one bell row and at most three messages, and `notify_after_failures`
//! stays silent until its count, then the recovery goes only to who heard the failure; routes
//! (kind, task glob, severity threshold), `append_notifiers` and the task's own lists reach each
//! channel once, a success reaches who asked for it, the message links to the run,
//! `notify_after_retries` tells only of the attempt that ends a retry chain, and a service
//! restarting 5 times in 10 minutes is `service.flapping` once a window. The
//! fixture (the daemon, the outbox, the receivers) is `common/notify_fixture.rs`.
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

use common::Project;
use notify_fixture::{
    bell, bell_of, deliveries, deliveries_until, none_pending, received, until, webhook,
    write_config, Delivery, Wisp, PATIENCE,
};
use notify_http::{Receiver, Reply};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// 1. 25 failures in one window.

#[test]
fn twenty_five_failures_in_one_window_are_one_row_and_at_most_three_messages() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new(&format!(
        r##"{}
[tasks.t]
run = "echo broken pipe >&2; exit 3"
notify_on_failure = ["flood"]
"##,
        webhook("flood", &rx.url("/flood"))
    ));
    let wisp = Wisp::start(&project, &[]);
    let mut last = Value::Null;
    for _ in 0..25 {
        last = wisp.run_to_end("t");
        assert_eq!(last["exit_code"], 3);
    }
    let rows = until(
        "25 failures counted in one row",
        PATIENCE,
        || bell(&project),
        |rows| rows.iter().any(|r| r.count == 25),
    );
    assert_eq!(rows.len(), 1, "one row for the whole window: {rows:#?}");
    let row = &rows[0];
    assert_eq!(row.kind.as_str(), "run.failed");
    assert_eq!(row.title, "t failed (exit 3)");
    assert_eq!(row.run_id.as_deref(), last["id"].as_str(), "the latest run");
    assert_eq!(row.occurrences.len(), 10, "the newest occurrence_ring");

    let sent = until(
        "the deliveries of the window sent",
        PATIENCE,
        || (deliveries(&project), rx.requests().len()),
        |(rows, received)| none_pending(rows) && *received == rows.len(),
    )
    .0;
    let got = rx.requests();
    assert!(
        got.len() <= 3,
        "at most 3 messages for 25 failures: {sent:#?}"
    );
    let counts: Vec<u64> = got
        .iter()
        .map(|r| r.json()["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 10, 20], "the first at once, then every 10th");
    let titles: Vec<String> = got
        .iter()
        .map(|r| r.json()["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles[0], "t failed (exit 3)");
    assert!(
        titles[1].starts_with("t failed (exit 3) (10 times in "),
        "{titles:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. notify_after_failures, then recovery.

#[test]
fn notify_after_failures_3_speaks_at_the_third_and_the_recovery_goes_to_who_heard() {
    let heard = Receiver::start(vec![Reply::status(200, "")]);
    let quiet = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new("");
    let ok = project.path().join("ok");
    write_config(
        &project,
        &format!(
            r##"
[notify]
coalesce_window = "0s"
{heard}{quiet}
[[notification_route]]
match = {{ kind = ["run.timeout"], task = "fetch" }}
notify = ["quiet"]

[tasks.fetch]
run = "test -f '{ok}' || exit 3"
notify_on_failure = ["heard"]
notify_after_failures = 3
"##,
            heard = webhook("heard", &heard.url("/heard")),
            quiet = webhook("quiet", &quiet.url("/quiet")),
            ok = ok.display(),
        ),
    );
    let wisp = Wisp::start(&project, &[]);
    for n in 1..=2 {
        wisp.run_to_end("fetch");
        // The row and its deliveries are written in one transaction: once the row is there,
        // no delivery means none will come.
        until(
            &format!("failure {n} in the bell"),
            PATIENCE,
            || bell_of(&project, "run.failed"),
            |rows| rows.len() == n,
        );
        let rows = deliveries(&project);
        assert!(rows.is_empty(), "silent for failure {n}: {rows:#?}");
    }
    assert!(heard.requests().is_empty());

    let third = wisp.run_to_end("fetch");
    let got = received(&heard, "the third failure sent", 1);
    let event = got[0].json();
    assert_eq!(event["kind"], "run.failed");
    assert_eq!(event["title"], "fetch failed (exit 3)");
    assert_eq!(event["run"]["id"], third["id"]);
    assert_eq!(
        bell_of(&project, "run.failed").len(),
        3,
        "the bell counts every failure"
    );

    std::fs::write(&ok, "").unwrap();
    let success = wisp.run_to_end("fetch");
    assert_eq!(success["end_reason"], "success");
    let rows = deliveries_until(&project, "the recovery sent", |rows| {
        rows.len() >= 2 && none_pending(rows)
    });
    let got = received(&heard, "the recovery received", 2);
    assert_eq!(got.len(), 2, "the third failure and one recovery");
    let event = got[1].json();
    assert_eq!(event["kind"], "run.recovered");
    assert_eq!(event["severity"], "info");
    assert_eq!(event["run"]["id"], success["id"]);
    let title = event["title"].as_str().unwrap();
    assert!(
        title.starts_with("fetch recovered after 3 failures"),
        "{title}"
    );
    let recovered: Vec<&Delivery> = rows
        .iter()
        .filter(|d| d.payload["kind"] == "run.recovered")
        .collect();
    assert_eq!(recovered.len(), 1, "one run.recovered: {rows:#?}");
    assert_eq!(recovered[0].notifier, "heard");
    assert!(
        rows.iter().all(|d| d.notifier == "heard"),
        "nothing to the channel that heard no failure: {rows:#?}"
    );
    assert!(quiet.requests().is_empty());
    let bell_rows = bell_of(&project, "run.recovered");
    assert_eq!(bell_rows.len(), 1, "{bell_rows:#?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Routes, append_notifiers, success, and the link to the run.

#[test]
fn a_matching_route_and_append_notifiers_each_send_once_with_the_runs_link() {
    let route = Receiver::start(vec![Reply::status(200, "")]);
    let always = Receiver::start(vec![Reply::status(200, "")]);
    let deploys = Receiver::start(vec![Reply::status(200, "")]);
    let other = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new("");
    write_config(
        &project,
        &format!(
            r##"
[daemon]
external_url = "https://runwisp.example.com/"

[notify]
coalesce_window = "0s"
append_notifiers = ["inapp", "always"]
{route}{always}{deploys}{other}
[[notification_route]]
match = {{ kind = ["run.failed"], task = "backup-*", severity = "error" }}
notify = ["route", "always"]

[[notification_route]]
match = {{ kind = ["run.failed"], task = "other-*" }}
notify = ["other"]

[[notification_route]]
match = {{ kind = ["run.succeeded"], task = "backup-*", severity = "error" }}
notify = ["other"]

[tasks.backup-db]
run = "echo dumping; exit 3"
notify_on_failure = ["route"]

[tasks.deploy-app]
run = "echo deployed"
notify_on_success = ["deploys"]
"##,
            route = webhook("route", &route.url("/route")),
            always = webhook("always", &always.url("/always")),
            deploys = webhook("deploys", &deploys.url("/deploys")),
            other = webhook("other", &other.url("/other")),
        ),
    );
    let wisp = Wisp::start(&project, &[]);

    // A failure of backup-db: its own list, the matching route and append_notifiers name
    // `route` twice and `always` twice; each hears it once.
    let failed = wisp.run_to_end("backup-db");
    let got = received(&route, "the route's channel told", 1);
    let event = got[0].json();
    assert_eq!(event["kind"], "run.failed");
    assert_eq!(event["severity"], "error");
    assert_eq!(event["title"], "backup-db failed (exit 3)");
    let id = failed["id"].as_str().unwrap();
    assert_eq!(
        event["url"],
        format!("https://runwisp.example.com/runs/{id}"),
        "the link to the run, from [daemon] external_url"
    );
    assert!(event["text"].as_str().unwrap().contains(id), "{event}");
    let got = received(&always, "append_notifiers told", 1);
    assert_eq!(got[0].json()["run"]["id"], failed["id"]);

    // A success told to who asked for it (and to append_notifiers); a route for successes
    // with an `error` threshold lets an `info` event pass by.
    let succeeded = wisp.run_to_end("deploy-app");
    assert_eq!(succeeded["end_reason"], "success");
    let got = received(&deploys, "the success told", 1);
    let event = got[0].json();
    assert_eq!(event["kind"], "run.succeeded");
    assert_eq!(event["severity"], "info");
    assert!(
        event["title"]
            .as_str()
            .unwrap()
            .starts_with("deploy-app succeeded"),
        "{event}"
    );
    received(&always, "append_notifiers told of the success", 2);

    let rows = deliveries_until(&project, "every delivery sent", |rows| {
        rows.len() >= 4 && none_pending(rows)
    });
    let mut to: Vec<(String, String)> = rows
        .iter()
        .map(|d| {
            (
                d.notifier.clone(),
                d.payload["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            ("always".to_string(), "run.failed".to_string()),
            ("always".to_string(), "run.succeeded".to_string()),
            ("deploys".to_string(), "run.succeeded".to_string()),
            ("route".to_string(), "run.failed".to_string()),
        ],
        "each channel once per event, nothing to the routes that did not match: {rows:#?}"
    );
    assert!(other.requests().is_empty());
    assert_eq!(route.requests().len(), 1);
    assert_eq!(always.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// 4. notify_after_retries.

#[test]
fn notify_after_retries_tells_only_of_the_attempt_that_ends_the_chain() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    let project = with_ops(
        &rx,
        r#"
[tasks.flaky]
run = "echo attempt $RUNWISP_ATTEMPT; exit 4"
retry_attempts = 2
retry_delay = "200ms"
notify_on_failure = ["ops"]
notify_after_retries = true
"#,
    );
    let wisp = Wisp::start(&project, &[]);
    wisp.run_to_end("flaky");
    // The first run and its two retries all fail; the bell counts each, the channel hears once.
    until(
        "three failed attempts in the bell",
        PATIENCE,
        || bell_of(&project, "run.failed"),
        |rows| rows.iter().map(|r| r.count).sum::<u32>() == 3,
    );
    let got = received(&rx, "the last attempt told", 1);
    let event = got[0].json();
    assert_eq!(event["kind"], "run.failed");
    assert_eq!(event["run"]["retry_attempt"], 2, "{event}");
    let rows = deliveries_until(&project, "the delivery sent", |rows| {
        !rows.is_empty() && none_pending(rows)
    });
    assert_eq!(rows.len(), 1, "one message for the chain: {rows:#?}");
    assert_eq!(rx.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 5. service.flapping.

#[test]
fn a_service_restarting_five_times_in_ten_minutes_is_flapping_once() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    let project = with_ops(
        &rx,
        r#"
[[notification_route]]
match = { kind = ["service.flapping"] }
notify = ["ops"]

[services.crashy]
run = "exit 1"
restart_delay = "50ms"
restart_backoff = "constant"
"#,
    );
    let _wisp = Wisp::start(&project, &[]);
    let got = received(&rx, "the flapping told", 1);
    let event = got[0].json();
    assert_eq!(event["kind"], "service.flapping");
    assert_eq!(event["task"], "crashy");
    let title = event["title"].as_str().unwrap();
    assert!(
        title.starts_with("crashy#0 is flapping: 5 restarts in"),
        "{title}"
    );
    // It keeps restarting, but the window is told once.
    until(
        "ten restarts in the bell",
        PATIENCE,
        || bell_of(&project, "run.failed"),
        |rows| rows.iter().map(|r| r.count).sum::<u32>() >= 10,
    );
    assert_eq!(
        rx.requests().len(),
        1,
        "one flapping message per window: {:#?}",
        rx.requests().iter().map(|r| r.json()).collect::<Vec<_>>()
    );
    assert_eq!(bell_of(&project, "service.flapping").len(), 1);
}

/// A project whose channel `ops` is a webhook to `rx`, with no coalescing, and `rest` after it.
fn with_ops(rx: &Receiver, rest: &str) -> Project {
    let project = Project::new("");
    let ops = webhook("ops", &rx.url("/ops"));
    write_config(
        &project,
        &format!("[notify]\ncoalesce_window = \"0s\"\n{ops}\n{rest}"),
    );
    project
}

// ---------------------------------------------------------------------------------------------
// A window's summary.

/// A window that closes with repeats its channel was not told of sends them as one summary,
/// with their count (README, "Coalescing": windows are closed every 15 seconds).
#[test]
fn a_window_that_closes_with_untold_repeats_sends_one_summary() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new(&format!(
        r##"
[notify]
coalesce_window = "5s"
{}
[tasks.t]
run = "exit 3"
notify_on_failure = ["sum"]
"##,
        webhook("sum", &rx.url("/sum"))
    ));
    let wisp = Wisp::start(&project, &[]);
    for _ in 0..3 {
        assert_eq!(wisp.run_to_end("t")["exit_code"], 3);
    }
    let rows = until(
        "three failures counted",
        PATIENCE,
        || bell(&project),
        |rows| rows.iter().map(|r| r.count).sum::<u32>() == 3,
    );
    assert_eq!(
        rows.len(),
        1,
        "three failures in one window, one row: {rows:#?}"
    );
    let got = received(&rx, "the first failure, then the window's summary", 2);
    let counts: Vec<u64> = got
        .iter()
        .map(|r| r.json()["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 3], "the first at once, the rest in the summary");
    let summary = got[1].json()["title"].as_str().unwrap().to_string();
    assert!(
        summary.starts_with("t failed (exit 3) (3 times in "),
        "{summary}"
    );
    let sent = deliveries_until(&project, "both sent", |rows| none_pending(rows));
    assert_eq!(sent.len(), 2, "nothing more for a closed window: {sent:#?}");
}
