//! Group commit for the run writes (create, start, end). With `synchronous = FULL` every commit
//! waits for the disk, and one connection takes them one at a time: 200 tasks due in the same
//! second meant 200 inserts, 200 starts and 200 ends, each waiting for its own fsync, so the
//! last task started a whole queue of fsyncs late.
//!
//! Writers queue their change here. Whoever finds no batch in progress becomes the leader:
//! it takes everything queued, applies it in one transaction, commits once, hands each writer
//! its own result and wakes them; writers that arrived meanwhile form the next batch. A writer
//! still returns only once its change is durable, and a lone writer commits alone, as before.
//!
//! A run's start is the one change that does not wait for the disk: a batch holding nothing
//! else commits with `synchronous = NORMAL`, written to the WAL but not fsynced. A crash of the
//! daemon loses nothing (the write is in the kernel's page cache); only a power loss or a
//! kernel crash can lose it, and then the run's processes died with the machine and recovery
//! marks the row `crashed` all the same, just without its start time and pid. The next durable
//! commit (every run's end is one) syncs the WAL, and with it every start before it.
//!
//! A writer may also queue its change ([`Store::submit`]) and wait for it later: the change
//! keeps its place in the order, so a run's end queued before the next queued run starts is
//! committed no later than that run's start.
//!
//! The daemon's writers wait without a thread ([`Store::committed`]): the first to find no
//! leader hands the leading to one thread of the blocking pool, which commits batch after batch
//! until the queue is empty and wakes each writer alone; it then waits a moment (`LINGER`) for
//! the next writer before it gives up the leading, so a busy daemon commits on one thread. 200
//! tasks due at once used to take 200 blocking threads, each woken by every commit to find its
//! change still queued; that ping-pong cost the daemon more CPU than the 200 spawns. A blocking
//! writer ([`Store::wait`]) that finds no leader leads the same way, until the queue is empty
//! (only `runwisp exec --standalone` and recovery at boot still write so, with no one else
//! writing).
//!
//! A run's start and its end are in no hurry: its process is running already (or gone, and its
//! task's slot handed on), and nothing waits for them but the events that announce them. They
//! do not wake a lingering leader ([`Store::committed_lazily`], [`Store::submit_then`]): they go
//! with the next commit someone hurries (a trigger's row, whose answer waits for it), or when
//! the linger runs out. A busy daemon thus commits a run's start, its end and the next
//! trigger's row together (`bench/trigger.sh` at 4 connections: 0.78 commits and 0.73 fsyncs a
//! run, from 1.02 and 0.86). A trigger that waits to answer with its run's start hurries it
//! ([`Store::hurry`]). A start's `then` (its `RunStarted`) runs on the committing thread, in
//! queue order, so it has run before the run's end, queued later, is answered.
//!
//! A change that fails on its own (a second run for the same firing) is refused alone: SQLite
//! undoes just that statement. Any other failure (a full disk, an I/O error, a failed commit)
//! rolls the batch back and replays each change in its own transaction, so every writer gets
//! exactly the result it would have had alone.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use super::outbox;
use super::runs::{self, NewRun};
use super::{Result, Store, StoreError};
use crate::engine::model::{EndReason, RunId};

/// One queued change to the `runs` table.
pub(super) enum Write {
    Insert(NewRun),
    MarkRunning {
        id: RunId,
        start_at: i64,
        /// None for a pipeline run, which has no process of its own.
        pid: Option<i32>,
        pid_start_time: Option<u64>,
    },
    Finish {
        id: RunId,
        reason: EndReason,
        exit_code: Option<i32>,
        end_at: i64,
        message: Option<String>,
    },
}

impl Write {
    /// Whether the writer must not be answered before the change survives a power loss.
    fn durable(&self) -> bool {
        !matches!(self, Write::MarkRunning { .. })
    }

    /// Applies the change and, when it changed a row, its lifecycle outbox row, in the same
    /// transaction (`outbox.rs`).
    fn apply(&self, conn: &Connection) -> Result<()> {
        let (kind, id, at) = match self {
            Write::Insert(new) => {
                runs::insert(conn, new)?;
                ("run.created", new.id, new.created_at)
            }
            Write::MarkRunning {
                id,
                start_at,
                pid,
                pid_start_time,
            } => {
                runs::mark_running(conn, id, *start_at, *pid, *pid_start_time)?;
                ("run.started", *id, *start_at)
            }
            Write::Finish {
                id,
                reason,
                exit_code,
                end_at,
                message,
            } => {
                runs::finish(conn, id, *reason, *exit_code, *end_at, message.as_deref())?;
                ("run.ended", *id, *end_at)
            }
        };
        if conn.changes() == 0 {
            // Nothing changed (an end written again after a failed commit): nothing to tell.
            return Ok(());
        }
        outbox::record(conn, kind, &id.to_string(), at)
    }
}

/// What a writer that does not wait has done with its change's result, on the thread that
/// committed it ([`Store::submit_then`]).
pub type Then = Box<dyn FnOnce(&Result<()>) + Send>;

/// Where a writer finds its change's result, and how an async writer is woken.
#[derive(Default)]
struct Slot {
    result: Mutex<Option<Result<()>>>,
    ready: tokio::sync::Notify,
    /// Run with the result instead of keeping it, when no one waits for it.
    then: Mutex<Option<Then>>,
}

impl Slot {
    fn take(&self) -> Option<Result<()>> {
        lock(&self.result).take()
    }

    /// Stores the result and wakes an async writer (now or when it comes to wait: the wake-up
    /// is kept until then), or hands it to the slot's `then`. Slots are set in the order their
    /// changes were queued, so a `then` has run before any change queued after its own is
    /// answered.
    fn set(&self, result: Result<()>) {
        if let Some(then) = lock(&self.then).take() {
            // A `then` that panics must not take the commit thread with it: the leading would
            // stay taken and no change would ever be committed again.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| then(&result)));
            if ran.is_err() {
                tracing::error!("what was to follow a committed change of a run panicked");
            }
            return;
        }
        *lock(&self.result) = Some(result);
        self.ready.notify_one();
    }
}

type Outcome = Arc<Slot>;

#[derive(Default)]
struct Queue {
    waiting: Vec<(Write, Outcome)>,
    leading: bool,
    /// The leader waits on `Group::work` for more changes before it gives up the leading.
    lingering: bool,
}

/// How long a leader with nothing left to commit waits for more before giving up the leading:
/// a daemon that commits a run's changes every millisecond or two keeps one thread committing,
/// instead of handing the leading to a thread of the blocking pool for every commit.
const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// The writers waiting for a commit, and the signals that one finished.
#[derive(Default)]
pub(super) struct Group {
    queue: Mutex<Queue>,
    committed: Condvar,
    /// Wakes a lingering leader when a writer waits for its change.
    work: Condvar,
    /// Counts the batches committed: the lifecycle lane's readers wait on it (`Store::lane`),
    /// woken by the changes of runs alone, not by every event the engine emits.
    lane: tokio::sync::watch::Sender<u64>,
    /// Tests lengthen the linger (in ms; 0 is `LINGER`) to tell a change committed in no
    /// hurry from one the linger's end committed.
    linger_ms: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A change queued for the next commit; [`Store::wait`] for its result.
#[must_use = "a queued change is committed by whoever waits for it"]
pub struct Pending(Outcome);

impl Store {
    /// Applies `write`, sharing the commit with concurrent writers; durable on return unless
    /// it is a run's start (see the module doc).
    pub(super) fn write(&self, write: Write) -> Result<()> {
        let pending = self.submit(write);
        self.wait(pending)
    }

    /// Queues `write` behind every change queued before it, without waiting. Never blocks on
    /// the disk, so it may be called from an async task.
    pub(super) fn submit(&self, write: Write) -> Pending {
        let outcome: Outcome = Arc::default();
        lock(&self.group.queue)
            .waiting
            .push((write, outcome.clone()));
        Pending(outcome)
    }

    /// Waits until a queued change is committed (leading the commits if no one else is) and
    /// returns its result. Blocks: call it on a blocking thread.
    pub fn wait(&self, pending: Pending) -> Result<()> {
        let outcome = pending.0;
        let mut queue = lock(&self.group.queue);
        loop {
            if let Some(result) = outcome.take() {
                return result;
            }
            if queue.leading {
                self.wake_lingering(&queue);
                queue = self
                    .group
                    .committed
                    .wait(queue)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            queue.leading = true;
            drop(queue);
            self.lead(false);
            queue = lock(&self.group.queue);
        }
    }

    /// Queues `write` and has its result handed to `then` by the thread that commits it,
    /// before any change queued later is answered: nothing waits, no task is spawned for it.
    /// `then` must be quick and must not wait for a commit. Unless `hurry`, the change goes
    /// with the next commit (see [`Store::committed_lazily`]). Call it inside a tokio runtime.
    pub(super) fn submit_then(self: &Arc<Self>, write: Write, then: Then, hurry: bool) {
        let outcome = Arc::new(Slot {
            then: Mutex::new(Some(then)),
            ..Slot::default()
        });
        let mut queue = lock(&self.group.queue);
        queue.waiting.push((write, outcome));
        self.ensure_leader(queue, hurry);
    }

    /// [`Store::wait`] without holding a thread: when no one leads, one thread of the blocking
    /// pool takes the leading until the queue is empty. Call it inside a tokio runtime.
    pub async fn committed(self: &Arc<Self>, pending: Pending) -> Result<()> {
        self.committed_when(pending, true).await
    }

    /// [`Store::committed`] for a writer that is in no hurry (a run's end: its slot is handed
    /// over already): it does not wake a leader lingering for more changes, so the change goes
    /// with the next commit a hurried writer asks for, or when the leader's linger runs out
    /// (`LINGER`). Under load a run's end then shares the commit of the next trigger's row
    /// instead of taking one (and an fsync) of its own.
    pub async fn committed_lazily(self: &Arc<Self>, pending: Pending) -> Result<()> {
        self.committed_when(pending, false).await
    }

    async fn committed_when(self: &Arc<Self>, pending: Pending, hurry: bool) -> Result<()> {
        let outcome = pending.0;
        if let Some(result) = outcome.take() {
            return result;
        }
        self.ensure_leader(lock(&self.group.queue), hurry);
        loop {
            outcome.ready.notified().await;
            if let Some(result) = outcome.take() {
                return result;
            }
        }
    }

    fn linger(&self) -> std::time::Duration {
        match self
            .group
            .linger_ms
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => LINGER,
            ms => std::time::Duration::from_millis(ms),
        }
    }

    #[cfg(test)]
    pub(super) fn set_linger(&self, linger: std::time::Duration) {
        let ms = u64::try_from(linger.as_millis()).unwrap_or(u64::MAX).max(1);
        self.group
            .linger_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Has a leader lingering for more changes commit what is queued now: someone came to wait
    /// for a change queued without hurry.
    pub fn hurry(&self) {
        self.wake_lingering(&lock(&self.group.queue));
    }

    /// Has the queue committed: hands the leading to a thread of the blocking pool when no one
    /// leads, and with `hurry` wakes a leader lingering for more changes (without, the leader
    /// takes the queue when its linger runs out, if no one hurries it before).
    fn ensure_leader(self: &Arc<Self>, mut queue: MutexGuard<'_, Queue>, hurry: bool) {
        if hurry {
            self.wake_lingering(&queue);
        }
        if !std::mem::replace(&mut queue.leading, true) {
            drop(queue);
            let store = self.clone();
            drop(tokio::task::spawn_blocking(move || store.lead(true)));
        }
    }

    /// Wakes a leader lingering for more changes: a writer waits for its change. A change only
    /// queued ([`Store::submit`]) does not wake it: it goes with the batch of the next writer
    /// that waits, or when the leader's wait runs out.
    fn wake_lingering(&self, queue: &Queue) {
        if queue.lingering {
            self.group.work.notify_one();
        }
    }

    /// Changes each time a batch of run changes (and so of lifecycle rows) was committed.
    pub fn lane(&self) -> tokio::sync::watch::Receiver<u64> {
        self.group.lane.subscribe()
    }

    /// Commits batch after batch until nothing is queued (with `linger`: until nothing has
    /// been queued for `LINGER`, for a thread of the blocking pool, not a writer waiting for
    /// its own change), then gives up the leading. Called by whoever set `leading`.
    fn lead(&self, linger: bool) {
        let mut queue = lock(&self.group.queue);
        loop {
            if linger && queue.waiting.is_empty() {
                queue.lingering = true;
                queue = self
                    .group
                    .work
                    .wait_timeout_while(queue, self.linger(), |q| q.waiting.is_empty())
                    .map_or_else(|p| p.into_inner().0, |(q, _)| q);
                queue.lingering = false;
            }
            let batch = std::mem::take(&mut queue.waiting);
            if batch.is_empty() {
                queue.leading = false;
                return;
            }
            drop(queue);
            self.commit_batch(batch);
            // A failed batch wakes the readers too: they find nothing new, once.
            self.group.lane.send_modify(|n| *n = n.wrapping_add(1));
            queue = lock(&self.group.queue);
            // Blocking writers wait on the condition variable; async ones were woken alone.
            self.group.committed.notify_all();
        }
    }

    fn commit_batch(&self, batch: Vec<(Write, Outcome)>) {
        let conn = self.conn();
        // Set for every batch, so a durable change never depends on an earlier batch having
        // switched the mode back; and switched back to FULL after a batch of starts, still
        // holding the connection, for every other writer of the connection (retention,
        // anchors, the auth secret).
        let durable = synchronous_for(&batch) == "FULL";
        if let Err(e) = run(&conn, if durable { SYNCED } else { UNSYNCED }) {
            if durable {
                let e = StoreError::sql("making the run history wait for the disk")(e);
                for (_, outcome) in &batch {
                    outcome.set(Err(StoreError::Worker(e.to_string())));
                }
                return;
            }
            // The start is then synced like any other change: slower, not less safe.
            tracing::warn!("cannot set synchronous = NORMAL for a run's start: {e}");
        }
        self.apply_batch(&conn, batch);
        if !durable {
            if let Err(e) = run(&conn, SYNCED) {
                tracing::error!(
                    "cannot set synchronous = FULL back after a run's start; the next change \
                     that is not a run's own may not be synced: {e}"
                );
            }
        }
    }

    fn apply_batch(&self, conn: &Connection, batch: Vec<(Write, Outcome)>) {
        // Always a transaction, also for one change: a run recorded already ended is two
        // statements that must land together.
        if let Some(results) = in_one_transaction(conn, &batch) {
            for ((_, outcome), result) in batch.iter().zip(results) {
                outcome.set(result);
            }
            return;
        }
        for (write, outcome) in &batch {
            outcome.set(alone(conn, write));
        }
    }
}

/// How a batch commits: `FULL` (waiting for the disk) unless every change in it is a run's
/// start.
fn synchronous_for(batch: &[(Write, Outcome)]) -> &'static str {
    if batch.iter().any(|(write, _)| write.durable()) {
        "FULL"
    } else {
        "NORMAL"
    }
}

/// Applies one change in its own transaction, with the result it has alone.
fn alone(conn: &Connection, write: &Write) -> Result<()> {
    if !conn.is_autocommit() {
        return Err(StoreError::Worker(
            "a failed batch of run changes could not be rolled back".into(),
        ));
    }
    run(conn, "BEGIN IMMEDIATE")
        .map_err(StoreError::sql("starting a change to the run history"))?;
    let result = write.apply(conn).and_then(|()| {
        run(conn, "COMMIT").map_err(StoreError::sql("committing a change to the run history"))
    });
    if result.is_err() {
        rollback(conn);
    }
    result
}

/// Applies the batch in one transaction; `None` (rolled back) if anything but a statement of
/// its own failed.
fn in_one_transaction(conn: &Connection, batch: &[(Write, Outcome)]) -> Option<Vec<Result<()>>> {
    run(conn, "BEGIN IMMEDIATE").ok()?;
    let mut results = Vec::with_capacity(batch.len());
    for (write, _) in batch {
        let result = write.apply(conn);
        let alone = matches!(
            result,
            Ok(()) | Err(StoreError::Duplicate { .. } | StoreError::DuplicateDelivery { .. })
        );
        if !alone || conn.is_autocommit() {
            rollback(conn);
            return None;
        }
        results.push(result);
    }
    if run(conn, "COMMIT").is_err() {
        rollback(conn);
        return None;
    }
    Some(results)
}

/// Runs one statement without results through the connection's cache of prepared statements:
/// each batch's `BEGIN`, `COMMIT` and `PRAGMA synchronous` were parsed anew, several times per
/// run.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The connection's mode for a batch that waits for the disk, and for one that does not.
const SYNCED: &str = "PRAGMA synchronous = FULL";
const UNSYNCED: &str = "PRAGMA synchronous = NORMAL";

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = run(conn, "ROLLBACK") {
            tracing::error!("cannot roll back a batch of run changes: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::{RunKind, TaskName, TriggeredBy};

    fn queued(write: Write) -> (Write, Outcome) {
        (write, Outcome::default())
    }

    #[test]
    fn only_a_batch_of_starts_skips_the_fsync() {
        let id = RunId::new();
        let start = || {
            queued(Write::MarkRunning {
                id,
                start_at: 1,
                pid: Some(42),
                pid_start_time: None,
            })
        };
        let finish = queued(Write::Finish {
            id,
            reason: EndReason::Success,
            exit_code: Some(0),
            end_at: 2,
            message: None,
        });
        let insert = queued(Write::Insert(NewRun {
            id,
            ..NewRun::new(
                TaskName::parse("t").unwrap(),
                RunKind::Task,
                TriggeredBy::Cli,
                0,
            )
        }));
        assert_eq!(synchronous_for(&[start(), start()]), "NORMAL");
        assert_eq!(synchronous_for(&[start(), finish]), "FULL");
        assert_eq!(synchronous_for(&[insert, start()]), "FULL");
    }
}
