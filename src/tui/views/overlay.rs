//! Dialogs (confirmations, quit) and the `?` help overlay listing every binding of the keymap.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::app::{run_label, App, Dialog, Pending};
use crate::tui::help::{self, Row};
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
        Dialog::Help { scroll } => help(frame, theme, keymap, *scroll),
        Dialog::Confirm(pending) => {
            let question = match pending {
                Pending::Run(t) => format!("Run task {t} now?"),
                Pending::Restart(s) => format!("Restart every replica of service {s}?"),
                Pending::StopRun(id) => format!("Stop run {}?", run_label(id)),
                Pending::StopService(s) => {
                    format!("Stop service {s}? It stays stopped until restarted.")
                }
            };
            let yes = keymap
                .key_for(Context::Dialog, Action::Confirm)
                .map_or("enter".into(), |k| k.label());
            let no = keymap
                .key_for(Context::Dialog, Action::Cancel)
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
        Dialog::Quit { choice, own } => {
            let options: &[&str] = if *own {
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
            let question = if *own {
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

/// The key list ([`help::layout`]): areas and their entries in columns, the rows that fit
/// from `scroll` on, and a closing hint that says how to scroll when there is more.
fn help(frame: &mut Frame, theme: &Theme, keymap: &Keymap, scroll: usize) {
    let layout = help::layout(keymap, (frame.area().width, frame.area().height));
    let scroll = scroll.min(layout.max_scroll);
    let mut lines: Vec<Line> = layout
        .rows
        .iter()
        .skip(scroll)
        .take(layout.visible)
        .map(|row| match row {
            Row::Heading(title) => Line::from(Span::styled(*title, theme.title())),
            Row::Entries(entries) => Line::from(
                entries
                    .iter()
                    .zip(&layout.columns)
                    .flat_map(|(e, (kw, ww))| {
                        [
                            Span::styled(format!("{:>kw$} ", e.keys), theme.style("accent")),
                            Span::styled(format!("{:<ww$}  ", e.what), theme.base()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    let hint = if layout.max_scroll == 0 {
        "any key closes this list".to_string()
    } else {
        let key = |a| help::first_key(keymap, Context::Log, a).map_or("?".into(), |k| k.label());
        let more = if scroll < layout.max_scroll {
            "more below · "
        } else {
            ""
        };
        format!(
            "{more}{} {} scroll · any other key closes",
            key(Action::Up),
            key(Action::Down)
        )
    };
    lines.push(Line::from(Span::styled(hint, theme.style("muted"))));
    let area = centered(frame.area(), layout.width, layout.height);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(boxed(theme, "Keys")), area);
}
