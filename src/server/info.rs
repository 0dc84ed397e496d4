//! `GET /health` (public), `GET /api/info` and `POST /api/reload`.

use crate::api::{Health, Info};
use crate::engine::reload::{OnDisk, ReloadError};

use super::errors::ApiError;
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
        config_path: config.path.display().to_string(),
        config_on_disk: match app.engine.config_on_disk().await {
            OnDisk::Same => "same",
            OnDisk::Differs => "differs",
            OnDisk::Unreadable(_) => "unreadable",
        }
        .into(),
        needs_restart: app.engine.needs_restart(),
    })
    .into_response()
}

/// `POST /api/reload`: re-reads `runwisp.toml`; 422 with every error when it is not valid
/// (nothing changes then).
pub async fn reload(State(app): State<AppState>) -> Result<Response, ApiError> {
    match app.engine.reload().await {
        Ok(done) => {
            let names = |list: &[crate::engine::model::TaskName]| {
                list.iter().map(ToString::to_string).collect()
            };
            Ok(axum::Json(crate::api::Reloaded {
                summary: done.to_string(),
                added: names(&done.added),
                changed: names(&done.changed),
                removed: names(&done.removed),
                settings: done.settings,
                needs_restart: done.needs_restart,
            })
            .into_response())
        }
        Err(ReloadError::Invalid(errors)) => Err(ApiError::invalid_config(&errors)),
        Err(ReloadError::ShuttingDown) => Err(ApiError::shutting_down()),
        Err(e @ ReloadError::Read { .. }) => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
        )),
    }
}
