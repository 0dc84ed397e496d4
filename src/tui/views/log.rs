//! The run view: a header, then the live log with line numbers; stderr in the error colour,
//! `[SYSTEM]` lines muted, search matches highlighted.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::took;
use crate::api::pipelines::glyph;
use crate::engine::model::StepState;
use crate::tui::app::{run_label, App, LineKind, TreeState};
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
    // A pipeline's steps above its own log.
    let area = match &app.tree {
        Some(tree) => {
            let wanted = tree.lines.len().max(1) as u16 + 1;
            let height = wanted.min(area.height / 2).max(2.min(area.height));
            let (top, rest) = split(area, height);
            steps(
                frame,
                top,
                tree,
                app.focus == crate::tui::app::Focus::Main,
                theme,
            );
            rest
        }
        None => area,
    };
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

/// `area` cut into its first `height` rows and the rest.
fn split(area: Rect, height: u16) -> (Rect, Rect) {
    let top = Rect { height, ..area };
    let rest = Rect {
        y: area.y + height,
        height: area.height - height,
        ..area
    };
    (top, rest)
}

/// The theme role of a step's state.
fn role(state: StepState) -> &'static str {
    match state {
        StepState::Success => "ok",
        StepState::Running | StepState::Pending => "running",
        StepState::Failed | StepState::Timeout | StepState::Crashed | StepState::LogOverflow => {
            "error"
        }
        StepState::Stopped | StepState::Interrupted | StepState::Skipped | StepState::QueueFull => {
            "warn"
        }
        StepState::SkippedByResume | StepState::NotStarted => "muted",
    }
}

/// A pipeline run's steps: glyph, position, name, state and duration, members and
/// sub-pipelines indented; the selected one (enter opens its run) highlighted.
fn steps(frame: &mut Frame, area: Rect, tree: &TreeState, focused: bool, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style("border"))
        .title(Span::styled(
            " steps (enter opens a step's run) ",
            theme.style("muted"),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if tree.lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" (reading the steps…)", theme.style("muted"))),
            inner,
        );
        return;
    }
    let height = inner.height as usize;
    let first = tree.selected.saturating_sub(height.saturating_sub(1));
    let width = tree
        .lines
        .iter()
        .map(|l| l.indent.chars().count() + l.step.len() + l.label.chars().count() + 3)
        .max()
        .unwrap_or(0);
    let state_width = tree
        .lines
        .iter()
        .map(|l| l.state.as_str().len())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = tree
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, l)| {
            let left = format!("{}{} {} {}", l.indent, l.step, glyph(l.state), l.label);
            let pad = width.saturating_sub(left.chars().count());
            let text = format!(
                " {left}{} {:<state_width$} {}",
                " ".repeat(pad),
                l.state.as_str(),
                l.duration
            );
            let style = if focused && i == tree.selected {
                theme.selection()
            } else {
                theme.style(role(l.state))
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
