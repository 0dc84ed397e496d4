//! The runs whose process may be alive right now, the firings on their way to becoming one,
//! and the shutdown flag they all watch. The shutdown waits on exactly this: no firing in flight
//! and no active run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::engine::launch::ActiveRun;
use crate::engine::model::RunId;

pub(crate) struct Live {
    /// Every run whose process may be alive, by id.
    active: Mutex<HashMap<RunId, ActiveRun>>,
    /// Firings between deciding to record a run and the run being active, queued or ended
    /// (see [`Live::in_flight`]).
    firing: AtomicUsize,
    shutting_down: AtomicBool,
    /// Flips to true once, when shutdown begins; loops and waits select on it.
    stopping: watch::Sender<bool>,
}

/// A firing in flight; see [`Live::in_flight`].
pub(crate) struct InFlight<'a>(&'a Live);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.firing.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Live {
    pub fn new() -> Self {
        Self {
            active: Mutex::new(HashMap::new()),
            firing: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            stopping: watch::channel(false).0,
        }
    }

    pub fn active(&self) -> MutexGuard<'_, HashMap<RunId, ActiveRun>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a firing in flight until the guard drops. Taken before checking
    /// [`Live::is_stopping`], so that a shutdown, which raises that flag before it waits for
    /// firings to settle, either sees this firing or is seen by it: a clean stop never leaves a
    /// row `pending` behind.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.firing.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }

    /// No firing in flight and no active run.
    pub fn settled(&self) -> bool {
        self.firing.load(Ordering::SeqCst) == 0 && self.active().is_empty()
    }

    pub fn is_stopping(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Raises the shutdown flag (once) and wakes everything waiting in [`Live::stopped`].
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.stopping.send_replace(true);
    }

    /// Resolves when shutdown begins.
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}
