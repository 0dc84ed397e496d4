//! The lossless lane of run changes (the other lane, [`crate::engine::events::Event`], is a
//! broadcast of wake-ups that a slow subscriber may miss). Every change of a run is written to
//! the store's outbox in the same commit as the change itself; a [`Consumer`] reads from where
//! it left off (its cursor is saved in the store, so it resumes after a restart of the daemon)
//! and never misses or repeats an event it acknowledged. Notifications read here. A consumer at
//! the end of the lane sleeps until the store commits the next batch of run changes
//! ([`crate::engine::store::Store::lane`]): the events of the other lane (a log line, a
//! notification) change no run and do not wake it. It reads at most once every [`GATHER`], so
//! runs ending back to back are read in batches instead of one read per commit.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::engine::events::Event;
use crate::engine::model::{EndReason, RunId, TaskName};
use crate::engine::store::{self, OutboxRow, StoreError};
use crate::engine::{Engine, Inner};

/// Without a wake-up the outbox is read again this often anyway.
const RECHECK: Duration = Duration::from_secs(5);
/// A consumer woken by a commit reads at once, unless it read less than this long ago: then it
/// reads once this long has passed since, so that the changes of runs ending one after another
/// (1,000 queued runs commit every millisecond or two) are read in batches of 20 ms rather than
/// one read per commit, while a lone change is still read at once.
const GATHER: Duration = Duration::from_millis(20);
/// Outbox rows are kept this long once every consumer has handled them.
pub const KEEP: Duration = Duration::from_secs(7 * 86_400);
/// And at most this long whatever the consumers: one that has not read for 30 days (left behind
/// by a feature that is gone) does not keep the outbox growing.
pub const KEEP_AT_MOST: Duration = Duration::from_secs(30 * 86_400);

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Started,
    Ended {
        reason: EndReason,
        exit_code: Option<i32>,
    },
}

/// One change of a run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// Its place in the lane: strictly increasing.
    pub seq: i64,
    /// When the change happened (Unix ms).
    pub at: i64,
    pub run: RunId,
    pub task: TaskName,
    pub change: Change,
}

impl LifecycleEvent {
    /// None for a row this binary cannot read (written by hand or by a newer runwisp).
    fn from_row(row: OutboxRow) -> Option<Self> {
        let change = match row.kind.as_str() {
            "run.created" => Change::Created,
            "run.started" => Change::Started,
            "run.ended" => Change::Ended {
                reason: row.end_reason.as_deref()?.parse().ok()?,
                exit_code: row.exit_code,
            },
            _ => return None,
        };
        Some(Self {
            seq: row.seq,
            at: row.at,
            run: RunId::parse(&row.run_id).ok()?,
            task: TaskName::parse(&row.task_name).ok()?,
            change,
        })
    }
}

/// A named reader of the lane. Read with [`Consumer::next_batch`], then [`Consumer::ack`]
/// what was handled: events after the last acknowledged one are read again after a restart.
pub struct Consumer {
    inner: Arc<Inner>,
    name: String,
    /// The last event handed out.
    read: i64,
    /// Changes at every commit of run changes (`Store::lane`).
    wake: watch::Receiver<u64>,
    /// The last read found the lane's end: the next waits for a commit first.
    caught_up: bool,
    /// When the lane was last read.
    read_at: tokio::time::Instant,
}

impl Engine {
    /// The consumer `name`, resuming after the last event it acknowledged (a consumer never
    /// seen before starts with the events that come after now).
    pub async fn lifecycle_consumer(&self, name: &str) -> Result<Consumer, StoreError> {
        let wake = self.inner.store.lane();
        let owned = name.to_string();
        let read = store::blocking(&self.inner.store, move |s| s.lifecycle_cursor(&owned)).await?;
        Ok(Consumer {
            inner: self.inner.clone(),
            name: name.to_string(),
            read,
            wake,
            caught_up: false,
            read_at: tokio::time::Instant::now(),
        })
    }
}

impl Consumer {
    /// The next events after the last one handed out, at most `max`, waiting until there is
    /// at least one (or the engine stops: then an empty batch).
    pub async fn next_batch(&mut self, max: u32) -> Result<Vec<LifecycleEvent>, StoreError> {
        loop {
            if self.caught_up {
                // Sleep until a batch of run changes is committed, or RECHECK.
                // The store outlives its consumers; were its signal gone, RECHECK alone would
                // wake this one.
                let gathered = self.read_at + GATHER;
                let committed = async {
                    if self.wake.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    // The changes committed meanwhile are read with this one.
                    if gathered > tokio::time::Instant::now() {
                        tokio::time::sleep_until(gathered).await;
                    }
                };
                tokio::select! {
                    _ = committed => {}
                    _ = tokio::time::sleep(RECHECK) => {}
                    _ = self.inner.stopped() => return Ok(Vec::new()),
                }
                // Read at the next call too, should this one be cancelled before it has.
                self.caught_up = false;
            }
            // A commit from now on wakes the wait above again.
            self.wake.borrow_and_update();
            self.read_at = tokio::time::Instant::now();
            let after = self.read;
            let rows =
                store::blocking(&self.inner.store, move |s| s.lifecycle_after(after, max)).await?;
            // A short batch is all there was: the next call waits before it reads, instead of
            // reading an empty lane once per batch.
            self.caught_up = rows.len() < max as usize;
            if let Some(last) = rows.last() {
                self.read = last.seq;
                let events: Vec<LifecycleEvent> = rows
                    .into_iter()
                    .filter_map(|row| {
                        let seq = row.seq;
                        let event = LifecycleEvent::from_row(row);
                        if event.is_none() {
                            tracing::warn!(consumer = %self.name, "lifecycle event {seq} cannot be read; skipped");
                        }
                        event
                    })
                    .collect();
                if !events.is_empty() {
                    return Ok(events);
                }
            }
        }
    }

    /// Records that every event up to `seq` was handled: after a restart the consumer
    /// resumes after it.
    pub async fn ack(&mut self, seq: i64) -> Result<(), StoreError> {
        let name = self.name.clone();
        store::blocking(&self.inner.store, move |s| {
            s.save_lifecycle_cursor(&name, seq)
        })
        .await
    }

    /// Goes back to the last acknowledged event (what was read but not acknowledged is read
    /// again), as a restart would.
    pub async fn rewind(&mut self) -> Result<(), StoreError> {
        let name = self.name.clone();
        self.read = store::blocking(&self.inner.store, move |s| s.lifecycle_cursor(&name)).await?;
        Ok(())
    }
}

impl Engine {
    /// Waits until run `id` has ended and returns it as recorded; answers at once for a run
    /// that already ended. Reliable whatever the broadcast drops: it subscribes before it
    /// reads, and reads the store again after every wake-up and every [`RECHECK`]. None when
    /// there is no such run, or the engine stops first.
    pub async fn wait_ended(
        &self,
        id: RunId,
    ) -> Result<Option<crate::engine::model::Run>, StoreError> {
        let mut wake = self.inner.subscribe();
        loop {
            let run = self.run(id).await?;
            match run {
                None => return Ok(None),
                Some(run) if run.status == crate::engine::model::RunStatus::Ended => {
                    return Ok(Some(run))
                }
                Some(_) => {}
            }
            let ended = async {
                loop {
                    match wake.recv().await {
                        Ok(Event::RunEnded { run, .. }) if run == id => return,
                        Ok(_) => {}
                        // Missed some: read the store again.
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            };
            tokio::select! {
                _ = ended => {}
                _ = tokio::time::sleep(RECHECK) => {}
                _ = self.inner.stopped() => return Ok(None),
            }
        }
    }
}
