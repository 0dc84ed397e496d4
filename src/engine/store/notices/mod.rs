//! Notifications in SQLite (`notifications.md` §3, §4): the coalesced rows the bell shows, the
//! delivery outbox of outbound sends, and each task's failure streak. What to notify and to whom
//! is decided in `engine::notify`; this module writes those decisions, each in one transaction
//! with everything it implies (the row, its deliveries, the streak, the consumer's cursor), so
//! a crash never sends twice or loses a send.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::{cached_row, Result, Store, StoreError};
use crate::engine::model::{NotifyKind, RunId, Severity};

mod bell;
mod deliveries;

pub use deliveries::Delivery;

/// One notification to record.
#[derive(Debug, Clone)]
pub struct NoticeWrite {
    pub kind: NotifyKind,
    pub task: Option<String>,
    pub run_id: Option<String>,
    pub title: String,
    pub body: String,
    /// Events with the same key fold into one open row (kind, task, end reason).
    pub key: String,
    pub at: i64,
    /// Shown by the bell.
    pub inapp: bool,
    /// The outbound notifier ids it goes to.
    pub channels: Vec<String>,
    /// How long a row takes repeats (0: never); its outbound repeats are sent every `ring`-th.
    pub window_ms: i64,
    pub ring: u32,
}

/// A notification as stored (and as the interfaces show it: `engine::notify::Notification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub id: String,
    pub kind: NotifyKind,
    pub severity: Severity,
    pub task: Option<String>,
    /// The latest occurrence's run.
    pub run_id: Option<String>,
    pub title: String,
    pub body: String,
    /// How many events it stands for.
    pub count: u32,
    /// Newest first.
    pub occurrences: Vec<i64>,
    pub created_at: i64,
    pub last_at: i64,
    pub read_at: Option<i64>,
    pub inapp: bool,
    pub channels: Vec<String>,
    pub sent_count: u32,
}

/// A task's consecutive failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streak {
    pub failures: u32,
    /// When the first of them happened (Unix ms).
    pub since: i64,
    /// The notifier ids (`inapp` included) told of them.
    pub told: Vec<String>,
}

/// Builds a delivery's payload from the row it reports (after this occurrence was counted).
pub type PayloadFn<'a> = &'a dyn Fn(&NoticeRow) -> String;

const NOTICE_COLUMNS: &str = "id, kind, severity, task_name, run_id, title, body, count, \
     occurrences, created_at, last_at, read_at, inapp, channels, sent_count";

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

fn parsed<T: std::str::FromStr<Err = String>>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    r.get::<_, String>(i)?.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

fn notice_from_row(r: &Row<'_>) -> rusqlite::Result<NoticeRow> {
    Ok(NoticeRow {
        id: r.get(0)?,
        kind: parsed(r, 1)?,
        severity: parsed(r, 2)?,
        task: r.get(3)?,
        run_id: r.get(4)?,
        title: r.get(5)?,
        body: r.get(6)?,
        count: r.get(7)?,
        occurrences: json_list(&r.get::<_, String>(8)?),
        created_at: r.get(9)?,
        last_at: r.get(10)?,
        read_at: r.get(11)?,
        inapp: r.get(12)?,
        channels: json_list(&r.get::<_, String>(13)?),
        sent_count: r.get(14)?,
    })
}

fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    StoreError::sql(action)
}

fn queue_deliveries(
    tx: &Transaction<'_>,
    row: &NoticeRow,
    channels: &[String],
    payload: PayloadFn<'_>,
    now: i64,
) -> Result<()> {
    if channels.is_empty() {
        return Ok(());
    }
    let body = payload(row);
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO deliveries (notifier, notification_id, payload, created_at, next_at, \
             status) VALUES (?1, ?2, ?3, ?4, ?4, 'pending')",
        )
        .map_err(sql("queueing a notification"))?;
    for channel in channels {
        insert
            .execute(params![channel, row.id, body, now])
            .map_err(sql("queueing a notification"))?;
    }
    Ok(())
}

/// Records one notice in `tx`: folded into the open row of its key, or a new row; with the
/// outbound deliveries that are due (the first occurrence, then every `ring`-th).
/// Deliveries are stamped `now` (their retry budget runs from when they were queued).
fn record_notice(
    tx: &Transaction<'_>,
    notice: &NoticeWrite,
    payload: PayloadFn<'_>,
    now: i64,
) -> Result<NoticeRow> {
    let open = if notice.window_ms > 0 {
        tx.query_row(
            &format!(
                "SELECT {NOTICE_COLUMNS} FROM notifications WHERE closed = 0 AND coalesce_key = ?1 \
                 AND closes_at > ?2 AND read_at IS NULL ORDER BY created_at DESC LIMIT 1"
            ),
            params![notice.key, notice.at],
            notice_from_row,
        )
        .optional()
        .map_err(sql("reading a notification"))?
    } else {
        None
    };
    let ring = notice.ring.max(1) as usize;
    match open {
        Some(mut row) => {
            row.count += 1;
            row.last_at = notice.at;
            row.run_id = notice.run_id.clone().or(row.run_id);
            row.title = notice.title.clone();
            row.body = notice.body.clone();
            row.occurrences.insert(0, notice.at);
            row.occurrences.truncate(ring);
            row.inapp |= notice.inapp;
            // A channel that joins an open row (the third failure of notify_after_failures = 3,
            // the attempt that ends a retry chain) hears of it now, not at the window's end.
            let newcomers: Vec<String> = notice
                .channels
                .iter()
                .filter(|c| !row.channels.contains(c))
                .cloned()
                .collect();
            row.channels.extend(newcomers.iter().cloned());
            let due = row.count as usize % ring == 0;
            if due || !newcomers.is_empty() {
                row.sent_count = row.count;
            }
            tx.execute(
                "UPDATE notifications SET count = ?2, last_at = ?3, run_id = ?4, title = ?5, \
                 body = ?6, occurrences = ?7, inapp = ?8, channels = ?9, sent_count = ?10 \
                 WHERE id = ?1",
                params![
                    row.id,
                    row.count,
                    row.last_at,
                    row.run_id,
                    row.title,
                    row.body,
                    to_json(&row.occurrences),
                    row.inapp,
                    to_json(&row.channels),
                    row.sent_count
                ],
            )
            .map_err(sql("updating a notification"))?;
            if due {
                queue_deliveries(tx, &row, &row.channels, payload, now)?;
            } else {
                queue_deliveries(tx, &row, &newcomers, payload, now)?;
            }
            Ok(row)
        }
        None => {
            let row = NoticeRow {
                id: RunId::new().to_string(),
                kind: notice.kind,
                severity: notice.kind.severity(),
                task: notice.task.clone(),
                run_id: notice.run_id.clone(),
                title: notice.title.clone(),
                body: notice.body.clone(),
                count: 1,
                occurrences: vec![notice.at],
                created_at: notice.at,
                last_at: notice.at,
                read_at: None,
                inapp: notice.inapp,
                channels: notice.channels.clone(),
                sent_count: 1,
            };
            tx.execute(
                &format!(
                    "INSERT INTO notifications ({NOTICE_COLUMNS}, coalesce_key, closes_at, closed) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?9, NULL, ?10, ?11, 1, ?12, \
                     ?9 + ?13, CASE WHEN ?13 > 0 THEN 0 ELSE 1 END)"
                ),
                params![
                    row.id,
                    row.kind.as_str(),
                    row.severity.as_str(),
                    row.task,
                    row.run_id,
                    row.title,
                    row.body,
                    to_json(&row.occurrences),
                    row.created_at,
                    row.inapp,
                    to_json(&row.channels),
                    notice.key,
                    notice.window_ms
                ],
            )
            .map_err(sql("recording a notification"))?;
            queue_deliveries(tx, &row, &row.channels, payload, now)?;
            Ok(row)
        }
    }
}

/// Closes `row`: no event folds into it any more; repeats its channels were not told of go out
/// as one summary. Returns whether a summary was queued.
fn close_row(
    tx: &Transaction<'_>,
    mut row: NoticeRow,
    payload: PayloadFn<'_>,
    now: i64,
) -> Result<bool> {
    let summary = row.count > row.sent_count && !row.channels.is_empty();
    if summary {
        row.sent_count = row.count;
        queue_deliveries(tx, &row, &row.channels.clone(), payload, now)?;
    }
    tx.execute(
        "UPDATE notifications SET closed = 1, sent_count = ?2 WHERE id = ?1",
        params![row.id, row.count],
    )
    .map_err(sql("closing notifications"))?;
    Ok(summary)
}

/// Closes the open failure rows of `task` (a recovery ends them: the next failure is news).
fn close_failures(
    tx: &Transaction<'_>,
    task: &str,
    payload: PayloadFn<'_>,
    now: i64,
) -> Result<()> {
    let open: Vec<NoticeRow> = {
        let mut select = tx
            .prepare_cached(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notifications WHERE closed = 0 AND task_name = ?1 \
                 AND kind IN ('run.failed', 'run.timeout', 'run.crashed') ORDER BY id"
            ))
            .map_err(sql("closing notifications"))?;
        let rows = select
            .query_map([task], notice_from_row)
            .map_err(sql("closing notifications"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("closing notifications"))?
    };
    for row in open {
        close_row(tx, row, payload, now)?;
    }
    Ok(())
}

/// Everything one event changes, written in one transaction.
pub struct NoticeBatch<'a> {
    pub notices: Vec<NoticeWrite>,
    pub payload: PayloadFn<'a>,
    /// The task's streak as it is after this event (None: unchanged; `failures == 0`: reset).
    pub streak: Option<(String, Streak)>,
    /// The lifecycle consumer and the event it handled.
    pub cursor: Option<(String, i64)>,
    /// When this is written (Unix ms): the deliveries' retry budget starts here.
    pub now: i64,
    /// A task whose open failure rows a recovery closes first (their summaries go before it).
    pub recovered: Option<String>,
}

impl Store {
    /// Writes `batch` in one transaction; returns the rows it created or updated.
    pub fn record_notices(&self, batch: NoticeBatch<'_>) -> Result<Vec<NoticeRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql("recording notifications"))?;
        if let Some(task) = &batch.recovered {
            close_failures(&tx, task, batch.payload, batch.now)?;
        }
        let mut rows = Vec::new();
        for notice in &batch.notices {
            rows.push(record_notice(&tx, notice, batch.payload, batch.now)?);
        }
        if let Some((task, streak)) = &batch.streak {
            if streak.failures == 0 {
                tx.execute("DELETE FROM notify_streaks WHERE task_name = ?1", [task])
            } else {
                tx.execute(
                    "INSERT INTO notify_streaks (task_name, failures, since, told) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (task_name) DO UPDATE SET \
                     failures = excluded.failures, since = excluded.since, told = excluded.told",
                    params![task, streak.failures, streak.since, to_json(&streak.told)],
                )
            }
            .map_err(sql("recording a failure streak"))?;
        }
        if let Some((consumer, seq)) = &batch.cursor {
            tx.execute(
                "INSERT INTO lifecycle_cursors (consumer, seq) VALUES (?1, ?2) \
                 ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                params![consumer, seq],
            )
            .map_err(sql("saving a lifecycle cursor"))?;
        }
        tx.commit().map_err(sql("recording notifications"))?;
        Ok(rows)
    }

    /// The tasks with a failure streak (one row per task at most, so bounded by the tasks).
    pub fn open_streaks(&self) -> Result<std::collections::HashSet<String>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached("SELECT task_name FROM notify_streaks WHERE failures > 0")
            .map_err(sql("reading the failure streaks"))?;
        let rows = select
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql("reading the failure streaks"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("reading the failure streaks"))
    }

    pub fn streak(&self, task: &str) -> Result<Streak> {
        cached_row(
            &self.conn(),
            "SELECT failures, since, told FROM notify_streaks WHERE task_name = ?1",
            [task],
            |r| {
                Ok(Streak {
                    failures: r.get(0)?,
                    since: r.get(1)?,
                    told: json_list(&r.get::<_, String>(2)?),
                })
            },
        )
        .optional()
        .map(Option::unwrap_or_default)
        .map_err(sql("reading a failure streak"))
    }

    /// Closes the coalescing windows that ended by `now`; a row with repeats its channels were
    /// not told of gets one summary delivery. Returns how many summaries were queued.
    pub fn close_notice_windows(&self, now: i64, payload: PayloadFn<'_>) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql("closing notifications"))?;
        let ended: Vec<NoticeRow> = {
            let mut select = tx
                .prepare_cached(&format!(
                    "SELECT {NOTICE_COLUMNS} FROM notifications \
                     WHERE closed = 0 AND closes_at <= ?1 LIMIT 500"
                ))
                .map_err(sql("closing notifications"))?;
            let rows = select
                .query_map([now], notice_from_row)
                .map_err(sql("closing notifications"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("closing notifications"))?
        };
        let mut summaries = 0;
        for row in ended {
            summaries += usize::from(close_row(&tx, row, payload, now)?);
        }
        tx.commit().map_err(sql("closing notifications"))?;
        Ok(summaries)
    }
}
