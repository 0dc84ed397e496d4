//! The notifications: the list opened with `n` (newest first, unread ones marked, each in its
//! severity's colour, with its count, task, title and how long ago it last happened), and the
//! footer's line about the latest unread one.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

use super::border;
use crate::api::NotificationObject;
use crate::engine::model::Severity;
use crate::tui::action::Action;
use crate::tui::app::{App, Focus, View};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::theme::Theme;

/// A severity's glyph and theme role.
pub fn look(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Error => ("✗", "error"),
        Severity::Warn => ("!", "warn"),
        Severity::Info => ("•", "accent"),
    }
}

/// `×N` when a notification stands for more than one event.
fn times(n: &NotificationObject) -> String {
    if n.count > 1 {
        format!("×{}", n.count)
    } else {
        String::new()
    }
}

/// How long ago an RFC 3339 instant was, shortly: `just now`, `42s ago`, `5m ago`, `3h ago`,
/// `2d ago`.
pub fn ago(now: jiff::Timestamp, rfc3339: &str) -> String {
    let Ok(then) = rfc3339.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let secs = now.duration_since(then).as_secs();
    match secs {
        s if s < 5 => "just now".into(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3_600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3_600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// The list, in the main pane. The task column gives way first when the pane is narrow (the
/// title names the task anyway).
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let unread = app.bell.unread();
    let mut title = vec![Span::styled(" Notifications ", theme.title())];
    if unread > 0 {
        title.push(Span::styled(
            format!("{unread} unread"),
            theme.style("muted"),
        ));
    }
    let block = Block::default()
        .borders(Borders::NONE)
        .title(Line::from(title))
        .border_style(border(app, theme, Focus::Main));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.bell.list.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" no notifications", theme.style("muted"))),
            inner,
        );
        return;
    }
    let with_task = inner.width >= 70;
    let count_width = app
        .bell
        .list
        .iter()
        .map(|n| times(n).chars().count())
        .max()
        .unwrap_or(0)
        .max(2) as u16;
    let selected = (app.focus == Focus::Main).then(|| app.bell.position());
    let rows = app.bell.list.iter().enumerate().map(|(i, n)| {
        let (glyph, role) = look(n.severity);
        let read = n.read_at.is_some();
        let text = if read {
            theme.style("muted")
        } else {
            theme.base().add_modifier(Modifier::BOLD)
        };
        let mark = if read { " " } else { "●" };
        let mut cells = vec![
            Line::from(vec![
                Span::styled(mark, theme.style("accent")),
                Span::raw(" "),
                Span::styled(glyph, theme.style(role)),
            ]),
            Line::from(Span::styled(times(n), theme.style(role))),
        ];
        if with_task {
            cells.push(Line::from(Span::styled(
                n.task_name.clone().unwrap_or_default(),
                text,
            )));
        }
        cells.push(Line::from(Span::styled(n.title.clone(), text)));
        cells.push(Line::from(Span::styled(
            ago(app.now, &n.last_at),
            theme.style("muted"),
        )));
        let row = Row::new(cells);
        if Some(i) == selected {
            row.style(theme.selection())
        } else {
            row
        }
    });
    let mut widths = vec![Constraint::Length(3), Constraint::Length(count_width)];
    let mut header = vec!["", ""];
    if with_task {
        widths.push(Constraint::Length(14));
        header.push("TASK");
    }
    widths.push(Constraint::Fill(1));
    header.push("NOTIFICATION");
    widths.push(Constraint::Length(8));
    header.push("LAST");
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.style("muted")));
    // Keep the selected row in view.
    let mut state = ratatui::widgets::TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, inner, &mut state);
}

/// The footer's part about notifications: the key that opens the list, then the latest unread
/// one in its severity's colour (`×N` when it stands for more than one, its title, and how many
/// are unread when more than one), or a count alone when none of the unread is in the first
/// page. Nothing when all is read, nor while the list itself is shown.
pub fn footer(app: &App, theme: &Theme, keymap: &Keymap, context: Context) -> Vec<Span<'static>> {
    let unread = app.bell.unread();
    if unread == 0 || app.view == View::Notifications {
        return Vec::new();
    }
    let mut spans = Vec::new();
    if let Some(key) = keymap.key_for(context, Action::Notifications) {
        spans.push(Span::styled(
            format!("{} ", key.label()),
            theme.style("accent"),
        ));
    }
    let more: Style = theme.style("muted");
    match app.bell.latest_unread() {
        Some(n) => {
            let (glyph, role) = look(n.severity);
            let style = theme.style(role);
            spans.push(Span::styled(format!("{glyph} "), style));
            if n.count > 1 {
                spans.push(Span::styled(format!("{} ", times(n)), style));
            }
            spans.push(Span::styled(n.title.clone(), style));
            if unread > 1 {
                spans.push(Span::styled(format!(" · {unread} unread"), more));
            }
        }
        None => spans.push(Span::styled(
            format!(
                "{unread} unread notification{}",
                if unread == 1 { "" } else { "s" }
            ),
            more,
        )),
    }
    spans
}
