//! A pipeline run in the terminal UI: its steps drawn as a tree above its log (a parallel
//! group and a sub-pipeline indented), a step opened with enter, and esc back to the pipeline.

use super::*;
use crate::api::{RunObject, StepNode};
use crate::engine::model::{RunKind, StepKind, StepState};

const PIPELINE: &str = "01JAAAAAAAAAAAAAAAAAAAAAP1";

fn step_run(id: &str, task: &str, reason: Option<&str>, ms: Option<i64>) -> RunObject {
    let mut r = RunObject::from(&crate::engine::model::Run {
        id: crate::engine::model::RunId::parse(id).unwrap(),
        task_name: crate::engine::model::TaskName::parse(task).unwrap(),
        kind: RunKind::Task,
        status: if reason.is_some() {
            crate::engine::model::RunStatus::Ended
        } else {
            crate::engine::model::RunStatus::Running
        },
        end_reason: reason.map(|r| r.parse().unwrap()),
        exit_code: reason.map(|_| 0),
        triggered_by: crate::engine::model::TriggeredBy::Pipeline,
        scheduled_for: None,
        created_at: 0,
        start_at: Some(1_764_000_000_000),
        end_at: ms.map(|ms| 1_764_000_000_000 + ms),
        retry_attempt: 0,
        retry_of_run_id: None,
        replica_index: None,
        message: None,
        pid: None,
        pgid: None,
        pid_start_time: None,
        parent_run_id: None,
        step: None,
        resume_of_run_id: None,
    });
    r.parent_run_id = Some(PIPELINE.into());
    r
}

fn node(
    step: &str,
    name: &str,
    kind: StepKind,
    state: StepState,
    run: Option<RunObject>,
) -> StepNode {
    StepNode {
        step: step.into(),
        name: Some(name.into()),
        kind,
        state,
        attempts: usize::from(run.is_some()),
        run,
        steps: Vec::new(),
    }
}

/// `full-deploy`: cleanup done, build-images (a sub-pipeline) running its parallel builds.
fn steps() -> Vec<StepNode> {
    use StepKind::{Parallel, Pipeline, Task};
    use StepState::{NotStarted, Running, Success};
    let mut builds = node("3", "", Parallel, Running, None);
    builds.name = None;
    builds.steps = vec![
        node(
            "3.1",
            "build-api",
            Task,
            Success,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS3",
                "build-api",
                Some("success"),
                Some(41_000),
            )),
        ),
        node(
            "3.2",
            "build-dashboard",
            Task,
            Running,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS4",
                "build-dashboard",
                None,
                None,
            )),
        ),
        node(
            "3.3",
            "build-worker",
            Task,
            Success,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS5",
                "build-worker",
                Some("success"),
                Some(12_500),
            )),
        ),
    ];
    let mut images = node(
        "2",
        "build-images",
        Pipeline,
        Running,
        Some(step_run(
            "01JAAAAAAAAAAAAAAAAAAAAAS2",
            "build-images",
            None,
            None,
        )),
    );
    images.steps = vec![
        node(
            "1",
            "git-pull-latest",
            Task,
            Success,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS6",
                "git-pull-latest",
                Some("success"),
                Some(900),
            )),
        ),
        node(
            "2",
            "docker-login",
            Task,
            Success,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS7",
                "docker-login",
                Some("success"),
                Some(1_200),
            )),
        ),
        builds,
        node("4", "push-all-images", Task, NotStarted, None),
    ];
    vec![
        node(
            "1",
            "deploy-cleanup",
            Task,
            Success,
            Some(step_run(
                "01JAAAAAAAAAAAAAAAAAAAAAS1",
                "deploy-cleanup",
                Some("success"),
                Some(2_000),
            )),
        ),
        images,
        node("3", "run-migrations", Task, NotStarted, None),
        node("4", "deploy-verify", Task, NotStarted, None),
    ]
}

fn with_pipeline() -> App {
    let mut app = fixture();
    app.focus = Focus::Main;
    let mut row = run(
        PIPELINE,
        "full-deploy",
        "running",
        None,
        None,
        "api",
        "2026-11-24T11:59:00.000Z",
    );
    row.pipeline = true;
    app.open_run(row);
    assert_eq!(app.outbox.last(), Some(&Command::LoadTree(PIPELINE.into())));
    app.outbox.clear();
    app.on_msg(Msg::Tree {
        run: PIPELINE.into(),
        lines: crate::api::pipelines::lines(&steps()),
    });
    for (n, text) in [
        (
            1,
            "step 1 deploy-cleanup started (run 01JAAAAAAAAAAAAAAAAAAAAAS1)",
        ),
        (2, "step 1 deploy-cleanup succeeded in 2.0s"),
        (
            3,
            "step 2 build-images started (run 01JAAAAAAAAAAAAAAAAAAAAAS2)",
        ),
    ] {
        app.on_msg(Msg::LogLine {
            run: PIPELINE.into(),
            line: LogLine {
                n,
                kind: LineKind::System,
                text: text.into(),
            },
        });
    }
    app
}

#[test]
fn a_pipeline_run_shows_its_steps_as_a_tree() {
    let app = with_pipeline();
    snapshot("pipeline-tree", &app);
    let text = screen_text(&app);
    assert!(text.contains("├─ 2 ▶ build-images (pipeline)"), "{text}");
    assert!(text.contains("│  ├─ 3 ▶ parallel"), "{text}");
    assert!(text.contains("│  │  ├─ 3.1 ✓ build-api"), "{text}");
    assert!(text.contains("└─ 4 · deploy-verify"), "{text}");
}

#[test]
fn enter_opens_a_steps_run_and_esc_comes_back_to_the_pipeline() {
    let mut app = with_pipeline();
    // The tree's lines: 1, 2, 2/1, 2/2, 2/3, 2/3.1 …; the fifth below the first is build-api.
    press(&mut app, "down down down down down enter");
    assert_eq!(
        app.outbox.last(),
        Some(&Command::OpenRun("01JAAAAAAAAAAAAAAAAAAAAAS3".into()))
    );
    let step = RunRow::from(&step_run(
        "01JAAAAAAAAAAAAAAAAAAAAAS3",
        "build-api",
        Some("success"),
        Some(41_000),
    ));
    app.on_msg(Msg::Opened(step));
    assert_eq!(app.view, View::Run);
    assert!(app.tree.is_none(), "a task's run has no steps");
    assert_eq!(app.log.run.as_ref().unwrap().task_name, "build-api");
    press(&mut app, "esc");
    assert_eq!(app.view, View::Run);
    assert_eq!(app.log.run.as_ref().unwrap().id, PIPELINE);
    assert_eq!(app.outbox.last(), Some(&Command::LoadTree(PIPELINE.into())));
    press(&mut app, "esc");
    assert_eq!(app.view, View::Task, "then back to the task as before");
    // A step with no run yet says so.
    let mut app = with_pipeline();
    press(
        &mut app,
        "down down down down down down down down down enter",
    );
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("has no run yet")),
        "{:?}",
        app.notice
    );
}
