//! A pipeline run's own log: runwisp's `[SYSTEM]` lines saying which step started, was
//! skipped or ended, read and followed like any run's log.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::events::Event;
use crate::engine::model::{RunId, TaskName};
use crate::engine::Inner;

pub(super) struct Log {
    inner: Arc<Inner>,
    run: RunId,
    path: PathBuf,
}

impl Log {
    /// Creates the run's log file; the sentence to record when it cannot.
    pub fn open(inner: &Arc<Inner>, task: &TaskName, run: RunId) -> Result<Self, String> {
        let path = inner
            .dir
            .prepare_run_log(task, &run)
            .map_err(|e| format!("not started: {e}"))?;
        Ok(Self {
            inner: inner.clone(),
            run,
            path,
        })
    }

    /// Appends one line. A line that cannot be written (a full disk) is only warned about:
    /// the rows keep the pipeline's state, the log only tells it.
    pub fn line(&self, text: &str) {
        let written = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(format!("[SYSTEM] {text}\n").as_bytes()));
        match written {
            Ok(()) => self.inner.emit(Event::LogAppended { run: self.run }),
            Err(e) => tracing::warn!(run = %self.run, "cannot write to the pipeline's log: {e}"),
        }
    }
}
