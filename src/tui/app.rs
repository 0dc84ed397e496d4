//! The terminal UI's state and what keys do to it. Nothing here draws or talks to the network:
//! keys become [`Command`]s in an outbox that the event loop hands to the data worker, and the
//! worker's [`Msg`]s update the state (`update.rs`). Moving around is in `nav.rs`, the log's
//! search in `search.rs`. That keeps every behaviour testable by feeding keys.

use jiff::Timestamp;

use crate::api::{NotificationObject, TreeLine};

pub use super::rows::{
    run_label, short, LineKind, LogLine, LogState, RunRow, TaskRow, MAX_LOG_LINES,
};

use super::action::Action;
use super::bell::Bell;
use super::help;
use super::keymap::{Context, Key, Keymap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Sidebar,
    Main,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Home,
    Task,
    Run,
    /// The notifications list (`n`).
    Notifications,
}

/// What a confirmation dialog would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Run(String),
    Restart(String),
    StopRun(String),
    StopService(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Confirm(Pending),
    /// Quit. With `own` (this TUI started the daemon): 0 = leave the daemon running, 1 = stop
    /// it, 2 = cancel; without: 0 = quit, 1 = cancel.
    Quit {
        choice: usize,
        own: bool,
    },
    /// The key list, scrolled down by `scroll` rows.
    Help {
        scroll: usize,
    },
}

/// What the UI asks the data worker to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    LoadRuns(String),
    Trigger(String),
    Restart(String),
    StopRun(String),
    StopService(String),
    FollowLog(String),
    /// Open a run by its id (a notification's): it comes back as [`Msg::Opened`].
    OpenRun(String),
    /// Read a pipeline run's steps: they come back as [`Msg::Tree`].
    LoadTree(String),
    MarkRead(String),
    MarkAllRead,
}

/// What the data worker tells the UI.
#[derive(Debug, Clone)]
pub enum Msg {
    Connected {
        version: String,
        fingerprint: String,
    },
    Disconnected {
        reason: String,
    },
    Tasks(Vec<TaskRow>),
    /// Whether what the daemon runs is what its file says (see [`ConfigDrift`]).
    Config(ConfigDrift),
    Recent(Vec<RunRow>),
    /// Runs that changed (from the daemon's run stream, coalesced): merged into the lists
    /// shown, without asking the daemon again.
    RunsChanged(Vec<RunRow>),
    Runs {
        task: String,
        runs: Vec<RunRow>,
    },
    LogLine {
        run: String,
        line: LogLine,
    },
    LogDone {
        run: RunRow,
    },
    /// What webhook delivery started a run (shown in its header).
    RunWebhook {
        run: String,
        summary: String,
    },
    Triggered(RunRow),
    Notice(String),
    /// The first page of notifications (newest first) and how many are unread.
    Notifications {
        list: Vec<NotificationObject>,
        unread: u64,
    },
    /// One notification created or changed (from the stream, or the answer to marking it).
    Notification(Box<NotificationObject>),
    /// How many notifications are unread, as the daemon counts them.
    Unread(u64),
    /// The run asked for with [`Command::OpenRun`].
    Opened(RunRow),
    /// A pipeline run's steps, drawn as a tree.
    Tree {
        run: String,
        lines: Vec<TreeLine>,
    },
    /// A notice caused by the lost connection (a log stream cut, a command that could not be
    /// sent): it goes once the daemon is back.
    Offline(String),
}

/// An open pipeline run's steps, one line each, and the selected one (`enter` opens its run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeState {
    pub run: String,
    pub lines: Vec<TreeLine>,
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// Lost since this instant (the banner shows for how long).
    Reconnecting {
        since: Timestamp,
    },
}

/// The line in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    /// About the lost connection: cleared when the daemon is back.
    pub offline: bool,
}

/// How what the daemon runs differs from its configuration file, for the sidebar's header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigDrift {
    /// The file was edited since the daemon loaded it (`runwisp reload` applies it).
    pub edited: bool,
    /// Settings changed in the file wait for a restart of the daemon.
    pub restart: bool,
}

/// The whole UI state.
pub struct App {
    pub version: String,
    pub fingerprint: String,
    pub config: ConfigDrift,
    pub connection: Connection,
    pub tasks: Vec<TaskRow>,
    /// Position in the sidebar order.
    pub selected: usize,
    pub focus: Focus,
    pub view: View,
    /// The history of the task named by `runs_of` (see [`App::history`]).
    pub runs: Vec<RunRow>,
    /// Which task `runs` belongs to: the history shown is only ever the selected task's.
    pub runs_of: Option<String>,
    /// Whether `runs` has arrived since it was asked for.
    pub runs_loaded: bool,
    pub run_selected: usize,
    pub recent: Vec<RunRow>,
    /// The in-app notifications: the footer's latest one and the `n` list.
    pub bell: Bell,
    pub log: LogState,
    /// The steps of the pipeline run whose log is open.
    pub tree: Option<TreeState>,
    /// The pipeline runs a step was opened from: `back` returns to them.
    pub tree_back: Vec<RunRow>,
    pub fullscreen: bool,
    /// Text being typed after `/`.
    pub search_input: Option<String>,
    /// The active search in a log.
    pub search: Option<String>,
    /// The sidebar's filter: only tasks whose name contains it are listed, whatever has focus,
    /// so the selection always means the same task.
    pub filter: Option<String>,
    pub dialog: Option<Dialog>,
    pub notice: Option<Notice>,
    pub now: Timestamp,
    /// Whether this TUI process started the daemon it talks to and that daemon still runs:
    /// only then does quitting offer to stop it.
    pub own_daemon: bool,
    /// The terminal's size (columns, rows), for what depends on it (the key list's scrolling).
    pub screen: (u16, u16),
    pub outbox: Vec<Command>,
    /// Set when the UI should exit; `true` means stop the daemon too.
    pub quit: Option<bool>,
}

impl App {
    pub fn new(own_daemon: bool, now: Timestamp) -> App {
        App {
            version: String::new(),
            fingerprint: String::new(),
            config: ConfigDrift::default(),
            connection: Connection::Connecting,
            tasks: Vec::new(),
            selected: 0,
            focus: Focus::Sidebar,
            view: View::Home,
            runs: Vec::new(),
            runs_of: None,
            runs_loaded: false,
            run_selected: 0,
            recent: Vec::new(),
            bell: Bell::default(),
            log: LogState {
                follow: true,
                ..LogState::default()
            },
            tree: None,
            tree_back: Vec::new(),
            fullscreen: false,
            search_input: None,
            search: None,
            filter: None,
            dialog: None,
            notice: None,
            now,
            own_daemon,
            screen: (80, 24),
            outbox: Vec::new(),
            quit: None,
        }
    }

    /// Shows `text` in the footer until the next key.
    pub fn say(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            offline: false,
        });
    }

    /// Sidebar order: by group, then name; filtered by the sidebar search.
    pub fn order(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.tasks.len())
            .filter(|i| {
                let name = &self.tasks[*i].name;
                self.filter
                    .as_ref()
                    .is_none_or(|f| name.contains(f.as_str()))
            })
            .collect();
        idx.sort_by(|a, b| {
            let (ta, tb) = (&self.tasks[*a], &self.tasks[*b]);
            (ta.group.as_str(), ta.service, ta.name.as_str()).cmp(&(
                tb.group.as_str(),
                tb.service,
                tb.name.as_str(),
            ))
        });
        idx
    }

    pub fn current(&self) -> Option<&TaskRow> {
        self.order().get(self.selected).map(|i| &self.tasks[*i])
    }

    /// The history shown for the selected task: its runs once they arrived, else nothing (a
    /// list of another task's runs is never shown or acted on).
    pub fn history(&self) -> &[RunRow] {
        let mine = self
            .current()
            .is_some_and(|t| self.runs_of.as_deref() == Some(t.name.as_str()));
        if mine {
            &self.runs
        } else {
            &[]
        }
    }

    /// The keymap context of where the operator is.
    pub fn context(&self) -> Context {
        match (&self.dialog, self.focus, self.view) {
            (Some(_), _, _) => Context::Dialog,
            (None, Focus::Sidebar, _) => Context::Sidebar,
            (None, Focus::Main, View::Run) => Context::Log,
            (None, Focus::Main, _) => Context::History,
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, keymap: &Keymap, key: Key) {
        if self.search_input.is_some() {
            self.search_key(key);
        } else if let Some(Dialog::Help { scroll }) = self.dialog {
            self.dialog = help::on_key(keymap, key, scroll, self.screen)
                .map(|scroll| Dialog::Help { scroll });
        } else if let Some(action) = keymap.action(self.context(), key) {
            self.act(action);
        }
        self.sync_history();
    }

    /// Applies an action.
    pub fn act(&mut self, action: Action) {
        if let Some(dialog) = self.dialog.clone() {
            self.dialog_action(dialog, action);
            return;
        }
        match action {
            Action::Quit => {
                self.dialog = Some(Dialog::Quit {
                    choice: 0,
                    own: self.own_daemon,
                })
            }
            Action::Help => self.dialog = Some(Dialog::Help { scroll: 0 }),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-20),
            Action::PageDown => self.move_by(20),
            Action::NextPane => {
                self.focus = if self.focus == Focus::Sidebar {
                    Focus::Main
                } else {
                    Focus::Sidebar
                };
            }
            Action::Right => self.focus = Focus::Main,
            Action::Left => self.back(),
            Action::Back => self.back(),
            Action::Open => self.open(),
            Action::Run => self.run_or_restart(),
            Action::Stop => self.stop(),
            Action::Fullscreen => self.fullscreen = !self.fullscreen && self.view == View::Run,
            Action::Follow => {
                self.log.follow = true;
            }
            Action::Top => {
                self.log.follow = false;
                self.log.top = 0;
            }
            Action::Search => self.search_input = Some(String::new()),
            Action::SearchNext => self.search_step(true),
            Action::SearchPrev => self.search_step(false),
            Action::Notifications => self.toggle_bell(),
            Action::MarkRead => self.mark_read(),
            Action::MarkAllRead => self.mark_all_read(),
            Action::Confirm | Action::Cancel => {}
        }
    }

    fn dialog_action(&mut self, dialog: Dialog, action: Action) {
        match (dialog, action) {
            (Dialog::Confirm(pending), Action::Confirm) => {
                self.dialog = None;
                self.outbox.push(match pending {
                    Pending::Run(t) => Command::Trigger(t),
                    Pending::Restart(s) => Command::Restart(s),
                    Pending::StopRun(id) => Command::StopRun(id),
                    Pending::StopService(s) => Command::StopService(s),
                });
            }
            (Dialog::Quit { choice, own }, Action::Confirm) => {
                self.dialog = None;
                match (choice, own) {
                    (0, _) => self.quit = Some(false),
                    (1, true) => self.quit = Some(true),
                    _ => {}
                }
            }
            (Dialog::Quit { choice, own }, Action::Left | Action::Up) => {
                self.dialog = Some(Dialog::Quit {
                    choice: choice.saturating_sub(1),
                    own,
                });
            }
            (Dialog::Quit { choice, own }, Action::Right | Action::Down | Action::NextPane) => {
                let last = if own { 2 } else { 1 };
                self.dialog = Some(Dialog::Quit {
                    choice: (choice + 1).min(last),
                    own,
                });
            }
            (_, Action::Cancel | Action::Back | Action::Quit) => self.dialog = None,
            _ => {}
        }
    }
}
