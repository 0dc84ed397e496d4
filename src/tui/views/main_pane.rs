//! The main pane: the home view (recent activity across tasks) and a task's view (its
//! definition in words, then its run history).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

use super::{border, took, when};
use crate::tui::app::{short, App, Focus, RunRow};
use crate::tui::theme::Theme;

fn result_style(theme: &Theme, run: &RunRow) -> Style {
    match (run.status.as_str(), run.end_reason.as_deref()) {
        ("running", _) | ("pending", _) => theme.style("running"),
        (_, Some("success")) => theme.style("ok"),
        (_, Some("skipped" | "stopped" | "queue_full")) => theme.style("warn"),
        _ => theme.style("error"),
    }
}

fn result(run: &RunRow) -> String {
    run.end_reason.clone().unwrap_or_else(|| run.status.clone())
}

fn runs_table<'a>(
    runs: &'a [RunRow],
    selected: Option<usize>,
    theme: &Theme,
    with_task: bool,
) -> Table<'a> {
    let rows = runs.iter().enumerate().map(|(i, r)| {
        let mut cells = vec![when(r.start_at.as_deref().unwrap_or(&r.created_at))];
        if with_task {
            cells.push(r.task_name.clone());
        }
        cells.extend([
            r.triggered_by.clone(),
            took(r.duration_ms),
            result(r),
            r.exit_code.map_or("-".into(), |c| c.to_string()),
            format!("…{}", short(&r.id)),
        ]);
        let row = Row::new(cells).style(result_style(theme, r));
        if Some(i) == selected {
            row.style(theme.selection())
        } else {
            row
        }
    });
    let mut widths = vec![Constraint::Length(14)];
    let mut header = vec!["TIME"];
    if with_task {
        widths.push(Constraint::Min(10));
        header.push("TASK");
    }
    widths.extend([
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(12),
        Constraint::Length(4),
        Constraint::Length(5),
    ]);
    header.extend(["TRIGGER", "TOOK", "RESULT", "EXIT", "RUN"]);
    Table::new(rows, widths).header(Row::new(header).style(theme.style("muted")))
}

pub fn home(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::NONE)
        .title(Span::styled(" Recent activity ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [summary, list] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
    let running = app.tasks.iter().map(|t| t.active_runs.len()).sum::<usize>();
    let failed = app
        .tasks
        .iter()
        .filter(|t| {
            !t.service
                && t.last
                    .as_ref()
                    .and_then(|r| r.end_reason.as_deref())
                    .is_some_and(|e| !matches!(e, "success" | "skipped" | "stopped" | "queue_full"))
        })
        .count();
    let line = Line::from(vec![
        Span::styled(
            format!(" {} tasks and services", app.tasks.len()),
            theme.base(),
        ),
        Span::styled(format!("  ▶ {running} running"), theme.style("running")),
        Span::styled(
            format!("  ✗ {failed} failing"),
            theme.style(if failed > 0 { "error" } else { "muted" }),
        ),
    ]);
    frame.render_widget(Paragraph::new(line), summary);
    if app.recent.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" no runs yet", theme.style("muted"))),
            list,
        );
    } else {
        frame.render_widget(runs_table(&app.recent, None, theme, true), list);
    }
}

pub fn task(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(t) = app.current() else {
        return home(frame, area, app, theme);
    };
    let block = Block::default()
        .borders(Borders::NONE)
        .title(Span::styled(format!(" {} ", t.name), theme.title()))
        .border_style(border(app, theme, Focus::Main));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let label = |text: &str| Span::styled(format!(" {text:<10}"), theme.style("muted"));
    let mut lines = Vec::new();
    if !t.description.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(" {}", t.description),
            theme.base(),
        )));
    }
    if t.service {
        lines.push(Line::from(vec![
            label("Service"),
            Span::styled(
                format!(
                    "{} replica(s), {} running",
                    t.instances.unwrap_or(1),
                    t.active_runs.len()
                ),
                theme.base(),
            ),
        ]));
    } else {
        let schedule = match (&t.schedule_words, &t.cron) {
            (Some(words), Some(cron)) => format!("{words}  ({cron})"),
            (_, Some(cron)) => cron.clone(),
            _ => "(manual)".into(),
        };
        lines.push(Line::from(vec![
            label("Schedule"),
            Span::styled(schedule, theme.base()),
        ]));
        if let (Some(next), Some(zone)) = (&t.next_run_at, &t.timezone) {
            lines.push(Line::from(vec![
                label("Next"),
                Span::styled(format!("{}  ({zone})", when(next)), theme.base()),
            ]));
        }
        lines.push(Line::from(vec![
            label("Policy"),
            Span::styled(
                format!(
                    "{} at once, {} on overlap{}",
                    t.max_concurrent.unwrap_or(1),
                    t.on_overlap.as_deref().unwrap_or("queue"),
                    if t.api_trigger { "" } else { ", schedule only" }
                ),
                theme.base(),
            ),
        ]));
    }
    if let Some(last) = &t.last {
        lines.push(Line::from(vec![
            label("Last run"),
            Span::styled(
                format!(
                    "{} {}",
                    when(last.start_at.as_deref().unwrap_or(&last.created_at)),
                    result(last)
                ),
                result_style(theme, last),
            ),
        ]));
    }
    let header_height = lines.len() as u16 + 1;
    let [head, history] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), head);
    let selected = (app.focus == Focus::Main).then_some(app.run_selected);
    if app.runs.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" no runs yet", theme.style("muted"))),
            history,
        );
    } else {
        frame.render_widget(runs_table(&app.runs, selected, theme, false), history);
    }
}
