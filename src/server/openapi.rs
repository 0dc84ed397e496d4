//! The OpenAPI 3.1 document of every route, built from the route table (`GET
//! /api/openapi.json`, `runwisp openapi`).

use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::routes::{table, Access, Content, Route, Scope};
use crate::api;
use crate::engine::model::{EndReason, RunStatus, TriggeredBy};

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(schema: Value) -> Value {
    json!({ "description": "OK", "content": { "application/json": { "schema": schema } } })
}

/// A server-sent-event response. Before OpenAPI 3.2 (`itemSchema`) the schema of a
/// `text/event-stream` describes one event: its name, its id and its `data` text (JSON for every
/// event but `ping` and `rotated`).
fn sse(events: &[&str]) -> Value {
    json!({ "description": "Server-sent events", "content": { "text/event-stream": { "schema": {
        "type": "object",
        "properties": {
            "event": { "type": "string", "enum": events },
            "id": { "type": "string" },
            "data": { "type": "string" },
            "retry": { "type": "integer" } } } } } })
}

fn parameters(route: &Route) -> Vec<Value> {
    let mut out = Vec::new();
    if route.path == "/api/tokens/{name}" {
        out.push(json!({ "name": "name", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" } }));
    } else if route.path.contains("{name}") {
        out.push(json!({ "name": "name", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$" } }));
    }
    if route.path == "/api/runs/{id}" && route.method == axum::http::Method::GET {
        // One run by its whole id or a unique prefix or suffix of at least 4 characters.
        out.push(json!({ "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[0-9A-Za-z]{4,26}$" } }));
    } else if route.path == "/api/notifiers/{id}/test" {
        // A `[[notifier]]` id.
        out.push(json!({ "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$" } }));
    } else if route.path.contains("{id}") {
        out.push(json!({ "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$" } }));
    }
    if route.content == Content::Asset {
        // `/ui/{version}/{file}`: this build's version, and a file's name.
        for name in ["version", "file"] {
            out.push(json!({ "name": name, "in": "path", "required": true,
                "schema": { "type": "string" } }));
        }
    }
    let query = |name: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "schema": schema });
    if route.path == "/api/runs" || route.path == "/api/tasks/{name}/runs" {
        if route.path == "/api/runs" {
            out.push(query(
                "task",
                json!({ "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$" }),
            ));
        }
        out.push(query(
            "status",
            json!({ "type": "string", "enum": spellings(RunStatus::ALL, RunStatus::as_str) }),
        ));
        out.push(query(
            "end_reason",
            json!({ "type": "string", "enum": spellings(EndReason::ALL, EndReason::as_str) }),
        ));
        out.push(query(
            "triggered_by",
            json!({ "type": "string", "enum": spellings(TriggeredBy::ALL, TriggeredBy::as_str) }),
        ));
        out.push(query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
        ));
        out.push(query(
            "before",
            json!({ "type": "string", "pattern": "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$" }),
        ));
    }
    if route.path == "/api/notifications" {
        out.push(query("unread", json!({ "type": "boolean" })));
        out.push(query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
        ));
        out.push(query(
            "before",
            json!({ "type": "string", "pattern": "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$" }),
        ));
    }
    // Line numbers are 64-bit; a negative `from` counts from the end.
    let from = json!({ "type": "integer", "format": "int64",
        "minimum": i64::MIN, "maximum": i64::MAX });
    if route.path.ends_with("/log") {
        out.push(query("from", from.clone()));
        out.push(query(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 10000 }),
        ));
    }
    if route.path.ends_with("/log/stream") {
        out.push(query("from", from));
        out.push(json!({ "name": "Last-Event-ID", "in": "header", "required": false,
            "description": "The last line number received: the stream resumes after it (instead of `from`)",
            "schema": { "type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX } }));
    }
    out
}

fn responses(route: &Route) -> Value {
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let run = schema("RunObject");
    let mut r = Map::new();
    if matches!(route.content, Content::Page | Content::Asset) {
        return web_ui_responses(route);
    }
    let success = match (route.method.as_str(), route.path) {
        ("GET", "/api/notifications") => Some(ok(schema("NotificationPage"))),
        ("GET", "/api/notifications/unread-count") => Some(ok(schema("UnreadCount"))),
        ("GET", "/api/notifications/stream") => {
            Some(sse(&["notification", "read_all", "lagged", "ping"]))
        }
        ("POST", "/api/notifications/read") => Some(ok(schema("MarkedRead"))),
        ("GET", "/api/tokens") => Some(ok(schema("TokenList"))),
        ("POST", "/api/tokens") => {
            r.insert("201".into(), json!({ "description": "The token (its text in this answer only) and what was stored", "content": { "application/json": { "schema": schema("CreatedToken") } } }));
            r.insert(
                "400".into(),
                problem("A malformed name, no scope, an unknown task or an expiry out of range"),
            );
            r.insert("409".into(), problem("A token of this name exists"));
            r.insert("415".into(), problem("The body is not JSON"));
            None
        }
        ("DELETE", "/api/tokens/{name}") => {
            r.insert("400".into(), problem("A malformed token name"));
            r.insert("404".into(), problem("No such token"));
            Some(ok(schema("Revoked")))
        }
        ("POST", "/api/notifications/{id}/read") => Some(ok(schema("NotificationObject"))),
        ("POST", "/hooks/{name}") => {
            r.insert("202".into(), json!({ "description": "A run started (`run_id`), or the delivery was ignored (`ignored`: why)", "content": { "application/json": { "schema": { "oneOf": [schema("HookAccepted"), schema("HookIgnored")] } } } }));
            r.insert(
                "401".into(),
                problem("Invalid signature (also for an unknown name or a task without a webhook)"),
            );
            r.insert("413".into(), problem("The body is larger than 1 MiB"));
            r.insert(
                "429".into(),
                problem("Too many invalid signatures from this address"),
            );
            Some(
                json!({ "description": "A GitHub ping (`pong`), or a delivery id seen within 72 hours (`duplicate`)", "content": { "application/json": { "schema": { "oneOf": [schema("HookPong"), schema("HookDuplicate")] } } } }),
            )
        }
        ("POST", "/api/reload") => {
            r.insert(
                "422".into(),
                problem("The file has errors (each in `errors`, with line, column and key); nothing changed"),
            );
            Some(ok(schema("Reloaded")))
        }
        ("POST", "/api/notifiers/{id}/test") => {
            r.insert(
                "409".into(),
                problem("A test of this notifier is already under way"),
            );
            Some(ok(schema("NotifierTest")))
        }
        ("POST", p) if p.ends_with("/run") || p.ends_with("/trigger") => {
            r.insert("201".into(), json!({ "description": "The run, recorded", "content": { "application/json": { "schema": run } } }));
            r.insert(
                "403".into(),
                problem("API triggering disabled for this task"),
            );
            r.insert("409".into(), problem("A service: restart it instead"));
            None
        }
        ("POST", "/api/auth") => {
            r.insert(
                "401".into(),
                problem("Invalid password, or an invalid or expired challenge"),
            );
            r.insert(
                "400".into(),
                problem("Malformed JSON, or a body without nonce and response"),
            );
            r.insert("415".into(), problem("The body is not JSON"));
            r.insert("429".into(), problem("Too many failed logins"));
            Some(ok(schema("Token")))
        }
        ("GET", "/api/runs/{id}/tree") => {
            r.insert("400".into(), problem("Not a pipeline run"));
            r.insert(
                "409".into(),
                problem("A short id that matches several runs"),
            );
            Some(ok(schema("RunTree")))
        }
        ("POST", "/api/runs/{id}/resume") => {
            r.insert("201".into(), json!({ "description": "The new pipeline run, recorded", "content": { "application/json": { "schema": run } } }));
            r.insert("409".into(), problem("Not a pipeline run, a step, not ended, ended otherwise than failed, timeout, interrupted or crashed, already resumed, or no longer configured"));
            None
        }
        ("POST", "/api/runs/{id}/stop") => {
            r.insert("202".into(), ok(schema("Stopping")));
            r.insert("409".into(), problem("The run already ended"));
            None
        }
        ("POST", p) if p.ends_with("/restart") => {
            r.insert("400".into(), problem("A task: restart applies to services"));
            r.insert(
                "403".into(),
                problem("API triggering disabled for this service"),
            );
            Some(ok(schema("Restarted")))
        }
        ("GET", "/api/runs/{id}") => {
            r.insert(
                "409".into(),
                problem("A short id that matches several runs"),
            );
            Some(ok(run))
        }
        ("GET", "/api/tasks") => Some(ok(schema("TaskList"))),
        ("GET", "/health") => Some(ok(schema("Health"))),
        ("GET", "/api/info") => Some(ok(schema("Info"))),
        ("GET", "/api/auth/status") => Some(ok(schema("AuthStatus"))),
        ("GET", "/api/auth/challenge") => Some(ok(schema("Challenge"))),
        ("POST", p) if p.ends_with("/stop") => Some(ok(schema("StoppedRuns"))),
        ("GET", "/api/tasks/{name}") => Some(ok(schema("TaskObject"))),
        ("GET", p) if p.ends_with("/log") => Some(ok(schema("LogWindow"))),
        ("GET", p) if p.ends_with("/stream") => Some(sse(if p.ends_with("/log/stream") {
            &["line", "rotated", "done", "ping"]
        } else {
            &[
                "run.created",
                "run.started",
                "run.ended",
                "config.reloaded",
                "lagged",
                "ping",
            ]
        })),
        ("GET", "/metrics") => Some(
            json!({ "description": "OpenMetrics text (version 1.0.0, UTF-8), ending in `# EOF`", "content": { "application/openmetrics-text": { "schema": { "type": "string" } } } }),
        ),
        ("GET", p) if p.ends_with("/log/raw") => Some(
            json!({ "description": "The log as text", "content": { "text/plain": { "schema": { "type": "string" } } } }),
        ),
        ("GET", p) if p.ends_with("/runs") => Some(ok(schema("RunPage"))),
        _ => Some(ok(json!({ "type": "object" }))),
    };
    if let Some(success) = success {
        r.insert("200".into(), success);
    }
    if route.path.starts_with("/api/notifiers/") {
        r.insert(
            "400".into(),
            problem("A malformed notifier id, or `inapp` (which needs no test)"),
        );
        r.insert("404".into(), problem("No such notifier"));
    } else if route.path.starts_with("/api/notifications/{id}") {
        r.insert("400".into(), problem("A malformed notification id"));
        r.insert("404".into(), problem("No such notification"));
    } else if route.path.contains('{') && !route.path.starts_with("/api/tokens") {
        r.insert(
            "400".into(),
            problem("A malformed name, id or query parameter"),
        );
        r.insert("404".into(), problem("No such task, service or run"));
    } else if route.path.starts_with("/api/runs") || route.path == "/api/notifications" {
        r.insert("400".into(), problem("A malformed query parameter"));
    }
    if route.path.ends_with("/stream") {
        r.insert("503".into(), problem("Too many open streams"));
    }
    let scoped = "A scoped token whose scope does not cover this: `token \"NAME\" may not do this`";
    match route.access {
        Access::Public => {}
        Access::Token => {
            r.insert(
                "401".into(),
                problem("Missing or invalid token, or a scoped token expired or revoked"),
            );
            let forbidden = match r.get("403").and_then(|p| p["description"].as_str()) {
                Some(already) => format!("{already}; or {}", scoped.to_lowercase()),
                None => scoped.to_string(),
            };
            r.insert("403".into(), problem(&forbidden));
        }
        Access::Metrics => {
            r.insert(
                "401".into(),
                problem("Missing or invalid token (unless [daemon] metrics_public = true)"),
            );
            r.insert("403".into(), problem(scoped));
        }
        Access::Signature => {
            r.insert(
                "401".into(),
                problem("A missing or wrong signature, or an unknown name"),
            );
            r.insert("413".into(), problem("The body is larger than 1 MiB"));
        }
    }
    Value::Object(r)
}

/// What a page or a file of the web UI answers: HTML, or the file; a file of another build
/// (or none) is 404.
fn web_ui_responses(route: &Route) -> Value {
    let mut r = Map::new();
    if route.content == Content::Asset {
        r.insert(
            "200".into(),
            json!({ "description": "A static file of the web UI", "content": { "application/octet-stream": { "schema": { "type": "string" } } } }),
        );
        r.insert(
            "404".into(),
            problem("No such file in this version of the web UI"),
        );
    } else {
        r.insert(
            "200".into(),
            json!({ "description": "A page of the web UI", "content": { "text/html": { "schema": { "type": "string" } } } }),
        );
    }
    Value::Object(r)
}

/// The whole document.
pub fn build() -> Value {
    build_for(&table())
}

/// The document of `routes`.
fn build_for(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let mut op = Map::new();
        op.insert("summary".into(), json!(route.summary));
        op.insert(
            "operationId".into(),
            json!(format!("{} {}", route.method, route.path)),
        );
        op.insert("parameters".into(), Value::Array(parameters(route)));
        op.insert("responses".into(), responses(route));
        op.insert(
            "security".into(),
            // A signed route is public to the document: its handler checks the signature.
            if route.is_public() {
                json!([])
            } else if route.scope != Scope::Never {
                json!([{ "bearer": [] }, { "apiKey": [] }])
            } else {
                json!([{ "bearer": [] }])
            },
        );
        if route.path.ends_with("/run") || route.path.ends_with("/trigger") {
            op.insert("requestBody".into(), json!({ "required": false, "content": { "application/json": { "schema": {
                "type": "object", "additionalProperties": false,
                "properties": { "triggered_by": { "type": "string", "enum": spellings(TriggeredBy::INTERFACES, TriggeredBy::as_str) } } } } } }));
        }
        if route.path == "/api/tokens" && route.method == axum::http::Method::POST {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/CreateToken" } } } }),
            );
        }
        if route.path == "/api/auth" {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Login" } } } }),
            );
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(
                route.method.as_str().to_ascii_lowercase(),
                Value::Object(op),
            );
        }
    }
    let mut schemas = wire_schemas();
    schemas.insert(
        "Problem".into(),
        json!({ "type": "object", "required": ["title", "status", "detail"], "properties": {
            "title": { "type": "string" }, "status": { "type": "integer" }, "detail": { "type": "string" } } }),
    );
    json!({
        "openapi": "3.1.0",
        "info": { "title": "runwisp", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Trigger, watch and stop tasks and services of a runwisp daemon." },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer",
                    "description": "A login's JWT (POST /api/auth), or a scoped token `rw_…` on the routes it may call" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key",
                    "description": "A scoped token `rw_…`" }
            },
            "schemas": schemas,
        }
    })
}

/// The schemas of the wire types (`crate::api`), generated from the types themselves (JSON
/// Schema 2020-12, which OpenAPI 3.1 uses), so the document cannot drift from what is sent.
fn wire_schemas() -> Map<String, Value> {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    generator.subschema_for::<api::RunObject>();
    generator.subschema_for::<api::RunPage>();
    generator.subschema_for::<api::RunTree>();
    generator.subschema_for::<api::TaskObject>();
    generator.subschema_for::<api::TaskList>();
    generator.subschema_for::<api::LogWindow>();
    generator.subschema_for::<api::LogLine>();
    generator.subschema_for::<api::Health>();
    generator.subschema_for::<api::Info>();
    generator.subschema_for::<api::AuthStatus>();
    generator.subschema_for::<api::Challenge>();
    generator.subschema_for::<api::Login>();
    generator.subschema_for::<api::Token>();
    generator.subschema_for::<api::Stopping>();
    generator.subschema_for::<api::Restarted>();
    generator.subschema_for::<api::StoppedRuns>();
    generator.subschema_for::<api::NotificationObject>();
    generator.subschema_for::<api::NotificationPage>();
    generator.subschema_for::<api::UnreadCount>();
    generator.subschema_for::<api::MarkedRead>();
    generator.subschema_for::<api::NotifierTest>();
    generator.subschema_for::<api::Reloaded>();
    generator.subschema_for::<api::HookPong>();
    generator.subschema_for::<api::HookIgnored>();
    generator.subschema_for::<api::HookDuplicate>();
    generator.subschema_for::<api::HookAccepted>();
    generator.subschema_for::<api::ConfigProblem>();
    generator.subschema_for::<api::CreateToken>();
    generator.subschema_for::<api::CreatedToken>();
    generator.subschema_for::<api::TokenList>();
    generator.subschema_for::<api::Revoked>();
    generator.take_definitions(true)
}

/// How an enum of the run object is spelled on the wire.
fn spellings<T: Copy>(all: &[T], spelling: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| spelling(*v)).collect()
}

/// The document never changes while the daemon runs: built and serialized once.
static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| build().to_string());

pub async fn document() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_streams_describe_one_event_and_login_documents_400() {
        let doc = build();
        let events = |path: &str| {
            doc["paths"][path]["get"]["responses"]["200"]["content"]["text/event-stream"]["schema"]
                ["properties"]["event"]["enum"]
                .clone()
        };
        assert_eq!(
            events("/api/runs/{id}/log/stream"),
            json!(["line", "rotated", "done", "ping"])
        );
        assert_eq!(
            events("/api/runs/stream"),
            json!([
                "run.created",
                "run.started",
                "run.ended",
                "config.reloaded",
                "lagged",
                "ping"
            ])
        );
        assert_eq!(
            events("/api/notifications/stream"),
            json!(["notification", "read_all", "lagged", "ping"])
        );
        let test = &doc["paths"]["/api/notifiers/{id}/test"]["post"];
        for status in ["200", "400", "404", "409", "401"] {
            assert!(
                test["responses"].get(status).is_some(),
                "test lacks {status}"
            );
        }
        assert_eq!(
            test["parameters"][0]["schema"]["pattern"], "^[A-Za-z0-9_-]{1,100}$",
            "a notifier id is not a ULID"
        );
        let login = &doc["paths"]["/api/auth"]["post"]["responses"];
        for status in ["200", "400", "401", "415", "429"] {
            assert!(login.get(status).is_some(), "POST /api/auth lacks {status}");
        }
        let params = doc["paths"]["/api/runs/{id}/log/stream"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone();
        assert!(params
            .iter()
            .any(|p| p["name"] == "Last-Event-ID" && p["in"] == "header"));
        assert!(params
            .iter()
            .any(|p| p["name"] == "from" && p["schema"]["maximum"] == json!(i64::MAX)));
    }

    /// Routes of the kinds the table has no route of yet are documented by their kind: a
    /// signed route asks for no token but documents 401 and 413; a page answers HTML.
    #[test]
    fn signed_routes_and_pages_are_documented_by_their_kind() {
        use crate::server::routes::{Access, Content};
        let route = |method, path, access, content| Route {
            method,
            path,
            access,
            content,
            summary: "test",
            handler: axum::routing::any(|| async {}),
            scope: Scope::Never,
        };
        let doc = build_for(&[
            route(
                axum::http::Method::POST,
                "/hooks/{name}",
                Access::Signature,
                Content::Json,
            ),
            route(axum::http::Method::GET, "/", Access::Public, Content::Page),
        ]);
        let hook = &doc["paths"]["/hooks/{name}"]["post"];
        assert_eq!(hook["security"], json!([]));
        for status in ["401", "413"] {
            assert!(hook["responses"].get(status).is_some(), "{status}");
        }
        let page = &doc["paths"]["/"]["get"];
        assert_eq!(page["security"], json!([]));
        assert!(page["responses"]["200"]["content"]
            .get("text/html")
            .is_some());
        assert!(page["responses"].get("401").is_none());
    }
}
