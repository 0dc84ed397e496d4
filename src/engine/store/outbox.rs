//! The lifecycle outbox: one row per change of a run, written by the group commit in the same
//! transaction as the change (see `group.rs`), and the cursors of the consumers that read it.
//! Nothing here is lossy: a consumer reads rows after its cursor and moves the cursor once it
//! has handled them.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Result, Store, StoreError};

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub run_id: String,
    pub task_name: String,
    pub end_reason: Option<String>,
    pub exit_code: Option<i32>,
}

/// Adds the outbox row for a change of run `id` just applied on `conn` (in its transaction);
/// the run's own columns are copied from its row.
pub(super) fn record(conn: &Connection, kind: &str, id: &str, at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO lifecycle (at, kind, run_id, task_name, end_reason, exit_code) \
         SELECT ?1, ?2, id, task_name, end_reason, exit_code FROM runs WHERE id = ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![at, kind, id]))
    .map_err(StoreError::sql(
        "recording a run change in the lifecycle outbox",
    ))?;
    Ok(())
}

/// The lane's rows after a seq, oldest first (`LIMIT ?2 + 0`: see the module doc of `store`).
const LIFECYCLE_AFTER: &str = "SELECT seq, at, kind, run_id, task_name, end_reason, exit_code \
     FROM lifecycle WHERE seq > ?1 ORDER BY seq LIMIT ?2 + 0";

impl Store {
    /// Up to `limit` outbox rows after `seq`, oldest first.
    pub fn lifecycle_after(&self, seq: i64, limit: u32) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached(LIFECYCLE_AFTER)
            .map_err(StoreError::sql("reading the lifecycle outbox"))?;
        let rows = select
            .query_map(params![seq, limit], |r| {
                Ok(OutboxRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    run_id: r.get(3)?,
                    task_name: r.get(4)?,
                    end_reason: r.get(5)?,
                    exit_code: r.get(6)?,
                })
            })
            .map_err(StoreError::sql("reading the lifecycle outbox"))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(StoreError::sql("reading the lifecycle outbox"))?;
        Ok(rows)
    }

    /// Where `consumer` left off: the last row it handled, or the newest row now when it
    /// never read (a new consumer starts from the present, not from all history).
    pub fn lifecycle_cursor(&self, consumer: &str) -> Result<i64> {
        let conn = self.conn();
        let saved: Option<i64> = conn
            .query_row(
                "SELECT seq FROM lifecycle_cursors WHERE consumer = ?1",
                [consumer],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::sql("reading a lifecycle cursor"))?;
        if let Some(seq) = saved {
            return Ok(seq);
        }
        // First use: start at the newest row; a concurrent first use of the same name keeps
        // whichever cursor was saved first.
        conn.execute(
            "INSERT INTO lifecycle_cursors (consumer, seq) \
             SELECT ?1, COALESCE(MAX(seq), 0) FROM lifecycle WHERE true \
             ON CONFLICT (consumer) DO NOTHING",
            params![consumer],
        )
        .map_err(StoreError::sql("saving a lifecycle cursor"))?;
        conn.query_row(
            "SELECT seq FROM lifecycle_cursors WHERE consumer = ?1",
            [consumer],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("reading a lifecycle cursor"))
    }

    /// Records that `consumer` handled every row up to `seq` (never moves a cursor back).
    pub fn save_lifecycle_cursor(&self, consumer: &str, seq: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO lifecycle_cursors (consumer, seq) VALUES (?1, ?2) \
                 ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            )
            .and_then(|mut save| save.execute(params![consumer, seq]))
            .map_err(StoreError::sql("saving a lifecycle cursor"))?;
        Ok(())
    }

    /// Deletes outbox rows older than `before` (Unix ms) that every consumer has handled, and
    /// rows older than `abandoned` whatever the cursors say (a consumer that has not read for
    /// that long, such as one a removed feature left behind, no longer holds the outbox);
    /// returns how many.
    pub fn prune_lifecycle(&self, before: i64, abandoned: i64) -> Result<usize> {
        self.conn()
            .execute(
                "DELETE FROM lifecycle WHERE (at < ?1 AND seq <= \
                 COALESCE((SELECT MIN(seq) FROM lifecycle_cursors), (SELECT MAX(seq) FROM lifecycle))) \
                 OR at < ?2",
                params![before, abandoned],
            )
            .map_err(StoreError::sql("pruning the lifecycle outbox"))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::model::{RunKind, TaskName, TriggeredBy};
    use crate::engine::store::{NewRun, Store};

    #[test]
    fn an_abandoned_consumer_holds_the_outbox_only_so_long() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("runwisp.db")).unwrap();
        let task = TaskName::parse("t").unwrap();
        for at in [1_000, 2_000, 3_000] {
            store
                .insert_run(&NewRun::new(
                    task.clone(),
                    RunKind::Task,
                    TriggeredBy::Cli,
                    at,
                ))
                .unwrap();
        }
        let all = store.lifecycle_after(0, 10).unwrap();
        assert_eq!(
            all.iter().map(|r| r.at).collect::<Vec<_>>(),
            [1_000, 2_000, 3_000]
        );
        let last = all[2].seq;
        store.save_lifecycle_cursor("notifications", last).unwrap();
        store.save_lifecycle_cursor("gone", 0).unwrap();
        // Every row is older than `before`, but "gone" has not read them: kept...
        assert_eq!(store.prune_lifecycle(10_000, 0).unwrap(), 0);
        // ...until they are older than `abandoned`.
        assert_eq!(store.prune_lifecycle(10_000, 2_500).unwrap(), 2);
        let left = store.lifecycle_after(0, 10).unwrap();
        assert_eq!(left.iter().map(|r| r.at).collect::<Vec<_>>(), [3_000]);
        // A cursor never moves back.
        store.save_lifecycle_cursor("notifications", 1).unwrap();
        assert_eq!(store.lifecycle_cursor("notifications").unwrap(), last);
    }

    #[test]
    fn reading_the_lane_keeps_its_prepared_statement() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("runwisp.db")).unwrap();
        let task = TaskName::parse("t").unwrap();
        for (seq, limit) in [(0, 64), (1, 10), (2, 64), (3, 5)] {
            store
                .insert_run(&NewRun::new(
                    task.clone(),
                    RunKind::Task,
                    TriggeredBy::Cli,
                    1_000,
                ))
                .unwrap();
            assert!(!store.lifecycle_after(seq, limit).unwrap().is_empty());
        }
        let conn = store.conn();
        let select = conn.prepare_cached(super::LIFECYCLE_AFTER).unwrap();
        // A bare `LIMIT ?2` made SQLite parse the statement again at every new binding.
        assert_eq!(select.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
