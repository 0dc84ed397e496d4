//! Keymaps as data (`interfaces.md` §1): `keymaps/*.toml` embedded at build time, a user file
//! laid over the default, a closed action vocabulary, and errors that name the file and line.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use toml::de::{DeTable, DeValue};

use super::action::Action;
use crate::engine::config::SourceMap;

pub const DEFAULT: &str = include_str!("../../keymaps/default.toml");
pub const VIM: &str = include_str!("../../keymaps/vim.toml");
pub const EMACS: &str = include_str!("../../keymaps/emacs.toml");

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Sidebar,
    History,
    Log,
    Dialog,
}

impl Context {
    const ALL: [(&'static str, Context); 5] = [
        ("global", Context::Global),
        ("sidebar", Context::Sidebar),
        ("history", Context::History),
        ("log", Context::Log),
        ("dialog", Context::Dialog),
    ];
}

/// A key with its modifiers, as a keymap file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// The key of a terminal event; shift is part of the character for printable keys.
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods =
            e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(e.code, KeyCode::Char(_)) {
            mods.remove(KeyModifiers::SHIFT);
        }
        let code = e.code;
        Key { code, mods }
    }

    /// Parses `ctrl-c`, `G`, `enter`, `shift-tab`, `alt-<`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        mods.remove(KeyModifiers::SHIFT);
                        KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) { c.to_ascii_lowercase() } else { c })
                    }
                    _ => return Err(format!("{text:?} is not a key (write a character, or a name such as enter, esc, up, ctrl-c)")),
                }
            }
        };
        Ok(Key { code, mods })
    }

    /// How the help overlay and the footer show it.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("shift-");
        }
        out.push_str(&match self.code {
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::F(n) => format!("f{n}"),
            KeyCode::Char(' ') => "space".into(),
            KeyCode::Char(c) => c.to_string(),
            _ => "?".into(),
        });
        out
    }
}

/// A loaded keymap: bindings per context, in file order for display.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: HashMap<Context, Vec<(Key, Action)>>,
}

/// A keymap problem: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeymapError(pub String);

impl Keymap {
    /// The default keymap with the flavour or user files laid over it, in order.
    pub fn load(layers: &[(&str, &str)]) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        map.overlay("keymaps/default.toml", DEFAULT)?;
        for (label, text) in layers {
            map.overlay(label, text)?;
        }
        Ok(map)
    }

    /// Lays `text` (named `label` in errors) over this keymap.
    pub fn overlay(&mut self, label: &str, text: &str) -> Result<(), KeymapError> {
        let source = SourceMap::new(label, text);
        let at = |span: std::ops::Range<usize>, message: String| {
            KeymapError(source.error(span, "", message).to_string())
        };
        let (doc, syntax) = DeTable::parse_recoverable(text);
        if let Some(e) = syntax.first() {
            return Err(at(
                e.span().unwrap_or(0..0),
                format!("TOML syntax error: {}", e.message().trim()),
            ));
        }
        for (section, value) in doc.get_ref().iter() {
            let name = section.get_ref().as_ref();
            let Some((_, context)) = Context::ALL.iter().find(|(n, _)| *n == name) else {
                let known: Vec<&str> = Context::ALL.iter().map(|(n, _)| *n).collect();
                return Err(at(
                    section.span(),
                    format!("unknown context [{name}]; use one of {}", known.join(", ")),
                ));
            };
            let DeValue::Table(table) = value.get_ref() else {
                return Err(at(
                    value.span(),
                    format!("[{name}] must be a table of key = \"action\" lines"),
                ));
            };
            for (key, action) in table.iter() {
                let parsed = Key::parse(key.get_ref()).map_err(|e| at(key.span(), e))?;
                let Some(action_name) = action.get_ref().as_str() else {
                    return Err(at(
                        action.span(),
                        "an action is a string, like \"quit\"".into(),
                    ));
                };
                let action = Action::parse(action_name).map_err(|e| at(action.span(), e))?;
                let list = self.bindings.entry(*context).or_default();
                list.retain(|(k, _)| *k != parsed);
                list.push((parsed, action));
            }
        }
        Ok(())
    }

    /// The action of `key` in `context` (falling back to the global bindings).
    pub fn action(&self, context: Context, key: Key) -> Option<Action> {
        let find = |c: Context| {
            self.bindings
                .get(&c)?
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, a)| *a)
        };
        find(context).or_else(|| {
            if context == Context::Dialog {
                None
            } else {
                find(Context::Global)
            }
        })
    }

    /// The bindings of `context` itself (not the global ones it falls back to), in file order.
    pub fn own_bindings(&self, context: Context) -> &[(Key, Action)] {
        self.bindings.get(&context).map_or(&[], Vec::as_slice)
    }

    /// Every binding of a context (context first, then global), for the help overlay.
    pub fn bindings(&self, context: Context) -> Vec<(Key, Action)> {
        let mut out: Vec<(Key, Action)> = self.bindings.get(&context).cloned().unwrap_or_default();
        if context != Context::Dialog {
            for (k, a) in self
                .bindings
                .get(&Context::Global)
                .cloned()
                .unwrap_or_default()
            {
                if !out.iter().any(|(key, _)| *key == k) {
                    out.push((k, a));
                }
            }
        }
        out
    }

    /// The first key bound to `action` in `context`, for the footer.
    pub fn key_for(&self, context: Context, action: Action) -> Option<Key> {
        self.bindings(context)
            .into_iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| k)
            .min_by_key(|k| k.label().chars().count())
    }
}
