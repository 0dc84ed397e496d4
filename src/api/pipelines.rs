//! Pipelines on the wire: a pipeline's steps in the task object, and a pipeline run as a tree
//! (`GET /api/runs/{id}/tree`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::RunObject;
use crate::engine::config::{OnInterrupt, Pipeline, Step};
use crate::engine::model::{StepKind, StepState};
use crate::engine::pipeline::tree::{StepView, TreeView};

/// One step of a pipeline's definition (a parallel group's members are listed one by one,
/// their position saying which group they belong to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineStep {
    /// `"3"`, or `"4.2"` for the second member of step 4's parallel group.
    pub step: String,
    pub name: String,
    /// `task` or `pipeline`.
    pub kind: StepKind,
    pub continue_on_failure: bool,
    /// `retry`, `continue` or `fail`.
    pub on_interrupt: String,
    /// For a member of a parallel group: whether the group stops at its first failure.
    pub fail_fast: Option<bool>,
}

impl PipelineStep {
    pub fn list(pipeline: &Pipeline) -> Vec<Self> {
        let mut out = Vec::new();
        for (i, step) in pipeline.steps.iter().enumerate() {
            let (members, fail_fast) = match step {
                Step::One(r) => (std::slice::from_ref(r), None),
                Step::Parallel { members, fail_fast } => (members.as_slice(), Some(*fail_fast)),
            };
            for (j, r) in members.iter().enumerate() {
                out.push(PipelineStep {
                    step: match fail_fast {
                        None => (i + 1).to_string(),
                        Some(_) => format!("{}.{}", i + 1, j + 1),
                    },
                    name: r.name.to_string(),
                    kind: if r.pipeline {
                        StepKind::Pipeline
                    } else {
                        StepKind::Task
                    },
                    continue_on_failure: r.continue_on_failure,
                    on_interrupt: match r.on_interrupt {
                        OnInterrupt::Retry => "retry",
                        OnInterrupt::Continue => "continue",
                        OnInterrupt::Fail => "fail",
                    }
                    .to_string(),
                    fail_fast,
                });
            }
        }
        out
    }
}

/// A pipeline run and its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunTree {
    pub run: RunObject,
    pub steps: Vec<StepNode>,
}

/// One step of a pipeline run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StepNode {
    /// Its position: `"3"`, `"4.2"`.
    pub step: String,
    /// The task or pipeline it runs; null for a parallel group.
    pub name: Option<String>,
    pub kind: StepKind,
    pub state: StepState,
    /// Its latest run (its retries before it are counted in `attempts`); for a step a resume
    /// skipped, the earlier run's.
    pub run: Option<RunObject>,
    pub attempts: usize,
    /// A parallel group's members, or a sub-pipeline's steps.
    pub steps: Vec<StepNode>,
}

impl From<&StepView> for StepNode {
    fn from(v: &StepView) -> Self {
        StepNode {
            step: v.step.clone(),
            name: v.name.as_ref().map(|n| n.to_string()),
            kind: v.kind,
            state: v.state,
            run: v.run.as_ref().map(RunObject::from),
            attempts: v.attempts,
            steps: v.steps.iter().map(StepNode::from).collect(),
        }
    }
}

impl From<&TreeView> for RunTree {
    fn from(t: &TreeView) -> Self {
        RunTree {
            run: RunObject::from(&t.run),
            steps: t.steps.iter().map(StepNode::from).collect(),
        }
    }
}

/// The one-character mark the CLI and the TUI show for a step's state.
pub fn glyph(state: StepState) -> &'static str {
    match state {
        StepState::Success => "✓",
        StepState::Failed | StepState::Timeout | StepState::Crashed | StepState::LogOverflow => "✗",
        StepState::Stopped | StepState::Interrupted => "■",
        StepState::Running => "▶",
        StepState::Pending => "…",
        StepState::Skipped | StepState::QueueFull => "⊘",
        StepState::SkippedByResume => "↷",
        StepState::NotStarted => "·",
    }
}

/// A tree as indented lines (`├─ 2.1 ✓ build-api  success  12s`), each with the step and
/// its run id, for the CLI's `runs ID --tree` and the TUI's tree view.
pub fn lines(steps: &[StepNode]) -> Vec<TreeLine> {
    let mut out = Vec::new();
    walk(steps, "", &mut out);
    out
}

/// One line of a drawn tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// The drawing in front of the step (`│  ├─ `).
    pub indent: String,
    pub step: String,
    /// The task or pipeline (a sub-pipeline says so), or `parallel`.
    pub label: String,
    pub state: StepState,
    /// How long its latest run took (empty while it runs), or the run a resume skipped to.
    pub duration: String,
    /// Its latest run, to open.
    pub run_id: Option<String>,
}

fn walk(steps: &[StepNode], prefix: &str, out: &mut Vec<TreeLine>) {
    for (i, s) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let label = match (s.kind, &s.name) {
            (StepKind::Parallel, _) => "parallel".to_string(),
            (StepKind::Pipeline, Some(name)) => format!("{name} (pipeline)"),
            (_, Some(name)) => name.clone(),
            (_, None) => "?".to_string(),
        };
        let label = match s.attempts {
            n if n > 1 => format!("{label} ({n} attempts)"),
            _ => label,
        };
        let duration = match &s.run {
            Some(r) if s.state == StepState::SkippedByResume => format!("run {}", short(&r.id)),
            Some(r) => match (r.duration_ms, &r.start_at) {
                (Some(ms), _) => crate::engine::config::units::format_duration(
                    std::time::Duration::from_millis(ms.max(0) as u64),
                ),
                // Its state says it is running.
                _ => String::new(),
            },
            None => String::new(),
        };
        out.push(TreeLine {
            indent: format!("{prefix}{}", if last { "└─ " } else { "├─ " }),
            step: s.step.clone(),
            label,
            state: s.state,
            duration,
            run_id: s.run.as_ref().map(|r| r.id.clone()),
        });
        let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
        walk(&s.steps, &deeper, out);
    }
}

/// The last 4 characters of a run id, as the UIs show it.
fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(4)..]
}
