//! Pipelines (`pipelines.md` §5) against the real binary: order, parallel groups, nesting,
//! failures, stops, timeouts, the CLI, notifications and validation (resumes are in
//! `pipelines_resume.rs`). Each step appends to a file in the project folder, so a test can
//! count how often a step really ran.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/pipelines.rs"]
mod pipelines;

use std::time::{Duration, Instant};

use common::{wait_for, Project};
use daemon::Daemon;
use pipelines::*;
use serde_json::Value;

#[test]
fn steps_run_in_order_parallel_members_overlap_and_share_the_folder() {
    let d = Daemon::start(
        r#"
[tasks.first]
run = 'echo "$RUNWISP_PIPELINE $RUNWISP_STEP" > "$RUNWISP_PIPELINE_DIR/version"; sleep 0.2'

[tasks.left]
run = "sleep 0.6"

[tasks.right]
run = "sleep 0.6"

[tasks.last]
run = 'cat "$RUNWISP_PIPELINE_DIR/version"; echo "step $RUNWISP_STEP of $RUNWISP_PIPELINE_RUN_ID"'

[pipelines.deploy]
steps = ["first", { parallel = ["left", "right"] }, "last"]
"#,
    );
    let id = d.trigger("deploy");
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "success", "{run}");
    assert_eq!(run["kind"], "pipeline");
    let t = tree(&d, &id);
    assert_eq!(
        flat(&t),
        pairs(&[
            ("1", "success"),
            ("2", "success"),
            ("2.1", "success"),
            ("2.2", "success"),
            ("3", "success"),
        ])
    );
    let step = |i: usize| &t["steps"][i];
    let run_of = |v: &Value| v["run"].clone();
    let first = run_of(step(0));
    let (left, right) = (run_of(&step(1)["steps"][0]), run_of(&step(1)["steps"][1]));
    let last = run_of(step(2));
    assert_eq!(first["parent_run_id"], id.as_str());
    assert_eq!(left["step"], "2.1");
    // In order, and the group's members side by side.
    assert!(ms(&left["start_at"]) >= ms(&first["end_at"]));
    assert!(ms(&right["start_at"]) >= ms(&first["end_at"]));
    assert!(ms(&left["start_at"]) < ms(&right["end_at"]));
    assert!(ms(&right["start_at"]) < ms(&left["end_at"]));
    let group_end = ms(&left["end_at"]).max(ms(&right["end_at"]));
    assert!(ms(&last["start_at"]) >= group_end);
    // The last step read what the first wrote in the shared folder.
    let log = d
        .get(&format!(
            "/api/runs/{}/log/raw",
            last["id"].as_str().unwrap()
        ))
        .text;
    assert!(log.contains("deploy 1"), "{log}");
    assert!(log.contains(&format!("step 3 of {id}")), "{log}");
    // The pipeline's own log tells the story.
    let own = d.get(&format!("/api/runs/{id}/log/raw")).text;
    assert!(own.contains("step 2.1 left started"), "{own}");
    assert!(own.contains("all 3 steps succeeded"), "{own}");
    // The task list shows the pipeline with its steps.
    let task = d.get("/api/tasks/deploy").json();
    assert_eq!(task["kind"], "pipeline");
    assert_eq!(task["group"], "Pipelines");
    let steps: Vec<&str> = task["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["1", "2.1", "2.2", "3"]);
}

#[test]
fn a_failing_step_ends_the_pipeline_and_later_steps_never_start() {
    let d = Daemon::start(
        r#"
[tasks.ok]
run = "echo ok >> ok.txt"

[tasks.migrate]
run = "exit 3"

[tasks.flaky]
run = "exit 1"

[tasks.never]
run = "echo never >> never.txt"

[pipelines.deploy]
steps = ["ok", { task = "flaky", continue_on_failure = true }, "migrate", "never"]
"#,
    );
    let id = d.trigger("deploy");
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "failed", "{run}");
    assert_eq!(run["message"], "step 3 migrate failed (exit 3)");
    assert_eq!(run["exit_code"], 3);
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[
            ("1", "success"),
            ("2", "failed"),
            ("3", "failed"),
            ("4", "not_started"),
        ])
    );
    assert_eq!(count(&d, "never.txt"), 0);
}

#[test]
fn fail_fast_stops_the_siblings_and_a_stop_leaves_no_process() {
    let d = Daemon::start(
        r#"
[tasks.bad]
run = "sleep 0.3; exit 1"

[tasks.slow]
run = "sleep 47.311"

[tasks.slower]
run = "sleep 47.312"

[pipelines.fast]
steps = [{ parallel = ["bad", "slow"], fail_fast = true }]

[pipelines.group]
steps = [{ parallel = ["slow", "slower"] }, "bad"]
"#,
    );
    let started = Instant::now();
    let id = d.trigger("fast");
    let run = wait_ended_within(&d, &id, Duration::from_secs(20));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(run["end_reason"], "failed", "{run}");
    assert_eq!(run["message"], "step 1.1 bad failed (exit 1)");
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[("1", "failed"), ("1.1", "failed"), ("1.2", "stopped")])
    );
    assert!(!process_with("47.311"));

    // An operator stops a pipeline during its parallel group.
    let id = d.trigger("group");
    wait_for("both members running", Duration::from_secs(10), || {
        process_with("47.311") && process_with("47.312")
    });
    let a = d.post(&format!("/api/runs/{id}/stop"));
    assert_eq!(a.status, 202, "{}", a.text);
    let run = wait_ended_within(&d, &id, Duration::from_secs(20));
    assert_eq!(run["end_reason"], "stopped", "{run}");
    assert!(
        run["message"]
            .as_str()
            .unwrap()
            .starts_with("stopped by an operator at step 1."),
        "{run}"
    );
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[
            ("1", "stopped"),
            ("1.1", "stopped"),
            ("1.2", "stopped"),
            ("2", "not_started"),
        ])
    );
    assert!(!process_with("47.311") && !process_with("47.312"));
}

#[test]
fn the_pipelines_timeout_stops_its_active_step() {
    let d = Daemon::start(
        r#"
[tasks.slow]
run = "sleep 48.5"

[pipelines.capped]
timeout = "1s"
steps = ["slow"]
"#,
    );
    let id = d.trigger("capped");
    let run = wait_ended_within(&d, &id, Duration::from_secs(20));
    assert_eq!(run["end_reason"], "timeout", "{run}");
    assert_eq!(run["message"], "timed out after 1s at step 1 slow");
    assert_eq!(flat(&tree(&d, &id)), pairs(&[("1", "stopped")]));
    assert!(!process_with("48.5"));
}

#[test]
fn three_levels_of_sub_pipelines_nest_in_the_tree() {
    let d = Daemon::start(
        r#"
[tasks.a]
run = "true"

[pipelines.top]
steps = ["a", "middle"]

[pipelines.middle]
steps = ["a", "bottom"]

[pipelines.bottom]
steps = ["a"]
"#,
    );
    let id = d.trigger("top");
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "success", "{run}");
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[
            ("1", "success"),
            ("2", "success"),
            ("2/1", "success"),
            ("2/2", "success"),
            ("2/2/1", "success"),
        ])
    );
}

#[test]
fn the_cli_lists_follows_draws_and_resumes_a_pipeline() {
    let d = Daemon::start(
        r#"
[tasks.ok]
run = "true"

[tasks.check]
run = "test -f fixed || exit 4"

[pipelines.release]
description = "Build and check"
steps = ["ok", { parallel = ["ok", "check"] }]
"#,
    );
    let list = d.project.run(&["list"]);
    let text = common::stdout(&list);
    assert!(text.contains("(pipeline: 2 steps)"), "{text}");

    let follow = d.project.run(&["run-task", "release", "--wait"]);
    assert_eq!(follow.status.code(), Some(4), "{}", common::stderr(&follow));
    let out = common::stdout(&follow);
    let id = out
        .split_whitespace()
        .nth(2)
        .expect("the run id")
        .to_string();
    // The pipeline's own lines ([SYSTEM]) are runwisp's, on stderr.
    let err = common::stderr(&follow);
    assert!(err.contains("step 2.2 check failed (exit 4)"), "{err}");

    let drawn = d.project.run(&["runs", &id, "--tree"]);
    let text = common::stdout(&drawn);
    assert!(text.contains("step 2.2 check failed (exit 4)"), "{text}");
    assert!(text.contains("├─ 1 ✓ ok"), "{text}");
    assert!(text.contains("└─ 2 ✗ parallel"), "{text}");
    assert!(text.contains("   └─ 2.2 ✗ check"), "{text}");

    std::fs::write(d.project.path().join("fixed"), "").unwrap();
    let resumed = d.project.run(&["resume", &id[id.len() - 6..], "--wait"]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        common::stderr(&resumed)
    );
    assert!(
        common::stdout(&resumed).contains(&format!("resumed run {id} of pipeline \"release\"")),
        "{}",
        common::stdout(&resumed)
    );
    let again = d.project.run(&["resume", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        common::stderr(&again).contains("already resumed"),
        "{}",
        common::stderr(&again)
    );
}

#[test]
fn a_failed_pipeline_notifies_once_and_a_scheduled_one_fires_on_its_own() {
    let d = Daemon::start(
        r#"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "ops"
type = "command"
run = "cat >> events.jsonl; echo >> events.jsonl"

[tasks.ok]
run = "true"

[tasks.broken]
run = "exit 2"

[tasks.busy]
run = "sleep 45.7"
on_overlap = "skip"

[pipelines.deploy]
notify_on_failure = ["ops"]
steps = ["ok", "broken"]

[pipelines.uses-busy]
steps = ["busy"]

[pipelines.tick]
cron = "@every 1s"
steps = ["ok"]
"#,
    );
    let id = d.trigger("deploy");
    d.wait_ended(&id);
    let events = d.project.path().join("events.jsonl");
    wait_for(
        "the pipeline's notification",
        Duration::from_secs(15),
        || std::fs::read_to_string(&events).is_ok_and(|t| !t.trim().is_empty()),
    );
    std::thread::sleep(Duration::from_millis(500));
    let text = std::fs::read_to_string(&events).unwrap();
    let sent: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sent.len(), 1, "one message for the pipeline: {text}");
    assert_eq!(sent[0]["run"]["id"], id.as_str(), "{text}");
    assert_eq!(sent[0]["run"]["kind"], "pipeline", "{text}");

    // A step the task's own policy refuses fails its pipeline, with the reason.
    let busy = d.trigger("busy");
    let id = d.trigger("uses-busy");
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "failed", "{run}");
    let message = run["message"].as_str().unwrap();
    assert!(
        message.starts_with("step 1 busy was not run: task already running"),
        "{message}"
    );
    d.post(&format!("/api/runs/{busy}/stop"));

    // The scheduler fires a pipeline like a task.
    wait_for("a scheduled pipeline run", Duration::from_secs(10), || {
        runs_of(&d, "tick")
            .iter()
            .any(|r| r["triggered_by"] == "cron" && r["end_reason"] == "success")
    });

    // `exec` through the daemon follows a pipeline to its end and exits with its code.
    let exec = d.project.run(&["exec", "deploy"]);
    assert_eq!(exec.status.code(), Some(2), "{}", common::stderr(&exec));
}

#[test]
fn validate_names_a_cycle_with_its_line() {
    let project = Project::new(
        r#"
[tasks.a]
run = "true"

[pipelines.one]
steps = ["a", "two"]

[pipelines.two]
steps = ["one"]
"#,
    );
    let out = project.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains(
            "runwisp.toml:5:12: pipelines.one: pipeline \"one\" contains itself: one → two → one"
        ),
        "{err}"
    );
}
