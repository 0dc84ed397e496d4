//! The one route table: every route with its method, path, whether it is public, and what it
//! does. The router and the OpenAPI document are both built from it, so they cannot drift.

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};

use super::{auth, info, logs, openapi, runs, streams, tasks, AppState};

/// One route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub public: bool,
    pub summary: &'static str,
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    public: bool,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        public,
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
            true,
            "Liveness: version, fingerprint and uptime",
            get(info::health),
        ),
        route(
            g.clone(),
            "/api/auth/status",
            true,
            "Whether the request carries a valid token",
            get(auth::status),
        ),
        route(
            g.clone(),
            "/api/auth/challenge",
            true,
            "A single-use login nonce",
            get(auth::challenge),
        ),
        route(
            p.clone(),
            "/api/auth",
            true,
            "Log in with sha256(password + \":\" + nonce); returns a token",
            post(auth::login),
        ),
        route(
            g.clone(),
            "/api/openapi.json",
            true,
            "This document",
            get(openapi::document),
        ),
        route(
            g.clone(),
            "/api/info",
            false,
            "About this daemon",
            get(info::info),
        ),
        route(
            g.clone(),
            "/api/tasks",
            false,
            "Every task and service",
            get(tasks::list),
        ),
        route(
            g.clone(),
            "/api/tasks/{name}",
            false,
            "One task or service",
            get(tasks::one),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/run",
            false,
            "Start a task now",
            post(tasks::run),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/trigger",
            false,
            "Start a task now (alias of /run)",
            post(tasks::run),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/restart",
            false,
            "Replace every replica of a service",
            post(tasks::restart),
        ),
        route(
            p.clone(),
            "/api/tasks/{name}/stop",
            false,
            "Stop a service, or every active run of a task",
            post(tasks::stop),
        ),
        route(
            g.clone(),
            "/api/tasks/{name}/runs",
            false,
            "Run history of one task, newest first",
            get(runs::of_task),
        ),
        route(
            g.clone(),
            "/api/runs",
            false,
            "Run history, newest first",
            get(runs::list),
        ),
        route(
            g.clone(),
            "/api/runs/stream",
            false,
            "Server-sent events of run changes",
            get(streams::runs),
        ),
        route(
            g.clone(),
            "/api/runs/{id}",
            false,
            "One run",
            get(runs::one),
        ),
        route(
            p.clone(),
            "/api/runs/{id}/stop",
            false,
            "Stop a running or queued run",
            post(runs::stop),
        ),
        route(
            g.clone(),
            "/api/runs/{id}/log",
            false,
            "A window of a run's log as numbered lines",
            get(logs::lines),
        ),
        route(
            g.clone(),
            "/api/runs/{id}/log/raw",
            false,
            "A run's whole log as text",
            get(logs::raw),
        ),
        route(
            g,
            "/api/runs/{id}/log/stream",
            false,
            "Server-sent events of a run's log, replayed then live",
            get(logs::stream::follow),
        ),
    ]
}
