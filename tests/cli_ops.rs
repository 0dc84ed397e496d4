#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
//! Operating a daemon from the shell, with the real binary and a real daemon: `runwisp stop`
//! (a task, a service, a run by a shortened id, unknown names) and `runwisp restart` (a service
//! is replaced, a task is refused), locally and with `--url`; and what the packaging needs,
//! generated from the parser's own definitions: `runwisp completions bash|zsh|fish`, loaded by a
//! real bash, and `runwisp man`, a roff page naming every subcommand.

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::process::Command;
use std::time::Duration;

use common::{alive, stderr, stdout, wait_for, Project};
use daemon::Daemon;

const CONFIG: &str = r#"
[tasks.nap]
run = "sleep 30"

[tasks.quick]
run = "true"

[services.web]
run = "echo $$ > web.pid; exec sleep 60"
"#;

/// Waits until run `id` is running.
fn wait_running(d: &Daemon, id: &str) {
    wait_for(
        &format!("run {id} to start"),
        Duration::from_secs(20),
        || d.get(&format!("/api/runs/{id}")).json()["status"] == "running",
    );
}

/// The pid the service's replica wrote, once it has written a whole one other than `not`.
fn replica_pid(p: &Project, not: Option<i32>) -> i32 {
    let mut pid = None;
    wait_for(
        "the replica to write its pid",
        Duration::from_secs(20),
        || {
            pid = std::fs::read_to_string(p.path().join("web.pid"))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .filter(|&found| Some(found) != not && alive(found));
            pid.is_some()
        },
    );
    pid.expect("a pid")
}

#[test]
fn stop_a_task_by_name_ends_its_active_and_queued_runs() {
    let d = Daemon::start(CONFIG);
    let running = d.trigger("nap");
    wait_running(&d, &running);
    // Only one at a time: the second waits in the queue.
    let queued = d.trigger("nap");

    let out = d.project.run(&["stop", "nap"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "stopped 2 runs of nap\n");
    for id in [&running, &queued] {
        let run = d.wait_ended(id);
        assert_eq!(run["end_reason"], "stopped", "{run}");
    }

    let again = d.project.run(&["stop", "nap"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        "nap had no active or queued run; nothing to stop\n"
    );

    // --json prints the API's answer.
    let id = d.trigger("nap");
    wait_running(&d, &id);
    let json = d.project.run(&["stop", "nap", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(answer, serde_json::json!({ "stopped_runs": 1 }));
    assert_eq!(d.wait_ended(&id)["end_reason"], "stopped");
}

#[test]
fn stop_a_run_by_a_prefix_or_suffix_of_its_id() {
    let d = Daemon::start(CONFIG);
    let id = d.trigger("nap");
    wait_running(&d, &id);

    // Lower case, as people type it: run ids are read case-insensitively.
    let prefix = id[..12].to_lowercase();
    let out = d.project.run(&["stop", &prefix]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("run {id} of nap is stopping\n"));
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "stopped", "{run}");
    assert_eq!(run["status"], "ended");

    // Stopping it again is refused in the daemon's words.
    let again = d.project.run(&["stop", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again),
        format!("runwisp: run {id} has already ended\n")
    );

    // The suffix the terminal UI shows, with --url and --json.
    let other = d.trigger("nap");
    wait_running(&d, &other);
    let suffix = &other[other.len() - 6..];
    let remote = d.project.run(&[
        "stop",
        suffix,
        "--json",
        "--url",
        &d.url(""),
        "--password",
        &d.password,
    ]);
    assert_eq!(remote.status.code(), Some(0), "{}", stderr(&remote));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&remote)).unwrap();
    assert_eq!(answer, serde_json::json!({ "stopping": other }));
    assert_eq!(d.wait_ended(&other)["end_reason"], "stopped");
}

#[test]
fn stop_of_an_unknown_name_is_one_sentence() {
    let d = Daemon::start(CONFIG);
    // Impossible as a run id (it has a `-`): the daemon's sentence alone.
    let out = d.project.run(&["stop", "no-such-task"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: there is no task or service named \"no-such-task\"\n"
    );
    assert_eq!(stdout(&out), "");
    // "backup" cannot be a run id either: run ids have no U.
    let out = d.project.run(&["stop", "backup"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: there is no task or service named \"backup\"\n"
    );
    // Could be the start or end of a run id: both were looked for.
    let out = d.project.run(&["stop", "zzzz"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: there is no task or service named \"zzzz\", and no run whose id starts or ends with ZZZZ\n"
    );
    // A whole run id that no run has.
    let out = d.project.run(&["stop", "01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "runwisp: there is no run 01ARZ3NDEKTSV4RRFFQ69G5FAV\n"
    );
}

#[test]
fn restart_replaces_a_service_and_refuses_a_task() {
    let d = Daemon::start(CONFIG);
    let first = replica_pid(&d.project, None);

    let out = d.project.run(&["restart", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "web restarting (1 replica)\n");
    let second = replica_pid(&d.project, Some(first));
    assert_ne!(first, second);
    wait_for("the old replica to go", Duration::from_secs(20), || {
        !alive(first)
    });

    // A task is refused, pointing at run-task; nothing was started.
    let task = d.project.run(&["restart", "quick"]);
    assert_eq!(task.status.code(), Some(1));
    assert_eq!(
        stderr(&task),
        "runwisp: \"quick\" is a task; restart applies to services (start a task with `runwisp run-task quick`)\n"
    );
    assert_eq!(
        d.get("/api/runs?task=quick").json()["runs"],
        serde_json::json!([])
    );
    let unknown = d.project.run(&["restart", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown),
        "runwisp: there is no task or service named \"nope\"\n"
    );

    // Stopping the service keeps it stopped; restart (here with --url) brings it back.
    let stop = d.project.run(&["stop", "web"]);
    assert_eq!(stop.status.code(), Some(0), "{}", stderr(&stop));
    assert_eq!(
        stdout(&stop),
        "web stopped; it stays stopped until `runwisp restart web`\n"
    );
    wait_for("the replica to stop", Duration::from_secs(20), || {
        !alive(second)
    });
    assert_eq!(d.get("/api/tasks/web").json()["stopped"], true);
    let remote = d.project.run(&[
        "restart",
        "web",
        "--json",
        "--url",
        &d.url(""),
        "--password",
        &d.password,
    ]);
    assert_eq!(remote.status.code(), Some(0), "{}", stderr(&remote));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&remote)).unwrap();
    assert_eq!(answer, serde_json::json!({ "restarted": "web" }));
    let third = replica_pid(&d.project, Some(second));
    assert_ne!(third, second);
}

#[test]
fn stop_and_restart_without_a_daemon_say_so() {
    let p = Project::new(CONFIG);
    for args in [["stop", "nap"], ["restart", "web"]] {
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&out),
            "runwisp: no runwisp daemon is running for data directory data; start one with `runwisp --headless`, or give --url\n",
            "{args:?}"
        );
    }
    assert!(!p.data().exists(), "stop or restart created data/");
}

/// The subcommands `runwisp --help` lists.
fn subcommands(p: &Project) -> Vec<String> {
    let help = stdout(&p.run(&["--help"]));
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect::<Vec<_>>();
    for wanted in ["stop", "restart", "completions", "man", "runs"] {
        assert!(listed.iter().any(|n| n == wanted), "{wanted}: {listed:?}");
    }
    listed
}

#[test]
fn completions_load_in_a_real_bash_and_name_the_subcommands() {
    let p = Project::new(CONFIG);
    let script = format!(
        "source <({:?} completions bash) && complete -p runwisp",
        env!("CARGO_BIN_EXE_runwisp")
    );
    let bash = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .expect("run bash");
    assert!(bash.status.success(), "{}", stderr(&bash));
    assert!(stdout(&bash).contains("runwisp"), "{}", stdout(&bash));

    let names = subcommands(&p);
    for shell in ["bash", "zsh", "fish"] {
        let out = p.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.trim().is_empty(), "{shell}");
        for name in &names {
            assert!(
                text.contains(name.as_str()),
                "{shell} does not complete {name}"
            );
        }
        // fish names long options without their dashes (`-l json`).
        assert!(text.contains("json"), "{shell} does not complete options");
    }
    let out = p.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("possible values: bash, zsh, fish"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let p = Project::new(CONFIG);
    let out = p.run(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".TH runwisp 1 "),
        "{}",
        &page[..80.min(page.len())]
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH COMMANDS"] {
        assert!(page.lines().any(|l| l == section), "{section}");
    }
    for name in subcommands(&p) {
        assert!(
            page.contains(&format!(".SS \"runwisp {name}\"")),
            "the page does not describe `runwisp {name}`"
        );
    }
    assert!(page.contains(".SS \"runwisp notify test\""));
    // Options of a subcommand are described under it.
    let stop = page
        .split(".SS \"runwisp stop\"")
        .nth(1)
        .and_then(|rest| rest.split(".SS ").next())
        .expect("a stop section");
    assert!(stop.contains("\\-\\-json"), "{stop}");

    // groff, where it is installed, reads it without a warning.
    let Ok(mut groff) = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        return;
    };
    use std::io::Write as _;
    groff
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let checked = groff.wait_with_output().unwrap();
    assert!(checked.status.success());
    assert_eq!(stderr(&checked), "", "groff warnings");
}

#[test]
fn piped_output_carries_no_escape_sequences() {
    // The CLI prints no colour today; whatever it prints into a pipe stays plain text.
    let d = Daemon::start(CONFIG);
    let id = d.trigger("quick");
    d.wait_ended(&id);
    for args in [
        &["list"][..],
        &["runs"],
        &["status"],
        &["notifications"],
        &["cron", "@daily"],
        &["stop", "nap"],
        &["man"],
    ] {
        let out = d.project.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
            "{args:?} printed an escape sequence"
        );
    }
}
