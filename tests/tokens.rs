//! Scoped tokens (`webhooks.md` §2) against the real daemon over real HTTP: what `runwisp token
//! create` prints and what the history keeps (the hash only), a walk over the whole route table
//! with a token scoped to one task, `--read` and `--metrics`, and revoked, expired and wrong
//! tokens (`X-API-Key` too). The clients' side is tests/tokens_clients.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/tokens.rs"]
mod tokens;

use std::time::Duration;

use common::{stderr, stdout, Project};
use daemon::{Daemon, Limits};
use runwisp::server::routes::table;
use sha2::{Digest, Sha256};
use tokens::*;

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
        // In scope; `deploy` is a task, so its run has no tree (400, not 403).
        "GET /api/runs/{id}/tree",
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
            let no_tree = key.ends_with("/tree") && mine.status == 400;
            assert!(
                mine.status == 200 || mine.status == 201 || no_tree,
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
