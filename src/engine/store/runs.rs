//! Queries on the `runs` table: create a run, move it to running, end it, and read history
//! (finding a run by a prefix or suffix of its id is in `runs/lookup.rs`, the webhook delivery
//! recorded with a run in `runs/webhook.rs`, what a new run is in `runs/new_run.rs`).

mod lookup;
mod new_run;
mod pipeline;
mod webhook;

pub use new_run::NewRun;

pub(super) use webhook::insert_delivery;
pub use webhook::{WebhookDelivery, DELIVERY_MEMORY_MS};

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::group::{Pending, Write};
use super::{cached_row, Result, Store, StoreError};
use crate::engine::model::{EndReason, Run, RunId, RunKind, RunStatus, TaskName, TriggeredBy};

/// The change that moves run `id` to `running`, its process `pid` started at `start_at`.
fn start_write(id: &RunId, start_at: i64, pid: i32, pid_start_time: Option<u64>) -> Write {
    Write::MarkRunning {
        id: *id,
        start_at,
        pid: Some(pid),
        pid_start_time,
    }
}

/// The columns a [`Run`] is read from.
pub(super) const COLUMNS: &str =
    "id, task_name, kind, status, end_reason, exit_code, triggered_by, \
     scheduled_for, created_at, start_at, end_at, retry_attempt, retry_of_run_id, \
     replica_index, message, pid, pgid, pid_start_time, parent_run_id, step, resume_of_run_id";

/// [`COLUMNS`] for a file older than `0003_runs_open` read unmigrated (by a read-only reader
/// under an older daemon): the columns it lacks read as NULL.
pub(super) const COLUMNS_BEFORE_V3: &str = "id, task_name, kind, status, end_reason, exit_code, \
     triggered_by, scheduled_for, created_at, start_at, end_at, retry_attempt, retry_of_run_id, \
     replica_index, message, pid, pgid, pid_start_time, NULL, NULL, NULL";

fn parse_col<T: std::str::FromStr<Err = String>>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

/// How many columns [`COLUMNS`] selects: a query may select more after them.
pub(super) const COLUMN_COUNT: usize = 21;

/// Collects run rows, skipping (and naming in the log) a row a hand edit made unreadable, so
/// one bad row never hides the rest of the history.
pub(super) fn collect_runs<T, F>(rows: rusqlite::MappedRows<'_, F>) -> rusqlite::Result<Vec<T>>
where
    F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
{
    let mut out = Vec::new();
    for row in rows {
        match row {
            Ok(run) => out.push(run),
            Err(rusqlite::Error::FromSqlConversionFailure(column, _, e)) => {
                tracing::warn!(
                    "a row of the runs table is skipped: column {column} is unreadable ({e})"
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn conversion(i: usize, e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
}

fn run_id_col(row: &Row<'_>, i: usize) -> rusqlite::Result<RunId> {
    let text: String = row.get(i)?;
    RunId::parse(&text).map_err(|e| conversion(i, e))
}

fn opt_run_id_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<RunId>> {
    let text: Option<String> = row.get(i)?;
    text.map(|t| RunId::parse(&t).map_err(|e| conversion(i, e)))
        .transpose()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Run> {
    let end_reason: Option<String> = row.get(4)?;
    let end_reason = match end_reason {
        Some(text) => Some(text.parse::<EndReason>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
        })?),
        None => None,
    };
    Ok(Run {
        id: run_id_col(row, 0)?,
        task_name: {
            let text: String = row.get(1)?;
            TaskName::parse(&text).map_err(|e| conversion(1, e.to_string()))?
        },
        kind: parse_col::<RunKind>(row, 2)?,
        status: parse_col::<RunStatus>(row, 3)?,
        end_reason,
        exit_code: row.get(5)?,
        triggered_by: parse_col::<TriggeredBy>(row, 6)?,
        scheduled_for: row.get(7)?,
        created_at: row.get(8)?,
        start_at: row.get(9)?,
        end_at: row.get(10)?,
        retry_attempt: row.get(11)?,
        retry_of_run_id: opt_run_id_col(row, 12)?,
        replica_index: row.get(13)?,
        message: row.get(14)?,
        pid: row.get(15)?,
        pgid: row.get(16)?,
        pid_start_time: row.get::<_, Option<i64>>(17)?.map(|v| v as u64),
        parent_run_id: opt_run_id_col(row, 18)?,
        step: row.get(19)?,
        resume_of_run_id: opt_run_id_col(row, 20)?,
    })
}

/// Records a new `pending` run; see [`Store::insert_run`].
pub(super) fn insert(conn: &Connection, new: &NewRun) -> Result<()> {
    if let Some(hook) = &new.webhook {
        // First, so a replayed delivery is refused before the run's row is written.
        insert_delivery(conn, new, hook)?;
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO runs (id, task_name, kind, status, triggered_by, scheduled_for, \
             created_at, retry_attempt, retry_of_run_id, replica_index, parent_run_id, step, \
             resume_of_run_id) \
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(StoreError::sql("recording a new run"))?;
    let result = stmt.execute(params![
        new.id.to_string(),
        new.task_name.as_str(),
        new.kind.as_str(),
        new.triggered_by.as_str(),
        new.scheduled_for,
        new.created_at,
        new.retry_attempt,
        new.retry_of_run_id.map(|r| r.to_string()),
        new.replica_index,
        new.parent.as_ref().map(|(id, _)| id.to_string()),
        new.parent.as_ref().map(|(_, step)| step.as_str()),
        new.resume_of.map(|r| r.to_string()),
    ]);
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
                && new.scheduled_for.is_some() =>
        {
            Err(StoreError::Duplicate {
                task: new.task_name.to_string(),
                scheduled_for: new.scheduled_for.unwrap_or_default(),
            })
        }
        Err(e) => Err(StoreError::sql("recording a new run")(e)),
    }
}

/// Moves a run to `running`; see [`Store::mark_running`].
pub(super) fn mark_running(
    conn: &Connection,
    id: &RunId,
    start_at: i64,
    pid: Option<i32>,
    pid_start_time: Option<u64>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE runs SET status = 'running', start_at = ?2, pid = ?3, pgid = ?3, \
         pid_start_time = ?4 WHERE id = ?1 AND status = 'pending'",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id.to_string(),
            start_at,
            pid,
            pid_start_time.map(|v| v as i64)
        ])
    })
    .map_err(StoreError::sql("recording a run's start"))?;
    Ok(())
}

/// Ends a run; see [`Store::finish_run`].
pub(super) fn finish(
    conn: &Connection,
    id: &RunId,
    reason: EndReason,
    exit_code: Option<i32>,
    end_at: i64,
    message: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE runs SET status = 'ended', end_reason = ?2, exit_code = ?3, \
         end_at = ?4, message = COALESCE(?5, message) WHERE id = ?1 AND status <> 'ended'",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id.to_string(),
            reason.as_str(),
            exit_code,
            end_at,
            message
        ])
    })
    .map_err(StoreError::sql("recording a run's end"))?;
    Ok(())
}

impl Store {
    /// Records a new `pending` run. A second run for the same `(task, scheduled_for)` is refused
    /// with [`StoreError::Duplicate`]. Durable on return (the commit may be shared with
    /// concurrent writers; see `group.rs`).
    pub fn insert_run(&self, new: &NewRun) -> Result<()> {
        self.write(Write::Insert(new.clone()))
    }

    /// [`Store::insert_run`] queued without waiting: [`Store::committed`] waits for it.
    pub fn submit_insert(&self, new: &NewRun) -> Pending {
        self.submit(Write::Insert(new.clone()))
    }

    /// Moves a run to `running` with the process facts crash recovery needs. Not waited to
    /// the disk (see `group.rs`): it survives a crash of the daemon, not a power loss.
    pub fn mark_running(
        &self,
        id: &RunId,
        start_at: i64,
        pid: i32,
        pid_start_time: Option<u64>,
    ) -> Result<()> {
        let pending = self.submit_start(id, start_at, pid, pid_start_time);
        self.wait(pending)
    }

    /// [`Store::mark_running`] queued without waiting, like [`Store::submit_finish`].
    pub fn submit_start(
        &self,
        id: &RunId,
        start_at: i64,
        pid: i32,
        pid_start_time: Option<u64>,
    ) -> Pending {
        self.submit(start_write(id, start_at, pid, pid_start_time))
    }

    /// [`Store::submit_start`] with nothing waiting: `then` is handed the result by the thread
    /// that commits it, before the run's end (queued later) is answered. Committed at once
    /// with `hurry`, else with the next commit (see `group.rs`).
    pub fn submit_start_then(
        self: &std::sync::Arc<Self>,
        id: &RunId,
        start_at: i64,
        pid: i32,
        pid_start_time: Option<u64>,
        then: super::Then,
        hurry: bool,
    ) {
        self.submit_then(start_write(id, start_at, pid, pid_start_time), then, hurry);
    }

    /// Moves a pipeline run to `running`: it has no process of its own. Queued without
    /// waiting; [`Store::committed`] waits for it.
    pub fn submit_pipeline_start(&self, id: &RunId, start_at: i64) -> Pending {
        self.submit(Write::MarkRunning {
            id: *id,
            start_at,
            pid: None,
            pid_start_time: None,
        })
    }

    /// Ends a run. An already ended run is left as it is.
    pub fn finish_run(
        &self,
        id: &RunId,
        reason: EndReason,
        exit_code: Option<i32>,
        end_at: i64,
        message: Option<&str>,
    ) -> Result<()> {
        let pending = self.submit_finish(id, reason, exit_code, end_at, message);
        self.wait(pending)
    }

    /// [`Store::finish_run`] queued without waiting: it is committed no later than any change
    /// queued after it, and durable once [`Store::wait`] returns.
    pub fn submit_finish(
        &self,
        id: &RunId,
        reason: EndReason,
        exit_code: Option<i32>,
        end_at: i64,
        message: Option<&str>,
    ) -> Pending {
        self.submit(Write::Finish {
            id: *id,
            reason,
            exit_code,
            end_at,
            message: message.map(str::to_string),
        })
    }

    /// Run `id` as last committed. Through the reader connection when the store has one, so
    /// it never waits for a commit.
    pub fn get_run(&self, id: &RunId) -> Result<Option<Run>> {
        match self.reader() {
            Some(reader) => self.run_through(&reader, id),
            None => self.run_through(&self.conn(), id),
        }
    }

    /// [`Store::get_run`] for a caller that must not wait for a commit (an async task): None
    /// when the store has no reader connection, and the run must then be read on the blocking
    /// pool.
    pub fn get_run_now(&self, id: &RunId) -> Option<Result<Option<Run>>> {
        let reader = self.reader()?;
        Some(self.run_through(&reader, id))
    }

    fn run_through(&self, conn: &Connection, id: &RunId) -> Result<Option<Run>> {
        cached_row(
            conn,
            &format!("SELECT {} FROM runs WHERE id = ?1", self.run_columns),
            [id.to_string()],
            from_row,
        )
        .optional()
        .map_err(StoreError::sql("reading a run"))
    }

    /// The newest `limit` runs, of one task or of all, newest first.
    pub fn list_runs(&self, task: Option<&str>, limit: u32) -> Result<Vec<Run>> {
        let conn = self.conn();
        let result = match task {
            Some(task) => {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {} FROM runs WHERE task_name = ?1 ORDER BY id DESC LIMIT ?2 + 0",
                        self.run_columns
                    ))
                    .map_err(StoreError::sql("listing runs"))?;
                let rows = stmt
                    .query_map(params![task, limit], from_row)
                    .map_err(StoreError::sql("listing runs"))?;
                collect_runs(rows)
            }
            None => {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {} FROM runs ORDER BY id DESC LIMIT ?1 + 0",
                        self.run_columns
                    ))
                    .map_err(StoreError::sql("listing runs"))?;
                let rows = stmt
                    .query_map(params![limit], from_row)
                    .map_err(StoreError::sql("listing runs"))?;
                collect_runs(rows)
            }
        };
        result.map_err(StoreError::sql("listing runs"))
    }

    /// The newest run of each of `tasks` that has one, read under one lock (one index lookup
    /// per task).
    pub fn last_runs(
        &self,
        tasks: &[TaskName],
    ) -> Result<std::collections::HashMap<TaskName, Run>> {
        let mut conn = self.conn();
        // One read transaction for the whole list: a thousand tasks take the WAL's read lock
        // once, not a thousand times (each a pair of fcntl calls).
        let read = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
            .map_err(StoreError::sql("reading the last runs"))?;
        let mut last = std::collections::HashMap::new();
        {
            let mut stmt = read
                .prepare_cached(&format!(
                    "SELECT {} FROM runs WHERE task_name = ?1 ORDER BY id DESC LIMIT 1",
                    self.run_columns
                ))
                .map_err(StoreError::sql("reading the last runs"))?;
            for task in tasks {
                if let Some(run) = stmt
                    .query_row(params![task.as_str()], from_row)
                    .optional()
                    .map_err(StoreError::sql("reading the last runs"))?
                {
                    last.insert(task.clone(), run);
                }
            }
        }
        // Nothing was written: ending it is all that is left to do.
        read.commit()
            .map_err(StoreError::sql("reading the last runs"))?;
        Ok(last)
    }

    /// Runs that never reached `ended`: what crash recovery looks at.
    pub fn unfinished_runs(&self) -> Result<Vec<Run>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM runs WHERE status <> 'ended' ORDER BY id",
                self.run_columns
            ))
            .map_err(StoreError::sql("listing unfinished runs"))?;
        let rows = stmt
            .query_map([], from_row)
            .map_err(StoreError::sql("listing unfinished runs"))?;
        collect_runs(rows).map_err(StoreError::sql("listing unfinished runs"))
    }
}

impl Store {
    /// The catch-up anchors of scheduled tasks, in one transaction: for each task the
    /// `scheduled_for` of its newest cron run, or the moment the daemon first saw it (recorded
    /// now if this is that moment).
    pub fn schedule_anchors(&self, tasks: &[&str], now: i64) -> Result<Vec<i64>> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(StoreError::sql("reading schedule anchors"))?;
        let mut out = Vec::with_capacity(tasks.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO task_anchors (task_name, first_seen) VALUES (?1, ?2) \
                     ON CONFLICT (task_name) DO NOTHING",
                )
                .map_err(StoreError::sql("recording when a task was first seen"))?;
            let mut select = tx
                .prepare_cached(
                    "SELECT COALESCE((SELECT MAX(scheduled_for) FROM runs WHERE task_name = ?1), \
                     (SELECT first_seen FROM task_anchors WHERE task_name = ?1))",
                )
                .map_err(StoreError::sql("reading a task's schedule anchor"))?;
            for task in tasks {
                insert
                    .execute(params![task, now])
                    .map_err(StoreError::sql("recording when a task was first seen"))?;
                out.push(
                    select
                        .query_row([task], |r| r.get(0))
                        .map_err(StoreError::sql("reading a task's schedule anchor"))?,
                );
            }
        }
        tx.commit()
            .map_err(StoreError::sql("recording schedule anchors"))?;
        Ok(out)
    }
}

impl Store {
    /// Ended runs of `task` outside its newest `keep` runs or ended before `cutoff` (Unix ms),
    /// as `(id, task_name)`.
    pub fn expired_runs(
        &self,
        task: &str,
        keep: Option<u32>,
        cutoff: Option<i64>,
    ) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, task_name FROM runs WHERE task_name = ?1 AND status = 'ended' AND ( \
                 (?2 IS NOT NULL AND id NOT IN (SELECT id FROM runs WHERE task_name = ?1 ORDER BY id DESC LIMIT ?2 + 0)) \
                 OR (?3 IS NOT NULL AND end_at < ?3))",
            )
            .map_err(StoreError::sql("finding expired runs"))?;
        let rows = stmt
            .query_map(params![task, keep, cutoff], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(StoreError::sql("finding expired runs"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(StoreError::sql("finding expired runs"))
    }

    /// Every run, oldest first, as `(id, task_name, ended)`.
    pub fn runs_oldest_first(&self) -> Result<Vec<(String, String, bool)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id, task_name, status = 'ended' FROM runs ORDER BY id")
            .map_err(StoreError::sql("listing runs"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(StoreError::sql("listing runs"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(StoreError::sql("listing runs"))
    }

    /// Deletes ended runs by id in one transaction; runs that have not ended are kept.
    pub fn delete_ended_runs(&self, ids: &[&str]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(StoreError::sql("deleting runs"))?;
        let mut deleted = 0;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM runs WHERE id = ?1 AND status = 'ended'")
                .map_err(StoreError::sql("deleting runs"))?;
            for id in ids {
                deleted += stmt
                    .execute([id])
                    .map_err(StoreError::sql("deleting runs"))?;
            }
        }
        tx.commit().map_err(StoreError::sql("deleting runs"))?;
        Ok(deleted)
    }
}

impl Store {
    /// A filtered page of runs, newest first (see [`RunQuery`](crate::engine::history::RunQuery)).
    /// Only the filters given appear in the SQL, so the `(task_name, id)` index serves a task.
    pub fn query_runs(&self, q: &crate::engine::history::RunQuery) -> Result<Vec<Run>> {
        let limit = q
            .limit
            .unwrap_or(50)
            .clamp(1, crate::engine::history::MAX_PAGE);
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let filters = [
            (
                "task_name = ?",
                q.task.as_ref().map(|t| t.as_str().to_string()),
            ),
            ("status = ?", q.status.map(|s| s.as_str().to_string())),
            (
                "end_reason = ?",
                q.end_reason.map(|r| r.as_str().to_string()),
            ),
            (
                "triggered_by = ?",
                q.triggered_by.map(|t| t.as_str().to_string()),
            ),
            ("id < ?", q.before.map(|b| b.to_string())),
        ];
        for (clause, value) in filters {
            if let Some(value) = value {
                clauses.push(clause);
                values.push(value);
            }
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {} FROM runs {filter} ORDER BY id DESC LIMIT {limit}",
            self.run_columns
        );
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(StoreError::sql("querying runs"))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values.iter()), from_row)
            .map_err(StoreError::sql("querying runs"))?;
        collect_runs(rows).map_err(StoreError::sql("querying runs"))
    }
}
