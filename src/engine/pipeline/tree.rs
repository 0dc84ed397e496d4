//! A pipeline run as a tree (`GET /api/runs/{id}/tree`, `runwisp runs ID --tree`, the TUI):
//! each step of the pipeline's definition with its state and latest run, parallel members
//! and sub-pipelines nested. Built from the rows alone, so it reads the same while the run is
//! going, after it ended, and after a restart of the daemon.

use std::collections::BTreeMap;

use super::resume::Previous;
use crate::engine::config::{Config, OnInterrupt, Step, StepRef};
use crate::engine::model::{Run, RunKind, StepKind, StepState, TaskName};
use crate::engine::store::{Store, StoreError};

/// Sub-pipelines are followed this deep (the configuration has no cycles; this bounds a
/// hand-edited history).
const MAX_DEPTH: usize = 16;

/// A pipeline run with its steps.
#[derive(Debug, Clone)]
pub struct TreeView {
    pub run: Run,
    pub steps: Vec<StepView>,
}

/// One step of a pipeline run.
#[derive(Debug, Clone)]
pub struct StepView {
    /// Its position: `"3"`, `"4.2"` for the second member of step 4's parallel group.
    pub step: String,
    /// The task or pipeline it runs (none for a parallel group).
    pub name: Option<TaskName>,
    pub kind: StepKind,
    pub state: StepState,
    /// Its latest run (for a step skipped by a resume: the earlier run's).
    pub run: Option<Run>,
    /// How many runs this step made in this pipeline run (retries included).
    pub attempts: usize,
    /// A parallel group's members, or a sub-pipeline's steps.
    pub steps: Vec<StepView>,
}

/// The tree of pipeline run `run`, read with the pipeline's definition in `config`.
pub fn build(store: &Store, config: &Config, run: Run) -> Result<TreeView, StoreError> {
    let steps = steps_of(store, config, &run, 0)?;
    Ok(TreeView { run, steps })
}

fn steps_of(
    store: &Store,
    config: &Config,
    run: &Run,
    depth: usize,
) -> Result<Vec<StepView>, StoreError> {
    if depth >= MAX_DEPTH {
        return Ok(Vec::new());
    }
    let mut by_step: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for row in store.step_runs(&run.id)? {
        if let Some(step) = row.step.clone() {
            by_step.entry(step).or_default().push(row);
        }
    }
    let previous = match run.resume_of_run_id {
        Some(old) => Some(Previous::read_from(store, old)?),
        None => None,
    };
    let reached = by_step.keys().filter_map(|s| top(s)).max().unwrap_or(0);
    let ctx = Ctx {
        store,
        config,
        run,
        previous: previous.as_ref(),
        reached,
        depth,
    };
    let pipeline = config.task(&run.task_name).and_then(|t| t.pipeline.clone());
    let Some(pipeline) = pipeline else {
        // The pipeline is no longer configured: its steps as the rows have them.
        return by_step
            .into_iter()
            .map(|(step, runs)| ctx.node_of_rows(step, runs))
            .collect();
    };
    let mut out = Vec::new();
    for (i, step) in pipeline.steps.iter().enumerate() {
        let position = (i + 1).to_string();
        match step {
            Step::One(r) => out.push(ctx.node(position, r, &mut by_step)?),
            Step::Parallel { members, .. } => {
                let mut nodes = Vec::new();
                for (j, r) in members.iter().enumerate() {
                    nodes.push(ctx.node(format!("{position}.{}", j + 1), r, &mut by_step)?);
                }
                out.push(StepView {
                    state: group_state(&nodes),
                    step: position,
                    name: None,
                    kind: StepKind::Parallel,
                    run: None,
                    attempts: 0,
                    steps: nodes,
                });
            }
        }
    }
    Ok(out)
}

/// The top-level step number of a position (`"4.2"` → 4).
fn top(position: &str) -> Option<usize> {
    position.split('.').next()?.parse().ok()
}

struct Ctx<'a> {
    store: &'a Store,
    config: &'a Config,
    run: &'a Run,
    previous: Option<&'a Previous>,
    /// The highest top-level step this run made a row for.
    reached: usize,
    depth: usize,
}

impl Ctx<'_> {
    fn node(
        &self,
        step: String,
        r: &StepRef,
        by_step: &mut BTreeMap<String, Vec<Run>>,
    ) -> Result<StepView, StoreError> {
        let kind = if r.pipeline {
            StepKind::Pipeline
        } else {
            StepKind::Task
        };
        let runs = by_step.remove(&step).unwrap_or_default();
        let attempts = runs.len();
        let Some(latest) = runs.into_iter().next_back() else {
            let (state, run) = self.not_run(&step, r);
            return Ok(StepView {
                step,
                name: Some(r.name.clone()),
                kind,
                state,
                run,
                attempts: 0,
                steps: Vec::new(),
            });
        };
        let steps = if latest.kind == RunKind::Pipeline {
            steps_of(self.store, self.config, &latest, self.depth + 1)?
        } else {
            Vec::new()
        };
        Ok(StepView {
            step,
            name: Some(r.name.clone()),
            kind,
            state: StepState::of(&latest),
            run: Some(latest),
            attempts,
            steps,
        })
    }

    /// A step with no run in this pipeline run: skipped by the resume, or not started.
    fn not_run(&self, step: &str, r: &StepRef) -> (StepState, Option<Run>) {
        let Some(old) = self.previous.and_then(|p| p.latest(step)) else {
            return (StepState::NotStarted, None);
        };
        let succeeded = StepState::of(old) == StepState::Success;
        let went_on = self.previous.is_some_and(|p| p.was_interrupted(old))
            && r.on_interrupt == OnInterrupt::Continue
            && (top(step).is_some_and(|s| s < self.reached)
                || self.run.end_reason == Some(crate::engine::model::EndReason::Success));
        if succeeded || went_on {
            (StepState::SkippedByResume, Some(old.clone()))
        } else {
            (StepState::NotStarted, None)
        }
    }

    fn node_of_rows(&self, step: String, runs: Vec<Run>) -> Result<StepView, StoreError> {
        let attempts = runs.len();
        let latest = runs.into_iter().next_back();
        let (kind, name, state) = match &latest {
            Some(run) if run.kind == RunKind::Pipeline => (
                StepKind::Pipeline,
                Some(run.task_name.clone()),
                StepState::of(run),
            ),
            Some(run) => (
                StepKind::Task,
                Some(run.task_name.clone()),
                StepState::of(run),
            ),
            None => (StepKind::Task, None, StepState::NotStarted),
        };
        let steps = match &latest {
            Some(run) if run.kind == RunKind::Pipeline => {
                steps_of(self.store, self.config, run, self.depth + 1)?
            }
            _ => Vec::new(),
        };
        Ok(StepView {
            step,
            name,
            kind,
            state,
            run: latest,
            attempts,
            steps,
        })
    }
}

/// A parallel group's state from its members'.
fn group_state(members: &[StepView]) -> StepState {
    if members.iter().any(|m| m.state.is_active()) {
        return StepState::Running;
    }
    if members.iter().all(|m| m.state.is_done()) {
        return StepState::Success;
    }
    if members.iter().all(|m| m.state == StepState::NotStarted) {
        return StepState::NotStarted;
    }
    members
        .iter()
        .map(|m| m.state)
        .find(|s| !s.is_done() && *s != StepState::NotStarted)
        .unwrap_or(StepState::NotStarted)
}
