//! Reading history for the interfaces: one run, by its id or by a unique prefix or suffix of it
//! ([`RunRef`], resolved to a [`Resolved`]), a filtered page of runs (newest first, paged by
//! run id), and where a run's log is kept on disk ([`log_files`]: the rotated `.prev` generation
//! first). Following a live log is reading those files again on each
//! [`Event::LogAppended`](crate::engine::events::Event).

use std::path::PathBuf;

use crate::engine::model::{EndReason, Run, RunId, RunStatus, TaskName, TriggeredBy};
use crate::engine::store::{self, StoreError};
use crate::engine::Engine;

mod run_ref;

pub use run_ref::{Resolved, RunRef, MIN_RUN_REF, SHOWN_CANDIDATES};

/// At most this many runs come back from one query.
pub const MAX_PAGE: u32 = 1000;

/// Filters for [`Engine::runs`]; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    pub task: Option<TaskName>,
    pub status: Option<RunStatus>,
    pub end_reason: Option<EndReason>,
    pub triggered_by: Option<TriggeredBy>,
    /// Only runs older than this one (for paging).
    pub before: Option<RunId>,
    /// 1..=1000; 50 when unset.
    pub limit: Option<u32>,
}

/// The log files of a run: the rotated generation and the current file.
pub fn log_files(engine: &Engine, run: &Run) -> (PathBuf, PathBuf) {
    let [prev, current] = engine.data_dir().run_log_files(&run.task_name, &run.id);
    (prev, current)
}

impl Engine {
    /// The newest run of each of `tasks` that has one.
    pub async fn last_runs(
        &self,
        tasks: Vec<TaskName>,
    ) -> Result<std::collections::HashMap<TaskName, Run>, StoreError> {
        store::blocking(&self.inner.store, move |s| s.last_runs(&tasks)).await
    }

    pub async fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        store::blocking(&self.inner.store, move |s| s.get_run(&id)).await
    }

    /// The run `wanted` names, if exactly one does.
    pub async fn resolve_run(&self, wanted: RunRef) -> Result<Resolved, StoreError> {
        store::blocking(&self.inner.store, move |s| s.resolve_run(&wanted)).await
    }

    /// A page of runs, newest first.
    pub async fn runs(&self, query: RunQuery) -> Result<Vec<Run>, StoreError> {
        store::blocking(&self.inner.store, move |s| s.query_runs(&query)).await
    }
}
