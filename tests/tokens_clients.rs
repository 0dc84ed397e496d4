//! Scoped tokens from the clients' side: `/api/tokens` itself (a full login only),
//! `RUNWISP_TOKEN` for `run-task`, `exec` and `logs -f` against `--url`, Ctrl-C on `exec` with a
//! token, and the README's CI example run by `curl`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/tokens.rs"]
mod tokens;

use std::time::Duration;

use common::{stderr, stdout};
use daemon::{agent, answer, Daemon};
use tokens::*;

#[test]
fn the_tokens_api_is_for_a_full_login() {
    let d = Daemon::start(CONFIG);
    let created = d.post_json(
        "/api/tokens",
        serde_json::json!({ "name": "api-made", "tasks": ["deploy"], "expires_in_s": 3600 }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_string();
    assert_token_shape(&token);
    assert_eq!(body["name"], "api-made");
    assert_eq!(body["read_only"], false);
    assert!(body["expires_at"].is_string());
    assert_eq!(post(&d, "/api/tasks/deploy/run", &token).status, 201);

    let refusals = [
        (
            serde_json::json!({ "name": "api-made", "tasks": ["deploy"] }),
            409,
        ),
        (serde_json::json!({ "name": "x", "tasks": ["nosuch"] }), 400),
        (
            serde_json::json!({ "name": "x/y", "tasks": ["deploy"] }),
            400,
        ),
        (serde_json::json!({ "name": "x", "tasks": [] }), 400),
        (
            serde_json::json!({ "name": "x", "tasks": ["deploy"], "expires_in_s": 0 }),
            400,
        ),
        (
            serde_json::json!({ "name": "x", "tasks": ["deploy"], "admin": true }),
            400,
        ),
    ];
    for (body, status) in refusals {
        let a = d.post_json("/api/tokens", body.clone());
        assert_eq!(a.status, status, "{body}: {}", a.text);
        assert_eq!(a.content_type, "application/problem+json");
    }

    // A scoped token may not manage tokens, its own included.
    for (method, path) in [
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("DELETE", "/api/tokens/api-made"),
    ] {
        assert_forbidden(
            &call(&d, method, path, &token, Via::Bearer),
            "api-made",
            path,
        );
    }
    let revoke = |name: &str| {
        answer(
            agent()
                .delete(&d.url(&format!("/api/tokens/{name}")))
                .header("Authorization", &format!("Bearer {}", d.token))
                .call(),
        )
    };
    let revoked = revoke("api-made");
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json()["revoked"], "api-made");
    assert_eq!(revoke("api-made").status, 404);
    assert_eq!(revoke("bad.name").status, 400);
    assert_eq!(post(&d, "/api/tasks/deploy/run", &token).status, 401);
    // Without any credentials: 401, as every protected route.
    assert_eq!(d.get_anon("/api/tokens").status, 401);
}

#[test]
fn runwisp_token_replaces_the_password_for_url_clients() {
    let d = Daemon::start(CONFIG);
    let token = create(&d.project, &["ci", "--task", "deploy"]);
    let url = d.url("");
    let with_token = |token: &str, args: &[&str]| {
        let mut cmd = d.project.command(args);
        cmd.env("RUNWISP_TOKEN", token);
        cmd.output().unwrap()
    };

    let out = with_token(&token, &["run-task", "deploy", "--wait", "--url", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("triggered run"), "{}", stdout(&out));
    assert!(stdout(&out).contains("deployed"), "{}", stdout(&out));

    let out = with_token(&token, &["exec", "deploy", "--url", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), "deploying\ndeployed\n");

    let run = d.trigger("deploy");
    d.wait_ended(&run);
    let out = with_token(&token, &["logs", "-f", &run, "--url", &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("deployed"), "{}", stdout(&out));

    // Outside its scope: the daemon's refusal, naming the token.
    let out = with_token(&token, &["run-task", "other", "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("token \"ci\" may not do this"),
        "{}",
        stderr(&out)
    );
    let out = with_token("rw_nonsense", &["run-task", "deploy", "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));
    // Without a token or a password, --url says what it needs.
    let out = d.project.run(&["run-task", "deploy", "--url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("RUNWISP_TOKEN"), "{}", stderr(&out));
}

#[test]
fn ctrl_c_on_exec_with_a_token_leaves_the_run_running() {
    let d = Daemon::start(&format!(
        "{CONFIG}\n[tasks.slow]\nrun = \"echo started; sleep 60\"\n"
    ));
    let token = create(&d.project, &["ci", "--task", "slow"]);
    let mut cmd = d.project.command(&["exec", "slow", "--url", &d.url("")]);
    cmd.env("RUNWISP_TOKEN", &token)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let mut running = None;
    common::wait_for("the run to start", Duration::from_secs(20), || {
        let runs = d.get("/api/runs?task=slow").json();
        running = runs["runs"][0]["id"].as_str().map(str::to_string);
        runs["runs"][0]["status"] == "running"
    });
    let run = running.unwrap();
    // Its first line is out, so exec is following the log.
    common::wait_for("the log", Duration::from_secs(20), || {
        d.get(&format!("/api/runs/{run}/log/raw")).text == "started\n"
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("token \"ci\" may not do this")
            && stderr(&out).contains(&format!("run {run} keeps running")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        d.get(&format!("/api/runs/{run}")).json()["status"],
        "running"
    );
    assert_eq!(d.post(&format!("/api/runs/{run}/stop")).status, 202);
}

#[test]
fn the_readme_ci_example_is_one_curl() {
    // The README's line, as a CI job would run it, against this daemon.
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme
        .split("## Trigger from CI")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README's CI section");
    let line = section
        .lines()
        .find(|l| l.starts_with("curl "))
        .expect("a curl line");
    assert!(line.contains("$RUNWISP_TOKEN"), "{line}");
    let d = Daemon::start(CONFIG);
    let token = create(&d.project, &["ci-deploy", "--task", "deploy"]);
    let script = line.replace("https://runwisp.example.com", &d.url(""));
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("RUNWISP_TOKEN", &token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", stderr(&out));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["task_name"], "deploy");
    wait_ended(&d, run["id"].as_str().unwrap(), &token);
    // The same line for another task is refused, naming the token.
    let other = script.replace("/api/tasks/deploy/run", "/api/tasks/other/run");
    let refused = std::process::Command::new("sh")
        .args(["-c", &other.replace("curl -sSf", "curl -sS")])
        .env("RUNWISP_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        stdout(&refused).contains(r#"token \"ci-deploy\" may not do this"#),
        "{}",
        stdout(&refused)
    );
}
