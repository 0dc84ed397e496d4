#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
//! The header policy of the route table against the real daemon: every answer of the API —
//! successes, refusals (401), unknown paths (404), wrong methods (405), bad input (400), bodies
//! and heads too large (413, 431), and the first response of an event stream — carries
//! `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`, and every error is
//! problem+json.

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use daemon::{agent, Daemon};
use runwisp::server::routes::{table, Access, Content};

const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello"

[services.web]
run = "sleep 60"
"#;

/// What a test looks at in an answer.
#[derive(Debug)]
struct Seen {
    what: String,
    status: u16,
    content_type: String,
    cache_control: String,
    nosniff: bool,
}

fn seen(what: &str, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Seen {
    // The body is never read: a stream's first response is all there is to see of it.
    let r = result.unwrap_or_else(|e| panic!("{what}: {e}"));
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    Seen {
        what: what.to_string(),
        status: r.status().as_u16(),
        content_type: header("content-type"),
        cache_control: header("cache-control"),
        nosniff: header("x-content-type-options") == "nosniff",
    }
}

/// The API's policy: never stored, never sniffed; an error is a problem.
fn assert_api_policy(a: &Seen) {
    let what = &a.what;
    assert_eq!(a.cache_control, "no-store", "{what}: {a:?}");
    assert!(a.nosniff, "{what}: {a:?}");
    if a.status >= 400 {
        assert_eq!(a.content_type, "application/problem+json", "{what}: {a:?}");
    }
}

fn bearer(d: &Daemon) -> String {
    format!("Bearer {}", d.token)
}

/// A route's path with its parameters filled in.
fn concrete(path: &str, run: &str) -> String {
    path.replace("{name}", "hello").replace("{id}", run)
}

#[test]
fn every_api_route_answers_no_store_and_nosniff() {
    let d = Daemon::start(CONFIG);
    let run = d.trigger("hello");
    d.wait_ended(&run);
    // The web UI's pages and files have their own policy (tests/web_ui.rs); the signed route
    // (webhooks) answers its 401 in the same dress as every other.
    let table: Vec<_> = table()
        .into_iter()
        .filter(|r| !matches!(r.content, Content::Page | Content::Asset))
        .collect();
    for route in &table {
        assert!(
            matches!(
                route.content,
                Content::Json | Content::Stream | Content::Text
            ),
            "{} {}",
            route.method,
            route.path
        );
    }
    let mut checked = 0;
    for route in &table {
        let path = concrete(route.path, &run);
        let url = d.url(&path);
        let what = format!("{} {path}", route.method);
        // With a token: whatever the route answers (a stream's first response included).
        let with_token = match route.method.as_str() {
            "GET" => seen(
                &what,
                agent()
                    .get(&url)
                    .header("Authorization", &bearer(&d))
                    .call(),
            ),
            _ if route.path == "/api/auth" => seen(
                &what,
                agent()
                    .post(&url)
                    .send_json(serde_json::json!({ "nonce": "00", "response": "00" })),
            ),
            _ => seen(
                &what,
                agent()
                    .post(&url)
                    .header("Authorization", &bearer(&d))
                    .send_empty(),
            ),
        };
        assert!(with_token.status < 500, "{with_token:?}");
        assert_api_policy(&with_token);
        if route.content == Content::Stream {
            assert_eq!(with_token.status, 200, "{with_token:?}");
            assert!(
                with_token.content_type.starts_with("text/event-stream"),
                "{with_token:?}"
            );
        }
        // Without a token: a protected route refuses with 401, in the same dress.
        if route.access == Access::Token {
            let anonymous = match route.method.as_str() {
                "GET" => seen(&what, agent().get(&url).call()),
                _ => seen(&what, agent().post(&url).send_empty()),
            };
            assert_eq!(anonymous.status, 401, "{anonymous:?}");
            assert_api_policy(&anonymous);
        }
        // A method the route does not take: 405 (or 401 first, without a token).
        let wrong = seen(
            &format!("PATCH {path}"),
            agent()
                .patch(&url)
                .header("Authorization", &bearer(&d))
                .send_empty(),
        );
        assert_eq!(wrong.status, 405, "{wrong:?}");
        assert_api_policy(&wrong);
        let wrong_anonymous = seen(&format!("PUT {path}"), agent().put(&url).send_empty());
        let expected = if route.access == Access::Token {
            401
        } else {
            405
        };
        assert_eq!(wrong_anonymous.status, expected, "{wrong_anonymous:?}");
        assert_api_policy(&wrong_anonymous);
        checked += 1;
    }
    assert_eq!(checked, table.len());
}

#[test]
fn unknown_paths_and_refusals_carry_the_same_headers() {
    let d = Daemon::start(CONFIG);
    // `/` is the web UI's overview now (tests/web_ui.rs); what it does not serve is 404.
    for path in [
        "/index.html",
        "/nope",
        "/api/nope",
        "/api/tasks/hello/nope",
        "/hooks",
        "/hooks/deploy/nope",
    ] {
        for a in [
            seen(path, agent().get(&d.url(path)).call()),
            seen(
                path,
                agent()
                    .get(&d.url(path))
                    .header("Authorization", &bearer(&d))
                    .call(),
            ),
            seen(path, agent().post(&d.url(path)).send_empty()),
        ] {
            assert_eq!(a.status, 404, "{a:?}");
            assert_api_policy(&a);
        }
    }
    // Bad input, unknown names and runs, conflicts: the handlers' errors.
    for (path, status) in [
        ("/api/tasks/no%20such", 400),
        ("/api/tasks/missing", 404),
        ("/api/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV", 404),
        ("/api/runs?limit=0", 400),
        ("/api/runs?colour=red", 400),
        ("/api/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/log/stream", 404),
    ] {
        let a = seen(
            path,
            agent()
                .get(&d.url(path))
                .header("Authorization", &bearer(&d))
                .call(),
        );
        assert_eq!(a.status, status, "{a:?}");
        assert_api_policy(&a);
    }
    let service = seen(
        "POST /api/tasks/web/run",
        agent()
            .post(&d.url("/api/tasks/web/run"))
            .header("Authorization", &bearer(&d))
            .send_empty(),
    );
    assert_eq!(service.status, 409, "{service:?}");
    assert_api_policy(&service);
    // A token that is not one, and a cookie on a request that changes something.
    let forged = seen(
        "GET /api/tasks",
        agent()
            .get(&d.url("/api/tasks"))
            .header("Authorization", "Bearer not.a.token")
            .call(),
    );
    assert_eq!(forged.status, 401, "{forged:?}");
    assert_api_policy(&forged);
    let cookie = seen(
        "POST /api/tasks/hello/run",
        agent()
            .post(&d.url("/api/tasks/hello/run"))
            .header("Cookie", &format!("runwisp_jwt={}", d.token))
            .send_empty(),
    );
    assert_eq!(cookie.status, 401, "{cookie:?}");
    assert_api_policy(&cookie);
    // A JSON route sent something else.
    let not_json = seen(
        "POST /api/auth",
        agent()
            .post(&d.url("/api/auth"))
            .header("Content-Type", "text/plain")
            .send("hello"),
    );
    assert_eq!(not_json.status, 415, "{not_json:?}");
    assert_api_policy(&not_json);
}

/// Answers given before any route is reached: a body too large (413, refused on its declared
/// length) and a head too large (431).
#[test]
fn answers_before_routing_carry_the_same_headers() {
    let d = Daemon::start(CONFIG);
    let too_big = d.raw(
        b"POST /api/tasks/hello/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n{",
    );
    let huge_head = d.raw(
        format!(
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(100 * 1024)
        )
        .as_bytes(),
    );
    for (reply, status) in [(too_big, "413"), (huge_head, "431")] {
        let head = reply.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with(&format!("http/1.1 {status}")),
            "{}",
            &head[..head.len().min(200)]
        );
        assert!(head.contains("\r\ncache-control: no-store"), "{head}");
        assert!(
            head.contains("\r\nx-content-type-options: nosniff"),
            "{head}"
        );
        assert!(
            head.contains("\r\ncontent-type: application/problem+json"),
            "{head}"
        );
    }
}
