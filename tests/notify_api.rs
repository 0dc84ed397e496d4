#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The in-app notifications API and its commands against the real daemon binary
//! (`notifications.md` §3, §4): a failing task folded into one row, the stream telling of its
//! creation, repeats and reading, marking read, paging, bad input, `runwisp notifications`, and
//! `runwisp notify test` through a real local HTTP receiver.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/notify_http.rs"]
#[allow(dead_code)]
mod notify_http;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{stderr, stdout};
use daemon::Daemon;
use notify_http::{Receiver, Reply};
use serde_json::Value;

fn config(hook: &str) -> String {
    format!(
        r#"
[tasks.t]
run = "echo oops >&2; exit 3"

[tasks.u]
run = "exit 4"

[tasks.v]
run = "exit 5"

[[notifier]]
id = "hook"
type = "webhook"
url = "{hook}"

[[notifier]]
id = "slow"
type = "command"
run = "sleep 2"
"#
    )
}

/// One server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    name: String,
    id: Option<String>,
    data: String,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// Opens `/api/notifications/stream` (subscribed once this returns) and hands its events to the
/// returned channel from a reader thread, until the daemon closes it.
fn open_stream(d: &Daemon) -> mpsc::Receiver<Sse> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(None)
        .build()
        .into();
    let response = agent
        .get(&d.url("/api/notifications/stream"))
        .header("Authorization", &format!("Bearer {}", d.token))
        .call()
        .expect("open the notifications stream");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(response.into_body().into_reader());
        let mut event = Sse {
            name: String::new(),
            id: None,
            data: String::new(),
        };
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if line.is_empty() {
                if !event.name.is_empty() {
                    let done = std::mem::replace(
                        &mut event,
                        Sse {
                            name: String::new(),
                            id: None,
                            data: String::new(),
                        },
                    );
                    if tx.send(done).is_err() {
                        return;
                    }
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "event" => event.name = value,
                "id" => event.id = Some(value),
                "data" => event.data.push_str(&value),
                _ => {}
            }
        }
    });
    rx
}

/// The next event of the stream that is not a keep-alive, within 20 s.
fn next_event(rx: &mpsc::Receiver<Sse>) -> Sse {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = rx
            .recv_timeout(left)
            .expect("an event on the notifications stream");
        if event.name != "ping" {
            return event;
        }
    }
}

/// Triggers `task` and waits until its run ended.
fn fail_once(d: &Daemon, task: &str) {
    let id = d.trigger(task);
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "failed", "{run}");
}

fn list(d: &Daemon, query: &str) -> Value {
    let a = d.get(&format!("/api/notifications{query}"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

fn unread(d: &Daemon) -> u64 {
    let a = d.get("/api/notifications/unread-count");
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["unread"].as_u64().expect("a count")
}

fn ids(page: &Value) -> Vec<String> {
    page["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn repeated_failures_are_one_row_streamed_read_and_paged() {
    let receiver = Receiver::start(vec![Reply::status(200, "ok")]);
    let d = Daemon::start(&config(&receiver.url("/hook")));
    let stream = open_stream(&d);
    assert_eq!(unread(&d), 0);
    assert_eq!(
        list(&d, "").to_string(),
        r#"{"next_before":null,"notifications":[]}"#
    );

    // Three failures of the same task: one row, created then updated twice, each told.
    let mut row_id = String::new();
    for n in 1..=3u64 {
        fail_once(&d, "t");
        let event = next_event(&stream);
        assert_eq!(event.name, "notification", "{event:?}");
        let object = event.json();
        assert_eq!(object["count"], n, "failure {n}: {object}");
        assert_eq!(object["read_at"], Value::Null);
        if n == 1 {
            row_id = object["id"].as_str().unwrap().to_string();
        }
        assert_eq!(object["id"], row_id.as_str(), "the same row, updated");
        assert_eq!(event.id.as_deref(), Some(row_id.as_str()), "{event:?}");
    }
    let page = list(&d, "");
    let rows = page["notifications"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{page}");
    let row = &rows[0];
    assert_eq!(row["count"], 3, "{row}");
    assert_eq!(row["title"], "t failed (exit 3)");
    assert_eq!(row["kind"], "run.failed");
    assert_eq!(row["severity"], "error");
    assert_eq!(row["task_name"], "t");
    assert_eq!(row["occurrences"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_before"], Value::Null);
    assert_eq!(unread(&d), 1);

    // The commands show it.
    let json = d.project.run(&["notifications", "--json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let printed: Value = serde_json::from_slice(&json.stdout).expect("the page as JSON");
    assert_eq!(printed, page);
    let table = d.project.run(&["notifications"]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    let header = text.lines().next().unwrap_or_default();
    assert!(header.trim_start().starts_with("LAST"), "{text}");
    let line = text.lines().nth(1).expect("a row");
    for part in ["•", "error", "×3", " t ", "t failed (exit 3)"] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }

    // Marking it read: read_at set, nothing unread, the stream is told.
    let read = d.post(&format!("/api/notifications/{row_id}/read"));
    assert_eq!(read.status, 200, "{}", read.text);
    let read = read.json();
    assert_eq!(read["id"], row_id.as_str());
    assert!(read["read_at"].is_string(), "{read}");
    assert_eq!(read["count"], 3);
    assert_eq!(unread(&d), 0);
    let event = next_event(&stream);
    assert_eq!(event.name, "notification");
    assert_eq!(event.json()["read_at"], read["read_at"], "{event:?}");
    // A lower-case id names the same row; reading it again keeps its time.
    let again = d.post(&format!(
        "/api/notifications/{}/read",
        row_id.to_lowercase()
    ));
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["read_at"], read["read_at"]);
    let _ = next_event(&stream);
    let unread_table = d.project.run(&["notifications", "--unread"]);
    assert_eq!(
        stdout(&unread_table).trim(),
        "there are no unread notifications"
    );

    // Two more rows, then pages of two, newest first.
    fail_once(&d, "u");
    assert_eq!(next_event(&stream).json()["task_name"], "u");
    fail_once(&d, "v");
    assert_eq!(next_event(&stream).json()["task_name"], "v");
    let all = list(&d, "");
    assert_eq!(all["notifications"].as_array().unwrap().len(), 3);
    let first = list(&d, "?limit=2");
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 2);
    assert_eq!(first["notifications"][0]["task_name"], "v");
    assert_eq!(first["notifications"][1]["task_name"], "u");
    assert_eq!(first["next_before"], first_ids[1].as_str());
    let second = list(&d, &format!("?limit=2&before={}", first_ids[1]));
    assert_eq!(ids(&second), [row_id.clone()]);
    assert_eq!(second["next_before"], Value::Null);
    let unread_page = list(&d, "?unread=true&limit=50");
    assert_eq!(unread_page["notifications"].as_array().unwrap().len(), 2);
    assert_eq!(
        list(&d, "?unread=false")["notifications"],
        all["notifications"]
    );
    let cli_limited = d.project.run(&["notifications", "--json", "-n", "1"]);
    let printed: Value = serde_json::from_slice(&cli_limited.stdout).expect("JSON");
    assert_eq!(ids(&printed), [first_ids[0].clone()]);
    assert_eq!(printed["next_before"], first_ids[0].as_str());
    assert_eq!(unread(&d), 2);

    // Mark all: how many were unread, `read_all` on the stream, nothing unread.
    let marked = d.post("/api/notifications/read");
    assert_eq!(marked.status, 200, "{}", marked.text);
    assert_eq!(marked.json(), serde_json::json!({ "marked": 2 }));
    let event = next_event(&stream);
    assert_eq!(
        (event.name.as_str(), event.data.as_str()),
        ("read_all", "{}")
    );
    assert_eq!(unread(&d), 0);
    assert!(list(&d, "?unread=true")["notifications"]
        .as_array()
        .unwrap()
        .is_empty());
    let none_left = d.post("/api/notifications/read");
    assert_eq!(none_left.json()["marked"], 0);
}

#[test]
fn bad_requests_and_unknown_ids_are_refused_with_one_sentence() {
    let receiver = Receiver::start(vec![Reply::status(200, "ok")]);
    let d = Daemon::start(&config(&receiver.url("/hook")));
    for (path, status, says) in [
        (
            "/api/notifications?limit=0",
            400,
            "`limit` must be between 1 and 1000",
        ),
        (
            "/api/notifications?limit=1001",
            400,
            "`limit` must be between 1 and 1000",
        ),
        (
            "/api/notifications?limit=ten",
            400,
            "query parameter `limit`",
        ),
        (
            "/api/notifications?unread=yes",
            400,
            "query parameter `unread`",
        ),
        (
            "/api/notifications?before=nope",
            400,
            "`before` must be the id",
        ),
        (
            "/api/notifications?colour=red",
            400,
            "unknown query parameter `colour`",
        ),
    ] {
        let a = d.get(path);
        assert_eq!(a.status, status, "{path}: {}", a.text);
        assert_eq!(a.content_type, "application/problem+json", "{path}");
        assert!(a.detail().contains(says), "{path}: {}", a.detail());
    }
    for (path, status, says) in [
        (
            "/api/notifications/nope/read",
            400,
            "is not a notification id",
        ),
        (
            "/api/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV/read",
            404,
            "there is no notification 01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ),
        (
            "/api/notifiers/inapp/test",
            400,
            "the in-app notifier needs no test",
        ),
        ("/api/notifiers/bad%20id/test", 400, "is not a notifier id"),
        (
            "/api/notifiers/nope/test",
            404,
            "there is no notifier \"nope\"; the declared ones are hook, slow",
        ),
    ] {
        let a = d.post(path);
        assert_eq!(a.status, status, "{path}: {}", a.text);
        assert!(a.detail().contains(says), "{path}: {}", a.detail());
    }
    assert!(receiver.requests().is_empty(), "no test was sent");

    // One test of a notifier at a time: a second one while the first runs is refused.
    let token = d.token.clone();
    let url = d.url("/api/notifiers/slow/test");
    let first = std::thread::spawn(move || {
        daemon::answer(
            daemon::agent()
                .post(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .send_empty(),
        )
    });
    std::thread::sleep(Duration::from_millis(700));
    let second = d.post("/api/notifiers/slow/test");
    assert_eq!(second.status, 409, "{}", second.text);
    assert!(
        second.detail().contains("already being sent"),
        "{}",
        second.detail()
    );
    let first = first.join().unwrap();
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["outcome"], "delivered", "{}", first.text);
    assert_eq!(first.json()["type"], "command");
    // Free again once the first has answered.
    let third = d.post("/api/notifiers/slow/test");
    assert_eq!(third.status, 200, "{}", third.text);
}

#[test]
fn notify_test_sends_through_the_notifier_and_reports_the_answer() {
    let receiver = Receiver::start(vec![
        Reply::status(200, "ok"),
        Reply::status(404, "no such hook"),
    ]);
    let d = Daemon::start(&config(&receiver.url("/hook")));

    let delivered = d.project.run(&["notify", "test", "hook"]);
    let out = stdout(&delivered);
    assert_eq!(
        delivered.status.code(),
        Some(0),
        "{out}{}",
        stderr(&delivered)
    );
    assert!(out.starts_with("hook (webhook): delivered — "), "{out}");
    let sent = receiver.one();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/hook")
    );
    let body = sent.json();
    let fingerprint = d.get_anon("/health").json()["fingerprint"].clone();
    assert_eq!(
        body["title"],
        format!(
            "runwisp test message from {}",
            fingerprint.as_str().unwrap()
        )
    );
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .starts_with("runwisp test message"),
        "{body}"
    );
    assert_eq!(body["kind"], "run.succeeded");
    assert_eq!(body["severity"], "info");
    assert_eq!(body["task"], Value::Null);
    assert_eq!(body["run"], Value::Null);
    assert_eq!(body["count"], 1);
    assert_eq!(body["fingerprint"], fingerprint);
    assert!(body["text"].as_str().unwrap().contains("test"), "{body}");

    let refused = d.project.run(&["notify", "test", "hook"]);
    let out = stdout(&refused);
    assert_eq!(refused.status.code(), Some(1), "{out}{}", stderr(&refused));
    assert!(out.starts_with("hook (webhook): failed — "), "{out}");
    assert!(out.contains("404"), "{out}");
    assert_eq!(receiver.requests().len(), 2);

    // Through the API: 200 whatever the channel said.
    let api = d.post("/api/notifiers/hook/test");
    assert_eq!(api.status, 200, "{}", api.text);
    let api = api.json();
    assert_eq!(
        (&api["notifier"], &api["type"], &api["outcome"]),
        (
            &Value::from("hook"),
            &Value::from("webhook"),
            &Value::from("failed")
        )
    );

    let unknown = d.project.run(&["notify", "test", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stdout(&unknown).is_empty(), "{}", stdout(&unknown));
    assert!(
        stderr(&unknown).contains("there is no notifier \"nope\""),
        "{}",
        stderr(&unknown)
    );
    let inapp = d.project.run(&["notify", "test", "inapp"]);
    assert_eq!(inapp.status.code(), Some(1));
    assert!(
        stderr(&inapp).contains("the in-app notifier needs no test"),
        "{}",
        stderr(&inapp)
    );
    // A test message never lands in the bell.
    assert_eq!(d.get("/api/notifications/unread-count").json()["unread"], 0);
}
