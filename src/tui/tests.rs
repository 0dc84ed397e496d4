//! The terminal UI without a terminal: every screen and dialog drawn on ratatui's `TestBackend`
//! and compared with its snapshot in `snapshots/` (80×24 and 120×40, default and 16-colour
//! themes), key sequences written in keymap syntax, and bad keymap files.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::*;
use super::keymap::{Key, Keymap};
use super::theme::Theme;
use super::views;

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
        end_reason: reason.map(Into::into),
        exit_code: code,
        triggered_by: by.into(),
        created_at: at.into(),
        start_at: Some(at.into()),
        duration_ms: reason.map(|_| 1234),
        message: None,
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
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| views::draw(f, app, theme, &keymap()))
        .unwrap();
    format!("{:?}", terminal.backend().buffer())
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
    let map = keymap();
    for k in keys.split_whitespace() {
        app.on_key(&map, Key::parse(k).unwrap());
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
fn the_first_start_editor() {
    let path = std::path::Path::new("/srv/app/runwisp.toml");
    let theme = Theme::load("dark", false).unwrap();
    let mut editor = super::firstrun::Editor::new(path);
    assert!(editor.verdict.is_ok(), "{:?}", editor.verdict);
    let draw = |editor: &super::firstrun::Editor, w: u16, h: u16| {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| editor.draw(f, &theme)).unwrap();
        format!("{:?}", terminal.backend().buffer())
    };
    snap("firstrun-valid-80x24", draw(&editor, 80, 24));
    // Typing a bad key at the top makes the error appear under the editor, with its line.
    for c in "oops = 1\n".chars() {
        let code = if c == '\n' {
            crossterm::event::KeyCode::Enter
        } else {
            crossterm::event::KeyCode::Char(c)
        };
        editor.on_key(crossterm::event::KeyEvent::new(
            code,
            crossterm::event::KeyModifiers::NONE,
        ));
    }
    let errors = editor.verdict.clone().unwrap_err();
    assert_eq!(errors, ["runwisp.toml:1:1: oops: unknown key `oops`"]);
    snap("firstrun-error-120x40", draw(&editor, 120, 40));
    let ctrl_s = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('s'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    assert_eq!(
        editor.on_key(ctrl_s),
        super::firstrun::Outcome::Editing,
        "an invalid file is not saved"
    );
    assert_eq!(
        editor.notice.as_deref(),
        Some("fix the errors below before saving")
    );
    for _ in 0..9 {
        editor.on_key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Backspace,
            crossterm::event::KeyModifiers::NONE,
        ));
    }
    assert!(editor.verdict.is_ok(), "{:?}", editor.verdict);
    match editor.on_key(ctrl_s) {
        super::firstrun::Outcome::Save(text) => assert_eq!(text, crate::engine::config::STARTER),
        other => panic!("expected a save, got {other:?}"),
    }
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
    ended.end_reason = Some("failed".into());
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

#[test]
fn keymap_files_are_data_with_precise_errors() {
    let vim = Keymap::load(&[("keymaps/vim.toml", super::keymap::VIM)]).unwrap();
    assert_eq!(
        vim.action(super::keymap::Context::Log, Key::parse("ctrl-d").unwrap()),
        Some(super::action::Action::PageDown)
    );
    let emacs = Keymap::load(&[("keymaps/emacs.toml", super::keymap::EMACS)]).unwrap();
    assert_eq!(
        emacs.action(
            super::keymap::Context::Sidebar,
            Key::parse("ctrl-n").unwrap()
        ),
        Some(super::action::Action::Down)
    );
    let mine = Keymap::load(&[("mine.toml", "[sidebar]\n\"x\" = \"run\"\n")]).unwrap();
    assert_eq!(
        mine.action(super::keymap::Context::Sidebar, Key::parse("x").unwrap()),
        Some(super::action::Action::Run)
    );
    assert_eq!(
        mine.action(super::keymap::Context::Sidebar, Key::parse("r").unwrap()),
        Some(super::action::Action::Run),
        "the rest of the default stays"
    );
    let cases = [
        ("[sidebar]\n\"x\" = \"explode\"\n", "mine.toml:2:7: unknown action \"explode\"; actions are quit, up, down, page_up, page_down, left, right, next_pane, open, back, run, stop, fullscreen, follow, top, search, notifications, help, confirm, cancel"),
        ("[sidebar]\n\"hyper-x\" = \"run\"\n", "mine.toml:2:1: \"hyper-x\" is not a key (write a character, or a name such as enter, esc, up, ctrl-c)"),
        ("[sidbar]\n\"x\" = \"run\"\n", "mine.toml:1:2: unknown context [sidbar]; use one of global, sidebar, history, log, dialog"),
        ("[log]\n\"x\" = 3\n", "mine.toml:2:7: an action is a string, like \"quit\""),
    ];
    for (text, message) in cases {
        assert_eq!(
            Keymap::load(&[("mine.toml", text)])
                .unwrap_err()
                .to_string(),
            message
        );
    }
}
