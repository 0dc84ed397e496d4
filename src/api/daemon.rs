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
    /// The configuration file the daemon runs (empty from a daemon older than reload).
    #[serde(default)]
    pub config_path: String,
    /// `same`, `differs` (edited since it was loaded: `runwisp reload` applies it) or
    /// `unreadable`.
    #[serde(default)]
    pub config_on_disk: String,
    /// Settings changed in the file that keep their old value until the daemon restarts.
    #[serde(default)]
    pub needs_restart: Vec<String>,
}

impl Info {
    /// One line when what the daemon runs is not what its file says (edited since it was loaded,
    /// unreadable, or settings that wait for a restart).
    pub fn config_note(&self) -> Option<String> {
        let info = self;
        let file = &info.config_path;
        let mut notes = Vec::new();
        match info.config_on_disk.as_str() {
            "differs" => notes.push(format!(
                "{file} differs from what the daemon runs (edited since it was loaded); `runwisp reload` applies it"
            )),
            "unreadable" => notes.push(format!("{file} cannot be read now; the daemon keeps what it loaded")),
            _ => {}
        }
        if !info.needs_restart.is_empty() {
            notes.push(format!(
                "{} changed in the file and {} a restart",
                info.needs_restart.join(", "),
                if info.needs_restart.len() == 1 {
                    "needs"
                } else {
                    "need"
                }
            ));
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

/// `POST /api/reload`: what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reloaded {
    /// The one line the log shows: `reloaded: 1 added (a), 1 changed (b); …`.
    pub summary: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Other parts of the file that changed and are in force now (`[storage]`, …).
    pub settings: Vec<String>,
    /// Settings that changed in the file but keep their old value until a restart.
    pub needs_restart: Vec<String>,
}

/// One error of a configuration file (a 422 answer to `POST /api/reload` lists them all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigProblem {
    pub line: usize,
    pub column: usize,
    /// Dotted path of the key (`tasks.backup.retry_delay`); empty for the file as a whole.
    pub key: String,
    pub message: String,
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
