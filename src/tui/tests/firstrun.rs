//! The first-start editor: leaving asks before it throws edits away, and only then.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::firstrun::{Editor, Outcome};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn draw(editor: &Editor) -> String {
    let theme = Theme::load("dark", false).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| editor.draw(f, &theme)).unwrap();
    format!("{:?}", terminal.backend().buffer())
}

fn editor() -> Editor<'static> {
    Editor::new(std::path::Path::new("/srv/app/runwisp.toml"))
}

#[test]
fn esc_without_edits_leaves_at_once() {
    assert_eq!(editor().on_key(key(KeyCode::Esc)), Outcome::Quit);
    let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
    assert_eq!(editor().on_key(ctrl_q), Outcome::Quit);
    // An edit typed and taken back is no edit.
    let mut e = editor();
    e.on_key(key(KeyCode::Char('x')));
    e.on_key(key(KeyCode::Backspace));
    assert_eq!(e.on_key(key(KeyCode::Esc)), Outcome::Quit);
}

#[test]
fn esc_after_edits_asks_before_discarding_them() {
    let mut e = editor();
    e.on_key(key(KeyCode::Char('#')));
    assert_eq!(e.on_key(key(KeyCode::Esc)), Outcome::Editing, "not yet");
    let screen = draw(&e);
    assert!(screen.contains("Discard your edits?"), "{screen}");
    snap("firstrun-discard-80x24", screen);
    // Anything but yes keeps editing, the edit intact.
    assert_eq!(e.on_key(key(KeyCode::Char('n'))), Outcome::Editing);
    assert!(!draw(&e).contains("Discard your edits?"));
    assert!(
        e.text.lines()[0].starts_with('#'),
        "{:?}",
        e.text.lines()[0]
    );
    assert_eq!(e.on_key(key(KeyCode::Esc)), Outcome::Editing);
    assert_eq!(
        e.on_key(key(KeyCode::Esc)),
        Outcome::Editing,
        "esc answers no"
    );
    assert!(e.text.lines()[0].starts_with('#'));
    // Yes leaves without saving.
    assert_eq!(e.on_key(key(KeyCode::Esc)), Outcome::Editing);
    assert_eq!(e.on_key(key(KeyCode::Char('y'))), Outcome::Quit);
}

#[test]
fn the_first_start_editor() {
    let path = std::path::Path::new("/srv/app/runwisp.toml");
    let theme = Theme::load("dark", false).unwrap();
    let mut editor = crate::tui::firstrun::Editor::new(path);
    assert!(editor.verdict.is_ok(), "{:?}", editor.verdict);
    let draw = |editor: &crate::tui::firstrun::Editor, w: u16, h: u16| {
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
        crate::tui::firstrun::Outcome::Editing,
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
        crate::tui::firstrun::Outcome::Save(text) => {
            assert_eq!(text, crate::engine::config::STARTER)
        }
        other => panic!("expected a save, got {other:?}"),
    }
}
