//! Notifications: the footer shows the latest unread one (or nothing when all is read), `n`
//! opens the list, `m` marks the selected one read, `M` all, `enter` opens its run as the
//! history does, `esc` closes it; the list keeps at most the first page.

use super::*;
use crate::api::NotificationObject;
use crate::engine::model::NotifyKind;
use crate::tui::bell::PAGE;

const FAILED: &str = "01JNNNNNNNNNNNNNNNNNNNNNN3";
const MISSED: &str = "01JNNNNNNNNNNNNNNNNNNNNNN2";
const DISK: &str = "01JNNNNNNNNNNNNNNNNNNNNNN1";
const RUN: &str = "01JAAAAAAAAAAAAAAAAAAAAAA1";

#[allow(clippy::too_many_arguments)]
fn note(
    id: &str,
    kind: NotifyKind,
    task: Option<&str>,
    run: Option<&str>,
    title: &str,
    count: u32,
    last_at: &str,
    read: bool,
) -> NotificationObject {
    NotificationObject {
        id: id.into(),
        kind,
        severity: kind.severity(),
        task_name: task.map(Into::into),
        run_id: run.map(Into::into),
        title: title.into(),
        body: String::new(),
        count,
        occurrences: vec![last_at.into()],
        created_at: "2026-11-22T08:00:00.000Z".into(),
        last_at: last_at.into(),
        read_at: read.then(|| "2026-11-24T10:00:00.000Z".into()),
    }
}

fn notes() -> Vec<NotificationObject> {
    vec![
        note(
            FAILED,
            NotifyKind::RunFailed,
            Some("backup-db"),
            Some(RUN),
            "backup-db failed (exit 3)",
            3,
            "2026-11-24T11:55:00.000Z",
            false,
        ),
        note(
            MISSED,
            NotifyKind::RunMissed,
            Some("deploy"),
            None,
            "deploy missed 2 firings",
            1,
            "2026-11-24T09:00:00.000Z",
            false,
        ),
        note(
            DISK,
            NotifyKind::LogDiskPressure,
            None,
            None,
            "the data disk has 800 MB free",
            1,
            "2026-11-22T08:00:00.000Z",
            true,
        ),
    ]
}

/// The fixture with two unread notifications (an error, a warning) and a read one.
fn with_notes() -> App {
    let mut app = fixture();
    app.on_msg(Msg::Notifications {
        list: notes(),
        unread: 2,
    });
    app
}

fn footer(app: &App, width: u16, height: u16) -> String {
    text_rows(app, &keymap(), width, height)
        .pop()
        .unwrap_or_default()
}

fn read(n: &NotificationObject) -> NotificationObject {
    NotificationObject {
        read_at: Some("2026-11-24T12:00:00.000Z".into()),
        ..n.clone()
    }
}

#[test]
fn the_footer_shows_the_latest_unread_notification() {
    let app = with_notes();
    snapshot("footer-notification", &app);
    let wide = footer(&app, 120, 40);
    assert!(
        wide.contains("n ✗ ×3 backup-db failed (exit 3) · 2 unread"),
        "{wide}"
    );
    let narrow = footer(&app, 80, 24);
    assert!(
        narrow.contains("✗ ×3 backup-db failed (exit 3)"),
        "{narrow}"
    );
    assert!(narrow.contains("? help"), "the help key stays: {narrow}");
    // The colour is the severity's.
    let theme = Theme::load("dark", false).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| views::draw(f, &app, &theme, &keymap()))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let x = (0..120u16)
        .find(|x| buffer[(*x, 39)].symbol() == "✗")
        .unwrap();
    assert_eq!(buffer[(x, 39)].fg, theme.style("error").fg.unwrap());
}

#[test]
fn the_footer_says_nothing_when_all_is_read() {
    let mut app = fixture();
    let before = footer(&app, 120, 40);
    app.on_msg(Msg::Notifications {
        list: notes().iter().map(read).collect(),
        unread: 0,
    });
    assert_eq!(footer(&app, 120, 40), before);
    assert!(!before.contains("unread"), "{before}");
    // Unread ones beyond the first page are counted all the same.
    app.on_msg(Msg::Unread(4));
    assert!(
        footer(&app, 120, 40).contains("4 unread notifications"),
        "{}",
        footer(&app, 120, 40)
    );
}

#[test]
fn the_list_opens_with_n_and_shows_each_notification() {
    let mut app = with_notes();
    press(&mut app, "n");
    assert_eq!((app.view, app.focus), (View::Notifications, Focus::Main));
    snapshot("notifications", &app);
    let screen = screen_text(&app);
    for text in [
        "Notifications 2 unread",
        "● ✗ ×3 backup-db",
        "backup-db failed (exit 3)",
        "5m ago",
        "deploy missed 2 firings",
        "3h ago",
        "the data disk has 800 MB free",
        "2d ago",
        "m mark read",
        "M mark all read",
        "esc back",
    ] {
        assert!(screen.contains(text), "{text:?} in\n{screen}");
    }
    // Newest first.
    assert!(screen.find("backup-db failed").unwrap() < screen.find("deploy missed").unwrap());
}

#[test]
fn m_marks_the_selected_one_read_and_the_footer_follows() {
    let mut app = with_notes();
    press(&mut app, "n j");
    assert_eq!(app.bell.selected.as_deref(), Some(MISSED));
    press(&mut app, "m");
    assert_eq!(app.outbox, [Command::MarkRead(MISSED.into())]);
    app.outbox.clear();
    // What the daemon answers is what shows.
    app.on_msg(Msg::Notification(Box::new(read(&notes()[1]))));
    assert_eq!(app.bell.unread(), 1);
    assert!(!footer(&app, 120, 40).contains("unread"));
    press(&mut app, "m");
    assert!(app.outbox.is_empty(), "it is read already");
    // Back on the error, read too: the footer clears.
    press(&mut app, "k m");
    assert_eq!(app.outbox, [Command::MarkRead(FAILED.into())]);
    app.on_msg(Msg::Notification(Box::new(read(&notes()[0]))));
    app.on_msg(Msg::Unread(0));
    assert!(!footer(&app, 120, 40).contains("failed"));
}

#[test]
fn m_outside_the_list_marks_the_footers_one_and_shift_m_marks_all() {
    let mut app = with_notes();
    press(&mut app, "m");
    assert_eq!(app.outbox, [Command::MarkRead(FAILED.into())]);
    app.outbox.clear();
    press(&mut app, "M");
    assert_eq!(app.outbox, [Command::MarkAllRead]);
    app.outbox.clear();
    app.on_msg(Msg::Notifications {
        list: notes().iter().map(read).collect(),
        unread: 0,
    });
    press(&mut app, "M");
    assert!(app.outbox.is_empty());
    assert!(footer(&app, 120, 40).contains("no unread notifications"));
}

#[test]
fn enter_opens_the_notifications_run_as_the_history_does() {
    let mut app = with_notes();
    press(&mut app, "n enter");
    assert_eq!(app.outbox, [Command::OpenRun(RUN.into())]);
    app.outbox.clear();
    app.on_msg(Msg::Opened(run(
        RUN,
        "backup-db",
        "ended",
        Some("failed"),
        Some(3),
        "cron",
        "2026-11-24T01:30:00.012Z",
    )));
    assert_eq!((app.view, app.focus), (View::Run, Focus::Main));
    assert_eq!(app.outbox, [Command::FollowLog(RUN.into())]);
    assert_eq!(app.current().unwrap().name, "backup-db");
    // `esc` shows the task's history, as after opening a run from it.
    press(&mut app, "esc");
    assert_eq!(app.view, View::Task);
    assert!(app.outbox.contains(&Command::LoadRuns("backup-db".into())));
    // A notification without a run says so.
    let mut app = with_notes();
    press(&mut app, "n j enter");
    assert!(app.outbox.is_empty());
    assert!(screen_text(&app).contains("not about a run"));
}

#[test]
fn esc_closes_the_list_where_it_was_opened() {
    let mut app = with_notes();
    press(&mut app, "j j enter");
    assert_eq!((app.view, app.focus), (View::Task, Focus::Main));
    app.outbox.clear();
    press(&mut app, "n");
    assert_eq!(app.view, View::Notifications);
    press(&mut app, "esc");
    assert_eq!((app.view, app.focus), (View::Task, Focus::Main));
    assert_eq!(app.current().unwrap().name, "backup-db");
    // `n` again closes it too.
    let mut app = with_notes();
    press(&mut app, "n n");
    assert_eq!((app.view, app.focus), (View::Home, Focus::Sidebar));
}

#[test]
fn new_notifications_arrive_live_and_the_list_stays_bounded() {
    let mut app = with_notes();
    press(&mut app, "n j");
    let newer = note(
        "01JNNNNNNNNNNNNNNNNNNNNNN4",
        NotifyKind::RunTimeout,
        Some("deploy"),
        Some("01JAAAAAAAAAAAAAAAAAAAAAA9"),
        "deploy timed out after 10m",
        1,
        "2026-11-24T11:59:30.000Z",
        false,
    );
    app.on_msg(Msg::Notification(Box::new(newer)));
    assert_eq!(app.bell.list[0].title, "deploy timed out after 10m");
    assert_eq!(app.bell.unread(), 3);
    assert_eq!(
        app.bell.selected.as_deref(),
        Some(MISSED),
        "the selection stays on the same notification"
    );
    press(&mut app, "esc");
    assert!(footer(&app, 120, 40).contains("deploy timed out after 10m · 3 unread"));
    // An update of a known one (one more failure) replaces it.
    let mut again = notes()[0].clone();
    again.count = 4;
    app.on_msg(Msg::Notification(Box::new(again)));
    assert_eq!(app.bell.list.len(), 4);
    assert_eq!(app.bell.list[1].count, 4);
    assert_eq!(app.bell.unread(), 3);
    for i in 0..100 {
        let id = format!("01JZZZZZZZZZZZZZZZZZZZZ{i:03}");
        let n = note(
            &id,
            NotifyKind::RunFailed,
            Some("t"),
            None,
            "t failed (exit 1)",
            1,
            "2026-11-24T11:59:59.000Z",
            false,
        );
        app.on_msg(Msg::Notification(Box::new(n)));
    }
    assert_eq!(app.bell.list.len(), PAGE, "memory stays bounded");
    assert_eq!(app.bell.list[0].id, "01JZZZZZZZZZZZZZZZZZZZZ099");
}

#[test]
fn the_key_list_shows_the_notification_keys() {
    let mut app = fixture();
    press(&mut app, "?");
    let screen = text_rows(&app, &keymap(), 80, 24).join("\n");
    for text in ["n notifications", "m mark read", "M mark all read"] {
        assert!(screen.contains(text), "{text:?} in\n{screen}");
    }
    assert!(screen.contains("any key closes"), "still whole: {screen}");
}
