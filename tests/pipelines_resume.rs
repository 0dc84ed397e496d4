//! Pipeline resumes (`pipelines.md` §3, §5) against the real binary: after a failure, after a
//! kill -9 (by `runwisp resume` and by `resume_on_boot`, also inside a sub-pipeline), and after a
//! step that stops its own daemon. Each step appends to a file in the project folder, so a test
//! can count how often a step really ran.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/pipelines.rs"]
mod pipelines;

use std::time::{Duration, Instant};

use common::{wait_for, Project};
use daemon::{Daemon, Limits};
use pipelines::*;

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
    let done = resumed_on_boot(&d, "deploy", &id);
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
    let done = resumed_on_boot(&d, "deploy", &id);
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
        flat(&tree(&d, done["id"].as_str().unwrap())),
        pairs(&[
            ("1", "skipped_by_resume"),
            ("2", "skipped_by_resume"),
            ("3", "success"),
        ])
    );
}

/// The run the daemon started on its boot to resume `task`'s run `id`, once it has ended.
fn resumed_on_boot(d: &Daemon, task: &str, id: &str) -> serde_json::Value {
    let mut resumed = None;
    wait_for("the resume on boot", Duration::from_secs(15), || {
        resumed = runs_of(d, task)
            .into_iter()
            .find(|r| r["resume_of_run_id"] == id);
        resumed.is_some()
    });
    let new_id = resumed.unwrap()["id"].as_str().unwrap().to_string();
    d.wait_ended(&new_id)
}
