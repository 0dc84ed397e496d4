//! The REST API's task routes against the real daemon: the list and one task (with its next
//! firings, retries, timeout and notifications), run, stop and restart with their documented
//! status codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/api_config.rs"]
mod api_config;
mod common;
#[path = "common/daemon.rs"]
mod daemon;

use api_config::{id_of, CONFIG};
use daemon::Daemon;

#[test]
fn tasks_routes_and_their_status_codes() {
    let d = Daemon::start(CONFIG);
    let tasks = d.get("/api/tasks").json();
    let names: Vec<&str> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "nightly", "sleeper", "slow", "web"]);
    let nightly = d.get("/api/tasks/nightly");
    assert_eq!(nightly.status, 200);
    assert_eq!(nightly.json()["cron"], "0 4 * * *");
    assert!(nightly.json()["next_run_at"]
        .as_str()
        .unwrap()
        .ends_with("T04:00:00.000Z"));
    // The task's own answer lists its next 5 firings, a day apart, the first its next_run_at;
    // the list leaves them out.
    let next: Vec<String> = nightly.json()["next_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(next.len(), 5, "{next:?}");
    assert_eq!(next[0], nightly.json()["next_run_at"].as_str().unwrap());
    for pair in next.windows(2) {
        let a: jiff::Timestamp = pair[0].parse().unwrap();
        let b: jiff::Timestamp = pair[1].parse().unwrap();
        assert_eq!(b.as_second() - a.as_second(), 86_400, "{next:?}");
    }
    assert!(tasks["tasks"][1]["next_runs"].is_null());
    // The policy in words a page can show: retries, timeout, notifications.
    let n = nightly.json();
    assert_eq!(
        (&n["retry_attempts"], &n["retry_delay"], &n["retry_backoff"]),
        (
            &serde_json::json!(3),
            &serde_json::json!("30s"),
            &serde_json::json!("linear")
        )
    );
    assert_eq!(n["timeout"], "1h30m");
    assert_eq!(n["notify_on_failure"], serde_json::json!([]));
    let hello = d.get("/api/tasks/hello").json();
    assert_eq!(
        (&hello["retry_attempts"], &hello["timeout"]),
        (&serde_json::json!(0), &serde_json::Value::Null)
    );
    assert!(d.get("/api/tasks/hello").json()["next_runs"].is_null());
    assert_eq!(d.get("/api/tasks/nope").status, 404);
    let bad = d.get("/api/tasks/..%2Fetc");
    assert_eq!(bad.status, 400, "{}", bad.text);

    let created = d.post("/api/tasks/hello/run");
    assert_eq!(created.status, 201);
    let run = created.json();
    assert_eq!(run["triggered_by"], "api");
    assert_eq!(run["task_name"], "hello");
    let ended = d.wait_ended(run["id"].as_str().unwrap());
    assert_eq!(ended["end_reason"], "success");
    assert_eq!(ended["exit_code"], 0);
    // The listing and the task itself name it as the last run; a task never run has none.
    let listed = d.get("/api/tasks").json();
    let last_of = |name: &str| {
        listed["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["last_run"].clone())
            .unwrap()
    };
    assert_eq!(last_of("hello")["id"], run["id"]);
    assert_eq!(last_of("hello")["end_reason"], "success");
    assert!(last_of("nightly").is_null());
    assert_eq!(
        d.get("/api/tasks/hello").json()["last_run"]["id"],
        run["id"]
    );
    let alias = d.post_json(
        "/api/tasks/hello/trigger",
        serde_json::json!({ "triggered_by": "cli" }),
    );
    assert_eq!(alias.status, 201);
    assert_eq!(alias.json()["triggered_by"], "cli");
    assert_eq!(
        d.post_json(
            "/api/tasks/hello/run",
            serde_json::json!({ "triggered_by": "cron" })
        )
        .status,
        400
    );
    assert_eq!(
        d.post_json(
            "/api/tasks/hello/run",
            serde_json::json!({ "command": "rm -rf /" })
        )
        .status,
        400
    );

    let forbidden = d.post("/api/tasks/nightly/run");
    assert_eq!(
        (forbidden.status, forbidden.detail().as_str()),
        (403, "API triggering disabled for this task")
    );
    let service = d.post("/api/tasks/web/run");
    assert_eq!(service.status, 409);
    assert!(service.detail().contains("restart"), "{}", service.detail());
    assert_eq!(d.post("/api/tasks/nope/run").status, 404);

    assert_eq!(d.post("/api/tasks/web/restart").status, 200);
    assert_eq!(d.post("/api/tasks/hello/restart").status, 400);
    assert_eq!(d.post("/api/tasks/nope/restart").status, 404);
    assert_eq!(d.post("/api/tasks/web/stop").status, 200);
    assert_eq!(d.post("/api/tasks/nope/stop").status, 404);

    // A full queue and a skip are recorded, not dropped.
    let first = d.post("/api/tasks/sleeper/run");
    let second = d.post("/api/tasks/sleeper/run");
    let third = d.post("/api/tasks/sleeper/run");
    assert_eq!((first.status, second.status, third.status), (201, 201, 201));
    assert_eq!(second.json()["status"], "pending");
    assert_eq!(third.json()["end_reason"], "queue_full");
    let stopped = d.post("/api/tasks/sleeper/stop");
    assert_eq!(stopped.json()["stopped_runs"], 2);
    d.wait_ended(&id_of(&first));
}
