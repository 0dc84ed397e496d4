//! The sidebar: who we are talking to, then tasks and services by group with status glyphs.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::border;
use crate::api::ServiceState;
use crate::tui::app::{App, Connection, Focus, RunRow, TaskRow};
use crate::tui::theme::Theme;

/// The glyph and role of a task's state.
pub fn glyph(task: &TaskRow) -> (&'static str, &'static str) {
    if task.service {
        // As the daemon says: a replica waiting out its back-off is not "stopped".
        return match &task.service_state {
            Some(ServiceState::Backoff { .. }) => ("↻", "warn"),
            Some(ServiceState::Stopped) => ("■", "muted"),
            Some(ServiceState::Running { .. } | ServiceState::Starting) => ("▶", "running"),
            None if !task.active_runs.is_empty() => ("▶", "running"),
            None => ("■", "muted"),
        };
    }
    if !task.active_runs.is_empty() {
        return ("▶", "running");
    }
    let ended = task.last.as_ref().filter(|r| r.end_reason.is_some());
    match ended.map(RunRow::role) {
        Some("ok") => ("✓", "ok"),
        Some("warn") => ("•", "warn"),
        Some(_) => ("✗", "error"),
        None => ("·", "muted"),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::RIGHT)
        .border_style(border(app, theme, Focus::Sidebar));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::from(vec![
        Span::styled("runwisp ", theme.title()),
        Span::styled(app.version.clone(), theme.style("muted")),
    ])];
    lines.push(Line::from(Span::styled(
        app.fingerprint.clone(),
        theme.style("muted"),
    )));
    lines.push(match &app.connection {
        Connection::Connected => Line::from(Span::styled("● connected", theme.style("ok"))),
        Connection::Connecting => Line::from(Span::styled("◌ connecting…", theme.style("warn"))),
        Connection::Reconnecting { since, .. } => {
            let secs = app.now.duration_since(*since).as_secs().max(0);
            Line::from(Span::styled(
                format!("◌ reconnecting… {secs}s"),
                theme.style("error"),
            ))
        }
    });
    if app.config.edited {
        lines.push(Line::from(Span::styled(
            "⚠ file edited: reload",
            theme.style("warn"),
        )));
    }
    if app.config.restart {
        lines.push(Line::from(Span::styled(
            "⚠ restart needed",
            theme.style("warn"),
        )));
    }
    let order = app.order();
    let mut group = None;
    let mut rows: Vec<(Line, bool)> = Vec::new();
    for (pos, i) in order.iter().enumerate() {
        let task = &app.tasks[*i];
        if group != Some(task.group.as_str()) {
            group = Some(task.group.as_str());
            rows.push((
                Line::from(Span::styled(
                    task.group.clone(),
                    theme.style("muted").add_modifier(Modifier::BOLD),
                )),
                false,
            ));
        }
        let (g, role) = glyph(task);
        let name = match (task.service, task.instances) {
            (true, Some(n)) if n > 1 => format!("{} ×{n}", task.name),
            _ => task.name.clone(),
        };
        let selected = pos == app.selected;
        let style = if selected {
            theme.selection()
        } else {
            theme.base()
        };
        let width = inner.width.saturating_sub(4) as usize;
        let name: String = name.chars().take(width).collect();
        rows.push((
            Line::from(vec![
                Span::styled(format!(" {g} "), theme.style(role)),
                Span::styled(format!("{name:<width$}"), style),
            ]),
            selected,
        ));
    }
    if order.is_empty() {
        let text = if app.tasks.is_empty() {
            "no tasks yet"
        } else {
            "nothing matches the filter"
        };
        rows.push((Line::from(Span::styled(text, theme.style("muted"))), false));
    }
    // Keep the selected row in view.
    let room = inner.height.saturating_sub(lines.len() as u16 + 1) as usize;
    let selected_row = rows.iter().position(|(_, s)| *s).unwrap_or(0);
    let skip = selected_row.saturating_sub(room.saturating_sub(1));
    lines.push(Line::from(""));
    lines.extend(rows.into_iter().skip(skip).map(|(l, _)| l));
    frame.render_widget(Paragraph::new(lines), inner);
}
