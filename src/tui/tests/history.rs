//! The history pane always shows, and acts on, the runs of the task selected in the sidebar;
//! `esc` in the sidebar clears its filter; a run is named the same wherever it is shown.

use super::*;

const B1: &str = "01JAAAAAAAAAAAAAAAAAAAAAB1";
const A2: &str = "01JAAAAAAAAAAAAAAAAAAAAAA2";
const W1: &str = "01JAAAAAAAAAAAAAAAAAAAAAW1";

fn running(id: &str, task: &str) -> RunRow {
    run(
        id,
        task,
        "running",
        None,
        None,
        "tui",
        "2026-11-24T11:58:00.000Z",
    )
}

fn failed(id: &str, task: &str) -> RunRow {
    run(
        id,
        task,
        "ended",
        Some("failed"),
        Some(3),
        "cron",
        "2026-11-24T01:30:00.012Z",
    )
}

#[test]
fn after_running_a_task_esc_shows_that_tasks_history() {
    let mut app = fixture();
    press(&mut app, "j j r y");
    assert_eq!(app.outbox, [Command::Trigger("backup-db".into())]);
    app.outbox.clear();
    app.on_msg(Msg::Triggered(running(B1, "backup-db")));
    press(&mut app, "esc");
    assert_eq!((app.view, app.focus), (View::Task, Focus::Main));
    assert!(
        app.outbox.contains(&Command::LoadRuns("backup-db".into())),
        "the task's history is asked for: {:?}",
        app.outbox
    );
    let screen = screen_text(&app);
    assert!(!screen.contains("no runs yet"), "{screen}");
    app.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![
            running(B1, "backup-db"),
            failed("01JAAAAAAAAAAAAAAAAAAAAAA1", "backup-db"),
        ],
    });
    let screen = screen_text(&app);
    assert!(screen.contains("failed"), "{screen}");
    assert!(screen.contains("…AAB1"), "{screen}");
}

#[test]
fn a_sidebar_filter_shows_and_acts_on_the_filtered_tasks_history() {
    let mut app = fixture();
    press(&mut app, "j j enter");
    app.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![running(A2, "backup-db")],
    });
    assert!(screen_text(&app).contains("…AAA2"));
    app.outbox.clear();
    // Back to the sidebar, the history of backup-db still shown; filter down to web.
    press(&mut app, "esc / w e b enter");
    assert_eq!(app.current().map(|t| t.name.as_str()), Some("web"));
    assert!(
        app.outbox.contains(&Command::LoadRuns("web".into())),
        "{:?}",
        app.outbox
    );
    let screen = screen_text(&app);
    assert!(
        !screen.contains("…AAA2"),
        "backup-db's run is gone: {screen}"
    );
    // Neither `enter` nor `s` may act on backup-db's run now.
    press(&mut app, "tab enter");
    assert_eq!(app.view, View::Task, "nothing to open yet");
    press(&mut app, "s");
    assert_eq!(app.dialog, None);
    // Once web's history arrives, it is what `s` stops.
    app.on_msg(Msg::Runs {
        task: "web".into(),
        runs: vec![running(W1, "web")],
    });
    press(&mut app, "s");
    assert_eq!(
        app.dialog,
        Some(Dialog::Confirm(Pending::StopRun(W1.into())))
    );
}

#[test]
fn a_late_history_of_another_task_is_not_shown() {
    let mut app = fixture();
    press(&mut app, "j j enter esc k");
    assert_eq!(app.current().map(|t| t.name.as_str()), Some("web"));
    app.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![running(A2, "backup-db")],
    });
    assert!(!screen_text(&app).contains("…AAA2"));
}

#[test]
fn esc_in_the_sidebar_clears_the_filter() {
    let mut app = fixture();
    press(&mut app, "/ w e b enter");
    assert_eq!(app.filter.as_deref(), Some("web"));
    press(&mut app, "esc");
    assert_eq!(app.filter, None);
    assert_eq!(app.order().len(), 3, "every task is listed again");
    assert_eq!(
        app.current().map(|t| t.name.as_str()),
        Some("web"),
        "the selection stays on the same task"
    );
    // Also from a task's view, once back in the sidebar.
    press(&mut app, "/ b a c k enter enter esc esc");
    assert_eq!(app.focus, Focus::Sidebar);
    assert_eq!(app.filter, None);
    assert_eq!(app.current().map(|t| t.name.as_str()), Some("backup-db"));
}

#[test]
fn a_run_is_named_the_same_everywhere() {
    let mut app = fixture();
    press(&mut app, "j j r y");
    app.on_msg(Msg::Triggered(running(B1, "backup-db")));
    let screen = screen_text(&app);
    // The notice and the log's header.
    assert!(
        screen.contains("started run …AAB1 of backup-db"),
        "{screen}"
    );
    assert!(screen.contains("run …AAB1 ·"), "{screen}");
    press(&mut app, "s");
    assert!(screen_text(&app).contains("Stop run …AAB1?"));
    press(&mut app, "esc esc");
    app.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![running(B1, "backup-db")],
    });
    assert!(screen_text(&app).contains(" …AAB1"));
}

#[test]
fn run_labels_never_panic() {
    assert_eq!(run_label("01JAAAAAAAAAAAAAAAAAAAAAB1"), "…AAB1");
    assert_eq!(run_label("ab"), "…ab");
    assert_eq!(run_label(""), "…");
    assert_eq!(run_label("01JÄÖÜ€"), "…ÄÖÜ€", "characters, not bytes");
}

/// Runs that changed arrive as deltas from the run stream: merged by id into the recent list
/// and the open history (newest first), never duplicated, and only into the history of their
/// own task.
#[test]
fn run_changes_are_merged_without_asking_the_daemon_again() {
    let mut app = fixture();
    app.on_msg(Msg::Runs {
        task: app.current().unwrap().name.clone(),
        runs: vec![failed(A2, &app.current().unwrap().name.clone())],
    });
    let task = app.current().unwrap().name.clone();
    let before = app.recent.len();
    app.outbox.clear();
    // A new run of the open task starts, then ends; one of another task starts.
    let newer = "01JZZZZZZZZZZZZZZZZZZZZZZ1";
    app.on_msg(Msg::RunsChanged(vec![
        running(newer, &task),
        running(W1, "web"),
    ]));
    assert_eq!(app.runs[0].id, newer);
    assert!(app.runs.iter().all(|r| r.task_name == task));
    assert_eq!(app.recent.len(), before + 2);
    app.on_msg(Msg::RunsChanged(vec![failed(newer, &task)]));
    assert_eq!(app.runs.iter().filter(|r| r.id == newer).count(), 1);
    assert_eq!(app.runs[0].status, "ended");
    assert_eq!(app.recent.len(), before + 2, "replaced, not added");
    assert!(
        app.outbox.is_empty(),
        "no request for a delta: {:?}",
        app.outbox
    );
}

/// A service replica's runs say which replica they were: `web#1` in the task column.
#[test]
fn replica_runs_show_their_index() {
    let mut app = fixture();
    let mut replica = running(W1, "web");
    replica.replica_index = Some(1);
    replica.triggered_by = Some(TriggeredBy::Service);
    app.on_msg(Msg::Recent(vec![replica]));
    let screen = render(&app, &Theme::load("dark", false).unwrap(), 120, 40);
    assert!(screen.contains("web#1"), "{screen}");
}

/// A service waiting out its restart back-off is shown as such, not as stopped: the sidebar
/// shows what the daemon says, never a guess from the service's active runs.
#[test]
fn a_service_in_back_off_is_not_shown_stopped() {
    use crate::api::ServiceState;
    use crate::tui::views::sidebar::glyph;
    let service = |state| TaskRow {
        name: "web".into(),
        service: true,
        service_state: Some(state),
        ..TaskRow::default()
    };
    let backoff = ServiceState::Backoff {
        next_attempt_at: "2026-11-24T12:00:30.000Z".into(),
        attempt: 2,
    };
    assert_eq!(glyph(&service(backoff)), ("↻", "warn"));
    assert_eq!(glyph(&service(ServiceState::Stopped)), ("■", "muted"));
    assert_eq!(
        glyph(&service(ServiceState::Running {
            run_id: "x".into(),
            since: Some("2026-01-01T00:00:00Z".into()),
            restarts: 0,
        })),
        ("▶", "running")
    );
}
