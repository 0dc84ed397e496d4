//! The `?` key list as data: every binding of the keymap by area (everywhere, sidebar,
//! history, log, dialogs), each area's actions in a fixed order of purpose (moving, opening,
//! acting on runs, the log's own keys, then the rest), the keys of one action together. Laid
//! out in as many columns as fit, it scrolls when it is taller than the screen. Drawing it is
//! `views/overlay.rs`; both use [`layout`], so what scrolls is what is drawn.

use super::action::Action;
use super::keymap::{Context, Key, Keymap};

/// The widest the key list gets.
pub const WIDTH: u16 = 76;

/// The areas listed, in order, and the context each one shows.
const AREAS: [(&str, Context); 5] = [
    ("Everywhere", Context::Global),
    ("Sidebar", Context::Sidebar),
    ("History", Context::History),
    ("Log", Context::Log),
    ("Dialogs", Context::Dialog),
];

/// Actions in the order an area lists them.
const PURPOSE: [Action; 24] = [
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Left,
    Action::Right,
    Action::NextPane,
    Action::Open,
    Action::Back,
    Action::Run,
    Action::Stop,
    Action::Follow,
    Action::Top,
    Action::Fullscreen,
    Action::Search,
    Action::SearchNext,
    Action::SearchPrev,
    Action::Confirm,
    Action::Cancel,
    Action::Notifications,
    Action::MarkRead,
    Action::MarkAllRead,
    Action::Help,
    Action::Quit,
];

/// One action with every key bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub keys: String,
    pub what: &'static str,
}

/// A row of the list: an area's title, or up to `columns` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Heading(&'static str),
    Entries(Vec<Entry>),
}

/// The list laid out for a screen.
#[derive(Debug, Clone)]
pub struct Layout {
    pub rows: Vec<Row>,
    /// Each column's width of keys and of what they do.
    pub columns: Vec<(usize, usize)>,
    /// The box: columns and rows, borders and the closing hint included.
    pub width: u16,
    pub height: u16,
    /// How many rows show at once, and the furthest the list scrolls.
    pub visible: usize,
    pub max_scroll: usize,
}

fn rank(action: Action) -> usize {
    PURPOSE
        .iter()
        .position(|a| *a == action)
        .unwrap_or(PURPOSE.len())
}

/// How the keys of one action are listed: arrows, other named keys, characters, then keys
/// with modifiers; by label within each.
fn key_order(key: &Key) -> (bool, u8, String) {
    use crossterm::event::KeyCode;
    let kind = match key.code {
        KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right => 0,
        KeyCode::Char(_) => 2,
        _ => 1,
    };
    (!key.mods.is_empty(), kind, key.label())
}

/// The entries of one area, by purpose; keys in the keymap's order.
pub fn entries(keymap: &Keymap, context: Context) -> Vec<Entry> {
    let mut actions: Vec<(Action, Vec<Key>)> = Vec::new();
    for (key, action) in keymap.own_bindings(context) {
        match actions.iter_mut().find(|(a, _)| a == action) {
            Some((_, keys)) => keys.push(*key),
            None => actions.push((*action, vec![*key])),
        }
    }
    actions.sort_by_key(|(a, _)| rank(*a));
    actions
        .into_iter()
        .map(|(action, mut keys)| {
            keys.sort_by_key(key_order);
            (action, keys)
        })
        .map(|(action, keys)| Entry {
            keys: keys.iter().map(Key::label).collect::<Vec<_>>().join(" "),
            what: action.describe(),
        })
        .collect()
}

/// The rows of the list in `count` columns, with each column's widths.
fn in_columns(
    areas: &[(&'static str, Vec<Entry>)],
    count: usize,
) -> (Vec<Row>, Vec<(usize, usize)>) {
    let mut rows = Vec::new();
    let mut widths = vec![(0, 0); count];
    for (title, list) in areas {
        rows.push(Row::Heading(title));
        for chunk in list.chunks(count) {
            for (i, e) in chunk.iter().enumerate() {
                widths[i].0 = widths[i].0.max(e.keys.chars().count());
                widths[i].1 = widths[i].1.max(e.what.chars().count());
            }
            rows.push(Row::Entries(chunk.to_vec()));
        }
    }
    (rows, widths)
}

/// Lays the list out for a `screen` of (columns, rows): as many columns as fit (at most four).
pub fn layout(keymap: &Keymap, screen: (u16, u16)) -> Layout {
    let areas: Vec<(&'static str, Vec<Entry>)> = AREAS
        .iter()
        .map(|(title, context)| (*title, entries(keymap, *context)))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let width = WIDTH.min(screen.0);
    let inner = usize::from(width.saturating_sub(2));
    let needed = |widths: &[(usize, usize)]| -> usize {
        widths.iter().map(|(k, w)| k + 1 + w + 2).sum::<usize>() - 2
    };
    let (rows, columns) = (1..=4)
        .rev()
        .map(|count| in_columns(&areas, count))
        .find(|(_, widths)| needed(widths) <= inner)
        .unwrap_or_else(|| in_columns(&areas, 1));
    // Borders and the hint line take three rows.
    let height = (rows.len() as u16).saturating_add(3).min(screen.1);
    let visible = usize::from(height.saturating_sub(3));
    let max_scroll = rows.len().saturating_sub(visible);
    Layout {
        rows,
        columns,
        width,
        height,
        visible,
        max_scroll,
    }
}

/// The key listed first for `action` in `context` (the log's arrows before its letters).
pub fn first_key(keymap: &Keymap, context: Context, action: Action) -> Option<Key> {
    keymap
        .bindings(context)
        .into_iter()
        .filter(|(_, a)| *a == action)
        .map(|(k, _)| k)
        .min_by_key(key_order)
}

/// A key while the list is open at `scroll`: the log's scrolling keys move it when it is
/// taller than the screen; any other key closes it (`None`).
pub fn on_key(keymap: &Keymap, key: Key, scroll: usize, screen: (u16, u16)) -> Option<usize> {
    let layout = layout(keymap, screen);
    if layout.max_scroll == 0 {
        return None;
    }
    let page = layout.visible.max(1);
    let to = match keymap.action(Context::Log, key)? {
        Action::Up => scroll.saturating_sub(1),
        Action::Down => scroll + 1,
        Action::PageUp => scroll.saturating_sub(page),
        Action::PageDown => scroll + page,
        Action::Top => 0,
        Action::Follow => layout.max_scroll,
        _ => return None,
    };
    Some(to.min(layout.max_scroll))
}
