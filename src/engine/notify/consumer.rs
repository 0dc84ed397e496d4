//! The notifications' reader of the lifecycle lane: every run that ends (or starts, where a
//! route asks) becomes a notice routed to its channels, with the task's failure streak and the
//! consumer's cursor written in the same transaction, so after a crash each event is handled
//! once. It also closes coalescing windows (queueing their summaries) and prunes the bell.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::millis;
use crate::engine::launch::DISK_REFUSAL;
use crate::engine::lifecycle::{Change, LifecycleEvent};
use crate::engine::model::{EndReason, NotifyKind, Run, RunKind};
use crate::engine::runlog;
use crate::engine::store::{self, NoticeBatch, NoticeWrite, Store, Streak};
use crate::engine::{Engine, Inner};

use super::message::{headline, lines, quote, who};
use super::{announce, route, write, Outgoing, Raised};

/// The lifecycle consumer's name (its cursor is kept under it).
const CONSUMER: &str = "notifications";
/// Coalescing windows are closed (and summaries queued) this often.
const CLOSE_EVERY: Duration = Duration::from_secs(15);
/// The bell is pruned to `history_keep` and `history_keep_for` this often.
const PRUNE_EVERY: Duration = Duration::from_secs(300);
/// Events read at once.
const BATCH: u32 = 64;

/// Starts the consumer; it stops with the engine.
pub(crate) fn spawn(inner: Arc<Inner>) {
    tokio::spawn(async move {
        let engine = Engine {
            inner: inner.clone(),
        };
        let mut consumer = loop {
            match engine.lifecycle_consumer(CONSUMER).await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::error!("notifications cannot read run events: {e}; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = inner.stopped() => return,
                    }
                }
            }
        };
        abandon_undeclared(&inner).await;
        let mut last_prune = tokio::time::Instant::now();
        let mut close = tokio::time::interval(CLOSE_EVERY);
        let mut quiet = QuietCursor::default();
        loop {
            tokio::select! {
                batch = consumer.next_batch(BATCH) => match batch {
                    Ok(events) => match handle_all(&inner, &events).await {
                        Ok(unsaved) => {
                            if !events.is_empty() {
                                quiet.unsaved = unsaved;
                            }
                            quiet.save(&inner, false).await;
                        }
                        Err(e) => {
                            tracing::error!("cannot record notifications: {e}; retrying");
                            let _ = consumer.rewind().await;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                    Err(e) => {
                        tracing::error!("notifications cannot read run events: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                _ = close.tick() => {
                    quiet.save(&inner, true).await;
                    maintain(&inner, &mut last_prune).await;
                }
                _ = inner.stopped() => {
                    quiet.save(&inner, true).await;
                    return;
                }
            }
        }
    });
}

/// The cursor past events that recorded nothing is saved at most this often: each save was a
/// commit waiting for the disk, one per batch (one per run when runs end one by one), and an
/// event handled again after a crash records nothing again (unless a new configuration made it
/// worth a notice: at most the last second's runs are looked at again).
const QUIET_SAVE_EVERY: Duration = Duration::from_secs(1);

/// Where the consumer is past quiet events, not saved yet.
struct QuietCursor {
    unsaved: Option<i64>,
    saved_at: tokio::time::Instant,
}

impl Default for QuietCursor {
    fn default() -> Self {
        Self {
            unsaved: None,
            saved_at: tokio::time::Instant::now(),
        }
    }
}

impl QuietCursor {
    /// Saves the cursor when one is waiting and a second has passed since the last save (or
    /// `now`, at the periodic tick and at the stop).
    async fn save(&mut self, inner: &Arc<Inner>, now: bool) {
        let Some(seq) = self.unsaved else {
            return;
        };
        if !now && self.saved_at.elapsed() < QUIET_SAVE_EVERY {
            return;
        }
        match store::blocking(&inner.store, move |s| {
            s.save_lifecycle_cursor(CONSUMER, seq)
        })
        .await
        {
            Ok(()) => {
                self.unsaved = None;
                self.saved_at = tokio::time::Instant::now();
            }
            // Kept for the next try; meanwhile a restart handles these quiet events again.
            Err(e) => tracing::warn!("cannot save where the notifications are: {e}"),
        }
    }
}

/// Pending deliveries of a notifier the configuration no longer declares are given up at
/// start, saying so: nothing would ever send them.
async fn abandon_undeclared(inner: &Arc<Inner>) {
    let declared: Vec<String> = inner
        .config()
        .notifiers
        .iter()
        .map(|n| n.id.clone())
        .collect();
    let now = millis(inner.clock.now());
    match store::blocking(&inner.store, move |s| {
        s.abandon_undeclared_deliveries(&declared, now)
    })
    .await
    {
        Ok(gone) => {
            for (notifier, n) in gone {
                tracing::warn!("{n} notification(s) waiting for {notifier:?} were given up: that notifier is no longer in runwisp.toml");
            }
        }
        Err(e) => tracing::warn!("cannot check the delivery outbox for removed notifiers: {e}"),
    }
}

/// Handles a batch of events in order, each in its own transaction with the cursor. Returns
/// the cursor past the quiet events that end the batch, for the caller to save
/// ([`QuietCursor`]).
async fn handle_all(
    inner: &Arc<Inner>,
    events: &[LifecycleEvent],
) -> Result<Option<i64>, store::StoreError> {
    let mut quiet_until: Option<i64> = None;
    // One read for the batch instead of one per quiet success (`Streaks`).
    let mut streaks = Streaks::default();
    if events
        .iter()
        .any(|e| matches!(e.change, Change::Ended { .. }))
    {
        streaks.open = store::blocking(&inner.store, |s| s.open_streaks()).await?;
    }
    for event in events {
        let decided = decide(inner, event, &streaks).await?;
        if let Some((task, _)) = &decided.streak {
            streaks.written.insert(task.clone());
        }
        if let Some(task) = &decided.recovered {
            streaks.written.insert(task.clone());
        }
        if decided.notices.is_empty() && decided.streak.is_none() && decided.recovered.is_none() {
            quiet_until = Some(event.seq);
            continue;
        }
        let (notices, streak, seq) = (decided.notices, decided.streak, event.seq);
        let recovered = decided.recovered;
        let now = millis(inner.clock.now());
        let rows = store::blocking(&inner.store, move |s| {
            s.record_notices(NoticeBatch {
                notices,
                payload: &Outgoing::of,
                streak,
                cursor: Some((CONSUMER.to_string(), seq)),
                now,
                recovered,
            })
        })
        .await?;
        quiet_until = None;
        announce(inner, &rows);
    }
    Ok(quiet_until)
}

/// Which tasks may have a failure streak, known once per batch of events: a success nobody
/// asked to hear of needs a read of its task's streak only when it may end one. 200 tasks
/// succeeding at once took 200 reads (each a trip to the blocking pool) before.
#[derive(Default)]
struct Streaks {
    /// Tasks with a failure streak when the batch was read.
    open: HashSet<String>,
    /// Tasks whose streak this batch has written since.
    written: HashSet<String>,
}

impl Streaks {
    fn may_have_failures(&self, task: &str) -> bool {
        self.open.contains(task) || self.written.contains(task)
    }
}

#[derive(Default)]
struct Decided {
    notices: Vec<NoticeWrite>,
    streak: Option<(String, Streak)>,
    /// The task that recovered: its open failure rows are closed.
    recovered: Option<String>,
}

/// What an end reason notifies as; None for those that never notify.
fn kind_of(reason: EndReason) -> Option<NotifyKind> {
    match reason {
        EndReason::Success => Some(NotifyKind::RunSucceeded),
        EndReason::Failed | EndReason::LogOverflow => Some(NotifyKind::RunFailed),
        EndReason::Timeout => Some(NotifyKind::RunTimeout),
        EndReason::Crashed => Some(NotifyKind::RunCrashed),
        EndReason::Stopped | EndReason::Interrupted => Some(NotifyKind::RunStopped),
        EndReason::Skipped | EndReason::QueueFull => None,
    }
}

fn refused_for_disk(run: &Run) -> bool {
    run.start_at.is_none()
        && run
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with(DISK_REFUSAL))
}

/// Whether a failed run of a task will be tried again (its retries or `restart`).
fn will_retry(inner: &Inner, run: &Run) -> bool {
    let config = inner.config();
    let Some(task) = config.tasks.get(&run.task_name) else {
        return false;
    };
    // `restart = "on_failure"` never ends a chain, so only `retry_attempts` counts here; and
    // nothing is retried once the daemon is stopping.
    run.kind == RunKind::Task
        && !inner.is_stopping()
        && run.end_reason.is_some_and(EndReason::is_retryable)
        && run.retry_attempt < task.retry_attempts
}

fn raised(
    inner: &Inner,
    kind: NotifyKind,
    run: &Run,
    title: String,
    output: Option<String>,
) -> Raised {
    Raised {
        kind,
        task: Some(run.task_name.clone()),
        run: Some(run.id),
        key_extra: run.end_reason.map_or("", |r| r.as_str()).to_string(),
        title,
        lines: lines(&inner.config(), run, output),
        at: run.end_at.or(run.start_at).unwrap_or(run.created_at),
    }
}

async fn decide(
    inner: &Arc<Inner>,
    event: &LifecycleEvent,
    streaks: &Streaks,
) -> Result<Decided, store::StoreError> {
    let config = &inner.config();
    let task = &event.task;
    let reason = match event.change {
        Change::Created => return Ok(Decided::default()),
        Change::Started => {
            let recipients = route::recipients(config, NotifyKind::RunStarted, Some(task));
            if recipients.is_empty() {
                return Ok(Decided::default());
            }
            None
        }
        Change::Ended { reason, .. } => Some(reason),
    };
    if reason.is_some_and(|r| kind_of(r).is_none()) {
        return Ok(Decided::default());
    }
    // The common case, a success (or a stop) nobody asked to hear of and that ends no failure
    // streak, needs no read of the run.
    if let Some(r @ (EndReason::Success | EndReason::Stopped)) = reason {
        let quiet =
            kind_of(r).is_some_and(|kind| route::recipients(config, kind, Some(task)).is_empty());
        if quiet && r == EndReason::Stopped {
            return Ok(Decided::default());
        }
        if quiet {
            let name = task.to_string();
            if !streaks.may_have_failures(&name) {
                return Ok(Decided::default());
            }
            let streak = store::blocking(&inner.store, move |s: &Store| s.streak(&name)).await?;
            if streak.failures == 0 {
                return Ok(Decided::default());
            }
        }
    }
    let id = event.run;
    let Some(run) = store::blocking(&inner.store, move |s| s.get_run(&id)).await? else {
        return Ok(Decided::default());
    };
    let mut decided = Decided::default();
    let Some(reason) = reason else {
        let title = headline(NotifyKind::RunStarted, &run, 0, 0);
        push(
            inner,
            &mut decided,
            raised(inner, NotifyKind::RunStarted, &run, title, None),
        );
        return Ok(decided);
    };
    let Some(mut kind) = kind_of(reason) else {
        return Ok(decided);
    };
    if refused_for_disk(&run) {
        kind = NotifyKind::RunMissed;
        let title = format!("{} did not start: the data disk is nearly full", who(&run));
        push(inner, &mut decided, raised(inner, kind, &run, title, None));
        let pressure = Raised {
            kind: NotifyKind::LogDiskPressure,
            task: None,
            run: None,
            key_extra: "min_free_space".into(),
            title: "the data disk is below [storage] min_free_space".into(),
            lines: run.message.iter().cloned().collect(),
            at: run.end_at.unwrap_or(run.created_at),
        };
        push(inner, &mut decided, pressure);
        return Ok(decided);
    }
    let name = task.to_string();
    let streak_of = name.clone();
    let mut streak = store::blocking(&inner.store, move |s: &Store| s.streak(&streak_of)).await?;
    if route::is_failure(kind) {
        streak.failures += 1;
        if streak.failures == 1 {
            streak.since = run.end_at.unwrap_or(run.created_at);
            streak.told.clear();
        }
        let recipients = route::recipients(config, kind, Some(task));
        let (inapp, mut outbound) = route::split(&recipients);
        if let Some(common) = route::common_of(config, task) {
            let early = streak.failures < common.notify_after_failures.max(1);
            let retrying = common.notify_after_retries && will_retry(inner, &run);
            if early || retrying {
                outbound.clear();
            }
        }
        for id in outbound
            .iter()
            .chain(inapp.then_some(&crate::engine::config::INAPP.to_string()))
        {
            if !streak.told.contains(id) {
                streak.told.push(id.clone());
            }
        }
        let output = runlog_tail(inner, &run);
        let title = headline(kind, &run, 0, 0);
        let r = raised(inner, kind, &run, title, output);
        decided.notices.push(write(inner, &r, inapp, outbound));
        decided.streak = Some((name, streak));
        return Ok(decided);
    }
    if kind == NotifyKind::RunSucceeded {
        if streak.failures > 0 {
            let mut recipients = route::recipients(config, NotifyKind::RunRecovered, Some(task));
            recipients.extend(streak.told.iter().cloned());
            let (inapp, outbound) = route::split(&recipients);
            let title = headline(
                NotifyKind::RunRecovered,
                &run,
                streak.failures,
                streak.since,
            );
            let r = raised(inner, NotifyKind::RunRecovered, &run, title, None);
            decided.notices.push(write(inner, &r, inapp, outbound));
            decided.recovered = Some(name.clone());
            decided.streak = Some((name, Streak::default()));
        }
        let title = headline(kind, &run, 0, 0);
        push(inner, &mut decided, raised(inner, kind, &run, title, None));
        return Ok(decided);
    }
    let title = headline(kind, &run, 0, 0);
    push(inner, &mut decided, raised(inner, kind, &run, title, None));
    Ok(decided)
}

/// Routes `raised` and adds it to `decided` when anyone is to hear of it.
fn push(inner: &Inner, decided: &mut Decided, raised: Raised) {
    let recipients = route::recipients(&inner.config(), raised.kind, raised.task.as_ref());
    let (inapp, outbound) = route::split(&recipients);
    if inapp || !outbound.is_empty() {
        decided.notices.push(write(inner, &raised, inapp, outbound));
    }
}

/// The last lines of a failed run's output, quoted.
fn runlog_tail(inner: &Inner, run: &Run) -> Option<String> {
    let [_, current] = inner.dir.run_log_files(&run.task_name, &run.id);
    quote(&runlog::last_lines(&current, 3))
}

async fn maintain(inner: &Arc<Inner>, last_prune: &mut tokio::time::Instant) {
    let now = millis(inner.clock.now());
    let closed = store::blocking(&inner.store, move |s| {
        s.close_notice_windows(now, &Outgoing::of)
    })
    .await;
    match closed {
        Ok(n) if n > 0 => inner.deliveries_queued(),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot close notification windows: {e}"),
    }
    if last_prune.elapsed() < PRUNE_EVERY {
        return;
    }
    *last_prune = tokio::time::Instant::now();
    let keep = inner.config().notify.history_keep;
    let keep_for =
        i64::try_from(inner.config().notify.history_keep_for.as_millis()).unwrap_or(i64::MAX);
    let before = now.saturating_sub(keep_for);
    if let Err(e) = store::blocking(&inner.store, move |s| s.prune_notices(keep, before)).await {
        tracing::warn!("cannot prune notifications: {e}");
    }
}
