//! The one route table: every route with its method, path, who may call it ([`Access`]), what
//! it answers ([`Content`], which decides its timeout and caching headers), and what it does.
//! The router and the OpenAPI document are both built from it, so they cannot drift.

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};

use super::{auth, info, logs, openapi, runs, streams, tasks, AppState};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login, the challenge).
    Public,
    /// A valid token, or a local client on the daemon's Unix socket.
    Token,
}

/// What a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A JSON document, answered within the request timeout.
    Json,
    /// Server-sent events: no request timeout, they last as long as the client listens.
    Stream,
    /// Plain text streamed from a file (a raw log), within the request timeout.
    Text,
}

impl Content {
    /// The `Cache-Control` of its answers: nothing the API says may be cached.
    pub fn cache_control(self) -> &'static str {
        match self {
            Content::Json | Content::Stream | Content::Text => "no-store",
        }
    }
}

/// One route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub content: Content,
    pub summary: &'static str,
    pub handler: MethodRouter<AppState>,
}

impl Route {
    pub fn is_public(&self) -> bool {
        self.access == Access::Public
    }
}

fn route(
    method: Method,
    path: &'static str,
    access: Access,
    content: Content,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        content,
        summary,
        handler,
    }
}

/// Every route the daemon serves.
pub fn table() -> Vec<Route> {
    let (g, p) = (Method::GET, Method::POST);
    vec![
        route(
            g.clone(),
            "/health",
            Access::Public,
            Content::Json,
            "Liveness: version, fingerprint and uptime",
            get(info::health),
        ),
        route(
            g.clone(),
            "/api/auth/status",
            Access::Public,
            Content::Json,
            "Whether the request carries a valid token",
            get(auth::status),
        ),
        route(
            g.clone(),
            "/api/auth/challenge",
            Access::Public,
            Content::Json,
            "A single-use login nonce",
            get(auth::challenge),
        ),
        route(
            p.clone(),
            "/api/auth",
            Access::Public,
            Content::Json,
            "Log in with sha256(password + \":\" + nonce); returns a token",
            post(auth::login),
        ),
        route(
            g.clone(),
            "/api/openapi.json",
            Access::Public,
            Content::Json,
            "This document",
            get(openapi::document),
        ),
        route(
            g.clone(),
            "/api/info",
            Access::Token,
            Content::Json,
            "About this daemon",
            get(info::info),
        ),
        route(
            g.clone(),
            "/api/tasks",
            Access::Token,
            Content::Json,
            "Every task and service",
            get(tasks::list),
        ),
        route(
            g.clone(),
            "/api/tasks/{name}",
            Access::Token,
            Content::Json,
            "One task or service",
            get(tasks::one),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/run",
            Access::Token,
            Content::Json,
            "Start a task now",
            post(tasks::run),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/trigger",
            Access::Token,
            Content::Json,
            "Start a task now (alias of /run)",
            post(tasks::run),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/restart",
            Access::Token,
            Content::Json,
            "Replace every replica of a service",
            post(tasks::restart),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/stop",
            Access::Token,
            Content::Json,
            "Stop a service, or every active run of a task",
            post(tasks::stop),
        ),
        route(
            g.clone(),
            "/api/tasks/{name}/runs",
            Access::Token,
            Content::Json,
            "Run history of one task, newest first",
            get(runs::of_task),
        ),
        route(
            g.clone(),
            "/api/runs",
            Access::Token,
            Content::Json,
            "Run history, newest first",
            get(runs::list),
        ),
        route(
            g.clone(),
            "/api/runs/stream",
            Access::Token,
            Content::Stream,
            "Server-sent events of run changes",
            get(streams::runs),
        ),
        route(
            g.clone(),
            "/api/runs/{id}",
            Access::Token,
            Content::Json,
            "One run",
            get(runs::one),
        ),
        route(
            p.clone(),
            "/api/runs/{id}/stop",
            Access::Token,
            Content::Json,
            "Stop a running or queued run",
            post(runs::stop),
        ),
        route(
            g.clone(),
            "/api/runs/{id}/log",
            Access::Token,
            Content::Json,
            "A window of a run's log as numbered lines",
            get(logs::lines),
        ),
        route(
            g.clone(),
            "/api/runs/{id}/log/raw",
            Access::Token,
            Content::Text,
            "A run's whole log as text",
            get(logs::raw),
        ),
        route(
            g,
            "/api/runs/{id}/log/stream",
            Access::Token,
            Content::Stream,
            "Server-sent events of a run's log, replayed then live",
            get(logs::stream::follow),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table says what each route is; the spec's public routes are exactly the public
    /// ones, and what streams is declared a stream (so it gets no request timeout).
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
                "GET /api/auth/challenge",
                "GET /api/auth/status",
                "GET /api/openapi.json",
                "GET /health",
                "POST /api/auth",
            ]
        );
        for route in &table {
            let streams = route.path.ends_with("/stream");
            assert_eq!(route.content == Content::Stream, streams, "{}", route.path);
            assert_eq!(route.content.cache_control(), "no-store", "{}", route.path);
        }
    }
}
