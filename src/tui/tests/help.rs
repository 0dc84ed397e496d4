//! The `?` key list: ordered by area and purpose, and whole at 80×24 (scrolling when a keymap
//! has more keys than fit).

use super::*;

/// Where `needle` first appears in the text, for order checks.
fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in:\n{text}"))
}

#[test]
fn the_key_list_is_ordered_and_whole_at_80x24() {
    let mut app = fixture();
    press(&mut app, "?");
    let screen = text_rows(&app, &keymap(), 80, 24).join("\n");
    // Areas in a fixed order, each one listed.
    let areas = ["Everywhere", "Sidebar", "History", "Log", "Dialogs"];
    for pair in areas.windows(2) {
        assert!(
            at(&screen, pair[0]) < at(&screen, pair[1]),
            "{pair:?}\n{screen}"
        );
    }
    // Within an area, by purpose: moving, opening, acting, then the log's own keys.
    let log = &screen[at(&screen, "Log")..at(&screen, "Dialogs")];
    let purpose = [
        "up",
        "down",
        "page up",
        "back",
        "run",
        "stop",
        "follow",
        " top",
        "search",
        "next match",
    ];
    for pair in purpose.windows(2) {
        assert!(at(log, pair[0]) < at(log, pair[1]), "{pair:?}\n{log}");
    }
    // Keys of one action are listed together.
    assert!(log.contains("↑ k"), "{log}");
    // Nothing is cut off: the dialogs' keys and the closing hint are on screen.
    let dialogs = &screen[at(&screen, "Dialogs")..];
    assert!(dialogs.contains("cancel"), "{dialogs}");
    assert!(screen.contains("any key closes"), "{screen}");
    // The same twice: the order is stable.
    assert_eq!(screen, text_rows(&app, &keymap(), 80, 24).join("\n"));
}

#[test]
fn a_long_key_list_scrolls() {
    // A user keymap with many more keys than fit on 80×24.
    let mut extra = String::from("[log]\n");
    for c in 'a'..='z' {
        extra.push_str(&format!(
            "\"alt-{c}\" = \"top\"\n\"ctrl-alt-{c}\" = \"follow\"\n"
        ));
    }
    let map = Keymap::load(&[("mine.toml", extra.as_str())]).unwrap();
    let mut app = fixture();
    press_with(&mut app, &map, "?");
    let first = text_rows(&app, &map, 80, 24).join("\n");
    assert!(first.contains("Everywhere"), "{first}");
    assert!(!first.contains("Dialogs"), "it does not fit: {first}");
    for _ in 0..40 {
        press_with(&mut app, &map, "down");
    }
    let last = text_rows(&app, &map, 80, 24).join("\n");
    assert!(last.contains("Dialogs"), "scrolled to the end: {last}");
    assert!(last.contains("any other key closes"), "{last}");
    assert!(
        matches!(app.dialog, Some(Dialog::Help { .. })),
        "scrolling keeps it open"
    );
    press_with(&mut app, &map, "up");
    assert!(matches!(app.dialog, Some(Dialog::Help { .. })));
    press_with(&mut app, &map, "x");
    assert_eq!(app.dialog, None, "any other key closes it");
}

/// The vim and emacs flavours have more keys than fit at 80×24: the list opens at the top
/// and scrolls to the end with the log's keys (`G` is follow there: to the end).
#[test]
fn the_flavours_key_lists() {
    let theme = Theme::load("dark", false).unwrap();
    for (name, file, text) in [
        ("vim", "keymaps/vim.toml", crate::tui::keymap::VIM),
        ("emacs", "keymaps/emacs.toml", crate::tui::keymap::EMACS),
    ] {
        let map = Keymap::load(&[(file, text)]).unwrap();
        let mut app = fixture();
        press_with(&mut app, &map, "?");
        let top = render_with(&app, &theme, &map, 80, 24);
        assert!(top.contains("more below"), "{name}");
        snap(&format!("dialog-help-{name}-80x24"), top);
        press_with(&mut app, &map, "G");
        let end = render_with(&app, &theme, &map, 80, 24);
        assert!(
            end.contains("Dialogs") && !end.contains("more below"),
            "{name}"
        );
        snap(&format!("dialog-help-{name}-end-80x24"), end);
    }
}
