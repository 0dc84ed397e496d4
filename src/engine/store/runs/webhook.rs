//! The webhook delivery recorded with the run it started (`webhooks.md` §1): written in the
//! same statement batch as the run's row, refused when its id was seen for the task within the
//! replay window, read for the run's details, and forgotten once the window has passed and
//! its run is gone.

use rusqlite::{params, Connection, OptionalExtension};

use super::NewRun;
use crate::engine::model::RunId;
use crate::engine::store::{Result, Store, StoreError};

/// How long a webhook delivery id is remembered: a replay within it starts no run.
pub const DELIVERY_MEMORY_MS: i64 = 72 * 3600 * 1000;

/// What a webhook delivery said, as recorded with the run it started (each value already
/// checked against its strict pattern; absent when it did not match).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookDelivery {
    pub provider: String,
    pub event: Option<String>,
    pub delivery: Option<String>,
    pub git_ref: Option<String>,
    pub branch: Option<String>,
    pub sha: Option<String>,
    pub repo: Option<String>,
}

/// Records the delivery that starts run `new`; a delivery id seen for the task within
/// [`DELIVERY_MEMORY_MS`] is refused as [`StoreError::DuplicateDelivery`].
pub(in crate::engine::store) fn insert_delivery(
    conn: &Connection,
    new: &NewRun,
    hook: &WebhookDelivery,
) -> Result<()> {
    let task = new.task_name.as_str();
    if let Some(delivery) = &hook.delivery {
        conn.prepare_cached(
            "UPDATE webhook_deliveries SET delivery = NULL \
             WHERE task_name = ?1 AND delivery = ?2 AND received_at < ?3",
        )
        .and_then(|mut s| s.execute(params![task, delivery, new.created_at - DELIVERY_MEMORY_MS]))
        .map_err(StoreError::sql("forgetting an old webhook delivery"))?;
    }
    let result = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (run_id, task_name, delivery, provider, event, \
             git_ref, branch, sha, repo, received_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut s| {
            s.execute(params![
                new.id.to_string(),
                task,
                hook.delivery,
                hook.provider,
                hook.event,
                hook.git_ref,
                hook.branch,
                hook.sha,
                hook.repo,
                new.created_at,
            ])
        });
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            Err(StoreError::DuplicateDelivery {
                task: task.to_string(),
                delivery: hook.delivery.clone().unwrap_or_default(),
            })
        }
        Err(e) => Err(StoreError::sql("recording a webhook delivery")(e)),
    }
}

impl Store {
    /// Forgets the deliveries older than the replay window whose run is gone (a delivery row
    /// outlives its run until then, so retention cannot reopen the window); returns how many.
    pub fn prune_deliveries(&self, now: i64) -> Result<usize> {
        self.conn()
            .execute(
                "DELETE FROM webhook_deliveries WHERE received_at < ?1 \
                 AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = webhook_deliveries.run_id)",
                [now - DELIVERY_MEMORY_MS],
            )
            .map_err(StoreError::sql("forgetting old webhook deliveries"))
    }

    /// The webhook delivery that started run `id`, if one did.
    pub fn webhook_of(&self, id: &RunId) -> Result<Option<WebhookDelivery>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT provider, event, delivery, git_ref, branch, sha, repo \
                 FROM webhook_deliveries WHERE run_id = ?1",
            )
            .map_err(StoreError::sql("reading a webhook delivery"))?;
        stmt.query_row([id.to_string()], |r| {
            Ok(WebhookDelivery {
                provider: r.get(0)?,
                event: r.get(1)?,
                delivery: r.get(2)?,
                git_ref: r.get(3)?,
                branch: r.get(4)?,
                sha: r.get(5)?,
                repo: r.get(6)?,
            })
        })
        .optional()
        .map_err(StoreError::sql("reading a webhook delivery"))
    }

    /// The run a delivery id of `task` started within [`DELIVERY_MEMORY_MS`] of `now`.
    pub fn run_of_delivery(&self, task: &str, delivery: &str, now: i64) -> Result<Option<RunId>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT run_id FROM webhook_deliveries \
                 WHERE task_name = ?1 AND delivery = ?2 AND received_at >= ?3",
            )
            .map_err(StoreError::sql("reading a webhook delivery"))?;
        let found: Option<String> = stmt
            .query_row(params![task, delivery, now - DELIVERY_MEMORY_MS], |r| {
                r.get(0)
            })
            .optional()
            .map_err(StoreError::sql("reading a webhook delivery"))?;
        Ok(found.and_then(|id| RunId::parse(&id).ok()))
    }
}
