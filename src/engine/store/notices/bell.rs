//! The bell: notifications shown in-app, and their read state.

use rusqlite::{params, Connection, OptionalExtension};

use super::{notice_from_row, sql, NoticeRow, NOTICE_COLUMNS};
use crate::engine::store::{cached_row, Result, Store};

fn read_notice(conn: &Connection, id: &str) -> Result<Option<NoticeRow>> {
    cached_row(
        conn,
        &format!("SELECT {NOTICE_COLUMNS} FROM notifications WHERE id = ?1"),
        [id],
        notice_from_row,
    )
    .optional()
    .map_err(sql("reading a notification"))
}

/// The bell: notifications shown in-app, and their read state.
impl Store {
    /// In-app notifications, newest first, older than `before` (an id) when given.
    pub fn notices(
        &self,
        unread_only: bool,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NoticeRow>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notifications WHERE inapp = 1 \
                 AND (?1 = 0 OR read_at IS NULL) AND (?2 IS NULL OR id < ?2) \
                 ORDER BY id DESC LIMIT ?3 + 0"
            ))
            .map_err(sql("listing notifications"))?;
        let rows = select
            .query_map(params![unread_only, before, limit], notice_from_row)
            .map_err(sql("listing notifications"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("listing notifications"))
    }

    pub fn notice(&self, id: &str) -> Result<Option<NoticeRow>> {
        read_notice(&self.conn(), id)
    }

    pub fn unread_notices(&self) -> Result<u64> {
        cached_row(
            &self.conn(),
            "SELECT COUNT(*) FROM notifications WHERE inapp = 1 AND read_at IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n.max(0) as u64)
        .map_err(sql("counting unread notifications"))
    }

    /// Marks one in-app notification read (a row already read keeps its time); None when
    /// there is no such notification.
    pub fn mark_notice_read(&self, id: &str, now: i64) -> Result<Option<NoticeRow>> {
        let conn = self.conn();
        conn.execute(
            "UPDATE notifications SET read_at = COALESCE(read_at, ?2) WHERE id = ?1 AND inapp = 1",
            params![id, now],
        )
        .map_err(sql("marking a notification read"))?;
        Ok(read_notice(&conn, id)?.filter(|row| row.inapp))
    }

    /// Marks every in-app notification read; returns how many were unread.
    pub fn mark_all_notices_read(&self, now: i64) -> Result<usize> {
        self.conn()
            .execute(
                "UPDATE notifications SET read_at = ?1 WHERE inapp = 1 AND read_at IS NULL",
                [now],
            )
            .map_err(sql("marking notifications read"))
    }

    /// Keeps the newest `keep` notifications and none whose last occurrence is older than
    /// `before`; rows still coalescing are kept. Sent and failed deliveries older than
    /// `before` go too. Returns how many notifications were deleted.
    pub fn prune_notices(&self, keep: u32, before: i64) -> Result<usize> {
        let conn = self.conn();
        let deleted = conn
            .execute(
                "DELETE FROM notifications WHERE closed = 1 AND (last_at < ?2 OR id NOT IN \
                 (SELECT id FROM notifications WHERE inapp = 1 ORDER BY id DESC LIMIT ?1 + 0))",
                params![keep, before],
            )
            .map_err(sql("pruning notifications"))?;
        conn.execute(
            "DELETE FROM deliveries WHERE status <> 'pending' AND done_at < ?1",
            [before],
        )
        .map_err(sql("pruning deliveries"))?;
        Ok(deleted)
    }
}
