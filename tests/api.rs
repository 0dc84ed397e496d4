//! The REST API against the real daemon: documented status codes of every route (the task
//! routes in `api_tasks.rs`), the authentication rejection matrix, a walk over the route table
//! without a token, bad input, a slow client, and server-sent events arriving while a run is
//! still printing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/api_config.rs"]
mod api_config;
mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use daemon::{agent, answer, Daemon};
use runwisp::server::routes::table;

use api_config::{id_of, CONFIG};

#[test]
fn public_routes_and_login() {
    let d = Daemon::start(CONFIG);
    let health = d.get_anon("/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "healthy");
    assert!(health.nosniff, "every response carries nosniff");
    assert_eq!(
        d.get_anon("/api/auth/status").json(),
        serde_json::json!({ "auth_required": true, "authenticated": false })
    );
    assert_eq!(d.get("/api/auth/status").json()["authenticated"], true);
    let nonce = d.challenge();
    assert_eq!(nonce.len(), 64);
    assert!(nonce.chars().all(|c| c.is_ascii_hexdigit()));

    let ok = answer(agent().post(&d.url("/api/auth")).send_json(serde_json::json!({
        "nonce": nonce, "response": runwisp::engine::auth::challenge_response(&d.password, &nonce)
    })));
    assert_eq!(ok.status, 200);
    let cookie = ok.set_cookie.expect("a cookie");
    for part in [
        "runwisp_jwt=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=86400",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let wrong = d.login("not the password").unwrap_err();
    assert_eq!(
        (wrong.status, wrong.detail().as_str()),
        (401, "Invalid password")
    );
    assert_eq!(wrong.content_type, "application/problem+json");
    assert!(!wrong.text.contains(&d.password));

    let replay = answer(agent().post(&d.url("/api/auth")).send_json(serde_json::json!({
        "nonce": nonce, "response": runwisp::engine::auth::challenge_response(&d.password, &nonce)
    })));
    assert_eq!(
        (replay.status, replay.detail().as_str()),
        (401, "Invalid or expired challenge"),
        "a nonce is single use"
    );

    let wrong_type = answer(
        agent()
            .post(&d.url("/api/auth"))
            .content_type("text/plain")
            .send("{}"),
    );
    assert_eq!(wrong_type.status, 415);
    let malformed = answer(
        agent()
            .post(&d.url("/api/auth"))
            .content_type("application/json")
            .send("{\"nonce\": "),
    );
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.detail().starts_with("the JSON body is malformed"),
        "{}",
        malformed.detail()
    );
    let wrongly_typed = answer(
        agent()
            .post(&d.url("/api/auth"))
            .send_json(serde_json::json!({ "nonce": 5, "response": [] })),
    );
    assert_eq!(wrongly_typed.status, 400);
}

#[test]
fn brute_force_reaches_429_with_retry_after() {
    let d = Daemon::start(CONFIG);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(d.login("guess").unwrap_err());
    }
    assert!(statuses[..5].iter().all(|a| a.status == 401));
    let throttled = statuses.last().unwrap();
    assert_eq!(throttled.status, 429);
    let wait: u64 = throttled
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(wait >= 1);
    assert!(
        d.login(&d.password).is_err(),
        "even the right password waits out the lock"
    );
}

#[test]
fn tokens_the_daemon_refuses() {
    let d = Daemon::start(CONFIG);
    let get = |auth: &str| {
        answer(
            agent()
                .get(&d.url("/api/tasks"))
                .header("Authorization", auth)
                .call(),
        )
        .status
    };
    assert_eq!(get(&format!("Bearer {}", d.token)), 200);
    let claims = r#"{"iat":1,"exp":9999999999,"iss":"runwisp","aud":"runwisp-api"}"#;
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(claims));
    let mut parts: Vec<String> = d.token.split('.').map(str::to_string).collect();
    parts[1] = b64(claims);
    let tampered = parts.join(".");
    for (what, auth) in [
        ("alg none", format!("Bearer {none}")),
        ("tampered payload", format!("Bearer {tampered}")),
        ("garbage", "Bearer x.y.z".to_string()),
        ("no scheme", d.token.clone()),
    ] {
        assert_eq!(get(&auth), 401, "{what}");
    }
    // The cookie authenticates GET, never a state-changing request.
    let cookie = format!("runwisp_jwt={}", d.token);
    let via_cookie = answer(
        agent()
            .get(&d.url("/api/tasks"))
            .header("Cookie", &cookie)
            .call(),
    );
    assert_eq!(via_cookie.status, 200);
    let post_cookie = answer(
        agent()
            .post(&d.url("/api/tasks/hello/run"))
            .header("Cookie", &cookie)
            .send_empty(),
    );
    assert_eq!(post_cookie.status, 401);
    assert!(
        post_cookie.detail().contains("Authorization header"),
        "{}",
        post_cookie.detail()
    );
}

#[test]
fn every_protected_route_answers_401_without_a_token() {
    let d = Daemon::start(CONFIG);
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    for route in table() {
        let path = route.path.replace("{name}", "hello").replace("{id}", id);
        let a = match route.method.as_str() {
            "GET" => answer(agent().get(&d.url(&path)).call()),
            _ => answer(agent().post(&d.url(&path)).send_empty()),
        };
        if route.access == runwisp::server::routes::Access::Signature {
            // Public, but verified by its signature: without one, the webhooks' one 401.
            assert_eq!(a.status, 401, "{} {}", route.method, route.path);
            assert_eq!(a.detail(), "invalid signature");
        } else if route.is_public() {
            assert_ne!(a.status, 401, "{} {} is public", route.method, route.path);
        } else {
            assert_eq!(
                a.status, 401,
                "{} {} must need a token",
                route.method, route.path
            );
            assert_eq!(a.content_type, "application/problem+json");
        }
    }
}

#[test]
fn the_openapi_document_names_exactly_the_routes() {
    let d = Daemon::start(CONFIG);
    let doc = d.get_anon("/api/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut served: Vec<String> = table()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(
        documented, served,
        "the document and the route table list the same routes"
    );
    // Every documented route exists on the server (no "no such route" 404, no 405).
    for entry in &documented {
        let (method, path) = entry.split_once(' ').unwrap();
        let path = path
            .replace("{name}", "hello")
            .replace("{id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        let a = match method {
            "GET" => d.get(&path),
            "DELETE" => answer(
                agent()
                    .delete(&d.url(&path))
                    .header("Authorization", &format!("Bearer {}", d.token))
                    .call(),
            ),
            _ => d.post(&path),
        };
        assert_ne!(a.status, 405, "{entry}");
        assert!(
            !(a.status == 404 && a.detail().contains("no such route")),
            "{entry} is documented but not served"
        );
    }
    let cli = common::Project::new("").run(&["openapi"]);
    let printed: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(printed, doc, "`runwisp openapi` prints the same document");
}

#[test]
fn runs_routes_and_their_status_codes() {
    let d = Daemon::start(CONFIG);
    let run = d.post("/api/tasks/hello/run");
    let id = id_of(&run);
    d.wait_ended(&id);
    let page = d.get("/api/runs?task=hello&limit=1");
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["runs"][0]["id"], id.as_str());
    assert_eq!(page.json()["next_before"], id.as_str());
    let next = d.get(&format!("/api/runs?task=hello&before={id}"));
    assert_eq!(next.json()["runs"].as_array().unwrap().len(), 0);
    assert_eq!(next.json()["next_before"], serde_json::Value::Null);
    assert_eq!(
        d.get("/api/tasks/hello/runs").json()["runs"][0]["id"],
        id.as_str()
    );
    assert_eq!(d.get("/api/tasks/nope/runs").status, 404);
    for bad in [
        "/api/runs?limit=0",
        "/api/runs?limit=5000",
        "/api/runs?status=done",
        "/api/runs?before=xyz",
        "/api/runs?colour=red",
        "/api/runs?task=../x",
    ] {
        assert_eq!(d.get(bad).status, 400, "{bad}");
    }
    assert_eq!(
        d.get(&format!("/api/runs/{id}")).json()["end_reason"],
        "success"
    );
    assert_eq!(d.get("/api/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV").status, 404);
    assert_eq!(d.get("/api/runs/not-a-ulid").status, 400);

    let log = d.get(&format!("/api/runs/{id}/log")).json();
    assert_eq!(log["total_lines"], 2);
    assert_eq!(log["finished"], true);
    let mut lines: Vec<(String, String)> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["stream"].as_str().unwrap().to_string(),
                l["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("stderr".to_string(), "oops".to_string()),
            ("stdout".to_string(), "hello".to_string())
        ]
    );
    assert_eq!(
        d.get(&format!("/api/runs/{id}/log?from=-1")).json()["lines"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        d.get(&format!("/api/runs/{id}/log?limit=99999")).status,
        400
    );
    let raw = d.get(&format!("/api/runs/{id}/log/raw"));
    assert!(raw.content_type.starts_with("text/plain"));
    assert!(raw.text.contains("hello\n") && raw.text.contains("[ERR] oops\n"));

    let sleeper = id_of(&d.post("/api/tasks/sleeper/run"));
    let stop = d.post(&format!("/api/runs/{sleeper}/stop"));
    assert_eq!(stop.status, 202);
    assert_eq!(d.wait_ended(&sleeper)["end_reason"], "stopped");
    assert_eq!(d.post(&format!("/api/runs/{sleeper}/stop")).status, 409);
    assert_eq!(
        d.post("/api/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/stop").status,
        404
    );
    assert_eq!(d.get("/api/info").json()["tasks"], 4);
}

#[test]
fn hygiene_limits_and_errors() {
    let d = Daemon::start(CONFIG);
    let unknown = d.get("/api/nope");
    assert_eq!(
        (unknown.status, unknown.content_type.as_str()),
        (404, "application/problem+json")
    );
    let wrong_method = answer(
        agent()
            .delete(&d.url("/api/tasks"))
            .header("Authorization", &format!("Bearer {}", d.token))
            .call(),
    );
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.allow.as_deref(), Some("GET,HEAD"));
    // The answer comes from the declared length, before the body is read.
    let too_big = d.raw(b"POST /api/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n{\"nonce\":");
    assert!(too_big.starts_with("HTTP/1.1 413"), "{too_big}");
    let huge_header = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let reply = d.raw(huge_header.as_bytes());
    assert!(
        reply.starts_with("HTTP/1.1 431"),
        "{}",
        &reply[..reply.len().min(80)]
    );
    assert_eq!(d.get_anon("/health").status, 200, "still serving");
}

#[test]
fn a_slow_client_is_cut_off_and_others_are_served() {
    let d = Daemon::start(CONFIG);
    let mut slow = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let began = Instant::now();
    // Meanwhile everyone else is served.
    assert_eq!(d.get_anon("/health").status, 200);
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let held = began.elapsed();
    assert!(
        held < Duration::from_secs(25),
        "a stalled request head was held for {held:?}"
    );
    assert!(held >= Duration::from_secs(5), "closed too early: {held:?}");
}

#[test]
fn log_lines_arrive_while_the_run_is_still_printing() {
    let d = Daemon::start(CONFIG);
    let id = id_of(&d.post("/api/tasks/slow/run"));
    let mut response = agent()
        .get(&d.url(&format!("/api/runs/{id}/log/stream?from=1")))
        .header("Authorization", &format!("Bearer {}", d.token))
        .call()
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let reader = BufReader::new(response.body_mut().as_reader());
    let mut seen = Vec::new();
    let mut done = None;
    let mut event = String::new();
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let value: serde_json::Value = serde_json::from_str(data).unwrap();
            if event == "line" {
                // When the first line arrives the run is still going.
                let status = d.get(&format!("/api/runs/{id}")).json()["status"].clone();
                seen.push((
                    value["n"].as_u64().unwrap(),
                    value["text"].as_str().unwrap().to_string(),
                    status,
                ));
            } else if event == "done" {
                done = Some(value);
                break;
            }
        }
    }
    let texts: Vec<&str> = seen.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(texts, ["line 1", "line 2", "line 3", "line 4", "line 5"]);
    assert_eq!(
        seen.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        seen[0].2, "running",
        "the first line came while the run was still printing"
    );
    assert_eq!(done.unwrap()["end_reason"], "success");

    // Resuming after line 3 with Last-Event-ID replays only what follows.
    let mut again = agent()
        .get(&d.url(&format!("/api/runs/{id}/log/stream")))
        .header("Authorization", &format!("Bearer {}", d.token))
        .header("Last-Event-ID", "3")
        .call()
        .unwrap();
    let text = {
        let mut s = String::new();
        let _ = again.body_mut().as_reader().read_to_string(&mut s);
        s
    };
    assert!(
        text.contains("\"line 4\"") && !text.contains("\"line 3\""),
        "{text}"
    );
}
