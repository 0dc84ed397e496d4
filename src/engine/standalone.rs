//! A run in this process, for `runwisp exec --standalone` when no daemon holds the data
//! directory. It goes through the daemon's own lifecycle: claimed (so a daemon starting
//! meanwhile leaves it alone), recorded (`Store::insert_run`, durable, in the lifecycle outbox),
//! checked and built by [`launch::prepare`], run by [`runner::execute`] with its start recorded
//! as the daemon records one, and ended (`Store::finish_run`), retried while the disk is full
//! rather than lost. The caller decides what to print and whether to retry the run.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::{millis, Clock, SystemClock};
use crate::engine::config::Task;
use crate::engine::datadir::{DataDir, DataDirError};
use crate::engine::launch;
use crate::engine::model::{EndReason, RunId, RunKind, TaskName, TriggeredBy};
use crate::engine::runner::{self, Echo, Outcome, StopHandle};
use crate::engine::store::{NewRun, Store, StoreError};

/// How long a run's end is retried when it cannot be written (a full disk may be freed).
pub const END_TRIES: u32 = 300;

#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    #[error("cannot claim the run, so it was not started")]
    Claim(#[from] DataDirError),
    #[error("cannot record the run, so it was not started: {0}")]
    Record(StoreError),
    /// The preflight refused it (disk space, working directory, log file): recorded `failed`.
    #[error("run {run} of task {task} {message}")]
    Refused {
        run: RunId,
        task: TaskName,
        message: String,
    },
    #[error("run {run} ended but its end could not be recorded; the next daemon start records it crashed")]
    EndLost { run: RunId, source: Box<StoreError> },
    /// The preflight refused it and the refusal could not be recorded either.
    #[error("run {run} of task {task} {message}, and that could not be recorded; the next daemon start records it crashed")]
    RefusalLost {
        run: RunId,
        task: TaskName,
        message: String,
        source: Box<StoreError>,
    },
}

/// What every attempt of a standalone run shares.
pub struct Standalone<'a> {
    pub dir: &'a DataDir,
    pub store: &'a Arc<Store>,
    /// `[storage] min_free_space`.
    pub floor: u64,
    pub task_name: &'a TaskName,
    pub task: &'a Task,
}

/// What an attempt tells its caller while it runs.
pub trait Observer {
    /// The start could not be recorded (the run goes on; recovery knows it by its owner).
    fn start_not_recorded(&self, run: &RunId, error: &StoreError);
    /// The end could not be recorded yet; it is tried again every second for [`END_TRIES`] s.
    fn end_retrying(&self, run: &RunId, error: &StoreError);
}

impl Standalone<'_> {
    /// Records, runs and records the end of one attempt (`attempt` 0 is the first run, later
    /// ones retry `retry_of`), its output also handed to `echo`.
    pub fn attempt(
        &self,
        runtime: &tokio::runtime::Runtime,
        attempt: u32,
        retry_of: Option<RunId>,
        stop: &StopHandle,
        echo: Echo,
        observer: Arc<dyn Observer + Send + Sync>,
    ) -> Result<(RunId, Outcome), StandaloneError> {
        let clock = SystemClock;
        let by = if attempt == 0 {
            TriggeredBy::Cli
        } else {
            TriggeredBy::Retry
        };
        let new = NewRun {
            retry_attempt: attempt,
            retry_of_run_id: retry_of,
            ..NewRun::new(
                self.task_name.clone(),
                RunKind::Task,
                by,
                millis(clock.now()),
            )
        };
        // Owned before it is recorded: a daemon starting meanwhile leaves this run alone.
        let _owner = crate::engine::run_owner::claim(self.dir, &new.id)?;
        self.store
            .insert_run(&new)
            .map_err(StandaloneError::Record)?;
        let prepared = launch::prepare(
            self.dir,
            self.floor,
            &new,
            &self.task.common,
            &Default::default(),
            self.task.timeout,
        );
        let (spec, log_path) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                self.store
                    .finish_run(
                        &new.id,
                        EndReason::Failed,
                        Some(-1),
                        millis(clock.now()),
                        Some(&message),
                    )
                    .map_err(|source| StandaloneError::RefusalLost {
                        run: new.id,
                        task: self.task_name.clone(),
                        message: message.clone(),
                        source: Box::new(source),
                    })?;
                return Err(StandaloneError::Refused {
                    run: new.id,
                    task: self.task_name.clone(),
                    message,
                });
            }
        };
        let started_store = self.store.clone();
        let started_observer = observer.clone();
        let outcome = runtime.block_on(runner::execute(
            &spec,
            None,
            log_path,
            Some(echo),
            stop.clone(),
            move |s| {
                if let Err(e) = started_store.mark_running(
                    &new.id,
                    millis(SystemClock.now()),
                    s.pid,
                    s.start_time,
                ) {
                    started_observer.start_not_recorded(&new.id, &e);
                }
            },
        ));
        let end_at = millis(clock.now());
        let record = || {
            self.store.finish_run(
                &new.id,
                outcome.end_reason,
                Some(outcome.exit_code),
                end_at,
                outcome.message.as_deref(),
            )
        };
        let mut tries = 0;
        while let Err(e) = record() {
            tries += 1;
            if tries > END_TRIES {
                return Err(StandaloneError::EndLost {
                    run: new.id,
                    source: Box::new(e),
                });
            }
            if tries == 1 {
                observer.end_retrying(&new.id, &e);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok((new.id, outcome))
    }
}
