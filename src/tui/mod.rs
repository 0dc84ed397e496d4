//! The terminal UI (`interfaces.md` §1): a client of a daemon, drawn with ratatui. The loop
//! blocks on one channel fed by the terminal's input and the data worker, and redraws only when
//! one of them says something: an idle TUI uses no CPU. While data keeps coming (a log line is one
//! message) it is applied as it arrives but drawn at most once a [`FRAME_INTERVAL`]; a key is
//! drawn at once. The terminal is restored on every exit path, panics included, and nothing is
//! logged to it.

pub mod action;
pub mod app;
pub mod bell;
mod bell_feed;
pub mod data;
pub mod firstrun;
pub mod help;
pub mod keymap;
mod nav;
pub mod rows;
mod search;
pub mod theme;
mod update;
pub mod views;

use std::io::Stdout;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

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
                // Optional: only a missing file is no error.
                let beside = config_dir.join("keymap.toml");
                match std::fs::read_to_string(&beside) {
                    Ok(text) => layers.push((beside.display().to_string(), text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot read the keymap {}", beside.display())
                        })
                    }
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
fn read_input(tx: mpsc::Sender<UiEvent>) -> anyhow::Result<()> {
    std::thread::Builder::new()
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
        })
        .context("cannot start the thread that reads the keyboard")?;
    Ok(())
}

/// Runs the TUI against the daemon at `login` until the operator quits. `own_daemon` says
/// whether the daemon is one this process started and that still runs (asked again at every
/// key): only then does quitting offer to stop it. Returns whether the operator asked to.
pub fn run(
    login: Login,
    own_daemon: &mut dyn FnMut() -> bool,
    look: &Look,
) -> anyhow::Result<bool> {
    let mut terminal = take_terminal()?;
    let result = event_loop(&mut terminal, login, own_daemon, look);
    restore_terminal();
    result
}

/// While data keeps arriving, the screen is redrawn at most this often (about 60 times a
/// second). Drawing once per message let a run printing 10,000 lines a second queue more lines
/// than the loop could draw: memory grew without bound and keys waited behind the backlog.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);

fn event_loop(
    terminal: &mut Term,
    login: Login,
    own_daemon: &mut dyn FnMut() -> bool,
    look: &Look,
) -> anyhow::Result<bool> {
    let (tx, rx) = mpsc::channel();
    read_input(tx.clone())?;
    let work = data::spawn(login.clone(), tx).context("cannot start the TUI's data worker")?;
    let mut app = App::new(own_daemon(), wall_now());
    loop {
        let frame = Instant::now();
        app.now = wall_now();
        if let Ok(size) = terminal.size() {
            app.screen = (size.width, size.height);
        }
        terminal
            .draw(|f| views::draw(f, &app, &look.theme, &look.keymap))
            .context("cannot draw")?;
        let Ok(event) = rx.recv() else {
            return Ok(false);
        };
        let mut input = apply(&mut app, event, &work, &look.keymap, own_daemon);
        // Only data so far: keep applying what arrives until a frame interval has passed since
        // this frame began, then draw once. A single message after a quiet spell is drawn at
        // once (the interval has long passed); a key ends the wait.
        let next_frame = frame + FRAME_INTERVAL;
        while app.quit.is_none() && !input {
            let Some(wait) = next_frame.checked_duration_since(Instant::now()) else {
                break;
            };
            match rx.recv_timeout(wait) {
                Ok(event) => input = apply(&mut app, event, &work, &look.keymap, own_daemon),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(stop_daemon) = app.quit {
            return Ok(stop_daemon);
        }
    }
}

/// Applies one event to the app and hands its commands to the data worker. Returns whether it
/// was terminal input (drawn without waiting for the next frame).
fn apply(
    app: &mut App,
    event: UiEvent,
    work: &mpsc::Sender<Work>,
    map: &Keymap,
    own_daemon: &mut dyn FnMut() -> bool,
) -> bool {
    app.now = wall_now();
    let input = match event {
        UiEvent::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => {
            app.notice = None;
            // Whether quitting may offer to stop the daemon is decided at the key that asks.
            app.own_daemon = own_daemon();
            app.on_key(map, keymap::Key::from_event(&key));
            true
        }
        UiEvent::Input(_) => true,
        UiEvent::Data(msg) => {
            app.on_msg(*msg);
            false
        }
    };
    for command in app.outbox.drain(..) {
        let _ = work.send(Work::Ui(command));
    }
    input
}

#[cfg(test)]
mod tests;

/// Now, for what the screen shows (ages, countdowns).
fn wall_now() -> jiff::Timestamp {
    use crate::engine::clock::{Clock, SystemClock};
    SystemClock.now()
}
