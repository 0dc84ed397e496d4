//! The daemon, login and action answers on the wire (`/health`, `/api/info`, `/api/auth…`,
//! the answers of stop and restart).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// Always `healthy` when the daemon answers.
    pub status: String,
    pub version: String,
    pub fingerprint: String,
    pub uptime_s: i64,
}

/// `GET /api/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Info {
    pub version: String,
    pub fingerprint: String,
    pub hostname: String,
    pub timezone: String,
    /// `config` or `host`: where the scheduler's zone came from.
    pub timezone_source: String,
    pub listen: String,
    pub started_at: String,
    pub uptime_s: i64,
    pub tasks: usize,
    pub services: usize,
    pub active_runs: usize,
}

/// `GET /api/auth/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuthStatus {
    pub auth_required: bool,
    pub authenticated: bool,
}

/// `GET /api/auth/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Challenge {
    pub nonce: String,
}

/// `POST /api/auth`: `{"nonce", "response"}` in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Login {
    pub nonce: String,
    pub response: String,
}

/// `POST /api/auth`: the token out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    pub token: String,
}

/// `POST /api/runs/{id}/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stopping {
    pub stopping: String,
}

/// `POST /api/tasks/{name}/restart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Restarted {
    pub restarted: String,
}

/// `POST /api/tasks/{name}/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StoppedRuns {
    pub stopped_runs: usize,
}
