//! The run view: a header, then the live log with line numbers; stderr in the error colour,
//! `[SYSTEM]` lines muted, search matches highlighted.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::took;
use crate::tui::app::{run_label, App, LineKind};
use crate::tui::theme::Theme;

/// The index of the first line to show in a window of `height` lines.
pub fn first_visible(app: &App, height: usize) -> usize {
    let len = app.log.lines.len();
    if app.log.follow {
        len.saturating_sub(height)
    } else {
        app.log.top.min(len.saturating_sub(1))
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(run) = &app.log.run else { return };
    let state = match (&run.end_reason, app.log.finished) {
        (Some(reason), true) => {
            let exit = run.exit_code.map_or("-".into(), |c| c.to_string());
            match &run.message {
                // Why a run was refused or failed to write its log: the one place to see it.
                Some(message) => format!("{reason} (exit {exit}): {message}"),
                None => format!("{reason} (exit {exit})"),
            }
        }
        _ => "running".into(),
    };
    // Following or paused only means something while the run can still print.
    let follow = match (app.log.finished || run.ended(), app.log.follow) {
        (true, _) => None,
        (false, true) => Some("following"),
        (false, false) => Some("paused — G to follow"),
    };
    let mut title = vec![
        Span::styled(format!(" {} ", run.task_name), theme.title()),
        Span::styled(
            format!(
                "run {} · {} · {} · {}",
                run_label(&run.id),
                run.trigger(),
                state,
                took(run.duration_ms)
            ),
            theme.style("muted"),
        ),
    ];
    if let Some(webhook) = &app.log.webhook {
        title.push(Span::styled(format!(" · {webhook}"), theme.style("muted")));
    }
    if let Some(follow) = follow {
        title.push(Span::styled(format!("  [{follow}]"), theme.style("accent")));
    }
    let title = Line::from(title);
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style("border"))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let first = first_visible(app, height);
    let number_width = app.log.lines.back().map_or(1, |l| l.n.to_string().len());
    let term = app.search.as_deref().filter(|t| !t.is_empty());
    let lines: Vec<Line> = app
        .log
        .lines
        .iter()
        .skip(first)
        .take(height)
        .map(|l| {
            let style = match l.kind {
                LineKind::Stdout => theme.base(),
                LineKind::Stderr => theme.style("error"),
                LineKind::System => theme.style("muted").add_modifier(Modifier::ITALIC),
            };
            let mut spans = vec![Span::styled(
                format!("{:>number_width$} ", l.n),
                theme.style("muted"),
            )];
            match term.and_then(|t| l.text.find(t).map(|i| (t, i))) {
                Some((t, i)) => {
                    spans.push(Span::styled(l.text[..i].to_string(), style));
                    spans.push(Span::styled(t.to_string(), theme.selection()));
                    spans.push(Span::styled(l.text[i + t.len()..].to_string(), style));
                }
                None => spans.push(Span::styled(l.text.clone(), style)),
            }
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" (no output yet)", theme.style("muted"))),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
