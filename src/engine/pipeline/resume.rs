//! Resuming a pipeline run (`pipelines.md` §3): what the runs it resumes did at each step, and
//! what to do with that step now. A step that succeeded in any run of the resume chain is
//! skipped; the step that was active when the daemon went down follows its `on_interrupt`; a
//! sub-pipeline that did not succeed is resumed inside, where it stopped.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::config::{OnInterrupt, StepRef};
use crate::engine::model::{EndReason, Run, RunId};
use crate::engine::store::{self, Store, StoreError};
use crate::engine::Inner;

/// How many earlier runs a resume chain is followed through.
const MAX_CHAIN: usize = 64;

/// What the runs resumed did, step by step.
pub(super) struct Previous {
    /// The resumed run ended `interrupted` or `crashed`: the daemon went down during it.
    interrupted: bool,
    /// The newest run of each step position across the chain.
    latest: BTreeMap<String, Run>,
}

/// What a resumed pipeline does with one step.
pub(super) enum Plan {
    /// Run it (a sub-pipeline resumes its earlier run, when there is one).
    Run { resume_of: Option<RunId> },
    /// Count it as done, for this reason.
    Skip(String),
    /// Fail the pipeline at it, for this reason.
    Fail(String),
}

impl Previous {
    pub async fn read(inner: &Arc<Inner>, old: RunId) -> Result<Self, StoreError> {
        store::blocking(&inner.store, move |s| Self::read_from(s, old)).await
    }

    pub fn read_from(store: &Store, old: RunId) -> Result<Self, StoreError> {
        let first = store.get_run(&old)?;
        let interrupted = first.as_ref().is_some_and(|r| {
            matches!(
                r.end_reason,
                Some(EndReason::Interrupted | EndReason::Crashed)
            )
        });
        let mut latest: BTreeMap<String, Run> = BTreeMap::new();
        let mut next = first;
        for _ in 0..MAX_CHAIN {
            let Some(run) = next else { break };
            for step in store.step_runs(&run.id)? {
                let Some(position) = step.step.clone() else {
                    continue;
                };
                match latest.get(&position) {
                    Some(newer) if newer.id > step.id => {}
                    _ => {
                        latest.insert(position, step);
                    }
                }
            }
            next = match run.resume_of_run_id {
                Some(id) => store.get_run(&id)?,
                None => None,
            };
        }
        Ok(Self {
            interrupted,
            latest,
        })
    }

    /// The newest run of a step across the chain.
    pub fn latest(&self, position: &str) -> Option<&Run> {
        self.latest.get(position)
    }

    /// Whether the daemon went down while this step was active.
    pub fn was_interrupted(&self, run: &Run) -> bool {
        self.interrupted
            && matches!(
                run.end_reason,
                Some(EndReason::Crashed | EndReason::Stopped | EndReason::Interrupted) | None
            )
    }

    pub fn plan(&self, position: &str, r: &StepRef) -> Plan {
        let Some(old) = self.latest(position) else {
            return Plan::Run { resume_of: None };
        };
        if old.end_reason == Some(EndReason::Success) {
            return Plan::Skip(format!("it succeeded in run {}", old.id));
        }
        let resume_of = r.pipeline.then_some(old.id);
        if !self.was_interrupted(old) {
            return Plan::Run { resume_of };
        }
        match r.on_interrupt {
            OnInterrupt::Retry => Plan::Run { resume_of },
            OnInterrupt::Continue => Plan::Skip(format!(
                "it was active in run {} when the daemon went down, and counts as done (on_interrupt = \"continue\")",
                old.id
            )),
            OnInterrupt::Fail => Plan::Fail(format!(
                "was active in run {} when the daemon went down (on_interrupt = \"fail\")",
                old.id
            )),
        }
    }
}

/// At boot, after crash recovery: the newest run of each pipeline with `resume_on_boot`, when
/// the daemon's shutdown or crash interrupted it and nothing resumed it yet, is resumed once.
pub(crate) async fn resume_on_boot(inner: &Arc<Inner>) {
    let config = inner.config();
    for (name, task) in config.pipelines() {
        if !task.pipeline.as_ref().is_some_and(|p| p.resume_on_boot) {
            continue;
        }
        let task_name = name.clone();
        let newest =
            store::blocking(&inner.store, move |s| s.latest_top_level_run(&task_name)).await;
        let run = match newest {
            Ok(Some(run)) => run,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(pipeline = %name, "cannot look for an interrupted run to resume: {e}");
                continue;
            }
        };
        if !matches!(
            run.end_reason,
            Some(EndReason::Interrupted | EndReason::Crashed)
        ) {
            continue;
        }
        let engine = crate::engine::Engine {
            inner: inner.clone(),
        };
        match engine.resume(run.id).await {
            Ok(new) => {
                tracing::info!(pipeline = %name, run = %new.id, "resumed run {} of pipeline {name}, which the daemon's {} interrupted (resume_on_boot)", run.id, if run.end_reason == Some(EndReason::Crashed) { "crash" } else { "shutdown" })
            }
            Err(e) => {
                tracing::warn!(pipeline = %name, "not resuming run {} of pipeline {name}: {e}", run.id)
            }
        }
    }
}
