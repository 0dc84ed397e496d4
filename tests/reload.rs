//! Reload without a restart (`operations.md` §1), against the real binary: `POST /api/reload`,
//! `runwisp reload` and SIGHUP, with runs active while the file changes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::time::Duration;

use common::{stderr, stdout, wait_for};
use daemon::Daemon;
use serde_json::Value;

fn write(d: &Daemon, config: &str) {
    std::fs::write(d.project.path().join("runwisp.toml"), config).unwrap();
}

fn reload(d: &Daemon) -> Value {
    let a = d.post("/api/reload");
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

fn task_names(d: &Daemon) -> Vec<String> {
    let list = d.get("/api/tasks").json();
    let mut names: Vec<String> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn log_of(d: &Daemon, id: &str) -> String {
    d.get(&format!("/api/runs/{id}/log/raw")).text
}

fn send(d: &Daemon, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.pid() as i32), signal).unwrap();
}

#[test]
fn a_reload_adds_changes_and_removes_tasks_while_their_runs_go_on() {
    let d = Daemon::start(
        r#"
[tasks.keep]
run = "echo keep"

[tasks.change]
run = "sleep 1; echo change-v1"

[tasks.gone]
run = "sleep 1; echo gone"
max_concurrent = 1
on_overlap = "queue"
"#,
    );
    let changing = d.trigger("change");
    let gone_active = d.trigger("gone");
    let gone_queued = d.trigger("gone");
    assert_eq!(
        d.get(&format!("/api/runs/{gone_queued}")).json()["status"],
        "pending",
        "the second run of gone waits in the queue"
    );
    write(
        &d,
        r#"
[tasks.keep]
run = "echo keep"

[tasks.change]
run = "echo change-v2"

[tasks.fresh]
run = "echo fresh"
"#,
    );
    let answer = reload(&d);
    assert_eq!(
        answer["summary"], "reloaded: 1 added (fresh), 1 changed (change), 1 removed (gone)",
        "{answer}"
    );
    assert_eq!(answer["added"], serde_json::json!(["fresh"]));
    assert_eq!(task_names(&d), ["change", "fresh", "keep"]);

    // The run active during the reload finishes under the definition it started with.
    let run = d.wait_ended(&changing);
    assert_eq!(run["end_reason"], "success", "{run}");
    assert_eq!(log_of(&d, &changing).trim(), "change-v1");
    // The next firing uses the new one.
    let next = d.trigger("change");
    d.wait_ended(&next);
    assert_eq!(log_of(&d, &next).trim(), "change-v2");

    // The removed task's active run finishes; its queued run ends, saying why; no new firing.
    let run = d.wait_ended(&gone_active);
    assert_eq!(run["end_reason"], "success", "{run}");
    let queued = d.wait_ended(&gone_queued);
    assert_eq!(queued["end_reason"], "stopped", "{queued}");
    assert!(
        queued["message"]
            .as_str()
            .unwrap_or_default()
            .contains("removed from the configuration"),
        "{queued}"
    );
    assert_eq!(d.post("/api/tasks/gone/run").status, 404);
    // Its history stays.
    assert_eq!(d.project.runs("gone").len(), 2);

    let fresh = d.trigger("fresh");
    assert_eq!(d.wait_ended(&fresh)["end_reason"], "success");
    assert_eq!(d.get("/api/info").json()["config_on_disk"], "same");
}

#[test]
fn a_file_with_errors_changes_nothing_and_every_error_is_told() {
    let d = Daemon::start("[tasks.keep]\nrun = \"echo keep\"\n");
    write(
        &d,
        "[tasks.keep]\nrun = \"echo keep\"\n\n[tasks.bad]\nrun = \"true\"\ncron = \"61 * * * *\"\nretry_dealy = \"5s\"\n",
    );
    let a = d.post("/api/reload");
    assert_eq!(a.status, 422, "{}", a.text);
    let problem = a.json();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was reloaded"),
        "{problem}"
    );
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{problem}");
    let keys: Vec<&str> = errors.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"tasks.bad.cron"), "{problem}");
    assert!(keys.contains(&"tasks.bad.retry_dealy"), "{problem}");
    assert!(
        errors.iter().all(|e| e["line"].as_u64() >= Some(6)),
        "{problem}"
    );
    assert_eq!(task_names(&d), ["keep"], "nothing changed");
    let keep = d.trigger("keep");
    assert_eq!(d.wait_ended(&keep)["end_reason"], "success");

    // The CLI prints every error with its line and exits 1.
    let out = d.project.run(&["reload"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("nothing was reloaded"), "{said}");
    assert!(
        said.contains("6:") && said.contains("tasks.bad.cron"),
        "{said}"
    );
    assert!(said.contains("tasks.bad.retry_dealy"), "{said}");

    // Status says the file differs from what runs.
    assert_eq!(d.get("/api/info").json()["config_on_disk"], "differs");
    let status = d.project.run(&["status"]);
    assert!(
        stdout(&status).contains("differs from what the daemon runs"),
        "{}",
        stdout(&status)
    );

    // Fixed, `runwisp reload` applies it and says what changed.
    write(
        &d,
        "[tasks.keep]\nrun = \"echo keep\"\n\n[tasks.good]\nrun = \"true\"\n",
    );
    let out = d.project.run(&["reload"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "reloaded: 1 added (good)");
    let status = d.project.run(&["status"]);
    assert!(!stdout(&status).contains("differs"), "{}", stdout(&status));
}

#[test]
fn sighup_reloads_and_a_broken_file_raises_a_notification_in_the_bell() {
    use nix::sys::signal::Signal;
    let d = Daemon::start("[tasks.first]\nrun = \"true\"\n");
    write(
        &d,
        "[tasks.first]\nrun = \"true\"\n\n[tasks.second]\nrun = \"true\"\n",
    );
    send(&d, Signal::SIGHUP);
    wait_for("SIGHUP to add the task", Duration::from_secs(10), || {
        task_names(&d) == ["first", "second"]
    });
    let log = d.project.data().join("daemon.log");
    wait_for("the summary in daemon.log", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("reloaded: 1 added (second)"))
    });

    write(&d, "[tasks.first]\nrun = \"true\"\nbogus = 1\n");
    send(&d, Signal::SIGHUP);
    wait_for(
        "the failed reload in the bell",
        Duration::from_secs(10),
        || {
            let page = d.get("/api/notifications").json();
            page["notifications"]
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n["kind"] == "config.reload_failed"))
        },
    );
    let page = d.get("/api/notifications").json();
    let told = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "config.reload_failed")
        .unwrap()
        .clone();
    assert!(
        told["body"].as_str().unwrap().contains("tasks.first.bogus"),
        "{told}"
    );
    assert_eq!(task_names(&d), ["first", "second"], "nothing changed");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("reload on SIGHUP failed"));
}

/// The runs of `service`, oldest first: (replica, run id, started, ended), times in ms.
fn replica_runs(d: &Daemon, service: &str) -> Vec<(u32, String, i64, Option<i64>)> {
    let mut runs: Vec<_> = d
        .project
        .runs(service)
        .into_iter()
        .map(|r| {
            (
                r.replica_index.unwrap(),
                r.id.to_string(),
                r.start_at.unwrap_or(i64::MAX),
                r.end_at,
            )
        })
        .collect();
    runs.sort_by_key(|r| r.2);
    runs
}

#[test]
fn a_changed_service_has_its_replicas_replaced_one_by_one_and_others_are_untouched() {
    let v1 = r#"
[services.web]
run = "echo web-v1 $RUNWISP_REPLICA; exec sleep 600"
instances = 3
graceful_stop = "2s"

[services.other]
run = "exec sleep 600"
"#;
    let d = Daemon::start(v1);
    wait_for("every replica to run", Duration::from_secs(20), || {
        replica_runs(&d, "web")
            .iter()
            .filter(|r| r.2 < i64::MAX)
            .count()
            == 3
            && replica_runs(&d, "other").len() == 1
    });
    let other_before = replica_runs(&d, "other");
    write(&d, &v1.replace("web-v1", "web-v2"));
    let answer = reload(&d);
    assert_eq!(answer["summary"], "reloaded: 1 changed (web)", "{answer}");
    wait_for("three new replicas", Duration::from_secs(30), || {
        replica_runs(&d, "web")
            .iter()
            .filter(|r| r.2 < i64::MAX && r.3.is_none())
            .count()
            == 3
            && replica_runs(&d, "web").len() == 6
    });
    // The replaced replicas (ended) and their successors (running), each by index.
    let runs = replica_runs(&d, "web");
    let by_index = |ended: bool| {
        let mut some: Vec<_> = runs
            .iter()
            .filter(|r| r.3.is_some() == ended)
            .cloned()
            .collect();
        some.sort_by_key(|r| r.0);
        some
    };
    let (old, new) = (by_index(true), by_index(false));
    for i in 0..3 {
        let (index, old_id, _, old_end) = &old[i];
        let (new_index, new_id, new_start, _) = &new[i];
        assert_eq!(index, new_index, "replaced in index order: {runs:?}");
        assert!(old_end.is_some(), "the old replica {index} ended: {runs:?}");
        assert!(log_of(&d, old_id).contains("web-v1"));
        assert!(log_of(&d, new_id).contains(&format!("web-v2 {index}")));
        if i > 0 {
            // One by one: replica i was stopped only once replica i-1 ran again.
            assert!(
                old_end.unwrap() >= new[i - 1].2,
                "replica {index} stopped before replica {} was back: {runs:?}",
                i - 1
            );
        }
        assert!(
            *new_start >= old_end.unwrap(),
            "one process per index: {runs:?}"
        );
    }
    assert_eq!(
        replica_runs(&d, "other"),
        other_before,
        "other was not touched"
    );

    // Fewer instances stop the highest index; a removed service stops.
    write(
        &d,
        &v1.replace("web-v1", "web-v2")
            .replace("instances = 3", "instances = 2")
            .replace("[services.other]\nrun = \"exec sleep 600\"\n", ""),
    );
    let answer = reload(&d);
    assert_eq!(
        answer["summary"], "reloaded: 1 changed (web), 1 removed (other)",
        "{answer}"
    );
    wait_for(
        "replica 2 and other to stop",
        Duration::from_secs(20),
        || {
            let web = replica_runs(&d, "web");
            let live: Vec<u32> = web.iter().filter(|r| r.3.is_none()).map(|r| r.0).collect();
            live.len() == 2
                && !live.contains(&2)
                && replica_runs(&d, "other").iter().all(|r| r.3.is_some())
        },
    );
}

#[test]
fn settings_that_need_a_restart_keep_their_old_value_and_are_said_to() {
    let d = Daemon::start("[tasks.t]\nrun = \"true\"\n");
    let original = std::fs::read_to_string(d.project.path().join("runwisp.toml")).unwrap();
    write(
        &d,
        &format!("{original}\n[daemon]\nlisten = \"127.0.0.1:1\"\n"),
    );
    let answer = reload(&d);
    assert_eq!(
        answer["summary"], "reloaded: nothing changed; [daemon] listen needs a restart",
        "{answer}"
    );
    let info = d.get("/api/info").json();
    assert_eq!(
        info["needs_restart"],
        serde_json::json!(["[daemon] listen"])
    );
    assert!(info["listen"]
        .as_str()
        .unwrap()
        .ends_with(&d.port.to_string()));
    let status = d.project.run(&["status"]);
    assert!(
        stdout(&status).contains("[daemon] listen changed in the file and needs a restart"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn a_changed_schedule_plans_from_its_new_instant() {
    let d = Daemon::start("[tasks.tick]\nrun = \"true\"\ncron = \"@every 1h\"\n");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(d.project.runs("tick").is_empty());
    write(&d, "[tasks.tick]\nrun = \"true\"\ncron = \"@every 1s\"\n");
    assert_eq!(reload(&d)["summary"], "reloaded: 1 changed (tick)");
    wait_for("the new schedule to fire", Duration::from_secs(10), || {
        d.project
            .runs("tick")
            .iter()
            .filter(|r| r.triggered_by.to_string() == "cron")
            .count()
            >= 2
    });
}

#[test]
fn an_index_that_comes_back_while_its_old_replica_stops_gets_one_process() {
    // Replica 2 takes about a second to stop; it is removed and asked for again meanwhile.
    let config = |instances: u32| {
        format!(
            "[services.slow]\nrun = \"trap 'sleep 1; exit 0' TERM; while :; do sleep 0.1; done\"\ninstances = {instances}\ngraceful_stop = \"5s\"\n"
        )
    };
    let d = Daemon::start(&config(3));
    wait_for("three replicas", Duration::from_secs(20), || {
        replica_runs(&d, "slow")
            .iter()
            .filter(|r| r.2 < i64::MAX)
            .count()
            == 3
    });
    write(&d, &config(2));
    reload(&d);
    write(&d, &config(3));
    reload(&d);
    wait_for("replica 2 back", Duration::from_secs(20), || {
        let runs = replica_runs(&d, "slow");
        runs.iter().filter(|r| r.0 == 2).count() == 2
            && runs
                .iter()
                .filter(|r| r.3.is_none() && r.2 < i64::MAX)
                .count()
                == 3
    });
    // Settled: one live process per index, and the new replica 2 started after the old one
    // ended.
    std::thread::sleep(Duration::from_millis(1500));
    let runs = replica_runs(&d, "slow");
    for index in 0..3 {
        let live = runs
            .iter()
            .filter(|r| r.0 == index && r.3.is_none())
            .count();
        assert_eq!(live, 1, "replica {index}: {runs:?}");
    }
    let twos: Vec<_> = runs.iter().filter(|r| r.0 == 2).collect();
    assert!(twos[1].2 >= twos[0].3.unwrap(), "{runs:?}");
}
