//! Keymap files are data: the flavours load, a user file lays one key over the default, and a
//! bad file is an error naming its line and column.

use super::*;

#[test]
fn keymap_files_are_data_with_precise_errors() {
    let vim = Keymap::load(&[("keymaps/vim.toml", crate::tui::keymap::VIM)]).unwrap();
    assert_eq!(
        vim.action(
            crate::tui::keymap::Context::Log,
            Key::parse("ctrl-d").unwrap()
        ),
        Some(crate::tui::action::Action::PageDown)
    );
    let emacs = Keymap::load(&[("keymaps/emacs.toml", crate::tui::keymap::EMACS)]).unwrap();
    assert_eq!(
        emacs.action(
            crate::tui::keymap::Context::Sidebar,
            Key::parse("ctrl-n").unwrap()
        ),
        Some(crate::tui::action::Action::Down)
    );
    let mine = Keymap::load(&[("mine.toml", "[sidebar]\n\"x\" = \"run\"\n")]).unwrap();
    assert_eq!(
        mine.action(
            crate::tui::keymap::Context::Sidebar,
            Key::parse("x").unwrap()
        ),
        Some(crate::tui::action::Action::Run)
    );
    assert_eq!(
        mine.action(
            crate::tui::keymap::Context::Sidebar,
            Key::parse("r").unwrap()
        ),
        Some(crate::tui::action::Action::Run),
        "the rest of the default stays"
    );
    let cases = [
        ("[sidebar]\n\"x\" = \"explode\"\n", "mine.toml:2:7: unknown action \"explode\"; actions are quit, up, down, page_up, page_down, left, right, next_pane, open, back, run, stop, fullscreen, follow, top, search, search_next, search_prev, notifications, mark_read, mark_all_read, help, confirm, cancel"),
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
