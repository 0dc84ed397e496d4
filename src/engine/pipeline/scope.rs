//! The step runs a pipeline (or one of its parallel groups) has started, so that a stop, a
//! timeout or `fail_fast` reaches every one of them, including a run whose firing was still
//! being recorded when the stop came.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::engine::model::{RunId, TaskName};
use crate::engine::tasks::{self, Firing, TriggerError};
use crate::engine::{Engine, Inner};

#[derive(Default)]
pub(super) struct Scope(Mutex<Live>);

#[derive(Default)]
struct Live {
    cancelled: bool,
    /// Firings being recorded: their runs are not known yet.
    firing: usize,
    /// Active step runs, with what they are (`step 3 build`).
    runs: BTreeMap<RunId, String>,
}

impl Scope {
    fn live(&self) -> MutexGuard<'_, Live> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_cancelled(&self) -> bool {
        self.live().cancelled
    }

    /// The run ended: a stop need not reach it any more.
    pub fn forget(&self, id: &RunId) {
        self.live().runs.remove(id);
    }

    /// ` at step 3 build, step 4.1 api`, or nothing between steps.
    pub fn describe_active(&self) -> String {
        let live = self.live();
        if live.runs.is_empty() {
            return String::new();
        }
        let steps: Vec<&str> = live.runs.values().map(String::as_str).collect();
        format!(" at {}", steps.join(", "))
    }

    /// Marks the scope cancelled and asks each of its runs to stop; returns them.
    pub fn stop_all(&self, inner: &Arc<Inner>) -> Vec<RunId> {
        let ids: Vec<RunId> = {
            let mut live = self.live();
            live.cancelled = true;
            live.runs.keys().copied().collect()
        };
        for id in &ids {
            stop(inner, *id);
        }
        ids
    }

    /// Stops every run of the scope, and any whose firing is still being recorded, and waits
    /// until each has ended.
    pub async fn stop_and_wait(&self, inner: &Arc<Inner>) {
        loop {
            for id in self.stop_all(inner) {
                super::wait_end(inner, id).await;
                self.forget(&id);
            }
            let settled = {
                let live = self.live();
                live.firing == 0 && live.runs.is_empty()
            };
            if settled {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A stop of one run, as an operator's: an active run gets the stop ladder, a queued one ends.
fn stop(inner: &Arc<Inner>, id: RunId) {
    let engine = Engine {
        inner: inner.clone(),
    };
    tokio::spawn(async move {
        // A run that ended meanwhile needs no stop.
        let _ = engine.stop_run(id).await;
    });
}

/// Counts a firing as done in its scopes if it is dropped before it settled (a panic).
struct Settled(Option<Vec<Arc<Scope>>>);

impl Drop for Settled {
    fn drop(&mut self) {
        for s in self.0.iter().flatten() {
            let mut live = s.live();
            live.firing = live.firing.saturating_sub(1);
        }
    }
}

/// Fires a step run and registers it in `scopes`. The firing runs as its own task (a stop
/// that drops the pipeline's future must not cut it between recording the row and starting
/// the run); a run registered in a cancelled scope is stopped at once.
pub(super) async fn launch(
    inner: &Arc<Inner>,
    scopes: &[Arc<Scope>],
    name: &TaskName,
    firing: Firing,
    what: &str,
) -> Result<RunId, TriggerError> {
    for s in scopes {
        s.live().firing += 1;
    }
    let (inner, scopes, name, what) = (
        inner.clone(),
        scopes.to_vec(),
        name.clone(),
        what.to_string(),
    );
    let task = tokio::spawn(async move {
        // The count goes down however this ends, so a stop never waits for a firing forever.
        let mut settled = Settled(Some(scopes.clone()));
        let fired = tasks::fire(&inner, &name, firing).await.map(|f| f.id);
        settled.0 = None;
        let mut cancelled = false;
        // Counted down and registered under one lock: a stop sees the firing or its run.
        for s in &scopes {
            let mut live = s.live();
            live.firing = live.firing.saturating_sub(1);
            if let Ok(id) = &fired {
                live.runs.insert(*id, what.clone());
                cancelled |= live.cancelled;
            }
        }
        if let (Ok(id), true) = (&fired, cancelled) {
            stop(&inner, *id);
        }
        fired
    });
    task.await.unwrap_or_else(|e| {
        Err(TriggerError::Store(
            crate::engine::store::StoreError::Worker(e.to_string()),
        ))
    })
}
