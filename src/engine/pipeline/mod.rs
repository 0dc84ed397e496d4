//! Running a pipeline (`pipelines.md` §2–3). A pipeline run is a run of its own (`kind =
//! "pipeline"`), fired, queued and stopped like a task's; instead of a process it runs its
//! steps. Each step is an ordinary run of its task (or sub-pipeline) made through
//! `tasks::fire`, so the task's concurrency policy, timeout, log and notifications apply,
//! with `parent_run_id` and `step` set; its retries are run from here, as the task's
//! `retry_attempts` say. Everything a pipeline knows is in its rows, so a daemon that went
//! down interrupts a pipeline and a resume (`resume.rs`) picks it up from its rows.
//!
//! The pipeline's own log tells the story in `[SYSTEM]` lines: each step started, skipped,
//! ended. Stopping a pipeline (an operator, its timeout, the daemon's shutdown) stops its active
//! steps, waits until they have ended, and only then records the pipeline's end, so a tree
//! never shows a running step under an ended pipeline.

mod control;
mod endings;
mod log;
mod resume;
mod scope;
pub mod tree;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

pub use control::{ResumeError, TreeError};
pub(crate) use endings::step_ended;
pub(crate) use resume::resume_on_boot;

use self::log::Log;
use self::resume::{Plan, Previous};
use self::scope::Scope;
use crate::engine::clock::millis;
use crate::engine::config::units::format_duration;
use crate::engine::config::{Pipeline, Step, StepRef, Task};
use crate::engine::events::Event;
use crate::engine::launch::Ending;
use crate::engine::model::{EndReason, Run, RunId, TaskName, TriggeredBy};
use crate::engine::runner::{Outcome, StopHandle};
use crate::engine::store::{self, NewRun};
use crate::engine::tasks::{self, Firing};
use crate::engine::trigger::RunEnv;
use crate::engine::Inner;

/// The variables every step run gets (`pipelines.md` §2).
pub const ENV_PIPELINE: &str = "RUNWISP_PIPELINE";
pub const ENV_RUN_ID: &str = "RUNWISP_PIPELINE_RUN_ID";
pub const ENV_STEP: &str = "RUNWISP_STEP";
pub const ENV_DIR: &str = "RUNWISP_PIPELINE_DIR";

/// How a step ended, for its pipeline.
enum StepEnd {
    /// Succeeded, or counted as done (skipped by a resume, `on_interrupt = "continue"`).
    Done,
    /// Failed; `allowed` when `continue_on_failure` lets the pipeline go on.
    Failed {
        message: String,
        exit_code: i32,
        allowed: bool,
    },
}

/// Why a pipeline stopped before its steps were done.
#[derive(Clone, Copy)]
enum Cut {
    Stop,
    Timeout,
}

/// One pipeline run in progress.
struct Running {
    inner: Arc<Inner>,
    id: RunId,
    name: TaskName,
    pipeline: Arc<Pipeline>,
    /// What every step's environment starts from: the pipeline's trigger environment (a
    /// webhook's commit, an operator's variables) and the shared folder.
    env: BTreeMap<String, String>,
    log: Log,
    previous: Option<Previous>,
    /// Every step run this pipeline started: a stop reaches them all.
    root: Arc<Scope>,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs pipeline run `new` to its end and queues the end for the commit; the caller awaits
/// [`Ending::recorded`], like a task's run.
pub(crate) async fn run_to_end(
    inner: &Arc<Inner>,
    new: &NewRun,
    pipeline: &Arc<Pipeline>,
    spec: &Task,
    env: &RunEnv,
    stop: StopHandle,
) -> (Outcome, Ending) {
    let started_at = millis(inner.clock.now());
    let outcome = if inner.is_stopping() {
        Outcome {
            end_reason: EndReason::Stopped,
            exit_code: -1,
            message: Some("the daemon shut down before this run started".into()),
        }
    } else {
        execute(inner, new, pipeline, spec, env, stop, started_at).await
    };
    let ending = Ending::after_start(inner, new.id, &new.task_name, &outcome, Some(started_at));
    (outcome, ending)
}

async fn execute(
    inner: &Arc<Inner>,
    new: &NewRun,
    pipeline: &Arc<Pipeline>,
    spec: &Task,
    env: &RunEnv,
    stop: StopHandle,
    started_at: i64,
) -> Outcome {
    let id = new.id;
    let pending = inner.store.submit_pipeline_start(&id, started_at);
    if let Err(e) = inner.store.committed(pending).await {
        tracing::error!(run = %id, "cannot record the start of a pipeline run: {e}");
    }
    inner.emit(Event::RunStarted {
        run: id,
        task: new.task_name.clone(),
    });
    if let Some(active) = inner.active().get(&id) {
        active.started.notify_one();
    }
    let log = match Log::open(inner, &new.task_name, id) {
        Ok(log) => log,
        Err(message) => return failed(message, 1),
    };
    let env = match shared_folder(inner, new, env) {
        Ok(env) => env,
        Err(message) => {
            log.line(&message);
            return failed(message, 1);
        }
    };
    let previous = match new.resume_of {
        Some(old) => match Previous::read(inner, old).await {
            Ok(p) => Some(p),
            Err(e) => {
                let message = format!("cannot read the run it resumes ({old}): {e}");
                log.line(&message);
                return failed(message, 1);
            }
        },
        None => None,
    };
    if let Some(old) = new.resume_of {
        log.line(&format!(
            "resuming run {old}: steps that succeeded there are skipped"
        ));
    }
    let run = Running {
        inner: inner.clone(),
        id,
        name: new.task_name.clone(),
        pipeline: pipeline.clone(),
        env,
        log,
        previous,
        root: Arc::default(),
    };
    let timeout = spec.timeout;
    let work = run.steps();
    tokio::pin!(work);
    let deadline = async {
        match timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        biased;
        _ = stop.requested() => Err(Cut::Stop),
        _ = deadline => Err(Cut::Timeout),
        ended = &mut work => Ok(ended),
    };
    let outcome = match ended {
        // A step stopped by the daemon's shutdown ends the pipeline `interrupted`, not failed.
        Ok(Err(_)) | Err(Cut::Stop) if inner.is_stopping() => {
            let at = run.root.describe_active();
            run.cancel().await;
            let message = format!(
                "interrupted{at}: the daemon shut down; `runwisp resume {id}` continues it"
            );
            run.log.line(&message);
            Outcome {
                end_reason: EndReason::Interrupted,
                exit_code: -1,
                message: Some(message),
            }
        }
        Ok(Ok(summary)) => {
            run.log.line(&summary);
            Outcome {
                end_reason: EndReason::Success,
                exit_code: 0,
                message: Some(summary),
            }
        }
        Ok(Err((message, exit_code))) => {
            run.log.line(&message);
            failed(message, exit_code)
        }
        Err(cut) => {
            let at = run.root.describe_active();
            run.cancel().await;
            let (end_reason, message) = match cut {
                Cut::Stop => (EndReason::Stopped, format!("stopped by an operator{at}")),
                Cut::Timeout => (
                    EndReason::Timeout,
                    format!(
                        "timed out after {}{at}",
                        format_duration(timeout.unwrap_or_default())
                    ),
                ),
            };
            run.log.line(&message);
            Outcome {
                end_reason,
                exit_code: -1,
                message: Some(message),
            }
        }
    };
    outcome
}

fn failed(message: String, exit_code: i32) -> Outcome {
    Outcome {
        end_reason: EndReason::Failed,
        exit_code,
        message: Some(message),
    }
}

/// The steps' environment: the trigger's, with the folder the steps share. A sub-pipeline
/// shares its parent's folder; a top-level run makes its own, or takes over the folder of the
/// run it resumes, and keeps its trigger environment for a later resume.
fn shared_folder(
    inner: &Inner,
    new: &NewRun,
    env: &RunEnv,
) -> Result<BTreeMap<String, String>, String> {
    let mut env: BTreeMap<String, String> = env
        .iter()
        .filter(|(k, _)| ![ENV_PIPELINE, ENV_RUN_ID, ENV_STEP].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if new.parent.is_some() && env.contains_key(ENV_DIR) {
        return Ok(env);
    }
    let dir = inner.dir.pipeline_dir(&new.task_name, &new.id);
    let taken = new.resume_of.is_some_and(|old| {
        let old = inner.dir.pipeline_dir(&new.task_name, &old);
        std::fs::rename(old, &dir).is_ok()
    });
    if !taken {
        create_private_dir(&dir)
            .map_err(|e| format!("cannot create the pipeline's folder {}: {e}", dir.display()))?;
    }
    env.remove(ENV_DIR);
    if !env.is_empty() {
        let path = inner.dir.pipeline_env_path(&new.task_name, &new.id);
        if let Err(e) = write_private(&path, &env) {
            tracing::warn!(run = %new.id, "cannot keep the pipeline's trigger environment for a resume: {e}");
        }
    }
    env.insert(ENV_DIR.into(), dir.display().to_string());
    Ok(env)
}

fn create_private_dir(dir: &PathBuf) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn write_private(path: &PathBuf, env: &BTreeMap<String, String>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_json::to_vec(env).map_err(std::io::Error::other)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&text)
}

/// A pipeline's trigger environment as kept by [`shared_folder`]; empty when none was kept.
pub(crate) fn kept_env(inner: &Inner, task: &TaskName, run: &RunId) -> BTreeMap<String, String> {
    let path = inner.dir.pipeline_env_path(task, run);
    std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

impl Running {
    /// The steps in order; the summary on success, else the failure's message and exit code.
    async fn steps(&self) -> Result<String, (String, i32)> {
        let (mut done, mut allowed) = (0usize, 0usize);
        for (i, step) in self.pipeline.steps.iter().enumerate() {
            let position = (i + 1).to_string();
            let end = match step {
                Step::One(r) => self.step(position, r, vec![self.root.clone()]).await,
                Step::Parallel { members, fail_fast } => {
                    self.group(&position, members, *fail_fast).await
                }
            };
            match end {
                StepEnd::Done => done += 1,
                StepEnd::Failed {
                    allowed: true,
                    message,
                    ..
                } => {
                    allowed += 1;
                    self.log
                        .line(&format!("{message}; going on (continue_on_failure)"));
                }
                StepEnd::Failed {
                    message, exit_code, ..
                } => return Err((message, exit_code.max(1))),
            }
        }
        let total = self.pipeline.steps.len();
        Ok(match allowed {
            0 => format!("all {total} steps succeeded ({done} done)"),
            n => format!("{done} of {total} steps succeeded, {n} failed and were allowed to"),
        })
    }

    /// A parallel group: every member at once; with `fail_fast`, the first failure that may
    /// not be ignored stops the others.
    async fn group(&self, position: &str, members: &[StepRef], fail_fast: bool) -> StepEnd {
        let group = Arc::new(Scope::default());
        let mut running: FuturesUnordered<Boxed<'_, (usize, StepEnd)>> = members
            .iter()
            .enumerate()
            .map(|(j, r)| {
                let scopes = vec![self.root.clone(), group.clone()];
                let at = format!("{position}.{}", j + 1);
                Box::pin(async move { (j, self.step(at, r, scopes).await) }) as Boxed<'_, _>
            })
            .collect();
        let mut first_failure: Option<StepEnd> = None;
        while let Some((_, end)) = running.next().await {
            if let StepEnd::Failed { allowed: false, .. } = end {
                if first_failure.is_none() {
                    if fail_fast {
                        self.log.line(&format!(
                            "step {position}: a member failed; stopping the others (fail_fast)"
                        ));
                        group.stop_all(&self.inner);
                    }
                    first_failure = Some(end);
                }
            } else if let StepEnd::Failed { message, .. } = end {
                self.log
                    .line(&format!("{message}; going on (continue_on_failure)"));
            }
        }
        first_failure.unwrap_or(StepEnd::Done)
    }

    /// One task or sub-pipeline step, as a resume plans it.
    fn step<'a>(
        &'a self,
        position: String,
        r: &'a StepRef,
        scopes: Vec<Arc<Scope>>,
    ) -> Boxed<'a, StepEnd> {
        Box::pin(async move {
            let plan = match &self.previous {
                Some(previous) => previous.plan(&position, r),
                None => Plan::Run { resume_of: None },
            };
            let resume_of = match plan {
                Plan::Run { resume_of } => resume_of,
                Plan::Skip(why) => {
                    self.log
                        .line(&format!("step {position} {} skipped: {why}", r.name));
                    return StepEnd::Done;
                }
                Plan::Fail(why) => {
                    let message = format!("step {position} {} {why}", r.name);
                    return StepEnd::Failed {
                        message,
                        exit_code: 1,
                        allowed: false,
                    };
                }
            };
            let end = self.attempts(&position, r, resume_of, &scopes).await;
            match end {
                Ok(()) => StepEnd::Done,
                Err((message, exit_code)) => StepEnd::Failed {
                    message,
                    exit_code,
                    allowed: r.continue_on_failure,
                },
            }
        })
    }

    /// Runs a step until it succeeds or has no attempt left (a task's `retry_attempts`).
    async fn attempts(
        &self,
        position: &str,
        r: &StepRef,
        resume_of: Option<RunId>,
        scopes: &[Arc<Scope>],
    ) -> Result<(), (String, i32)> {
        let what = format!("step {position} {}", r.name);
        let mut previous: Option<RunId> = None;
        let mut attempt = 0u32;
        loop {
            let spec = self.inner.task_def(&r.name).map(|d| d.spec);
            let Some(spec) = spec else {
                return Err((
                    format!("{what} was not run: it is no longer in the configuration"),
                    1,
                ));
            };
            if scopes.iter().any(|s| s.is_cancelled()) {
                return Err((format!("{what} was stopped before it started"), -1));
            }
            let mut env = self.env.clone();
            env.insert(ENV_PIPELINE.into(), self.name.to_string());
            env.insert(ENV_RUN_ID.into(), self.id.to_string());
            env.insert(ENV_STEP.into(), position.to_string());
            let by = if attempt == 0 {
                TriggeredBy::Pipeline
            } else {
                TriggeredBy::Retry
            };
            let firing = Firing {
                parent: Some((self.id, position.to_string())),
                retry_of: previous.map(|p| (attempt, p)),
                resume_of: if attempt == 0 { resume_of } else { None },
                ..Firing::new(by, Arc::new(env))
            };
            let id = RunId::new();
            let early = endings::expect(id);
            let firing = Firing {
                id: Some(id),
                ..firing
            };
            let began = std::time::Instant::now();
            if let Err(e) = scope::launch(&self.inner, scopes, &r.name, firing, &what).await {
                endings::forget(&id);
                return Err((format!("{what} could not start: {e}"), 1));
            }
            self.log.line(&match attempt {
                0 => format!("{what} started (run {id})"),
                n => format!("{what} started again, attempt {n} (run {id})"),
            });
            let end = endings::wait(&self.inner, id, early, began).await;
            for s in scopes {
                s.forget(&id);
            }
            let Some(end) = end else {
                return Err((format!("{what} vanished from the history (run {id})"), 1));
            };
            let reason = end.outcome.end_reason;
            if reason == EndReason::Success {
                let took = format!(" in {}", format_ms(end.took_ms));
                self.log.line(&format!("{what} succeeded{took}"));
                return Ok(());
            }
            let message = describe_failure(&what, &end.outcome, r.pipeline);
            let retry = reason.is_retryable()
                && attempt < spec.retry_attempts
                && !spec.is_pipeline()
                && !self.inner.is_stopping()
                && !scopes.iter().any(|s| s.is_cancelled());
            if !retry {
                return Err((message, end.outcome.exit_code));
            }
            attempt += 1;
            let delay = spec
                .retry_backoff
                .delay(spec.retry_delay, attempt, tasks::RETRY_CAP);
            self.log.line(&format!(
                "{message}; attempt {attempt} of {} in {}",
                spec.retry_attempts,
                format_duration(delay)
            ));
            tokio::time::sleep(delay).await;
            previous = Some(id);
        }
    }

    /// Stops every step run still active and waits until each has ended.
    async fn cancel(&self) {
        self.root.stop_and_wait(&self.inner).await;
    }
}

/// A step's end in a sentence: `step 4 run-migrations failed (exit 1)`.
fn describe_failure(what: &str, outcome: &Outcome, pipeline: bool) -> String {
    let reason = outcome.end_reason;
    let exit = outcome.exit_code;
    let why = outcome.message.as_deref().unwrap_or("");
    match reason {
        EndReason::Failed if pipeline => format!("{what} failed: {why}"),
        EndReason::Failed if exit >= 0 => format!("{what} failed (exit {exit})"),
        EndReason::Failed => format!("{what} failed: {why}"),
        EndReason::Timeout => format!("{what} timed out"),
        EndReason::Stopped => format!("{what} was stopped"),
        EndReason::Crashed => format!("{what} crashed"),
        EndReason::Interrupted => format!("{what} was interrupted"),
        EndReason::LogOverflow => {
            format!("{what} failed: its log overflowed (log_on_full = \"kill_task\")")
        }
        EndReason::Skipped | EndReason::QueueFull => format!("{what} was not run: {why}"),
        EndReason::Success => format!("{what} succeeded"),
    }
}

fn format_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// Waits until run `id` has ended and returns it; unlike `Engine::wait_ended` it keeps
/// waiting through the daemon's shutdown (a pipeline records its end after its steps').
async fn wait_end(inner: &Arc<Inner>, id: RunId) -> Option<Run> {
    let mut wake = inner.subscribe();
    loop {
        let row = store::blocking(&inner.store, move |s| s.get_run(&id)).await;
        match row {
            Ok(None) => return None,
            Ok(Some(run)) if run.status == crate::engine::model::RunStatus::Ended => {
                return Some(run)
            }
            Ok(Some(_)) => {}
            Err(e) => tracing::warn!(run = %id, "cannot read a step's run: {e}"),
        }
        let ended = async {
            loop {
                match wake.recv().await {
                    Ok(Event::RunEnded { run, .. }) if run == id => return,
                    Ok(_) => {}
                    // Missed some: read the row again.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await
                    }
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), ended).await;
    }
}
