//! Notices: one about a lost connection goes once the daemon is back; others stay until the
//! next key.

use super::*;

#[test]
fn a_connection_notice_goes_when_the_daemon_is_back() {
    let mut app = fixture();
    app.on_msg(Msg::Disconnected {
        reason: "connection refused".into(),
    });
    assert!(screen_text(&app).contains("connection refused"));
    app.on_msg(Msg::Connected {
        version: "0.1.0".into(),
        fingerprint: "misty-river".into(),
    });
    let screen = screen_text(&app);
    assert!(!screen.contains("connection refused"), "{screen}");
    assert!(screen.contains("● connected"), "{screen}");
}

#[test]
fn other_notices_survive_a_reconnect() {
    let mut app = fixture();
    app.on_msg(Msg::Notice("task deploy is disabled".into()));
    app.on_msg(Msg::Connected {
        version: "0.1.0".into(),
        fingerprint: "misty-river".into(),
    });
    assert!(screen_text(&app).contains("task deploy is disabled"));
}

#[test]
fn a_notice_is_readable_at_80_columns() {
    let mut app = fixture();
    app.on_msg(Msg::Notice("restarting web: 3 replicas".into()));
    let rows = text_rows(&app, &keymap(), 80, 24);
    let footer = rows.last().cloned().unwrap_or_default();
    assert!(footer.contains("restarting web: 3 replicas"), "{footer}");
    assert!(
        footer.contains("? help"),
        "the keys that fit stay: {footer}"
    );
}

#[test]
fn a_log_stream_cut_by_the_lost_connection_is_forgotten_on_reconnect() {
    let mut app = with_log(fixture());
    app.on_msg(Msg::Offline(
        "stopped following the log: the log stream ended before the run did".into(),
    ));
    assert!(screen_text(&app).contains("stopped following the log"));
    app.outbox.clear();
    app.on_msg(Msg::Connected {
        version: "0.1.0".into(),
        fingerprint: "misty-river".into(),
    });
    assert!(!screen_text(&app).contains("stopped following the log"));
    assert!(
        app.outbox
            .contains(&Command::FollowLog("01JAAAAAAAAAAAAAAAAAAAAAA9".into())),
        "and the log is followed again"
    );
}

#[test]
fn quitting_beside_a_daemon_this_tui_did_not_start_offers_no_stop() {
    let mut app = fixture();
    app.own_daemon = false;
    press(&mut app, "q");
    let screen = screen_text(&app);
    assert!(screen.contains("Quit the terminal UI?"), "{screen}");
    assert!(!screen.contains("Stop the daemon"), "{screen}");
    press(&mut app, "right right enter");
    assert_eq!(app.quit, None, "the second choice cancels");
    press(&mut app, "q enter");
    assert_eq!(app.quit, Some(false));
}
