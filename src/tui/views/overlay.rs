//! Dialogs (confirmations, quit) and the `?` help overlay listing every binding of the keymap.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, Dialog, Pending};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::theme::Theme;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn boxed<'a>(theme: &Theme, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("accent"))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, keymap: &Keymap) {
    let Some(dialog) = &app.dialog else { return };
    match dialog {
        Dialog::Help => help(frame, theme, keymap),
        Dialog::Confirm(pending) => {
            let question = match pending {
                Pending::Run(t) => format!("Run task {t} now?"),
                Pending::Restart(s) => format!("Restart every replica of service {s}?"),
                Pending::StopRun(id) => format!("Stop run …{}?", crate::tui::app::short(id)),
                Pending::StopService(s) => {
                    format!("Stop service {s}? It stays stopped until restarted.")
                }
            };
            let yes = keymap
                .key_for(Context::Dialog, crate::tui::action::Action::Confirm)
                .map_or("enter".into(), |k| k.label());
            let no = keymap
                .key_for(Context::Dialog, crate::tui::action::Action::Cancel)
                .map_or("esc".into(), |k| k.label());
            let area = centered(frame.area(), 50, 6);
            frame.render_widget(Clear, area);
            let text = vec![
                Line::from(Span::styled(question, theme.base())),
                Line::from(""),
                Line::from(vec![
                    Span::styled(format!("{yes} "), theme.style("accent")),
                    Span::styled("yes   ", theme.base()),
                    Span::styled(format!("{no} "), theme.style("accent")),
                    Span::styled("cancel", theme.base()),
                ]),
            ];
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: true })
                    .block(boxed(theme, "Confirm")),
                area,
            );
        }
        Dialog::Quit { choice, local } => {
            let options: &[&str] = if *local {
                &["Leave the daemon running", "Stop the daemon", "Cancel"]
            } else {
                &["Quit", "Cancel"]
            };
            let area = centered(frame.area(), 60, 6);
            frame.render_widget(Clear, area);
            let mut spans = Vec::new();
            for (i, option) in options.iter().enumerate() {
                let style = if i == *choice {
                    theme.selection()
                } else {
                    theme.base()
                };
                spans.push(Span::styled(format!(" {option} "), style));
                spans.push(Span::raw("  "));
            }
            let question = if *local {
                "Quit the terminal UI. The daemon keeps running tasks unless you stop it."
            } else {
                "Quit the terminal UI?"
            };
            let text = vec![
                Line::from(Span::styled(question, theme.base())),
                Line::from(""),
                Line::from(spans),
            ];
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: true })
                    .block(boxed(theme, "Quit")),
                area,
            );
        }
    }
}

fn help(frame: &mut Frame, theme: &Theme, keymap: &Keymap) {
    let mut lines = Vec::new();
    for (title, context) in [
        ("Sidebar", Context::Sidebar),
        ("History", Context::History),
        ("Log", Context::Log),
        ("Dialogs", Context::Dialog),
    ] {
        lines.push(Line::from(Span::styled(title, theme.title())));
        let mut bindings = keymap.bindings(context);
        bindings.sort_by_key(|(_, a)| a.describe());
        let mut row = Vec::new();
        for (key, action) in bindings {
            row.push(Span::styled(
                format!("{:>8} ", key.label()),
                theme.style("accent"),
            ));
            row.push(Span::styled(
                format!("{:<14}", action.describe()),
                theme.base(),
            ));
            if row.len() >= 6 {
                lines.push(Line::from(std::mem::take(&mut row)));
            }
        }
        if !row.is_empty() {
            lines.push(Line::from(row));
        }
    }
    lines.push(Line::from(Span::styled(
        "any key closes this help",
        theme.style("muted"),
    )));
    let area = centered(
        frame.area(),
        76,
        (lines.len() as u16 + 2).min(frame.area().height),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(boxed(theme, "Keys")), area);
}
