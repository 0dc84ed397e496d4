//! The terminal UI (`interfaces.md` §1): a client of a daemon, drawn with ratatui. The loop
//! blocks on one channel fed by the terminal's input and the data worker, and redraws only when
//! one of them says something: an idle TUI uses no CPU. The terminal is restored on every exit
//! path, panics included, and nothing is logged to it.

pub mod action;
pub mod app;
pub mod data;
pub mod firstrun;
pub mod keymap;
pub mod theme;
pub mod views;

use std::io::Stdout;
use std::sync::mpsc;

use anyhow::Context as _;
use crossterm::event::{Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use app::App;
use data::{Login, UiEvent, Work};
use keymap::Keymap;
use theme::Theme;

/// How the TUI looks and which keys it takes.
pub struct Look {
    pub theme: Theme,
    pub keymap: Keymap,
}

impl Look {
    /// `--theme` (a name or a file; `NO_COLOR` honoured) and `--keymap` (`vim`, `emacs` or a
    /// file), plus `keymap.toml` beside the configuration when it exists.
    pub fn load(
        theme: &str,
        keymap: Option<&str>,
        config_dir: &std::path::Path,
    ) -> anyhow::Result<Look> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = Theme::load(theme, no_color).map_err(|e| anyhow::anyhow!(e))?;
        let mut layers: Vec<(String, String)> = Vec::new();
        match keymap {
            Some("vim") => layers.push(("keymaps/vim.toml".into(), keymap::VIM.into())),
            Some("emacs") => layers.push(("keymaps/emacs.toml".into(), keymap::EMACS.into())),
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read the keymap {file}"))?;
                layers.push((file.to_string(), text));
            }
            None => {
                let beside = config_dir.join("keymap.toml");
                if let Ok(text) = std::fs::read_to_string(&beside) {
                    layers.push((beside.display().to_string(), text));
                }
            }
        }
        let borrowed: Vec<(&str, &str)> = layers
            .iter()
            .map(|(l, t)| (l.as_str(), t.as_str()))
            .collect();
        let keymap = Keymap::load(&borrowed)?;
        Ok(Look { theme, keymap })
    }
}

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back: raw mode off, main screen, cursor shown.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Takes over the terminal, restoring it if anything panics.
pub fn take_terminal() -> anyhow::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    enable_raw_mode().context("cannot put the terminal in raw mode")?;
    execute!(std::io::stdout(), EnterAlternateScreen)
        .context("cannot switch to the alternate screen")?;
    Terminal::new(CrosstermBackend::new(std::io::stdout())).context("cannot draw on the terminal")
}

/// Forwards terminal input to the UI channel from its own thread.
fn read_input(tx: mpsc::Sender<UiEvent>) {
    let _ = std::thread::Builder::new()
        .name("runwisp-tui-input".into())
        .spawn(move || loop {
            match crossterm::event::read() {
                Ok(event) => {
                    if tx.send(UiEvent::Input(event)).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        });
}

/// Runs the TUI against the daemon at `login` until the operator quits. Returns whether the
/// operator asked to stop the (local) daemon too.
pub fn run(login: Login, local: bool, look: &Look) -> anyhow::Result<bool> {
    let mut terminal = take_terminal()?;
    let result = event_loop(&mut terminal, login, local, look);
    restore_terminal();
    result
}

fn event_loop(terminal: &mut Term, login: Login, local: bool, look: &Look) -> anyhow::Result<bool> {
    let (tx, rx) = mpsc::channel();
    read_input(tx.clone());
    let work = data::spawn(login.clone(), tx);
    let mut app = App::new(&login.url, local, jiff::Timestamp::now());
    loop {
        app.now = jiff::Timestamp::now();
        terminal
            .draw(|f| views::draw(f, &app, &look.theme, &look.keymap))
            .context("cannot draw")?;
        let Ok(event) = rx.recv() else {
            return Ok(false);
        };
        app.now = jiff::Timestamp::now();
        match event {
            UiEvent::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                app.notice = None;
                app.on_key(&look.keymap, keymap::Key::from_event(&key));
            }
            UiEvent::Input(_) => {}
            UiEvent::Data(msg) => app.on_msg(msg),
        }
        for command in app.outbox.drain(..) {
            let _ = work.send(Work::Ui(command));
        }
        if let Some(stop_daemon) = app.quit {
            return Ok(stop_daemon);
        }
    }
}

#[cfg(test)]
mod tests;
