//! The run-changes stream against the real daemon: the changes of a triggered run arrive in
//! order while it happens.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use daemon::{agent, answer, Daemon};

const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello; echo oops >&2"

[services.web]
run = "sleep 60"
instances = 2
"#;

#[test]
fn the_run_stream_reports_changes_as_they_happen() {
    let d = Daemon::start(CONFIG);
    let mut response = agent()
        .get(&d.url("/api/runs/stream"))
        .header("Authorization", &format!("Bearer {}", d.token))
        .call()
        .unwrap();
    let trigger = {
        let d_url = d.url("/api/tasks/hello/run");
        let token = d.token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            answer(
                agent()
                    .post(&d_url)
                    .header("Authorization", &format!("Bearer {token}"))
                    .send_empty(),
            )
        })
    };
    let reader = BufReader::new(response.body_mut().as_reader());
    // The changes of the triggered run, in order (the service's replicas may be starting too).
    let mut names = Vec::new();
    let mut event = String::new();
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let run: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
            if event.starts_with("run.") && run["task_name"] == "hello" {
                names.push(event.clone());
                if event == "run.ended" {
                    break;
                }
            }
        }
    }
    assert_eq!(trigger.join().unwrap().status, 201);
    assert_eq!(names, ["run.created", "run.started", "run.ended"]);
}
