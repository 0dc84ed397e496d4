//! Drawing: pure functions of the state, the theme and the keymap. Nothing here changes state.

mod bell;
mod log;
mod main_pane;
mod overlay;
pub(crate) mod sidebar;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::Action;
use super::app::{App, Focus, View};
use super::keymap::{Context, Keymap};
use super::theme::Theme;

/// Width of the sidebar.
pub const SIDEBAR: u16 = 28;

/// Draws one frame.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, keymap: &Keymap) {
    let [body, footer_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
    if app.fullscreen && app.view == View::Run {
        log::draw(frame, body, app, theme);
    } else {
        let [side, main] = Layout::horizontal([
            Constraint::Length(SIDEBAR.min(body.width / 2)),
            Constraint::Min(1),
        ])
        .areas(body);
        sidebar::draw(frame, side, app, theme);
        match app.view {
            View::Run => log::draw(frame, main, app, theme),
            View::Task => main_pane::task(frame, main, app, theme),
            View::Home => main_pane::home(frame, main, app, theme),
            View::Notifications => bell::draw(frame, main, app, theme),
        }
    }
    footer(frame, footer_area, app, theme, keymap);
    overlay::draw(frame, app, theme, keymap);
}

/// The actions worth advertising in the footer, for where the operator is.
fn advertised(app: &App) -> &'static [Action] {
    match app.context() {
        Context::History if app.view == View::Notifications => &[
            Action::Open,
            Action::MarkRead,
            Action::MarkAllRead,
            Action::Back,
            Action::Help,
            Action::Quit,
        ],
        Context::Sidebar => &[
            Action::Open,
            Action::Run,
            Action::Stop,
            Action::Search,
            Action::Help,
            Action::Quit,
        ],
        Context::History => &[
            Action::Open,
            Action::Run,
            Action::Stop,
            Action::Back,
            Action::Help,
            Action::Quit,
        ],
        Context::Log if app.search.is_some() => &[
            Action::SearchNext,
            Action::SearchPrev,
            Action::Search,
            Action::Follow,
            Action::Back,
            Action::Help,
        ],
        Context::Log => &[
            Action::Follow,
            Action::Fullscreen,
            Action::Search,
            Action::Stop,
            Action::Back,
            Action::Help,
        ],
        Context::Dialog => &[Action::Confirm, Action::Cancel],
        Context::Global => &[Action::Help, Action::Quit],
    }
}

/// The footer: the keys that do something here, from the keymap, then the latest notice, then
/// the latest unread notification. A notice always shows: keys give way to it from the end, the
/// help key last; they give way to the notification too, up to half the footer (the rest of a
/// long title is cut).
fn footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, keymap: &Keymap) {
    if let Some(input) = &app.search_input {
        let line = Line::from(vec![
            Span::styled("/", theme.style("accent")),
            Span::styled(input.clone(), theme.base()),
            Span::styled("▏", theme.style("accent")),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let context = app.context();
    let mut keys: Vec<(Action, String)> = advertised(app)
        .iter()
        .filter_map(|a| keymap.key_for(context, *a).map(|k| (*a, k.label())))
        .collect();
    let width = |(a, k): &(Action, String)| k.chars().count() + a.describe().chars().count() + 3;
    let note = bell::footer(app, theme, keymap, context);
    let note_width: usize = note.iter().map(|s| s.content.chars().count()).sum();
    let claim = note_width.min(usize::from(area.width) / 2);
    let gap = if note.is_empty() { 0 } else { 2 };
    let notice = app
        .notice
        .as_ref()
        .map_or(0, |n| n.text.chars().count() + gap);
    while keys.iter().map(width).sum::<usize>() + notice + claim > usize::from(area.width) {
        let Some(pos) = keys
            .iter()
            .rposition(|(a, _)| *a != Action::Help)
            .or_else(|| keys.len().checked_sub(1))
        else {
            break;
        };
        keys.remove(pos);
    }
    let mut spans = Vec::new();
    for (action, key) in keys {
        spans.push(Span::styled(key, theme.style("accent")));
        spans.push(Span::styled(
            format!(" {}  ", action.describe()),
            theme.style("muted"),
        ));
    }
    if let Some(notice) = &app.notice {
        spans.push(Span::styled(notice.text.clone(), theme.style("warn")));
        if !note.is_empty() {
            spans.push(Span::raw("  "));
        }
    }
    spans.extend(note);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `created_at`-style RFC 3339 as `MM-DD HH:MM:SS`.
pub fn when(rfc3339: &str) -> String {
    rfc3339
        .get(5..19)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| rfc3339.to_string())
}

/// Milliseconds as a short duration (`350ms`, `12s`, `3m04s`, `2h05m`).
pub fn took(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    match ms {
        ms if ms < 1_000 => format!("{ms}ms"),
        ms if ms < 60_000 => format!("{}s", ms / 1000),
        ms if ms < 3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        ms => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// The focus border style.
pub fn border(app: &App, theme: &Theme, focus: Focus) -> ratatui::style::Style {
    if app.focus == focus && app.dialog.is_none() {
        theme.style("accent")
    } else {
        theme.style("border")
    }
}
