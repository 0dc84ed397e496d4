//! The OpenAPI document against what the daemon really answers: every JSON route of the route
//! table is called on a real daemon and its answer validated, by Python's `jsonschema` (an
//! implementation we did not write), against the schema the document gives for that route
//! and status. The document's schemas are generated from the wire types, so a field changed in
//! one place shows up here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/oracle.rs"]
mod oracle;

use daemon::Daemon;
use runwisp::server::routes::table;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello; echo oops >&2"
cron = "0 4 * * *"
timezone = "Europe/Bratislava"

[services.web]
run = "sleep 60"
instances = 2

[tasks.broken]
run = "exit 3"

[[notifier]]
id = "cat"
type = "command"
run = "cat >/dev/null"
"#;

fn python_has_jsonschema() -> bool {
    oracle::python_has("jsonschema")
}

#[test]
fn every_json_answer_matches_the_documented_schema() {
    if !python_has_jsonschema() {
        return;
    }
    let d = Daemon::start(CONFIG);
    // A failed run, so the bell holds a notification to list.
    let broken = d.trigger("broken");
    d.wait_ended(&broken);
    common::wait_for("a notification", std::time::Duration::from_secs(10), || {
        d.get("/api/notifications/unread-count").json()["unread"] == 1
    });
    let triggered = d.post("/api/tasks/hello/run");
    assert_eq!(triggered.status, 201, "{}", triggered.text);
    let id = triggered.json()["id"].as_str().unwrap().to_string();
    d.wait_ended(&id);
    let mut answers = vec![
        json!({ "method": "POST", "path": "/api/tasks/{name}/run", "status": 201, "body": triggered.json() }),
    ];
    let mut checked = Vec::new();
    for route in table() {
        let path = route.path;
        let json_get = route.method == axum::http::Method::GET
            && matches!(route.content, runwisp::server::routes::Content::Json)
            && path != "/api/openapi.json";
        if !json_get {
            continue;
        }
        let names: &[&str] = if path.contains("{name}") {
            &["hello", "web"]
        } else {
            &[""]
        };
        for name in names {
            let url = path.replace("{name}", name).replace("{id}", &id);
            let a = d.get(&url);
            answers.push(
                json!({ "method": "GET", "path": path, "status": a.status, "body": a.json() }),
            );
        }
        checked.push(path);
    }
    // Actions and login answer their documented objects too.
    let restarted = d.post("/api/tasks/web/restart");
    answers.push(json!({ "method": "POST", "path": "/api/tasks/{name}/restart", "status": restarted.status, "body": restarted.json() }));
    let stopped = d.post("/api/tasks/web/stop");
    answers.push(json!({ "method": "POST", "path": "/api/tasks/{name}/stop", "status": stopped.status, "body": stopped.json() }));
    let nonce = d.challenge();
    let response = runwisp::engine::auth::challenge_response(&d.password, &nonce);
    let login = daemon::answer(
        daemon::agent()
            .post(&d.url("/api/auth"))
            .send_json(json!({ "nonce": nonce, "response": response })),
    );
    answers.push(json!({ "method": "POST", "path": "/api/auth", "status": login.status, "body": login.json() }));
    // The bell: one notification read, then all; a test message; their refusals.
    let listed = d.get("/api/notifications");
    let notification = listed.json()["notifications"][0]["id"]
        .as_str()
        .expect("a notification")
        .to_string();
    for (path, concrete) in [
        (
            "/api/notifications/{id}/read",
            format!("/api/notifications/{notification}/read"),
        ),
        ("/api/notifications/read", "/api/notifications/read".into()),
        ("/api/notifiers/{id}/test", "/api/notifiers/cat/test".into()),
        (
            "/api/notifications/{id}/read",
            "/api/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV/read".into(),
        ),
        (
            "/api/notifications/{id}/read",
            "/api/notifications/nope/read".into(),
        ),
        (
            "/api/notifiers/{id}/test",
            "/api/notifiers/nope/test".into(),
        ),
        (
            "/api/notifiers/{id}/test",
            "/api/notifiers/inapp/test".into(),
        ),
    ] {
        let a = d.post(&concrete);
        answers
            .push(json!({ "method": "POST", "path": path, "status": a.status, "body": a.json() }));
    }
    let bad_page = d.get("/api/notifications?limit=0");
    assert_eq!(bad_page.status, 400);
    answers.push(json!({ "method": "GET", "path": "/api/notifications", "status": 400, "body": bad_page.json() }));
    // Refusals carry the documented problem object.
    let missing = d.get("/api/tasks/nope");
    assert_eq!(missing.status, 404);
    answers.push(json!({ "method": "GET", "path": "/api/tasks/{name}", "status": 404, "body": missing.json() }));
    for route in [
        "/api/tasks",
        "/api/tasks/{name}",
        "/api/runs",
        "/api/runs/{id}",
        "/api/runs/{id}/log",
        "/api/notifications",
        "/api/notifications/unread-count",
    ] {
        assert!(checked.contains(&route), "{route} was not checked");
    }

    let document: Value = d.get("/api/openapi.json").json();
    let input = json!({ "document": document, "answers": answers }).to_string();
    let out = oracle::run("openapi_check.py", input.as_bytes());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "answers that do not match the document:\n{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        answers.len(),
        "{report}"
    );
}
