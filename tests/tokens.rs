//! Scoped tokens (`webhooks.md` §2) against the real daemon over real HTTP: what `runwisp token
//! create` prints and what the history keeps (the hash only), a walk over the whole route table
//! with a token scoped to one task, `--read` and `--metrics`, revoked, expired and wrong
//! tokens, `X-API-Key`, `/api/tokens` itself, `RUNWISP_TOKEN` for `run-task`, `exec` and
//! `logs -f` against `--url`, and the README's CI example run by `curl`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::time::Duration;

use common::{stderr, stdout, Project};
use daemon::{agent, answer, Answer, Daemon, Limits};
use runwisp::server::routes::table;
use sha2::{Digest, Sha256};

const CONFIG: &str = r#"
[tasks.deploy]
run = "echo deploying; echo deployed"

[tasks.other]
run = "echo other"
"#;

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How a token is presented.
#[derive(Clone, Copy)]
enum Via {
    Bearer,
    ApiKey,
}

/// `METHOD path` on `d` with `token`, presented `via`.
fn call(d: &Daemon, method: &str, path: &str, token: &str, via: Via) -> Answer {
    let url = d.url(path);
    let (name, value) = match via {
        Via::Bearer => ("Authorization", format!("Bearer {token}")),
        Via::ApiKey => ("X-API-Key", token.to_string()),
    };
    answer(match method {
        "GET" => agent().get(&url).header(name, &value).call(),
        "DELETE" => agent().delete(&url).header(name, &value).call(),
        "POST" => agent().post(&url).header(name, &value).send_empty(),
        other => panic!("no {other} route in the table yet"),
    })
}

fn get(d: &Daemon, path: &str, token: &str) -> Answer {
    call(d, "GET", path, token, Via::Bearer)
}

fn post(d: &Daemon, path: &str, token: &str) -> Answer {
    call(d, "POST", path, token, Via::Bearer)
}

/// Asserts `a` is the refusal of token `name`.
fn assert_forbidden(a: &Answer, name: &str, what: &str) {
    assert_eq!(a.status, 403, "{what}: {}", a.text);
    assert_eq!(a.content_type, "application/problem+json", "{what}");
    assert_eq!(
        a.detail(),
        format!("token \"{name}\" may not do this"),
        "{what}"
    );
}

/// `runwisp token ARGS` in the daemon's project; the output when it succeeds.
fn token_cli(project: &Project, args: &[&str]) -> std::process::Output {
    let mut full = vec!["token"];
    full.extend_from_slice(args);
    let out = project.run(&full);
    assert!(
        out.status.success(),
        "runwisp {full:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Creates a token through the CLI and returns its text, checking its shape.
fn create(project: &Project, args: &[&str]) -> String {
    let mut full = vec!["create"];
    full.extend_from_slice(args);
    let out = token_cli(project, &full);
    let printed = stdout(&out);
    let token = printed.trim_end_matches('\n');
    assert_eq!(printed.lines().count(), 1, "the token alone: {printed:?}");
    assert_token_shape(token);
    assert!(
        !stderr(&out).contains(token),
        "the token is printed once, on stdout"
    );
    token.to_string()
}

fn assert_token_shape(token: &str) {
    let body = token.strip_prefix("rw_").expect("rw_ prefix");
    assert_eq!(body.len(), 43, "{token}");
    assert!(body.chars().all(|c| BASE62.contains(c)), "{token}");
}

/// Every value of every row of every table of the history, as text and as bytes.
fn every_value(project: &Project) -> Vec<(String, Vec<u8>)> {
    let db = rusqlite::Connection::open_with_flags(
        project.data().join("runwisp.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = select.column_count();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..width {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                let bytes = match value {
                    rusqlite::types::Value::Text(t) => t.into_bytes(),
                    rusqlite::types::Value::Blob(b) => b,
                    rusqlite::types::Value::Integer(n) => n.to_string().into_bytes(),
                    rusqlite::types::Value::Real(f) => f.to_string().into_bytes(),
                    rusqlite::types::Value::Null => Vec::new(),
                };
                out.push((table.clone(), bytes));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits until run `id` ended, reading it with `token`.
fn wait_ended(d: &Daemon, id: &str, token: &str) {
    common::wait_for(&format!("run {id} to end"), Duration::from_secs(30), || {
        get(d, &format!("/api/runs/{id}"), token).json()["status"] == "ended"
    });
}

#[test]
fn a_token_is_printed_once_and_stored_as_its_hash_only() {
    // Created in the history directly while no daemon runs, then used once one does.
    let project = Project::new(CONFIG);
    let early = create(&project, &["early", "--task", "deploy", "--expires", "90d"]);
    let listed = stdout(&token_cli(&project, &["list"]));
    assert!(
        listed.contains("early") && !listed.contains(&early),
        "{listed}"
    );
    let unknown = project.run(&["token", "create", "typo", "--task", "deploi"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no task named \"deploi\""),
        "{}",
        stderr(&unknown)
    );

    let d = Daemon::start_in(project, Limits::default());
    let project = &d.project;
    assert_eq!(get(&d, "/api/tasks/deploy", &early).status, 200);

    let token = create(project, &["ci-deploy", "--task", "deploy"]);
    assert_ne!(token, early);
    let taken = project.run(&["token", "create", "ci-deploy", "--task", "deploy"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(
        stderr(&taken).contains("exists already"),
        "{}",
        stderr(&taken)
    );
    let bad = project.run(&["token", "create", "bad.name", "--task", "deploy"]);
    assert_eq!(bad.status.code(), Some(1));
    let nothing = project.run(&["token", "create", "empty"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(stderr(&nothing).contains("--task"), "{}", stderr(&nothing));

    // Listed by name and scope, never with the token.
    let table = stdout(&token_cli(project, &["list"]));
    assert!(
        table.contains("ci-deploy") && table.contains("deploy: start and read"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&token_cli(project, &["list", "--json"]).stdout).unwrap();
    let names: Vec<&str> = json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ci-deploy", "early"]);
    assert_eq!(json["tokens"][0]["tasks"], serde_json::json!(["deploy"]));
    assert_eq!(json["tokens"][0]["read_only"], false);
    assert_eq!(json["tokens"][0]["expires_at"], serde_json::Value::Null);
    assert!(json["tokens"][1]["expires_at"].is_string());
    assert!(
        json["tokens"][1]["last_used_at"].is_string(),
        "used once above"
    );
    let api = d.get("/api/tokens");
    assert_eq!(api.status, 200);
    for text in [&table, &json.to_string(), &api.text] {
        assert!(!text.contains(&token) && !text.contains(&early), "{text}");
    }

    // Used, so a last use is recorded; the history holds the hash and never the text.
    assert_eq!(post(&d, "/api/tasks/deploy/run", &token).status, 201);
    let values = every_value(project);
    for secret in [&token, &early] {
        let hash = Sha256::digest(secret.as_bytes()).to_vec();
        assert!(
            values
                .iter()
                .any(|(table, v)| table == "api_tokens" && *v == hash),
            "the token's SHA-256 is stored"
        );
        let found: Vec<&String> = values
            .iter()
            .filter(|(_, v)| {
                contains(v, secret.as_bytes())
                    || contains(v, &secret.as_bytes()[3..])
                    || contains(v, hex::encode(&hash).as_bytes())
            })
            .map(|(table, _)| table)
            .collect();
        assert!(found.is_empty(), "the token's text is in {found:?}");
    }
    // Nor is it in the daemon's log.
    let log = std::fs::read_to_string(project.data().join("daemon.log")).expect("daemon.log");
    assert!(!log.contains(&token) && !log.contains(&early));
}

#[test]
fn a_task_token_may_do_exactly_what_its_scope_says_on_every_route() {
    let d = Daemon::start(CONFIG);
    let other_run = d.trigger("other");
    d.wait_ended(&other_run);
    let token = create(&d.project, &["ci-deploy", "--task", "deploy"]);

    let triggered = post(&d, "/api/tasks/deploy/run", &token);
    assert_eq!(triggered.status, 201, "{}", triggered.text);
    let run = triggered.json()["id"].as_str().unwrap().to_string();
    wait_ended(&d, &run, &token);

    // What a token scoped to `deploy` may call; everything else is refused naming it.
    let allowed = [
        "GET /api/tasks/{name}",
        "POST /api/tasks/{name}/run",
        "POST /api/tasks/{name}/trigger",
        "GET /api/tasks/{name}/runs",
        "GET /api/runs",
        "GET /api/runs/{id}",
        "GET /api/runs/{id}/log",
        "GET /api/runs/{id}/log/raw",
        "GET /api/runs/{id}/log/stream",
    ];
    let mut seen_allowed = Vec::new();
    let routes = table();
    assert!(routes.len() > 20, "the whole table");
    for route in &routes {
        let key = format!("{} {}", route.method, route.path);
        let concrete = |name: &str, id: &str| {
            let path = route.path.replace("{name}", name).replace("{id}", id);
            if route.path == "/api/runs" {
                format!("{path}?task={name}")
            } else {
                path
            }
        };
        let mine = call(
            &d,
            route.method.as_str(),
            &concrete("deploy", &run),
            &token,
            Via::Bearer,
        );
        if route.is_public() {
            assert_ne!(mine.status, 403, "{key} is public: {}", mine.text);
            continue;
        }
        if allowed.contains(&key.as_str()) {
            assert!(
                mine.status == 200 || mine.status == 201,
                "{key} is in the token's scope: {} {}",
                mine.status,
                mine.text
            );
            seen_allowed.push(key.clone());
            // The same route for another task, or another task's run, is refused.
            let others = call(
                &d,
                route.method.as_str(),
                &concrete("other", &other_run),
                &token,
                Via::Bearer,
            );
            assert_forbidden(&others, "ci-deploy", &format!("{key} for task other"));
        } else {
            assert_forbidden(&mine, "ci-deploy", &key);
        }
    }
    assert_eq!(seen_allowed.len(), allowed.len(), "{seen_allowed:?}");

    // What the routes answered is the task's: its run, its log (replayed over the stream).
    let log = get(&d, &format!("/api/runs/{run}/log/raw"), &token);
    assert_eq!(log.text, "deploying\ndeployed\n");
    let stream = get(&d, &format!("/api/runs/{run}/log/stream"), &token);
    assert!(stream.content_type.starts_with("text/event-stream"));
    assert!(
        stream.text.contains("deployed") && stream.text.contains("event: done"),
        "{}",
        stream.text
    );
    let runs = get(&d, "/api/runs?task=deploy", &token).json();
    assert!(runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["task_name"] == "deploy"));

    // Run history without a task, or naming another, and short ids of another task's run.
    for path in [
        "/api/runs".to_string(),
        "/api/runs?status=ended".to_string(),
        "/api/runs?task=other".to_string(),
        "/api/runs?task=deploy&task=other".to_string(),
        format!("/api/runs/{}", &other_run[other_run.len() - 6..]),
        "/api/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_string(),
        "/api/tasks/nosuch".to_string(),
    ] {
        assert_forbidden(&get(&d, &path, &token), "ci-deploy", &path);
    }
    let short = get(&d, &format!("/api/runs/{}", &run[run.len() - 6..]), &token);
    assert_eq!(
        short.status, 200,
        "a short id of its own run: {}",
        short.text
    );

    // X-API-Key works like the bearer.
    let keyed = call(&d, "POST", "/api/tasks/deploy/run", &token, Via::ApiKey);
    assert_eq!(keyed.status, 201, "{}", keyed.text);
    let keyed_other = call(&d, "POST", "/api/tasks/other/run", &token, Via::ApiKey);
    assert_forbidden(&keyed_other, "ci-deploy", "X-API-Key for another task");
    assert_forbidden(
        &call(&d, "GET", "/api/tokens", &token, Via::ApiKey),
        "ci-deploy",
        "X-API-Key on /api/tokens",
    );
    // A full login still does everything.
    assert_eq!(d.post("/api/tasks/other/run").status, 201);
    assert_eq!(d.post("/api/reload").status, 200);
}

#[test]
fn read_only_and_metrics_scopes() {
    let d = Daemon::start(CONFIG);
    let reader = create(&d.project, &["watcher", "--task", "deploy", "--read"]);
    let deployer = create(&d.project, &["ci", "--task", "deploy"]);
    let scraper = create(&d.project, &["prometheus", "--metrics"]);
    let listed = stdout(&token_cli(&d.project, &["list"]));
    assert!(
        listed.contains("deploy: read") && listed.contains("metrics"),
        "{listed}"
    );

    for path in ["/api/tasks/deploy/run", "/api/tasks/deploy/trigger"] {
        assert_forbidden(&post(&d, path, &reader), "watcher", path);
    }
    let run = d.trigger("deploy");
    d.wait_ended(&run);
    for path in [
        "/api/tasks/deploy".to_string(),
        "/api/tasks/deploy/runs".to_string(),
        "/api/runs?task=deploy".to_string(),
        format!("/api/runs/{run}"),
        format!("/api/runs/{run}/log"),
        format!("/api/runs/{run}/log/raw"),
        format!("/api/runs/{run}/log/stream"),
    ] {
        assert_eq!(get(&d, &path, &reader).status, 200, "{path}");
        assert_forbidden(&get(&d, &path, &scraper), "prometheus", &path);
    }

    let metrics = get(&d, "/metrics", &scraper);
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(metrics.text.contains("# EOF"));
    assert_forbidden(&get(&d, "/metrics", &deployer), "ci", "/metrics");
    assert_forbidden(&get(&d, "/metrics", &reader), "watcher", "/metrics");
    assert_forbidden(&get(&d, "/api/tasks", &scraper), "prometheus", "/api/tasks");
    drop(d);

    // With metrics_public, anyone reads /metrics, a token of any scope too.
    let open = Daemon::start(&format!("[daemon]\nmetrics_public = true\n{CONFIG}"));
    let deployer = create(&open.project, &["ci", "--task", "deploy"]);
    assert_eq!(get(&open, "/metrics", &deployer).status, 200);
}

#[test]
fn revoked_expired_and_wrong_tokens_are_refused_with_401() {
    let d = Daemon::start(CONFIG);
    let token = create(&d.project, &["ci", "--task", "deploy"]);
    assert_eq!(get(&d, "/api/tasks/deploy", &token).status, 200);

    // A wrong token of the right shape, and malformed ones.
    let mut wrong = token.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    assert_token_shape(&wrong);
    for (bad, via) in [
        (wrong.as_str(), Via::Bearer),
        (wrong.as_str(), Via::ApiKey),
        ("rw_short", Via::Bearer),
        ("rw_short", Via::ApiKey),
        ("not-a-token", Via::ApiKey),
    ] {
        let a = call(&d, "GET", "/api/tasks/deploy", bad, via);
        assert_eq!(a.status, 401, "{bad}: {}", a.text);
        assert_eq!(a.content_type, "application/problem+json");
    }

    // Expired: the expiry set in the history to the past.
    let db = rusqlite::Connection::open(d.project.data().join("runwisp.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = db
        .execute(
            "UPDATE api_tokens SET expires_at = 1000 WHERE name = 'ci'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let expired = get(&d, "/api/tasks/deploy", &token);
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert!(
        expired.detail().contains("\"ci\" has expired"),
        "{}",
        expired.text
    );
    assert!(!expired.text.contains(&token));
    assert_eq!(post(&d, "/api/tasks/deploy/run", &token).status, 401);

    // Expired by --expires, as time passes.
    let brief = create(
        &d.project,
        &["brief", "--task", "deploy", "--expires", "1s"],
    );
    common::wait_for("the token to expire", Duration::from_secs(15), || {
        get(&d, "/api/tasks/deploy", &brief).status == 401
    });

    // Revoked: refused from then on, and gone from the list.
    let kept = create(&d.project, &["kept", "--task", "deploy"]);
    assert_eq!(get(&d, "/api/tasks/deploy", &kept).status, 200);
    let out = token_cli(&d.project, &["revoke", "kept"]);
    assert!(stdout(&out).contains("revoked token \"kept\""));
    let revoked = get(&d, "/api/tasks/deploy", &kept);
    assert_eq!(revoked.status, 401, "{}", revoked.text);
    assert!(!stdout(&token_cli(&d.project, &["list"])).contains("kept"));
    let again = d.project.run(&["token", "revoke", "kept"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("no token named \"kept\""));
}

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
