//! The log view: next and previous match keys that clash with nothing (in every keymap
//! flavour), and the follow marker only while the run can still grow.

use super::*;
use crate::tui::action::Action;
use crate::tui::keymap::{Context, EMACS, VIM};

/// The line number at the top of the paused log.
fn top_line(app: &App) -> u64 {
    assert!(!app.log.follow, "a match pauses following");
    app.log.lines[app.log.top].n
}

#[test]
fn next_and_previous_match_keys_in_every_flavour() {
    let flavours = [
        ("default", Keymap::load(&[]).unwrap(), "ctrl-n", "ctrl-p"),
        (
            "vim",
            Keymap::load(&[("keymaps/vim.toml", VIM)]).unwrap(),
            "ctrl-n",
            "ctrl-p",
        ),
        (
            "emacs",
            Keymap::load(&[("keymaps/emacs.toml", EMACS)]).unwrap(),
            "alt-n",
            "alt-p",
        ),
    ];
    for (name, map, next, prev) in flavours {
        let mut app = with_log(fixture());
        // Lines 3, 13, 23, 33, 43 and 53 are "warning: step N was slow".
        press_with(&mut app, &map, "/ s l o w enter");
        assert_eq!(top_line(&app), 3, "{name}: the first match");
        press_with(&mut app, &map, next);
        assert_eq!(top_line(&app), 13, "{name}: {next} goes to the next match");
        press_with(&mut app, &map, &format!("{next} {next}"));
        assert_eq!(top_line(&app), 33, "{name}");
        press_with(&mut app, &map, prev);
        assert_eq!(top_line(&app), 23, "{name}: {prev} goes back");
        press_with(&mut app, &map, &format!("{prev} {prev} {prev}"));
        assert_eq!(
            top_line(&app),
            53,
            "{name}: it wraps around to the last match"
        );
        // `n` stays the notifications key everywhere, the log included.
        let n = Key::parse("n").unwrap();
        assert_eq!(
            map.action(Context::Log, n),
            Some(Action::Notifications),
            "{name}"
        );
        for key in [next, prev] {
            let key = Key::parse(key).unwrap();
            for context in [Context::Sidebar, Context::History] {
                assert_ne!(
                    map.action(context, key),
                    map.action(Context::Log, key),
                    "{name}: {key:?} means something else outside the log"
                );
            }
        }
    }
}

#[test]
fn the_footer_and_key_list_name_the_match_keys() {
    let mut app = with_log(fixture());
    press(&mut app, "/ s l o w enter");
    let screen = screen_text(&app);
    let footer = screen.lines().last().unwrap_or_default().to_string();
    assert!(footer.contains("ctrl-n next match"), "{footer}");
    assert!(footer.contains("ctrl-p previous match"), "{footer}");
    press(&mut app, "?");
    let help = screen_text(&app);
    assert!(help.contains("next match"), "{help}");
    assert!(help.contains("previous match"), "{help}");
}

#[test]
fn following_is_not_shown_once_the_run_ended() {
    let mut app = with_log(fixture());
    assert!(screen_text(&app).contains("[following]"));
    let mut ended = app.log.run.clone().unwrap();
    ended.status = "ended".into();
    ended.end_reason = Some(EndReason::Success);
    ended.exit_code = Some(0);
    app.on_msg(Msg::LogDone { run: ended.clone() });
    let screen = screen_text(&app);
    assert!(!screen.contains("[following]"), "{screen}");
    assert!(screen.contains("success (exit 0)"), "{screen}");
    // Nor paused: an ended run's log does not move.
    press(&mut app, "k");
    assert!(!screen_text(&app).contains("paused"));
    // An ended run opened from the history never says it follows.
    let mut again = fixture();
    again.open_run(ended);
    assert!(!screen_text(&again).contains("[following]"));
}
