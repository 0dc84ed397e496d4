//! `GET /health` (public) and `GET /api/info`.

use crate::api::{Health, Info};
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::engine::model::rfc3339;

fn uptime_s(app: &AppState) -> i64 {
    use crate::engine::clock::{Clock, SystemClock};
    (SystemClock.now().as_second() - app.engine.started_at().as_second()).max(0)
}

/// This host's name (empty when it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

pub async fn health(State(app): State<AppState>) -> Response {
    axum::Json(Health {
        status: "healthy".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        fingerprint: app.engine.fingerprint().to_string(),
        uptime_s: uptime_s(&app),
    })
    .into_response()
}

pub async fn info(State(app): State<AppState>) -> Response {
    let config = app.engine.config();
    let hostname = hostname();
    axum::Json(Info {
        version: env!("CARGO_PKG_VERSION").into(),
        fingerprint: app.engine.fingerprint().to_string(),
        hostname,
        timezone: config.scheduler.timezone_name.clone(),
        timezone_source: if config.scheduler.from_config {
            "config"
        } else {
            "host"
        }
        .into(),
        listen: app.listen.clone(),
        started_at: rfc3339(app.engine.started_at().as_millisecond()),
        uptime_s: uptime_s(&app),
        tasks: config.tasks.len(),
        services: config.services.len(),
        active_runs: app.engine.active_runs().len(),
    })
    .into_response()
}
