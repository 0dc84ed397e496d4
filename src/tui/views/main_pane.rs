//! The main pane: the home view (recent activity across tasks) and a task's view (its
//! definition in words, then its run history).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

use super::{border, took, when};
use crate::tui::app::{run_label, App, Focus, RunRow};
use crate::tui::theme::Theme;

fn result_style(theme: &Theme, run: &RunRow) -> Style {
    theme.style(run.role())
}

/// A column of the history table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Time,
    Task,
    Trigger,
    Took,
    Result,
    Exit,
    Run,
}

impl Column {
    /// Header, width, and priority (lower goes first when space is short).
    fn spec(self) -> (&'static str, u16, u8) {
        match self {
            Column::Time => ("TIME", 14, 9),
            Column::Task => ("TASK", 12, 7),
            Column::Trigger => ("TRIGGER", 9, 5),
            Column::Took => ("TOOK", 7, 4),
            Column::Result => ("RESULT", 12, 8),
            Column::Exit => ("EXIT", 4, 6),
            Column::Run => ("RUN", 5, 3),
        }
    }

    fn cell(self, r: &RunRow) -> String {
        match self {
            Column::Time => when(r.start_at.as_deref().unwrap_or(&r.created_at)),
            // A service replica shows its index: `web#1`, `replica 1`.
            Column::Task => match r.replica_index {
                Some(index) => format!("{}#{index}", r.task_name),
                None => r.task_name.clone(),
            },
            Column::Trigger => match r.replica_index {
                Some(index) => format!("replica {index}"),
                None => r.trigger().to_string(),
            },
            Column::Took => took(r.duration_ms),
            Column::Result => r.result().to_string(),
            Column::Exit => r.exit_code.map_or("-".into(), |c| c.to_string()),
            Column::Run => run_label(&r.id),
        }
    }
}

/// The history table. Columns are chosen to fit `width` (lowest priority dropped first), so
/// the layout never has to resolve conflicting constraints and draws the same every time.
fn runs_table<'a>(
    runs: &'a [RunRow],
    selected: Option<usize>,
    theme: &Theme,
    with_task: bool,
    width: u16,
) -> Table<'a> {
    use Column::*;
    let mut columns = vec![Time, Trigger, Took, Result, Exit, Run];
    if with_task {
        columns.insert(1, Task);
    }
    let room = |cols: &[Column]| cols.iter().map(|c| c.spec().1 + 1).sum::<u16>();
    while room(&columns) > width && columns.len() > 1 {
        if let Some(pos) = columns
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.spec().2)
            .map(|(i, _)| i)
        {
            columns.remove(pos);
        }
    }
    let spare = width.saturating_sub(room(&columns));
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|c| Constraint::Length(c.spec().1 + if *c == Task { spare } else { 0 }))
        .collect();
    let rows = runs.iter().enumerate().map(|(i, r)| {
        let cells: Vec<String> = columns.iter().map(|c| c.cell(r)).collect();
        let row = Row::new(cells).style(result_style(theme, r));
        if Some(i) == selected {
            row.style(theme.selection())
        } else {
            row
        }
    });
    let names: Vec<&str> = columns.iter().map(|c| c.spec().0).collect();
    Table::new(rows, widths).header(Row::new(names).style(theme.style("muted")))
}

/// An RFC 3339 instant shown as local time in `zone` (`11-25 02:30`), or as given when either
/// does not parse.
fn in_zone(instant: &str, zone: &str) -> String {
    let (Ok(t), Ok(tz)) = (
        instant.parse::<jiff::Timestamp>(),
        jiff::tz::TimeZone::get(zone),
    ) else {
        return when(instant);
    };
    t.to_zoned(tz).strftime("%m-%d %H:%M").to_string()
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
                    .is_some_and(|r| r.end_reason.is_some() && r.role() == "error")
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
        frame.render_widget(runs_table(&app.recent, None, theme, true, list.width), list);
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
                Span::styled(format!("{}  ({zone})", in_zone(next, zone)), theme.base()),
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
                    last.result()
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
    let runs = app.history();
    if runs.is_empty() {
        // Only the selected task's history is ever shown: until it arrives, say so.
        let loaded = app.runs_loaded && app.runs_of.as_deref() == Some(t.name.as_str());
        let text = if loaded {
            " no runs yet"
        } else {
            " loading…"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.style("muted"))),
            history,
        );
    } else {
        frame.render_widget(
            runs_table(runs, selected, theme, false, history.width),
            history,
        );
    }
}
