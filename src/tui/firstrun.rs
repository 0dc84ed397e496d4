//! First start (`product.md` §9): with no `runwisp.toml`, the starter opens in an editor,
//! validated as the user types (errors with line numbers under it), and is written on save.
//! Leaving asks first when the text differs from the starter, so one `esc` never throws edits
//! away.

use std::path::Path;

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::theme::Theme;
use crate::engine::config::{load_str, STARTER};

/// The editor's state.
pub struct Editor<'a> {
    pub text: TextArea<'a>,
    /// What validation says: one line per error, or the summary of a valid file.
    pub verdict: Result<String, Vec<String>>,
    pub notice: Option<String>,
    /// "Discard your edits?" is asked; the next key answers it.
    pub asking: bool,
    label: String,
    path: std::path::PathBuf,
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Editing,
    Save(String),
    Quit,
}

impl<'a> Editor<'a> {
    pub fn new(path: &Path) -> Editor<'a> {
        let mut text = TextArea::new(STARTER.lines().map(str::to_string).collect());
        text.set_line_number_style(ratatui::style::Style::default());
        let mut editor = Editor {
            text,
            verdict: Ok(String::new()),
            notice: None,
            asking: false,
            label: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "runwisp.toml".into()),
            path: path.to_path_buf(),
        };
        editor.validate();
        editor
    }

    fn content(&self) -> String {
        let mut s = self.text.lines().join("\n");
        s.push('\n');
        s
    }

    /// Validates the text as the loader would.
    pub fn validate(&mut self) {
        let absolute = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        self.verdict = match load_str(&self.label, &self.content(), &absolute) {
            Ok(c) => Ok(format!(
                "valid: {} task(s), {} service(s)",
                c.tasks.len(),
                c.services.len()
            )),
            Err(errors) => Err(errors.0.iter().map(|e| e.to_string()).collect()),
        };
    }

    /// Whether the text differs from the starter it opened with.
    pub fn edited(&self) -> bool {
        self.content() != STARTER
    }

    /// Handles one key: Ctrl-S saves a valid file, Esc or Ctrl-Q leaves without saving (after
    /// asking, when there are edits to lose: `y` discards them, any other key keeps editing).
    pub fn on_key(&mut self, key: crossterm::event::KeyEvent) -> Outcome {
        if key.kind == KeyEventKind::Release {
            return Outcome::Editing;
        }
        if self.asking {
            self.asking = false;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                return Outcome::Quit;
            }
            return Outcome::Editing;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('s') if ctrl => {
                if self.verdict.is_ok() {
                    return Outcome::Save(self.content());
                }
                self.notice = Some("fix the errors below before saving".into());
            }
            KeyCode::Char('q') if ctrl => return self.leave(),
            KeyCode::Esc => return self.leave(),
            _ => {
                self.notice = None;
                if self.text.input(key) {
                    self.validate();
                }
            }
        }
        Outcome::Editing
    }

    fn leave(&mut self) -> Outcome {
        if self.edited() {
            self.asking = true;
            Outcome::Editing
        } else {
            Outcome::Quit
        }
    }

    pub fn draw(&self, frame: &mut Frame, theme: &Theme) {
        let problems = match &self.verdict {
            Ok(_) => 1,
            Err(e) => e.len().min(6) as u16 + 1,
        };
        let [editor, status, footer] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(problems + 1),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let mut text = self.text.clone();
        text.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style("accent"))
                .title(Span::styled(
                    format!(" New {} — the starter configuration ", self.label),
                    theme.title(),
                )),
        );
        frame.render_widget(&text, editor);
        let lines: Vec<Line> = match &self.verdict {
            Ok(summary) => vec![Line::from(Span::styled(
                format!("✓ {summary}"),
                theme.style("ok"),
            ))],
            Err(errors) => {
                let mut out = vec![Line::from(Span::styled(
                    format!("✗ {} error(s):", errors.len()),
                    theme.style("error"),
                ))];
                out.extend(
                    errors
                        .iter()
                        .take(6)
                        .map(|e| Line::from(Span::styled(e.clone(), theme.style("error")))),
                );
                out
            }
        };
        frame.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(theme.style("border")),
            ),
            status,
        );
        let mut spans = if self.asking {
            vec![
                Span::styled("Discard your edits? ", theme.style("warn")),
                Span::styled("y", theme.style("accent")),
                Span::styled(" discard and quit  ", theme.style("muted")),
                Span::styled("any other key", theme.style("accent")),
                Span::styled(" keeps editing  ", theme.style("muted")),
            ]
        } else {
            vec![
                Span::styled("ctrl-s", theme.style("accent")),
                Span::styled(" save  ", theme.style("muted")),
                Span::styled("esc", theme.style("accent")),
                Span::styled(" quit without saving  ", theme.style("muted")),
            ]
        };
        if let Some(n) = &self.notice {
            spans.push(Span::styled(n.clone(), theme.style("warn")));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), footer);
    }
}

/// Runs the editor on the terminal; returns whether the file was written.
pub fn run(path: &Path, theme: &Theme) -> anyhow::Result<bool> {
    let mut terminal = super::take_terminal()?;
    let mut editor = Editor::new(path);
    let result = loop {
        if let Err(e) = terminal.draw(|f| editor.draw(f, theme)) {
            break Err(anyhow::anyhow!("cannot draw: {e}"));
        }
        let event = match crossterm::event::read() {
            Ok(e) => e,
            Err(e) => break Err(anyhow::anyhow!("cannot read the terminal: {e}")),
        };
        let Event::Key(key) = event else { continue };
        match editor.on_key(key) {
            Outcome::Editing => {}
            Outcome::Quit => break Ok(false),
            Outcome::Save(content) => match write_new(path, &content) {
                Ok(()) => break Ok(true),
                Err(e) => editor.notice = Some(e),
            },
        }
    };
    super::restore_terminal();
    result
}

fn write_new(path: &Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // The starter's `#:schema ./runwisp.schema.json` line points editors at this file, as
    // `runwisp init` writes it. Only an aid for editors: the configuration is saved either way,
    // and `runwisp schema > runwisp.schema.json` makes it again.
    if let Ok(schema) = serde_json::to_string_pretty(&crate::engine::config::json_schema()) {
        let _ = std::fs::write(path.with_file_name("runwisp.schema.json"), schema + "\n");
    }
    Ok(())
}
