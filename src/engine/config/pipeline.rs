//! `[pipelines.NAME]` (`pipelines.md` §1): the steps as written, then, once every table is
//! read, each name resolved to a task or a pipeline, with errors for unknown names, services,
//! cycles (named) and the wrong kind of reference.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::de::DeValue;

use super::fields::{Ctx, Fields};
use super::keys;
use super::{OnInterrupt, Pipeline, Service, Step, StepRef, Task};
use crate::engine::model::TaskName;

/// Why a task or service key is refused on a pipeline.
const NOT_FOR_PIPELINES: &str = "is not a pipeline key: a pipeline runs its steps, each with its own task's settings (set it on those tasks)";

/// A step name as written, with where, before it is known to be a task or a pipeline.
pub(super) struct Written {
    span: Range<usize>,
    path: String,
    /// `{ task = … }` or `{ pipeline = … }`; `None` for a bare name.
    said: Option<&'static str>,
}

/// One pipeline's steps as written: where its name is, its steps, and each reference in order.
type AsWritten = (Range<usize>, Vec<Step>, Vec<Written>);

/// The steps of every pipeline as written, resolved by [`resolve`].
#[derive(Default)]
pub(super) struct Unresolved {
    pipelines: BTreeMap<TaskName, AsWritten>,
}

/// Checks a pipeline's keys: the pipeline keys are known, the other task and service keys
/// are refused with a sentence.
pub(super) fn check_keys(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>) {
    let known = keys::names(&[keys::PIPELINE]);
    let rejected: Vec<(&str, String)> = [keys::COMMON, keys::TASK, keys::SERVICE]
        .iter()
        .flat_map(|t| t.iter())
        .filter(|k| !known.contains(&k.name))
        .map(|k| (k.name, format!("`{}` {NOT_FOR_PIPELINES}", k.name)))
        .collect();
    let rejected: Vec<(&str, &str)> = rejected.iter().map(|(k, m)| (*k, m.as_str())).collect();
    f.check_table(ctx, &[keys::PIPELINE], &rejected);
}

/// Reads `steps` and `resume_on_boot` into `task` (read with the task keys that apply).
pub(super) fn read(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_, '_>,
    name: &TaskName,
    name_span: Range<usize>,
    mut task: Task,
    unresolved: &mut Unresolved,
) -> Task {
    let mut written = Vec::new();
    let mut steps = Vec::new();
    match f.get("steps") {
        None => ctx.error(
            f.span.clone(),
            &f.path,
            "missing required key `steps` (the tasks and pipelines this pipeline runs, in order)",
        ),
        Some(value) => match value.get_ref() {
            DeValue::Array(items) if items.is_empty() => ctx.error(
                value.span(),
                &f.key_path("steps"),
                "`steps` cannot be empty: a pipeline runs at least one step",
            ),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{}[{i}]", f.key_path("steps"));
                    if let Some(step) = step(ctx, item, &path, &mut written) {
                        steps.push(step);
                    }
                }
            }
            _ => ctx.error(
                value.span(),
                &f.key_path("steps"),
                "expected an array of steps (names, { task = … } / { pipeline = … } tables or { parallel = [ … ] } groups)",
            ),
        },
    }
    task.max_concurrent = 1;
    // `[defaults] timeout` caps one attempt of a task, not a whole pipeline.
    if f.get("timeout").is_none() {
        task.timeout = None;
    }
    task.pipeline = Some(std::sync::Arc::new(Pipeline {
        steps: steps.clone(),
        resume_on_boot: f.boolean(ctx, "resume_on_boot").unwrap_or(false),
    }));
    unresolved
        .pipelines
        .insert(name.clone(), (name_span, steps, written));
    task
}

type Item<'i> = toml::Spanned<DeValue<'i>>;

fn step(
    ctx: &mut Ctx<'_>,
    item: &Item<'_>,
    path: &str,
    written: &mut Vec<Written>,
) -> Option<Step> {
    if let DeValue::Table(t) = item.get_ref() {
        if t.get("parallel").is_some() {
            let f = Fields::new(t, path, item.span());
            f.check_table(ctx, &[keys::PARALLEL], &[]);
            let fail_fast = f.boolean(ctx, "fail_fast").unwrap_or(false);
            let members = parallel(ctx, &f, written)?;
            return Some(Step::Parallel { members, fail_fast });
        }
    }
    member(ctx, item, path, written).map(Step::One)
}

fn parallel(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_, '_>,
    written: &mut Vec<Written>,
) -> Option<Vec<StepRef>> {
    let value = f.get("parallel")?;
    let path = f.key_path("parallel");
    let DeValue::Array(items) = value.get_ref() else {
        ctx.error(
            value.span(),
            &path,
            "expected an array of the group's members (names or { task = … } / { pipeline = … } tables)",
        );
        return None;
    };
    if items.is_empty() {
        ctx.error(
            value.span(),
            &path,
            "a parallel group needs at least one member",
        );
        return None;
    }
    let mut members: Vec<StepRef> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if let DeValue::Table(t) = item.get_ref() {
            if t.get("parallel").is_some() {
                ctx.error(
                    item.span(),
                    &at,
                    "a parallel group inside a parallel group is not allowed; list its members in the outer group",
                );
                continue;
            }
        }
        let Some(m) = member(ctx, item, &at, written) else {
            continue;
        };
        if members.iter().any(|other| other.name == m.name) {
            ctx.error(
                item.span(),
                &at,
                format!(
                    "{:?} is listed twice in this parallel group; a group runs each step once",
                    m.name.as_str()
                ),
            );
            continue;
        }
        members.push(m);
    }
    Some(members)
}

/// A name, or `{ task = NAME, ... }` / `{ pipeline = NAME, ... }`.
fn member(
    ctx: &mut Ctx<'_>,
    item: &Item<'_>,
    path: &str,
    written: &mut Vec<Written>,
) -> Option<StepRef> {
    let (name, span, said, options) = match item.get_ref() {
        DeValue::String(s) => (s.to_string(), item.span(), None, None),
        DeValue::Table(t) => {
            let f = Fields::new(t, path, item.span());
            f.check_table(ctx, &[keys::STEP], &[]);
            let (said, (name, span)) = match (f.string(ctx, "task"), f.string(ctx, "pipeline")) {
                (Some(n), None) => ("task", n),
                (None, Some(n)) => ("pipeline", n),
                (Some(_), Some(_)) => {
                    ctx.error(
                        item.span(),
                        path,
                        "a step is either { task = … } or { pipeline = … }, not both",
                    );
                    return None;
                }
                (None, None) => {
                    ctx.error(
                        item.span(),
                        path,
                        "a step table names what it runs: { task = \"NAME\" }, { pipeline = \"NAME\" } or { parallel = [ … ] }",
                    );
                    return None;
                }
            };
            let options = (
                f.boolean(ctx, "continue_on_failure").unwrap_or(false),
                f.key_choice(ctx, &keys::ON_INTERRUPT_KEY, keys::ON_INTERRUPT)
                    .unwrap_or(OnInterrupt::Retry),
            );
            (name, span, Some(said), Some(options))
        }
        _ => {
            ctx.error(
                item.span(),
                path,
                "expected a step: a task or pipeline name, a { task = … } / { pipeline = … } table or a { parallel = [ … ] } group",
            );
            return None;
        }
    };
    let name = match TaskName::parse(&name) {
        Ok(n) => n,
        Err(e) => {
            let shown = crate::engine::model::truncate_for_message(&name);
            ctx.error(
                span,
                path,
                format!("{shown:?} is not a valid step name: {e}"),
            );
            return None;
        }
    };
    let (continue_on_failure, on_interrupt) = options.unwrap_or((false, OnInterrupt::Retry));
    written.push(Written {
        span,
        path: path.to_string(),
        said,
    });
    Some(StepRef {
        name,
        pipeline: false,
        continue_on_failure,
        on_interrupt,
    })
}

/// Resolves every step name to a task or a pipeline and rejects cycles; the pipelines in
/// `tasks` get their resolved steps.
pub(super) fn resolve(
    ctx: &mut Ctx<'_>,
    tasks: &mut BTreeMap<TaskName, Task>,
    services: &BTreeMap<TaskName, Service>,
    unresolved: Unresolved,
) {
    let pipelines: BTreeSet<TaskName> = unresolved.pipelines.keys().cloned().collect();
    let mut graph: BTreeMap<TaskName, Vec<TaskName>> = BTreeMap::new();
    let mut spans = BTreeMap::new();
    for (name, (span, mut steps, written)) in unresolved.pipelines {
        spans.insert(name.clone(), span);
        let mut written = written.into_iter();
        for r in steps.iter_mut().flat_map(refs_mut) {
            let Some(w) = written.next() else { break };
            r.pipeline = pipelines.contains(&r.name);
            check_ref(ctx, r, &w, tasks, services);
            if r.pipeline {
                graph.entry(name.clone()).or_default().push(r.name.clone());
            }
        }
        if let Some(Some(p)) = tasks.get_mut(&name).map(|t| t.pipeline.as_mut()) {
            std::sync::Arc::make_mut(p).steps = steps;
        }
    }
    for cycle in cycles(&graph) {
        let first = &cycle[0];
        let span = spans.get(first).cloned().unwrap_or(0..0);
        let shown: Vec<&str> = cycle.iter().map(TaskName::as_str).collect();
        ctx.error(
            span,
            &format!("pipelines.{first}"),
            format!(
                "pipeline {:?} contains itself: {}; a pipeline cannot run itself, directly or through sub-pipelines",
                first.as_str(),
                shown.join(" → ")
            ),
        );
    }
}

fn refs_mut(step: &mut Step) -> Vec<&mut StepRef> {
    match step {
        Step::One(r) => vec![r],
        Step::Parallel { members, .. } => members.iter_mut().collect(),
    }
}

fn check_ref(
    ctx: &mut Ctx<'_>,
    r: &StepRef,
    w: &Written,
    tasks: &BTreeMap<TaskName, Task>,
    services: &BTreeMap<TaskName, Service>,
) {
    let name = r.name.as_str();
    let message = if services.contains_key(&r.name) {
        format!("{name:?} is a service; a pipeline step is a task or a pipeline (a service is kept alive, it never finishes)")
    } else if !tasks.contains_key(&r.name) {
        format!("unknown step {name:?}: no task or pipeline has that name")
    } else if w.said == Some("task") && r.pipeline {
        format!("{name:?} is a pipeline; write {{ pipeline = {name:?} }}")
    } else if w.said == Some("pipeline") && !r.pipeline {
        format!("{name:?} is a task; write {{ task = {name:?} }}")
    } else {
        return;
    };
    ctx.error(w.span.clone(), &w.path, message);
}

/// Each cycle of the sub-pipeline graph once, as the path that closes it (`a → b → a`).
fn cycles(graph: &BTreeMap<TaskName, Vec<TaskName>>) -> Vec<Vec<TaskName>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &TaskName,
        graph: &BTreeMap<TaskName, Vec<TaskName>>,
        marks: &mut BTreeMap<TaskName, Mark>,
        path: &mut Vec<TaskName>,
        found: &mut Vec<Vec<TaskName>>,
    ) {
        marks.insert(node.clone(), Mark::Open);
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let from = path.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    found.push(cycle);
                }
                Some(Mark::Done) => {}
                None => visit(next, graph, marks, path, found),
            }
        }
        path.pop();
        marks.insert(node.clone(), Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut found = Vec::new();
    for node in graph.keys() {
        if !marks.contains_key(node) {
            visit(node, graph, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    found
}
