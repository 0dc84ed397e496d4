//! The terminal UI without a terminal: every screen and dialog drawn on ratatui's `TestBackend`
//! and compared with its snapshot in `snapshots/` (80×24 and 120×40, default and 16-colour
//! themes), and key sequences written in keymap syntax. The fixtures and helpers are here, with
//! the screens and the basic moves; the submodules test one area each (the first-start editor,
//! the key list, histories, keymap files, the log, notices, notifications).
//!
//! A changed screen fails its snapshot test and leaves `snapshots/NAME.snap.new` beside it:
//! review it and move it over the `.snap` (or run with `INSTA_UPDATE=always`).

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::*;
use super::keymap::{Key, Keymap};
use super::theme::Theme;
use super::views;
use crate::engine::model::{EndReason, TriggeredBy};

mod bell;
mod firstrun;
mod help;
mod history;
mod keymap;
mod log;
mod notices;
mod pipeline;

fn now() -> jiff::Timestamp {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn run(
    id: &str,
    task: &str,
    status: &str,
    reason: Option<&str>,
    code: Option<i32>,
    by: &str,
    at: &str,
) -> RunRow {
    RunRow {
        id: id.into(),
        task_name: task.into(),
        status: status.into(),
        end_reason: reason.map(|r| r.parse().unwrap()),
        exit_code: code,
        triggered_by: Some(by.parse().unwrap()),
        created_at: at.into(),
        start_at: Some(at.into()),
        duration_ms: reason.map(|_| 1234),
        message: None,
        replica_index: None,
        pipeline: false,
    }
}

/// A daemon with a few tasks, a service, history and a log.
fn fixture() -> App {
    let mut app = App::new(true, now());
    app.on_msg(Msg::Connected {
        version: "0.1.0".into(),
        fingerprint: "misty-river".into(),
    });
    let backup = TaskRow {
        name: "backup-db".into(),
        group: "Tasks".into(),
        description: "Nightly database dump".into(),
        cron: Some("30 2 * * *".into()),
        schedule_words: Some("At 02:30 AM".into()),
        timezone: Some("Europe/Bratislava".into()),
        next_run_at: Some("2026-11-25T01:30:00.000Z".into()),
        api_trigger: true,
        max_concurrent: Some(1),
        on_overlap: Some("queue".into()),
        last: Some(run(
            "01JAAAAAAAAAAAAAAAAAAAAAA1",
            "backup-db",
            "ended",
            Some("failed"),
            Some(3),
            "cron",
            "2026-11-24T01:30:00.012Z",
        )),
        ..TaskRow::default()
    };
    let deploy = TaskRow {
        name: "deploy".into(),
        group: "Deploys".into(),
        api_trigger: true,
        max_concurrent: Some(1),
        on_overlap: Some("terminate".into()),
        active_runs: vec!["01JAAAAAAAAAAAAAAAAAAAAAA9".into()],
        ..TaskRow::default()
    };
    let web = TaskRow {
        name: "web".into(),
        service: true,
        group: "Services".into(),
        instances: Some(3),
        api_trigger: true,
        active_runs: vec!["a".into(), "b".into(), "c".into()],
        ..TaskRow::default()
    };
    app.on_msg(Msg::Tasks(vec![backup, deploy, web]));
    app.on_msg(Msg::Recent(vec![
        run(
            "01JAAAAAAAAAAAAAAAAAAAAAA9",
            "deploy",
            "running",
            None,
            None,
            "api",
            "2026-11-24T11:59:00.000Z",
        ),
        run(
            "01JAAAAAAAAAAAAAAAAAAAAAA1",
            "backup-db",
            "ended",
            Some("failed"),
            Some(3),
            "cron",
            "2026-11-24T01:30:00.012Z",
        ),
    ]));
    app
}

fn with_log(mut app: App) -> App {
    app.focus = Focus::Main;
    app.view = View::Run;
    app.log = LogState {
        run: Some(run(
            "01JAAAAAAAAAAAAAAAAAAAAAA9",
            "deploy",
            "running",
            None,
            None,
            "api",
            "2026-11-24T11:59:00.000Z",
        )),
        follow: true,
        ..LogState::default()
    };
    for n in 1..=60u64 {
        let (kind, text) = match n % 10 {
            3 => (LineKind::Stderr, format!("warning: step {n} was slow")),
            9 => (
                LineKind::System,
                "timeout of 10m reached; sending SIGTERM".to_string(),
            ),
            _ => (LineKind::Stdout, format!("deploying step {n}")),
        };
        app.on_msg(Msg::LogLine {
            run: "01JAAAAAAAAAAAAAAAAAAAAAA9".into(),
            line: LogLine { n, kind, text },
        });
    }
    app
}

fn keymap() -> Keymap {
    Keymap::load(&[]).unwrap()
}

fn render(app: &App, theme: &Theme, width: u16, height: u16) -> String {
    render_with(app, theme, &keymap(), width, height)
}

fn render_with(app: &App, theme: &Theme, map: &Keymap, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| views::draw(f, app, theme, map)).unwrap();
    format!("{:?}", terminal.backend().buffer())
}

/// The screen's text only (no styles), one string per row, in the dark theme.
fn text_rows(app: &App, map: &Keymap, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::load("dark", false).unwrap();
    terminal.draw(|f| views::draw(f, app, &theme, map)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

/// [`text_rows`] joined with newlines, with the default keymap at 120×40.
fn screen_text(app: &App) -> String {
    text_rows(app, &keymap(), 120, 40).join("\n")
}

/// Compares `text` with `snapshots/NAME.snap`.
fn snap(name: &str, text: String) {
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name.to_string(), text);
    });
}

fn snapshot(name: &str, app: &App) {
    for theme_name in ["dark", "ansi16"] {
        let theme = Theme::load(theme_name, false).unwrap();
        for (w, h) in [(80, 24), (120, 40)] {
            snap(
                &format!("{name}-{theme_name}-{w}x{h}"),
                render(app, &theme, w, h),
            );
        }
    }
}

/// Presses keys written in keymap syntax, separated by spaces.
fn press(app: &mut App, keys: &str) {
    press_with(app, &keymap(), keys);
}

fn press_with(app: &mut App, map: &Keymap, keys: &str) {
    for k in keys.split_whitespace() {
        app.on_key(map, Key::parse(k).unwrap());
    }
}

#[test]
fn screens() {
    snapshot("home", &fixture());
    let mut task = fixture();
    task.selected = 2;
    assert_eq!(task.current().unwrap().name, "backup-db");
    task.view = View::Task;
    task.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![
            run(
                "01JAAAAAAAAAAAAAAAAAAAAAA1",
                "backup-db",
                "ended",
                Some("failed"),
                Some(3),
                "cron",
                "2026-11-24T01:30:00.012Z",
            ),
            run(
                "01JAAAAAAAAAAAAAAAAAAAAAA0",
                "backup-db",
                "ended",
                Some("success"),
                Some(0),
                "catch_up",
                "2026-11-23T01:30:00.002Z",
            ),
        ],
    });
    task.focus = Focus::Main;
    snapshot("task", &task);
    snapshot("log-following", &with_log(fixture()));
    let mut paused = with_log(fixture());
    press(&mut paused, "g");
    snapshot("log-paused", &paused);
    let mut full = with_log(fixture());
    press(&mut full, "f");
    snapshot("log-fullscreen", &full);
    let mut search = with_log(fixture());
    press(&mut search, "/ s l o w");
    snapshot("log-search-typing", &search);
    press(&mut search, "enter");
    snapshot("log-search-found", &search);
    let mut lost = fixture();
    lost.on_msg(Msg::Disconnected {
        reason: "connection refused".into(),
    });
    lost.now = now() + jiff::SignedDuration::from_secs(7);
    snapshot("reconnecting", &lost);
}

#[test]
fn dialogs() {
    let mut confirm = fixture();
    press(&mut confirm, "r");
    snapshot("dialog-run", &confirm);
    let mut quit = fixture();
    press(&mut quit, "q");
    snapshot("dialog-quit", &quit);
    let mut help = fixture();
    press(&mut help, "?");
    snapshot("dialog-help", &help);
    let mut stop = fixture();
    press(&mut stop, "j s");
    assert_eq!(
        stop.dialog,
        Some(Dialog::Confirm(Pending::StopService("web".into())))
    );
    snapshot("dialog-stop-service", &stop);
}

#[test]
fn the_sidebar_filter_keeps_meaning_the_same_task() {
    let mut app = fixture();
    press(&mut app, "/ w e b enter");
    assert_eq!(app.filter.as_deref(), Some("web"));
    assert_eq!(app.current().unwrap().name, "web");
    press(&mut app, "enter");
    assert_eq!((app.view, app.focus), (View::Task, Focus::Main));
    assert_eq!(app.outbox, [Command::LoadRuns("web".into())]);
    assert_eq!(
        app.current().unwrap().name,
        "web",
        "still web once focus moved"
    );
    press(&mut app, "r");
    assert_eq!(
        app.dialog,
        Some(Dialog::Confirm(Pending::Restart("web".into())))
    );
    press(&mut app, "esc esc");
    assert_eq!(app.focus, Focus::Sidebar);
    assert_eq!(app.current().unwrap().name, "web");
    press(&mut app, "/ esc");
    assert_eq!(app.filter, None);
    assert_eq!(app.order().len(), 3, "the filter is gone");
}

#[test]
fn navigation_and_opening() {
    let mut app = fixture();
    // Sidebar order is by group: Deploys, Services, Tasks.
    assert_eq!(app.current().unwrap().name, "deploy");
    press(&mut app, "j j");
    assert_eq!(app.current().unwrap().name, "backup-db");
    press(&mut app, "j");
    assert_eq!(
        app.current().unwrap().name,
        "backup-db",
        "the last row stays selected"
    );
    press(&mut app, "enter");
    assert_eq!((app.view, app.focus), (View::Task, Focus::Main));
    assert_eq!(app.outbox, [Command::LoadRuns("backup-db".into())]);
    app.on_msg(Msg::Runs {
        task: "backup-db".into(),
        runs: vec![run(
            "01JAAAAAAAAAAAAAAAAAAAAAA1",
            "backup-db",
            "ended",
            Some("failed"),
            Some(3),
            "cron",
            "x",
        )],
    });
    press(&mut app, "enter");
    assert_eq!(app.view, View::Run);
    assert_eq!(
        app.outbox.last(),
        Some(&Command::FollowLog("01JAAAAAAAAAAAAAAAAAAAAAA1".into()))
    );
    press(&mut app, "esc");
    assert_eq!(app.view, View::Task);
    press(&mut app, "esc");
    assert_eq!(app.focus, Focus::Sidebar);
    press(&mut app, "tab");
    assert_eq!(app.focus, Focus::Main);
}

#[test]
fn run_stop_and_their_confirmations() {
    let mut app = fixture();
    press(&mut app, "j j r");
    assert_eq!(
        app.dialog,
        Some(Dialog::Confirm(Pending::Run("backup-db".into())))
    );
    press(&mut app, "esc");
    assert_eq!(app.dialog, None);
    assert!(app.outbox.is_empty(), "cancel does nothing");
    press(&mut app, "r y");
    assert_eq!(app.outbox, [Command::Trigger("backup-db".into())]);
    app.outbox.clear();
    // The started run opens with its live log.
    app.on_msg(Msg::Triggered(run(
        "01JAAAAAAAAAAAAAAAAAAAAAB1",
        "backup-db",
        "running",
        None,
        None,
        "tui",
        "x",
    )));
    assert_eq!(app.view, View::Run);
    assert_eq!(
        app.outbox,
        [Command::FollowLog("01JAAAAAAAAAAAAAAAAAAAAAB1".into())]
    );
    app.outbox.clear();
    press(&mut app, "s enter");
    assert_eq!(
        app.outbox,
        [Command::StopRun("01JAAAAAAAAAAAAAAAAAAAAAB1".into())]
    );
    app.outbox.clear();
    // `r` on a service restarts it; `s` stops it.
    press(&mut app, "esc esc k r enter");
    assert_eq!(app.outbox.last(), Some(&Command::Restart("web".into())));
    press(&mut app, "s enter");
    assert_eq!(app.outbox.last(), Some(&Command::StopService("web".into())));
}

#[test]
fn log_follow_search_and_fullscreen() {
    let mut app = with_log(fixture());
    assert!(app.log.follow);
    press(&mut app, "k");
    assert!(!app.log.follow, "scrolling up pauses following");
    press(&mut app, "G");
    assert!(app.log.follow);
    press(&mut app, "/ s t e p space 4 2 enter");
    assert_eq!(app.search.as_deref(), Some("step 42"));
    assert_eq!(app.log.lines[app.log.top].n, 42);
    press(&mut app, "f");
    assert!(app.fullscreen);
    press(&mut app, "f");
    assert!(!app.fullscreen);
    for n in 61..=(MAX_LOG_LINES as u64 + 100) {
        app.on_msg(Msg::LogLine {
            run: "01JAAAAAAAAAAAAAAAAAAAAAA9".into(),
            line: LogLine {
                n,
                kind: LineKind::Stdout,
                text: String::new(),
            },
        });
    }
    assert_eq!(app.log.lines.len(), MAX_LOG_LINES, "memory stays bounded");
}

#[test]
fn a_reconnect_picks_up_the_open_task_and_log_without_repeating_lines() {
    let mut app = with_log(fixture());
    app.outbox.clear();
    let task = app.current().unwrap().name.clone();
    app.on_msg(Msg::Connected {
        version: "0.1.0".into(),
        fingerprint: "amber-island".into(),
    });
    assert_eq!(
        app.outbox,
        [
            Command::LoadRuns(task),
            Command::FollowLog("01JAAAAAAAAAAAAAAAAAAAAAA9".into())
        ]
    );
    // The new follow replays the kept lines: only those not shown yet are added.
    for n in 1..=62u64 {
        app.on_msg(Msg::LogLine {
            run: "01JAAAAAAAAAAAAAAAAAAAAAA9".into(),
            line: LogLine {
                n,
                kind: LineKind::Stdout,
                text: format!("line {n}"),
            },
        });
    }
    let numbers: Vec<u64> = app.log.lines.iter().map(|l| l.n).collect();
    assert_eq!(numbers, (1..=62).collect::<Vec<_>>());
}

#[test]
fn a_finished_run_shows_its_message() {
    let mut app = with_log(fixture());
    let mut ended = app.log.run.clone().unwrap();
    ended.status = "ended".into();
    ended.end_reason = Some(EndReason::Failed);
    ended.exit_code = Some(-1);
    ended.message = Some("not started: the data disk has 3 MB free".into());
    app.on_msg(Msg::LogDone { run: ended });
    let screen = render(&app, &Theme::load("dark", false).unwrap(), 120, 40);
    assert!(
        screen.contains("failed (exit -1): not started: the data disk has 3 MB free"),
        "{screen}"
    );
}

#[test]
fn quitting_asks_about_the_daemon() {
    let mut app = fixture();
    press(&mut app, "q enter");
    assert_eq!(
        app.quit,
        Some(false),
        "the first choice leaves the daemon running"
    );
    let mut app = fixture();
    press(&mut app, "q right enter");
    assert_eq!(app.quit, Some(true));
    let mut app = fixture();
    press(&mut app, "q right right enter");
    assert_eq!(app.quit, None, "cancel");
    let mut remote = App::new(false, now());
    press(&mut remote, "ctrl-c right right enter");
    assert_eq!(
        remote.quit, None,
        "a remote daemon cannot be stopped from here"
    );
}
