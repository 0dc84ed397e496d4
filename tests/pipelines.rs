//! Pipelines (`pipelines.md` §5) against the real binary: order, parallel groups, nesting,
//! failures, stops, timeouts, and resumes after a failure, a kill -9 and a step that stops
//! its own daemon. Each step appends to a file in the project folder, so a test can count how
//! often a step really ran.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::time::{Duration, Instant};

use common::{wait_for, Project};
use daemon::{Daemon, Limits};
use serde_json::Value;

fn tree(d: &Daemon, id: &str) -> Value {
    let a = d.get(&format!("/api/runs/{id}/tree"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// The steps of a tree by position, flattened (`"2.1"`, and a sub-pipeline's as `"2/1"`).
fn states(steps: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    for s in steps.as_array().unwrap() {
        let pos = format!("{prefix}{}", s["step"].as_str().unwrap());
        out.push((pos.clone(), s["state"].as_str().unwrap().to_string()));
        let nested = if s["kind"] == "pipeline" {
            format!("{pos}/")
        } else {
            prefix.to_string()
        };
        states(&s["steps"], &nested, out);
    }
}

fn flat(t: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    states(&t["steps"], "", &mut out);
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// How many times a step appended its line to `file` in the project folder.
fn count(d: &Daemon, file: &str) -> usize {
    std::fs::read_to_string(d.project.path().join(file))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn ms(t: &Value) -> i64 {
    let text = t.as_str().unwrap();
    let ts: jiff::Timestamp = text.parse().unwrap();
    ts.as_millisecond()
}

fn wait_ended_within(d: &Daemon, id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let run = d.get(&format!("/api/runs/{id}")).json();
        if run["status"] == "ended" {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} did not end: {run}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process whose command line contains `marker` is alive.
fn process_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(marker)
            })
            .unwrap_or(false)
    })
}

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
fn resume_skips_the_steps_that_succeeded() {
    let d = Daemon::start(
        r#"
[tasks.build]
run = 'echo built >> build.txt; echo v42 > "$RUNWISP_PIPELINE_DIR/version"'

[tasks.migrate]
run = 'test -f fixed || exit 2; cat "$RUNWISP_PIPELINE_DIR/version" >> migrate.txt'

[pipelines.deploy]
steps = ["build", "migrate"]
"#,
    );
    let id = d.trigger("deploy");
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "failed", "{run}");
    // Not resumable while something else is the latest of the chain, or when it succeeded.
    std::fs::write(d.project.path().join("fixed"), "").unwrap();
    let a = d.post(&format!("/api/runs/{id}/resume"));
    assert_eq!(a.status, 201, "{}", a.text);
    let new = a.json();
    assert_eq!(new["triggered_by"], "resume");
    assert_eq!(new["resume_of_run_id"], id.as_str());
    let new_id = new["id"].as_str().unwrap().to_string();
    let done = d.wait_ended(&new_id);
    assert_eq!(done["end_reason"], "success", "{done}");
    assert_eq!(count(&d, "build.txt"), 1, "build ran again");
    // The resumed run took over the folder: migrate read what build wrote before.
    assert_eq!(
        std::fs::read_to_string(d.project.path().join("migrate.txt")).unwrap(),
        "v42\n"
    );
    let t = tree(&d, &new_id);
    assert_eq!(
        flat(&t),
        pairs(&[("1", "skipped_by_resume"), ("2", "success")])
    );
    assert_eq!(t["steps"][0]["run"]["parent_run_id"], id.as_str());
    let again = d.post(&format!("/api/runs/{id}/resume"));
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.text.contains("already resumed"), "{}", again.text);
    let ok = d.post(&format!("/api/runs/{new_id}/resume"));
    assert_eq!(ok.status, 409, "{}", ok.text);
    let step = t["steps"][1]["run"]["id"].as_str().unwrap().to_string();
    let not_pipeline = d.post(&format!("/api/runs/{step}/resume"));
    assert_eq!(not_pipeline.status, 409, "{}", not_pipeline.text);
}

fn kill_9(d: &mut Daemon) {
    let mut child = d.child.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
}

fn restart(mut d: Daemon) -> Daemon {
    if let Some(mut child) = d.child.take() {
        child.wait().unwrap();
    }
    let project = std::mem::replace(&mut d.project, Project::new(""));
    Daemon::start_in(project, Limits::default())
}

fn runs_of(d: &Daemon, task: &str) -> Vec<Value> {
    d.get(&format!("/api/tasks/{task}/runs")).json()["runs"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn kill_9_during_step_3_then_resume_on_boot_finishes_without_rerunning_steps_1_and_2() {
    let mut d = Daemon::start(
        r#"
[tasks.one]
run = "echo one >> one.txt"

[tasks.two]
run = "echo two >> two.txt"

[tasks.three]
run = "echo three >> three.txt; test -f second || { touch second; sleep 49.2; }"

[pipelines.deploy]
resume_on_boot = true
steps = ["one", "two", "three"]
"#,
    );
    let id = d.trigger("deploy");
    wait_for("step 3 running", Duration::from_secs(15), || {
        process_with("49.2")
    });
    kill_9(&mut d);
    let d = restart(d);
    // The interrupted tree is crashed through and through, and a resume finishes it.
    let old = d.get(&format!("/api/runs/{id}")).json();
    assert_eq!(old["end_reason"], "crashed", "{old}");
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[("1", "success"), ("2", "success"), ("3", "crashed")])
    );
    let mut resumed = None;
    wait_for("the resume on boot", Duration::from_secs(15), || {
        resumed = runs_of(&d, "deploy")
            .into_iter()
            .find(|r| r["resume_of_run_id"] == id.as_str());
        resumed.is_some()
    });
    let new_id = resumed.unwrap()["id"].as_str().unwrap().to_string();
    let done = d.wait_ended(&new_id);
    assert_eq!(done["end_reason"], "success", "{done}");
    assert_eq!(done["triggered_by"], "resume");
    assert_eq!((count(&d, "one.txt"), count(&d, "two.txt")), (1, 1));
    assert_eq!(count(&d, "three.txt"), 2);
    assert!(!process_with("49.2"));
}

#[test]
fn kill_9_inside_a_sub_pipeline_then_resume_continues_inside_it() {
    let mut d = Daemon::start(
        r#"
[tasks.a]
run = "echo a >> a.txt"

[tasks.x]
run = "echo x >> x.txt"

[tasks.y]
run = "echo y >> y.txt; test -f second || { touch second; sleep 49.3; }"

[tasks.c]
run = "echo c >> c.txt"

[pipelines.inner]
steps = ["x", "y"]

[pipelines.outer]
steps = ["a", "inner", "c"]
"#,
    );
    let id = d.trigger("outer");
    wait_for(
        "the sub-pipeline's step running",
        Duration::from_secs(15),
        || process_with("49.3"),
    );
    kill_9(&mut d);
    let d = restart(d);
    // Nothing of the tree is left running.
    assert_eq!(
        flat(&tree(&d, &id)),
        pairs(&[
            ("1", "success"),
            ("2", "crashed"),
            ("2/1", "success"),
            ("2/2", "crashed"),
            ("3", "not_started"),
        ])
    );
    let a = d.post(&format!("/api/runs/{id}/resume"));
    assert_eq!(a.status, 201, "{}", a.text);
    let new_id = a.json()["id"].as_str().unwrap().to_string();
    let done = d.wait_ended(&new_id);
    assert_eq!(done["end_reason"], "success", "{done}");
    assert_eq!(
        flat(&tree(&d, &new_id)),
        pairs(&[
            ("1", "skipped_by_resume"),
            ("2", "success"),
            ("2/1", "skipped_by_resume"),
            ("2/2", "success"),
            ("3", "success"),
        ])
    );
    assert_eq!((count(&d, "a.txt"), count(&d, "x.txt")), (1, 1));
    assert_eq!((count(&d, "y.txt"), count(&d, "c.txt")), (2, 1));
}

#[test]
fn a_step_that_stops_its_own_daemon_continues_after_the_restart() {
    let mut d = Daemon::start(
        r#"
[tasks.before]
run = "echo before >> before.txt"

[tasks.restart-self]
run = 'echo restart >> restart.txt; kill -TERM "$PPID"; sleep 5'

[tasks.verify]
run = "echo verify >> verify.txt"

[pipelines.deploy]
resume_on_boot = true
steps = ["before", { task = "restart-self", on_interrupt = "continue" }, "verify"]
"#,
    );
    let id = d.trigger("deploy");
    // The step's SIGTERM stops the daemon; the pipeline ends interrupted.
    let mut child = d.child.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let run_id = runwisp::engine::model::RunId::parse(&id).unwrap();
    let old = d.project.store().get_run(&run_id).unwrap().unwrap();
    assert_eq!(old.end_reason.map(|r| r.as_str()), Some("interrupted"));
    let d = restart(d);
    let mut resumed = None;
    wait_for("the resume on boot", Duration::from_secs(15), || {
        resumed = runs_of(&d, "deploy")
            .into_iter()
            .find(|r| r["resume_of_run_id"] == id.as_str());
        resumed.is_some()
    });
    let new_id = resumed.unwrap()["id"].as_str().unwrap().to_string();
    let done = d.wait_ended(&new_id);
    assert_eq!(done["end_reason"], "success", "{done}");
    assert_eq!(
        (
            count(&d, "before.txt"),
            count(&d, "restart.txt"),
            count(&d, "verify.txt")
        ),
        (1, 1, 1)
    );
    assert_eq!(
        flat(&tree(&d, &new_id)),
        pairs(&[
            ("1", "skipped_by_resume"),
            ("2", "skipped_by_resume"),
            ("3", "success"),
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
