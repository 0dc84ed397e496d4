//! The one route table: every route with its method, path, who may call it ([`Access`]), what
//! it answers ([`Content`]), and what it does; and what a scoped token may do there ([`Scope`],
//! checked by `scope.rs`). The kinds decide what stands in front of the
//! handler ([`Route::endpoint`]): the token check or the body limit of a signed request, the
//! request timeout, and the header policy of every answer (caching, nosniff, and for pages the
//! CSP and framing headers), errors included. The router and the OpenAPI document are both
//! built from the table, so they cannot drift. How errors are worded is `errors`' business.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::routing::{delete, get, post, MethodRouter};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::scope::{self, Gate};
use super::{
    auth, hooks, info, logs, notifications, openapi, runs, streams, tasks, tokens, ui, AppState,
};

pub use super::scope::Scope;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login, the challenge, the web UI's files).
    Public,
    /// A full login, or a local client on the daemon's Unix socket; a scoped token as far as
    /// the route's [`Scope`] allows. Checked in front of the handler (`scope.rs`).
    Token,
    /// A request signed over its body (`POST /hooks/{name}`): no token is asked for, the body
    /// is cut at [`SIGNED_BODY_MAX`] (413), and the handler verifies the signature before it
    /// looks at anything else.
    Signature,
    /// `GET /metrics`: like [`Access::Token`] (a full login, the local socket, or a token
    /// made with `--metrics`), or anyone when `[daemon] metrics_public = true` (for a scraper
    /// on loopback). A method the route does not take is 405 for anyone.
    Metrics,
}

/// The most a signed request's body may hold (`webhooks.md` §1).
pub const SIGNED_BODY_MAX: usize = 1 << 20;

/// What a route answers; decides its timeout and the headers of its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A JSON document, answered within the request timeout.
    Json,
    /// Server-sent events: no request timeout, they last as long as the client listens.
    Stream,
    /// Plain text (a raw log streamed from its file, the metrics), within the request timeout.
    Text,
    /// An HTML page of the web UI: a strict CSP, no framing, revalidated before each use.
    Page,
    /// A fingerprinted static file of the web UI (its name changes with its content): cached
    /// for a year.
    Asset,
}

/// The Content-Security-Policy of the web UI's pages: its own scripts, styles and API only.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers every answer carries, whatever its kind.
const EVERY_ANSWER: &[(&str, &str)] = &[("x-content-type-options", "nosniff")];
/// Headers every answer of a page carries, on top.
const PAGE_ANSWER: &[(&str, &str)] = &[
    ("content-security-policy", PAGE_CSP),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
];

impl Content {
    /// The `Cache-Control` of a successful answer: nothing the API says may be cached.
    pub fn cache_control(self) -> &'static str {
        match self {
            Content::Json | Content::Stream | Content::Text => "no-store",
            Content::Page => "no-cache",
            Content::Asset => "public, max-age=31536000, immutable",
        }
    }

    /// How long a request may take; `None` for streams.
    pub fn timeout(self) -> Option<Duration> {
        match self {
            Content::Stream => None,
            _ => Some(super::REQUEST_TIMEOUT),
        }
    }

    /// The header policy of an answer with `status`. An error is never cached, whatever the
    /// kind: a missing asset must not be remembered for a year.
    pub fn headers(self, status: StatusCode) -> Vec<(&'static str, &'static str)> {
        let failed = status.is_client_error() || status.is_server_error();
        let cache = if failed {
            "no-store"
        } else {
            self.cache_control()
        };
        let mut out = vec![("cache-control", cache)];
        out.extend_from_slice(EVERY_ANSWER);
        if self == Content::Page {
            out.extend_from_slice(PAGE_ANSWER);
        }
        out
    }

    /// Sets the header policy on `response`, replacing what the handler said.
    pub fn apply(self, response: &mut Response) {
        for (name, value) in self.headers(response.status()) {
            response.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
}

/// The header policy of answers no route gave (an unknown path, a body refused before
/// routing, a panic, oversized headers): the API's, where the answer does not say otherwise.
pub fn apply_unrouted(response: &mut Response) {
    for (name, value) in Content::Json.headers(response.status()) {
        let name = HeaderName::from_static(name);
        if !response.headers().contains_key(&name) {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
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
    /// What a scoped token may do here ([`Scope::Never`] unless the table says otherwise).
    pub scope: Scope,
}

impl Route {
    /// The route with what a scoped token may do on it.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Whether anyone may call it without a token (a signed route is public too: its
    /// signature is checked by its handler). `/metrics` is not: it is public only when the
    /// configuration opens it.
    pub fn is_public(&self) -> bool {
        matches!(self.access, Access::Public | Access::Signature)
    }

    /// The handler behind what the route's kinds put in front of it, innermost first: the
    /// request timeout, the access gate, and the header policy, which so covers every answer
    /// of the route (401, 405, 408 and 413 included).
    pub fn endpoint(self, state: &AppState) -> MethodRouter<AppState> {
        let content = self.content;
        let gate = Gate {
            app: state.clone(),
            scope: self.scope,
        };
        let mut handler = self.handler;
        if let Some(limit) = content.timeout() {
            handler = handler.layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                limit,
            ));
        }
        handler = match self.access {
            Access::Public => handler,
            Access::Token => handler.layer(middleware::from_fn_with_state(gate, scope::require)),
            Access::Signature => handler.layer(RequestBodyLimitLayer::new(SIGNED_BODY_MAX)),
            Access::Metrics if state.engine.config().daemon.metrics_public => handler,
            Access::Metrics => {
                handler.route_layer(middleware::from_fn_with_state(gate, scope::require))
            }
        };
        handler.layer(middleware::map_response(
            move |mut response: Response| async move {
                content.apply(&mut response);
                response
            },
        ))
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
        scope: Scope::Never,
    }
}

/// Every route the daemon serves.
pub fn table() -> Vec<Route> {
    let (g, p) = (Method::GET, Method::POST);
    let mut table = vec![
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
            "/metrics",
            Access::Metrics,
            Content::Text,
            "Metrics in the OpenMetrics text format, for Prometheus",
            get(super::metrics::scrape),
        )
        .scoped(Scope::Metrics),
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
        )
        .scoped(Scope::ReadTask),
        route(
            p.clone(),
            "/api/tasks/{name}/run",
            Access::Token,
            Content::Json,
            "Start a task now",
            post(tasks::run),
        )
        .scoped(Scope::TriggerTask),
        route(
            p.clone(),
            "/api/tasks/{name}/trigger",
            Access::Token,
            Content::Json,
            "Start a task now (alias of /run)",
            post(tasks::run),
        )
        .scoped(Scope::TriggerTask),
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
        )
        .scoped(Scope::ReadTask),
        route(
            g.clone(),
            "/api/runs",
            Access::Token,
            Content::Json,
            "Run history, newest first",
            get(runs::list),
        )
        .scoped(Scope::ReadRunsOfQueriedTask),
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
        )
        .scoped(Scope::ReadRun),
        route(
            g.clone(),
            "/api/runs/{id}/tree",
            Access::Token,
            Content::Json,
            "A pipeline run with its steps, parallel members and sub-pipelines",
            get(runs::tree),
        )
        .scoped(Scope::ReadRun),
        route(
            p.clone(),
            "/api/runs/{id}/resume",
            Access::Token,
            Content::Json,
            "Resume a pipeline run that failed, timed out, was interrupted or crashed",
            post(runs::resume),
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
        )
        .scoped(Scope::ReadRun),
        route(
            g.clone(),
            "/api/runs/{id}/log/raw",
            Access::Token,
            Content::Text,
            "A run's whole log as text",
            get(logs::raw),
        )
        .scoped(Scope::ReadRun),
        route(
            g.clone(),
            "/api/runs/{id}/log/stream",
            Access::Token,
            Content::Stream,
            "Server-sent events of a run's log, replayed then live",
            get(logs::stream::follow),
        )
        .scoped(Scope::ReadRun),
        route(
            g.clone(),
            "/api/notifications",
            Access::Token,
            Content::Json,
            "In-app notifications, newest first",
            get(notifications::list),
        ),
        route(
            g.clone(),
            "/api/notifications/unread-count",
            Access::Token,
            Content::Json,
            "How many in-app notifications are unread",
            get(notifications::unread_count),
        ),
        route(
            g,
            "/api/notifications/stream",
            Access::Token,
            Content::Stream,
            "Server-sent events of in-app notifications created, repeated or read",
            get(streams::notifications),
        ),
        route(
            p.clone(),
            "/api/notifications/read",
            Access::Token,
            Content::Json,
            "Mark every in-app notification read",
            post(notifications::mark_all_read),
        ),
        route(
            p.clone(),
            "/api/notifications/{id}/read",
            Access::Token,
            Content::Json,
            "Mark one in-app notification read",
            post(notifications::mark_read),
        ),
        route(
            p.clone(),
            "/hooks/{name}",
            Access::Signature,
            Content::Json,
            "Start a task from a signed webhook delivery (GitHub, GitLab or generic)",
            post(hooks::deliver),
        ),
        route(
            p.clone(),
            "/api/reload",
            Access::Token,
            Content::Json,
            "Read runwisp.toml again and put it in force",
            post(info::reload),
        ),
        route(
            Method::GET,
            "/api/tokens",
            Access::Token,
            Content::Json,
            "Scoped tokens, by name (never their text)",
            get(tokens::list),
        ),
        route(
            p.clone(),
            "/api/tokens",
            Access::Token,
            Content::Json,
            "Create a scoped token; its text is in this answer only",
            post(tokens::create),
        ),
        route(
            Method::DELETE,
            "/api/tokens/{name}",
            Access::Token,
            Content::Json,
            "Revoke a scoped token",
            delete(tokens::revoke),
        ),
        route(
            p,
            "/api/notifiers/{id}/test",
            Access::Token,
            Content::Json,
            "Send a test message through one notifier now",
            post(notifications::test),
        ),
    ];
    table.extend(ui_routes());
    table
}

/// The web UI (`interfaces.md` §2): every page answers the same shell (so deep links load
/// directly), and its files are fingerprinted assets.
fn ui_routes() -> Vec<Route> {
    let page = |path, summary| {
        route(
            Method::GET,
            path,
            Access::Public,
            Content::Page,
            summary,
            get(ui::page),
        )
    };
    vec![
        page("/", "The web UI: overview"),
        page("/login", "The web UI: log in"),
        page("/runs", "The web UI: runs, filtered by the query"),
        page("/runs/{id}", "The web UI: one run and its live log"),
        page("/tasks/{name}", "The web UI: one task or service"),
        route(
            Method::GET,
            "/ui/{version}/{file}",
            Access::Public,
            Content::Asset,
            "A file of the web UI (its URL changes with its content)",
            get(ui::asset),
        ),
    ]
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
