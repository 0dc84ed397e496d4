//! The delivery outbox: the outbound sends waiting, sent, retried or given up.

use rusqlite::{params, OptionalExtension};

use super::{record_notice, sql, NoticeRow, NoticeWrite, PayloadFn};
use crate::engine::store::{cached_row, Result, Store};

/// A send waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub notifier: String,
    pub payload: String,
    pub created_at: i64,
    pub next_at: i64,
    pub attempts: u32,
}

/// The delivery outbox.
impl Store {
    /// The pending delivery of `notifier` that is due first.
    pub fn next_delivery(&self, notifier: &str) -> Result<Option<Delivery>> {
        cached_row(
            &self.conn(),
            "SELECT id, notifier, payload, created_at, next_at, attempts FROM deliveries \
             WHERE status = 'pending' AND notifier = ?1 ORDER BY next_at, id LIMIT 1",
            [notifier],
            |r| {
                Ok(Delivery {
                    id: r.get(0)?,
                    notifier: r.get(1)?,
                    payload: r.get(2)?,
                    created_at: r.get(3)?,
                    next_at: r.get(4)?,
                    attempts: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(sql("reading the delivery outbox"))
    }

    /// Gives up the pending deliveries of notifiers that are no longer declared (nothing will
    /// ever send them); returns how many, by notifier.
    pub fn abandon_undeclared_deliveries(
        &self,
        declared: &[String],
        now: i64,
    ) -> Result<Vec<(String, usize)>> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(sql("reading the delivery outbox"))?;
        let pending: Vec<(String, usize)> = {
            let mut select = tx
                .prepare("SELECT notifier, COUNT(*) FROM deliveries WHERE status = 'pending' GROUP BY notifier")
                .map_err(sql("reading the delivery outbox"))?;
            let rows = select
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as usize))
                })
                .map_err(sql("reading the delivery outbox"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("reading the delivery outbox"))?
        };
        let gone: Vec<(String, usize)> = pending
            .into_iter()
            .filter(|(notifier, _)| !declared.contains(notifier))
            .collect();
        for (notifier, _) in &gone {
            tx.execute(
                "UPDATE deliveries SET status = 'failed', done_at = ?2, last_error = ?3 \
                 WHERE status = 'pending' AND notifier = ?1",
                params![
                    notifier,
                    now,
                    format!(
                        "not sent: the notifier {notifier:?} is no longer declared in runwisp.toml"
                    )
                ],
            )
            .map_err(sql("giving up deliveries"))?;
        }
        tx.commit().map_err(sql("giving up deliveries"))?;
        Ok(gone)
    }

    pub fn delivery_sent(&self, id: i64, now: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, done_at = ?2, \
                 last_error = NULL WHERE id = ?1",
                params![id, now],
            )
            .map_err(sql("recording a delivery"))?;
        Ok(())
    }

    pub fn delivery_retry(&self, id: i64, next_at: i64, error: &str) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_at = ?2, last_error = ?3 \
                 WHERE id = ?1",
                params![id, next_at, error],
            )
            .map_err(sql("recording a delivery retry"))?;
        Ok(())
    }

    /// Gives a delivery up, and records the `notify.delivery_failed` notice about it in the
    /// same transaction.
    pub fn delivery_given_up(
        &self,
        id: i64,
        now: i64,
        error: &str,
        notice: &NoticeWrite,
        payload: PayloadFn<'_>,
    ) -> Result<NoticeRow> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(sql("recording a failed delivery"))?;
        tx.execute(
            "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, done_at = ?2, \
             last_error = ?3 WHERE id = ?1",
            params![id, now, error],
        )
        .map_err(sql("recording a failed delivery"))?;
        let row = record_notice(&tx, notice, payload, now)?;
        tx.commit().map_err(sql("recording a failed delivery"))?;
        Ok(row)
    }
}
