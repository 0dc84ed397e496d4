//! Firing cron tasks on time (`product.md` §3.3, §3.4). One loop holds every scheduled task in
//! a heap ordered by its next instant and sleeps until [`LEAD`] before the earliest, or until
//! the instant of a firing it holds (no polling: the real clock only re-reads the wall clock
//! once a minute to notice a step).
//!
//! - At boot each task compares its firings since its anchor (its newest cron run, or when the
//!   daemon first saw it) with now and applies `catch_up`: `latest`, `all` (at most
//!   `max_catch_up_runs`, the newest, oldest first) or `skip`.
//! - On each wake, a task with exactly one instant due fires it (`triggered_by = "cron"`);
//!   several instants due at once mean the wall clock jumped forward (or the host slept), and
//!   the catch-up policy decides, as at boot.
//! - When the wall clock goes backward, tasks re-plan from the new now; an instant that already
//!   has a run is refused by the `UNIQUE(task_name, scheduled_for)` constraint, so nothing
//!   fires twice.
//! - A firing is recorded [`LEAD`] before its instant and held until the instant ([`Release`]):
//!   its row's commit (an fsync) is off the path from the instant to the process. Its slot is
//!   decided at the instant, as before. A daemon stopped within that lead records the run
//!   ended (`stopped`, never started), and the instant has a run, so nothing fires it again; a
//!   crash leaves the row for recovery to record `crashed`, as any run not yet started.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::clock::{millis, WALL_CHECK};
use crate::engine::config::{CatchUp, Task};
use crate::engine::model::{NotifyKind, TaskName, TriggeredBy};
use crate::engine::notify;
use crate::engine::schedule::missed::{missed, Missed};
use crate::engine::store::{self, StoreError};
use crate::engine::tasks::{fire, Firing, TriggerError};
use crate::engine::Inner;

/// How long before its instant a scheduled firing's row is written: enough for the commit of
/// 200 rows due at once on a slow disk, short enough that a stop within it is rare.
const LEAD: jiff::SignedDuration = jiff::SignedDuration::from_millis(50);

/// What holds a scheduled firing, recorded ahead, until its instant: the scheduler's gate
/// says how far the wall clock has come (it never moves back, so an instant once let through
/// stays so; after a step back, a held instant waits for the clock to reach it again).
pub(crate) struct Release {
    gate: tokio::sync::watch::Receiver<Timestamp>,
    at: Timestamp,
}

impl Release {
    /// Resolves at the instant; at once when the scheduler has stopped (the firing then goes
    /// ahead to its decision, which sees the shutdown).
    pub(crate) async fn wait(&self) {
        let at = self.at;
        let mut gate = self.gate.clone();
        let _ = gate.wait_for(|until| *until >= at).await;
    }
}

struct Scheduled {
    name: TaskName,
    task: Arc<Task>,
    /// Every instant up to this one has been handled.
    handled: Timestamp,
}

impl Scheduled {
    fn next(&self) -> Option<Timestamp> {
        self.task
            .cron
            .as_ref()?
            .next_after(self.handled, &self.task.timezone)
    }

    /// Instants in `(handled, until]`: the newest `keep` of them, oldest first, and how many
    /// there were (computed, not walked: see [`missed`]).
    fn due(&self, until: Timestamp, keep: usize) -> Missed {
        match self.task.cron.as_ref() {
            Some(schedule) => missed(schedule, &self.task.timezone, self.handled, until, keep),
            None => Missed {
                newest: Vec::new(),
                total: 0,
            },
        }
    }
}

/// Applies catch-up at boot and starts the scheduling loop.
pub(crate) async fn spawn(inner: Arc<Inner>) -> Result<(), StoreError> {
    let now = inner.clock.now();
    let tasks: Vec<(TaskName, Arc<Task>)> = inner
        .defs()
        .tasks
        .iter()
        .filter(|(_, def)| def.spec.cron.is_some())
        .map(|(name, def)| (name.clone(), def.spec.clone()))
        .collect();
    let names: Vec<String> = tasks.iter().map(|(n, _)| n.to_string()).collect();
    let anchors = store::blocking(&inner.store, move |s| {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        s.schedule_anchors(&names, millis(now))
    })
    .await?;
    let mut scheduled = Vec::with_capacity(tasks.len());
    for ((name, task), anchor) in tasks.into_iter().zip(anchors) {
        let handled = Timestamp::from_millisecond(anchor).unwrap_or(now).min(now);
        let mut entry = Scheduled {
            name,
            task,
            handled,
        };
        let keep = catch_up_keep(&entry.task);
        let due = entry.due(now, keep);
        if due.total > 0 {
            spawn_fires(&inner, &entry, due, true, None);
        }
        entry.handled = now;
        scheduled.push(entry);
    }
    prepare_log_dirs(&inner, &scheduled);
    tokio::spawn(run(inner, scheduled, now));
    Ok(())
}

/// Makes the log directories of the scheduled tasks in the background, so a task's first
/// firing does not make its own: 200 tasks due at once for the first time made 200
/// directories in one parent, one at a time (each `mkdir` holds the parent's lock), on the
/// path to their starts. A firing still makes a directory that is missing.
fn prepare_log_dirs<'a>(inner: &Arc<Inner>, scheduled: impl IntoIterator<Item = &'a Scheduled>) {
    let names: Vec<TaskName> = scheduled.into_iter().map(|s| s.name.clone()).collect();
    if names.is_empty() {
        return;
    }
    let inner = inner.clone();
    drop(tokio::task::spawn_blocking(move || {
        for name in names {
            if inner.is_stopping() {
                return;
            }
            if let Err(e) = inner.dir.prepare_task_logs(&name) {
                tracing::debug!(task = %name, "cannot make the task's log directory ahead: {e}");
            }
        }
    }));
}

fn catch_up_keep(task: &Task) -> usize {
    match task.catch_up {
        CatchUp::All => task.max_catch_up_runs as usize,
        CatchUp::Latest | CatchUp::Skip => 1,
    }
}

fn heap_of(scheduled: &[Scheduled]) -> BinaryHeap<Reverse<(Timestamp, usize)>> {
    scheduled
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.next().map(|t| Reverse((t, i))))
        .collect()
}

/// A reload put new definitions in force: a task whose `cron` and `timezone` stay keeps what it
/// handled; an added task, or one whose `cron` or `timezone` changed, plans from now (no
/// catch-up for the time before it existed); a removed task is dropped.
fn replan(inner: &Inner, scheduled: Vec<Scheduled>, now: Timestamp) -> Vec<Scheduled> {
    let mut before: std::collections::HashMap<TaskName, Scheduled> =
        scheduled.into_iter().map(|s| (s.name.clone(), s)).collect();
    inner
        .defs()
        .tasks
        .iter()
        .filter(|(_, def)| def.spec.cron.is_some())
        .map(|(name, def)| {
            let handled = match before.remove(name) {
                // Only what decides the instants (`cron`, `timezone`) re-plans from now.
                Some(s) if s.task.cron == def.spec.cron && s.task.timezone == def.spec.timezone => {
                    s.handled
                }
                _ => now,
            };
            Scheduled {
                name: name.clone(),
                task: def.spec.clone(),
                handled,
            }
        })
        .collect()
}

async fn run(inner: Arc<Inner>, mut scheduled: Vec<Scheduled>, mut last_now: Timestamp) {
    let mut heap = heap_of(&scheduled);
    let mut reloads = inner.watch_defs();
    reloads.mark_unchanged();
    let mut reloaded = false;
    let (gate, _) = tokio::sync::watch::channel(last_now);
    // The instants of firings recorded ahead and still held.
    let mut held = std::collections::BTreeSet::<Timestamp>::new();
    loop {
        if std::mem::take(&mut reloaded) {
            let known: std::collections::HashSet<TaskName> =
                scheduled.iter().map(|s| s.name.clone()).collect();
            scheduled = replan(&inner, scheduled, inner.clock.now());
            heap = heap_of(&scheduled);
            // Only the tasks the reload added: the others' directories were made already.
            prepare_log_dirs(
                &inner,
                scheduled.iter().filter(|s| !known.contains(&s.name)),
            );
        }
        let now = inner.clock.now();
        if now < last_now {
            tracing::warn!("the wall clock went back from {last_now} to {now}; re-planning schedules (nothing fires twice)");
            for s in &mut scheduled {
                s.handled = now;
            }
            heap = heap_of(&scheduled);
        }
        // Lets through every held instant up to now, and tells firings recorded from here on
        // that their instants up to now are due (a catch-up's, or one the fake clock reached).
        held.retain(|t| *t > now);
        gate.send_if_modified(|until| {
            let later = now > *until;
            if later {
                *until = now;
            }
            later
        });
        last_now = now;
        let horizon = now.checked_add(LEAD).unwrap_or(now);
        while let Some(&Reverse((t, i))) = heap.peek() {
            if t > horizon {
                break;
            }
            heap.pop();
            let entry = &mut scheduled[i];
            let due = entry.due(horizon, catch_up_keep(&entry.task));
            held.extend(due.newest.iter().filter(|t| **t > now));
            spawn_fires(&inner, entry, due, false, Some(gate.subscribe()));
            entry.handled = horizon;
            if let Some(next) = entry.next() {
                heap.push(Reverse((next, i)));
            }
        }
        let next_lead = heap
            .peek()
            .map(|Reverse((t, _))| t.checked_sub(LEAD).unwrap_or(*t));
        let wake = next_lead
            .into_iter()
            .chain(held.first().copied())
            .min()
            .unwrap_or_else(|| {
                now + jiff::SignedDuration::try_from(WALL_CHECK).unwrap_or_default()
            });
        tokio::select! {
            _ = inner.clock.sleep_until(wake) => {}
            changed = reloads.changed() => reloaded = changed.is_ok(),
            _ = inner.stopped() => return,
        }
    }
}

/// Fires a task's due instants in order, in the background so one slow task never delays
/// another. `at_boot` makes even a single missed instant a catch-up. With the scheduler's
/// `gate` each firing is held until its instant once recorded.
fn spawn_fires(
    inner: &Arc<Inner>,
    entry: &Scheduled,
    missed: Missed,
    at_boot: bool,
    gate: Option<tokio::sync::watch::Receiver<Timestamp>>,
) {
    let name = entry.name.clone();
    let total = missed.total_text();
    let due = missed.newest;
    let (by, due) = if missed.total == 1 && !at_boot {
        (TriggeredBy::Cron, due)
    } else {
        let runs = match entry.task.catch_up {
            CatchUp::Skip => 0,
            CatchUp::Latest => 1,
            CatchUp::All => due.len(),
        };
        let dropped = missed.total.saturating_sub(runs);
        let policy = match entry.task.catch_up {
            CatchUp::Skip => "catch_up = \"skip\" runs none of them".to_string(),
            CatchUp::Latest => "catch_up = \"latest\" runs the most recent one".to_string(),
            CatchUp::All => format!(
                "catch_up = \"all\" runs {runs} of them, {dropped} dropped (max_catch_up_runs = {})",
                entry.task.max_catch_up_runs
            ),
        };
        tracing::info!(task = %name, "missed {total} firing(s); {policy}");
        if dropped > 0 {
            notify::raise(
                inner,
                notify::Raised {
                    kind: NotifyKind::RunMissed,
                    task: Some(name.clone()),
                    run: None,
                    key_extra: "catch_up".into(),
                    title: format!("{name} missed {total} firing(s) while runwisp was not running"),
                    lines: vec![format!("{policy}.")],
                    at: millis(inner.clock.now()),
                },
            );
        }
        match entry.task.catch_up {
            CatchUp::Skip => return,
            CatchUp::Latest | CatchUp::All => (TriggeredBy::CatchUp, due),
        }
    };
    let inner = inner.clone();
    tokio::spawn(async move {
        for instant in due {
            let firing = Firing {
                scheduled_for: Some(instant),
                release: gate.clone().map(|gate| Release { gate, at: instant }),
                ..Firing::new(by, Default::default())
            };
            match fire(&inner, &name, firing).await {
                Ok(_) => {}
                Err(TriggerError::Store(StoreError::Duplicate { .. })) => {
                    tracing::debug!(task = %name, "{instant} already has a run; not firing it again");
                }
                Err(TriggerError::ShuttingDown) => return,
                Err(e) => {
                    tracing::error!(task = %name, "cannot fire the run due at {instant}: {e}")
                }
            }
        }
    });
}
