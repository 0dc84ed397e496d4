//! The route table's declarations, and what its kinds put in front of a handler, on test-only
//! routes served by the real router (a booted engine behind it, no listener).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request};
use axum::routing::{get, post};
use tower::ServiceExt;

use super::*;
use crate::engine::clock::SystemClock;
use crate::engine::config::load_str;
use crate::engine::datadir::DataDir;
use crate::engine::Engine;
use crate::server::errors::ApiError;

/// The spec's public routes are exactly the public ones, what streams is declared a stream (so
/// it gets no request timeout), every route of the API answers `no-store`, and the web UI's
/// pages and files are pages and assets outside `/api`, and the one signed route is the
/// webhooks' (`/hooks/{name}`), public but verified by its handler.
#[test]
fn the_table_declares_access_and_content() {
    let table = table();
    let mut public: Vec<String> = table
        .iter()
        .filter(|r| r.is_public())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /",
            "GET /api/auth/challenge",
            "GET /api/auth/status",
            "GET /api/openapi.json",
            "GET /health",
            "GET /login",
            "GET /runs",
            "GET /runs/{id}",
            "GET /tasks/{name}",
            "GET /ui/{version}/{file}",
            "POST /api/auth",
            "POST /hooks/{name}",
        ]
    );
    for route in &table {
        let web_ui = matches!(route.content, Content::Page | Content::Asset);
        let hooks = route.path.starts_with("/hooks/");
        assert_eq!(route.access == Access::Signature, hooks, "{}", route.path);
        assert_eq!(
            web_ui,
            !route.path.starts_with("/api")
                && !hooks
                && route.path != "/health"
                && route.path != "/metrics",
            "{}",
            route.path
        );
        if web_ui {
            assert_eq!(route.access, Access::Public, "{}", route.path);
            assert_eq!(
                route.content == Content::Asset,
                route.path.starts_with("/ui/"),
                "{}",
                route.path
            );
            continue;
        }
        let streams = route.path.ends_with("/stream");
        assert_eq!(route.content == Content::Stream, streams, "{}", route.path);
        assert_eq!(route.content.timeout().is_none(), streams, "{}", route.path);
        assert_eq!(route.content.cache_control(), "no-store", "{}", route.path);
    }
}

/// The header policy is a function of the kind and of whether the answer failed.
#[test]
fn the_header_policy_follows_the_kind() {
    let ok = StatusCode::OK;
    let json = Content::Json.headers(ok);
    assert_eq!(
        json,
        [
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff")
        ]
    );
    assert_eq!(Content::Stream.headers(ok), json);
    assert_eq!(Content::Text.headers(ok), json);
    assert!(Content::Asset
        .headers(ok)
        .contains(&("cache-control", "public, max-age=31536000, immutable")));
    let page = Content::Page.headers(ok);
    for expected in [
        ("cache-control", "no-cache"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", PAGE_CSP),
    ] {
        assert!(page.contains(&expected), "{expected:?} in {page:?}");
    }
    assert!(PAGE_CSP.contains("frame-ancestors 'none'") && !PAGE_CSP.contains("unsafe"));
    // An error is never cached, whatever the kind; a page's error keeps its CSP.
    for content in [
        Content::Json,
        Content::Page,
        Content::Asset,
        Content::Stream,
    ] {
        let failed = content.headers(StatusCode::NOT_FOUND);
        assert!(
            failed.contains(&("cache-control", "no-store")),
            "{content:?}"
        );
        assert!(failed.contains(&("x-content-type-options", "nosniff")));
    }
    assert!(Content::Page
        .headers(StatusCode::INTERNAL_SERVER_ERROR)
        .contains(&("x-frame-options", "DENY")));
}

const SECRET: &str = "It's a Secret to Everybody";

/// The handler of a test-only signed route: it checks the signature itself (here a header
/// equal to the secret), before anything else.
async fn signed(headers: HeaderMap, body: axum::body::Bytes) -> Result<String, ApiError> {
    if headers.get("x-test-signature").map(|v| v.as_bytes()) != Some(SECRET.as_bytes()) {
        return Err(ApiError::unauthorized("invalid signature"));
    }
    Ok(format!("{} bytes", body.len()))
}

async fn boot(dir: &std::path::Path) -> Engine {
    let path = dir.join("runwisp.toml");
    std::fs::write(&path, "").unwrap();
    let config = load_str("runwisp.toml", "", &path).unwrap();
    let data = DataDir::open(&dir.join("data")).unwrap();
    let lock = data.lock_exclusive().unwrap();
    Engine::boot(config, data, lock, Arc::new(SystemClock))
        .await
        .unwrap()
}

fn test_table() -> Vec<Route> {
    vec![
        route(
            Method::POST,
            "/test/hooks/{name}",
            Access::Signature,
            Content::Json,
            "A signed route",
            post(signed),
        ),
        route(
            Method::GET,
            "/test/token",
            Access::Token,
            Content::Json,
            "A token route",
            get(|| async { "secret things" }),
        ),
        route(
            Method::GET,
            "/test/page",
            Access::Public,
            Content::Page,
            "A page",
            get(|| async { axum::response::Html("<p>hello</p>") }),
        ),
        route(
            Method::GET,
            "/test/assets/{file}",
            Access::Public,
            Content::Asset,
            "A fingerprinted asset",
            get(
                |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    match file.as_str() {
                        "app.0123abcd.js" => Ok("export {};"),
                        _ => Err(ApiError::not_found("there is no such file")),
                    }
                },
            ),
        ),
        route(
            Method::GET,
            "/test/panics",
            Access::Public,
            Content::Page,
            "A handler that panics",
            get(|| async {
                if true {
                    panic!("a handler bug");
                }
                "never"
            }),
        ),
    ]
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

async fn call(router: &axum::Router, request: Request<Body>) -> Answer {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            4000,
        ))));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn header_of<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or_default())
}

fn signed_post(body: Vec<u8>, signature: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/test/hooks/deploy");
    if let Some(s) = signature {
        request = request.header("x-test-signature", s);
    }
    request
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn the_kinds_gate_and_dress_every_answer_of_a_route() {
    let dir = tempfile::tempdir().unwrap();
    let engine = boot(dir.path()).await;
    let state = AppState {
        engine: engine.clone(),
        streams: crate::server::streams::Slots::default(),
        tests: Default::default(),
        listen: "127.0.0.1:0".into(),
        hooks: Default::default(),
    };
    let router = crate::server::router(state, test_table());

    // A signed route: no token is asked for, the handler checks the signature.
    let ok = call(&router, signed_post(b"{}".to_vec(), Some(SECRET))).await;
    assert_eq!((ok.status, ok.text.as_str()), (200, "2 bytes"));
    assert_eq!(header_of(&ok, "cache-control"), "no-store");
    assert_eq!(header_of(&ok, "x-content-type-options"), "nosniff");
    let unsigned = call(&router, signed_post(b"{}".to_vec(), None)).await;
    assert_eq!(unsigned.status, 401);
    assert!(
        unsigned.text.contains("invalid signature"),
        "{}",
        unsigned.text
    );
    // Its body is cut at the limit, whatever the signature says.
    let big = call(
        &router,
        signed_post(vec![b'x'; SIGNED_BODY_MAX + 1], Some(SECRET)),
    )
    .await;
    assert_eq!(big.status, 413, "{}", big.text);
    assert_eq!(header_of(&big, "content-type"), "application/problem+json");
    assert_eq!(header_of(&big, "cache-control"), "no-store");
    assert_eq!(header_of(&big, "x-content-type-options"), "nosniff");
    let exact = call(
        &router,
        signed_post(vec![b'x'; SIGNED_BODY_MAX], Some(SECRET)),
    )
    .await;
    assert_eq!(exact.status, 200, "{}", exact.text);

    // A token route refuses without a token, in front of the handler, with the API's headers.
    let refused = call(
        &router,
        Request::get("/test/token").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert!(!refused.text.contains("secret things"));
    assert_eq!(header_of(&refused, "cache-control"), "no-store");
    assert_eq!(header_of(&refused, "x-content-type-options"), "nosniff");
    let token = engine.auth().issue().unwrap();
    let allowed = call(
        &router,
        Request::get("/test/token")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (allowed.status, allowed.text.as_str()),
        (200, "secret things")
    );

    // A page: CSP, no framing, revalidated; a wrong method on it keeps the page's headers
    // but is not cached.
    let page = call(
        &router,
        Request::get("/test/page").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(header_of(&page, "content-security-policy"), PAGE_CSP);
    assert_eq!(header_of(&page, "x-frame-options"), "DENY");
    assert_eq!(header_of(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header_of(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(&page, "cache-control"), "no-cache");
    let wrong = call(
        &router,
        Request::post("/test/page").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(header_of(&wrong, "allow"), "GET,HEAD");
    assert_eq!(header_of(&wrong, "x-frame-options"), "DENY");
    assert_eq!(header_of(&wrong, "cache-control"), "no-store");

    // An asset is cached for a year; a missing one is not cached at all.
    let asset = call(
        &router,
        Request::get("/test/assets/app.0123abcd.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(asset.status, 200);
    assert_eq!(
        header_of(&asset, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header_of(&asset, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(&asset, "x-frame-options"), "");
    let missing = call(
        &router,
        Request::get("/test/assets/app.ffffffff.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(header_of(&missing, "cache-control"), "no-store");

    // A panic is caught, logged and answered 500 without its message, never cached.
    let panicked = call(
        &router,
        Request::get("/test/panics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(panicked.status, 500);
    assert!(!panicked.text.contains("handler bug"), "{}", panicked.text);
    assert_eq!(
        header_of(&panicked, "content-type"),
        "application/problem+json"
    );
    assert_eq!(header_of(&panicked, "cache-control"), "no-store");
    assert_eq!(header_of(&panicked, "x-content-type-options"), "nosniff");

    // A path no route serves: the API's policy.
    let unknown = call(
        &router,
        Request::get("/nowhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text.contains("no such route"), "{}", unknown.text);
    assert_eq!(header_of(&unknown, "cache-control"), "no-store");
    assert_eq!(header_of(&unknown, "x-content-type-options"), "nosniff");
    engine.shutdown().await;
}
