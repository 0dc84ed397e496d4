//! How long the terminal UI takes to draw one frame with 1,000 tasks in the sidebar and a
//! 10,000-line log open (goal: under 5 ms a frame), at 120×40. Run: `cargo bench --bench tui_frame`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: a failure ends it with its reason

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use runwisp::tui::app::{App, Focus, LineKind, LogLine, LogState, Msg, RunRow, TaskRow, View};
use runwisp::tui::keymap::Keymap;
use runwisp::tui::theme::Theme;
use runwisp::tui::views;

fn app() -> App {
    let now = "2026-11-24T12:00:00Z".parse().unwrap();
    let mut app = App::new(true, now);
    let tasks = (0..1000)
        .map(|i| TaskRow {
            name: format!("task-{i:04}"),
            group: format!("group-{}", i % 10),
            cron: Some("*/5 * * * *".into()),
            api_trigger: true,
            ..TaskRow::default()
        })
        .collect();
    app.on_msg(Msg::Tasks(tasks));
    app.selected = 500;
    app.focus = Focus::Main;
    app.view = View::Run;
    app.log = LogState {
        run: Some(RunRow {
            id: "01JAAAAAAAAAAAAAAAAAAAAAA9".into(),
            task_name: "task-0500".into(),
            status: "running".into(),
            ..RunRow::default()
        }),
        follow: true,
        ..LogState::default()
    };
    for n in 1..=10_000u64 {
        let kind = if n % 7 == 0 {
            LineKind::Stderr
        } else {
            LineKind::Stdout
        };
        let line = LogLine {
            n,
            kind,
            text: format!("line {n}: the quick brown fox jumps over the lazy dog"),
        };
        app.on_msg(Msg::LogLine {
            run: "01JAAAAAAAAAAAAAAAAAAAAAA9".into(),
            line,
        });
    }
    app
}

fn frame(c: &mut Criterion) {
    let app = app();
    let theme = Theme::load("dark", false).expect("theme");
    let keymap = Keymap::load(&[]).expect("keymap");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function("draw a frame: 1,000 tasks, 10,000-line log, 120x40", |b| {
        b.iter(|| {
            terminal
                .draw(|f| views::draw(f, &app, &theme, &keymap))
                .expect("draw");
        });
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
