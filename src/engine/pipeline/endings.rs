//! How a pipeline learns that a step's run ended: from the run's own path as soon as its end
//! is queued for the commit (like a task's queue hands its slot over), else from the history.
//! The next step's row is committed after that end (or with it), so the history never shows
//! the next step before the previous one's end, and a step costs one commit, not two.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::engine::model::{EndReason, RunId};
use crate::engine::runner::Outcome;
use crate::engine::Inner;

/// The step runs a pipeline waits for, by id.
static WAITING: Mutex<BTreeMap<RunId, oneshot::Sender<Outcome>>> = Mutex::new(BTreeMap::new());

fn waiting() -> MutexGuard<'static, BTreeMap<RunId, oneshot::Sender<Outcome>>> {
    WAITING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Called by a task's run path once a step run's end is queued for the commit.
pub(crate) fn step_ended(id: RunId, outcome: &Outcome) {
    if let Some(tx) = waiting().remove(&id) {
        let _ = tx.send(outcome.clone());
    }
}

/// Registers run `id` (not fired yet) as awaited.
pub(super) fn expect(id: RunId) -> oneshot::Receiver<Outcome> {
    let (tx, rx) = oneshot::channel();
    waiting().insert(id, tx);
    rx
}

pub(super) fn forget(id: &RunId) {
    waiting().remove(id);
}

/// How a step's run ended, and how long it took from its firing.
pub(super) struct End {
    pub outcome: Outcome,
    pub took_ms: i64,
}

/// Waits for the end of step run `id`: told by its run path, or read from the history for a
/// run that ended another way (refused by its task's policy, stopped while queued). `None`
/// when its row is gone.
pub(super) async fn wait(
    inner: &Arc<Inner>,
    id: RunId,
    early: oneshot::Receiver<Outcome>,
    began: Instant,
) -> Option<End> {
    let outcome = tokio::select! {
        Ok(outcome) = early => Some(outcome),
        run = super::wait_end(inner, id) => run.map(|run| Outcome {
            end_reason: run.end_reason.unwrap_or(EndReason::Failed),
            exit_code: run.exit_code.unwrap_or(-1),
            message: run.message,
        }),
    };
    forget(&id);
    Some(End {
        outcome: outcome?,
        took_ms: began.elapsed().as_millis() as i64,
    })
}
