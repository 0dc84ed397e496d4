//! The terminal UI's state and what keys and daemon messages do to it. Nothing here draws or
//! talks to the network: keys become [`Command`]s in an outbox that the event loop hands to the
//! data worker, and the worker's [`Msg`]s update the state. That keeps every behaviour testable
//! by feeding keys.

use std::collections::VecDeque;

use jiff::Timestamp;

use super::action::Action;
use super::keymap::{Context, Key, Keymap};

/// The most log lines kept in memory for the open run (older ones scroll away).
pub const MAX_LOG_LINES: usize = 10_000;

/// A task or service row, as `GET /api/tasks` describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRow {
    pub name: String,
    pub service: bool,
    pub group: String,
    pub description: String,
    pub cron: Option<String>,
    pub schedule_words: Option<String>,
    pub timezone: Option<String>,
    pub next_run_at: Option<String>,
    pub api_trigger: bool,
    pub max_concurrent: Option<u32>,
    pub on_overlap: Option<String>,
    pub instances: Option<u32>,
    pub active_runs: Vec<String>,
    pub last: Option<RunRow>,
}

/// A run row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub task_name: String,
    pub status: String,
    pub end_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub triggered_by: String,
    pub created_at: String,
    pub start_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
}

impl RunRow {
    /// The theme role of the run as an operator reads it: `running` (or waiting), `ok`, `warn`
    /// (skipped, stopped, refused for a full queue) or `error`.
    pub fn role(&self) -> &'static str {
        match (self.status.as_str(), self.end_reason.as_deref()) {
            ("running" | "pending", _) => "running",
            (_, Some("success")) => "ok",
            (_, Some("skipped" | "stopped" | "queue_full")) => "warn",
            _ => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Stdout,
    Stderr,
    System,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub n: u64,
    pub kind: LineKind,
    pub text: String,
}

/// The open run's log.
#[derive(Debug, Clone, Default)]
pub struct LogState {
    pub run: Option<RunRow>,
    pub lines: VecDeque<LogLine>,
    /// Following the end; scrolling up pauses it.
    pub follow: bool,
    /// Index (into `lines`) of the first line shown when not following.
    pub top: usize,
    pub finished: bool,
}

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
    /// Quit: 0 = leave the daemon running, 1 = stop it, 2 = cancel.
    Quit {
        choice: usize,
        local: bool,
    },
    Help,
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
    Recent(Vec<RunRow>),
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
    Triggered(RunRow),
    Notice(String),
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

/// The whole UI state.
pub struct App {
    pub version: String,
    pub fingerprint: String,
    pub connection: Connection,
    pub tasks: Vec<TaskRow>,
    /// Position in the sidebar order.
    pub selected: usize,
    pub focus: Focus,
    pub view: View,
    pub runs: Vec<RunRow>,
    pub run_selected: usize,
    pub recent: Vec<RunRow>,
    pub log: LogState,
    pub fullscreen: bool,
    /// Text being typed after `/`.
    pub search_input: Option<String>,
    /// The active search in a log.
    pub search: Option<String>,
    /// The sidebar's filter: only tasks whose name contains it are listed, whatever has focus,
    /// so the selection always means the same task.
    pub filter: Option<String>,
    pub dialog: Option<Dialog>,
    pub notice: Option<String>,
    pub now: Timestamp,
    /// Whether the daemon was found through the local data directory (quitting may stop it).
    pub local: bool,
    pub outbox: Vec<Command>,
    /// Set when the UI should exit; `true` means stop the daemon too.
    pub quit: Option<bool>,
}

impl App {
    pub fn new(local: bool, now: Timestamp) -> App {
        App {
            version: String::new(),
            fingerprint: String::new(),
            connection: Connection::Connecting,
            tasks: Vec::new(),
            selected: 0,
            focus: Focus::Sidebar,
            view: View::Home,
            runs: Vec::new(),
            run_selected: 0,
            recent: Vec::new(),
            log: LogState {
                follow: true,
                ..LogState::default()
            },
            fullscreen: false,
            search_input: None,
            search: None,
            filter: None,
            dialog: None,
            notice: None,
            now,
            local,
            outbox: Vec::new(),
            quit: None,
        }
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
        if let Some(input) = self.search_input.as_mut() {
            use crossterm::event::KeyCode;
            match key.code {
                KeyCode::Enter => {
                    let term = Some(input.clone()).filter(|t| !t.is_empty());
                    self.search_input = None;
                    if self.focus == Focus::Sidebar {
                        self.filter = term;
                    } else {
                        self.search = term;
                        self.jump_to_match();
                    }
                }
                KeyCode::Esc => {
                    self.search_input = None;
                    if self.focus == Focus::Sidebar {
                        self.filter = None;
                    } else {
                        self.search = None;
                    }
                }
                KeyCode::Backspace => {
                    input.pop();
                }
                KeyCode::Char(c) => input.push(c),
                _ => {}
            }
            self.selected = self.selected.min(self.order().len().saturating_sub(1));
            return;
        }
        if matches!(self.dialog, Some(Dialog::Help)) {
            self.dialog = None;
            return;
        }
        if let Some(action) = keymap.action(self.context(), key) {
            self.act(action);
        }
    }

    fn confirm(&mut self, pending: Pending) {
        self.dialog = Some(Dialog::Confirm(pending));
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
                    local: self.local,
                })
            }
            Action::Help => self.dialog = Some(Dialog::Help),
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
            Action::Notifications => self.notice = Some("there are no notifications yet".into()),
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
            (Dialog::Quit { choice, local }, Action::Confirm) => {
                self.dialog = None;
                match (choice, local) {
                    (0, _) => self.quit = Some(false),
                    (1, true) => self.quit = Some(true),
                    _ => {}
                }
            }
            (Dialog::Quit { choice, local }, Action::Left | Action::Up) => {
                self.dialog = Some(Dialog::Quit {
                    choice: choice.saturating_sub(1),
                    local,
                });
            }
            (Dialog::Quit { choice, local }, Action::Right | Action::Down | Action::NextPane) => {
                let last = if local { 2 } else { 1 };
                self.dialog = Some(Dialog::Quit {
                    choice: (choice + 1).min(last),
                    local,
                });
            }
            (_, Action::Cancel | Action::Back | Action::Quit) => self.dialog = None,
            _ => {}
        }
    }

    fn move_by(&mut self, delta: i64) {
        let step = |pos: usize, len: usize| {
            (pos as i64 + delta).clamp(0, len.saturating_sub(1) as i64) as usize
        };
        match (self.focus, self.view) {
            (Focus::Sidebar, _) => {
                let before = self.selected;
                self.selected = step(self.selected, self.order().len());
                if before != self.selected && self.view == View::Task {
                    self.open_task();
                }
            }
            (Focus::Main, View::Task) => {
                self.run_selected = step(self.run_selected, self.runs.len())
            }
            (Focus::Main, View::Run) => {
                let top = if self.log.follow {
                    self.log.lines.len().saturating_sub(1)
                } else {
                    self.log.top
                };
                self.log.follow = false;
                self.log.top = step(top, self.log.lines.len());
            }
            (Focus::Main, View::Home) => {}
        }
    }

    fn back(&mut self) {
        match (self.focus, self.view) {
            (Focus::Main, View::Run) => {
                self.view = View::Task;
                self.fullscreen = false;
            }
            (Focus::Main, _) => self.focus = Focus::Sidebar,
            (Focus::Sidebar, View::Run) => self.view = View::Task,
            (Focus::Sidebar, _) => {
                self.view = View::Home;
                self.filter = None;
            }
        }
    }

    fn open_task(&mut self) {
        if let Some(task) = self.current().map(|t| t.name.clone()) {
            self.view = View::Task;
            self.runs.clear();
            self.run_selected = 0;
            self.outbox.push(Command::LoadRuns(task));
        }
    }

    fn open(&mut self) {
        match (self.focus, self.view) {
            (Focus::Sidebar, _) => {
                self.open_task();
                self.focus = Focus::Main;
            }
            (Focus::Main, View::Task) => {
                if let Some(run) = self.runs.get(self.run_selected).cloned() {
                    self.open_run(run);
                }
            }
            _ => {}
        }
    }

    /// Shows a run's log and asks for it to be followed.
    pub fn open_run(&mut self, run: RunRow) {
        self.outbox.push(Command::FollowLog(run.id.clone()));
        self.log = LogState {
            finished: run.status == "ended",
            run: Some(run),
            follow: true,
            ..LogState::default()
        };
        self.view = View::Run;
        self.focus = Focus::Main;
        self.search = None;
    }

    fn run_or_restart(&mut self) {
        let Some(task) = self.current().cloned() else {
            return;
        };
        if task.service {
            self.confirm(Pending::Restart(task.name));
        } else if !task.api_trigger {
            self.notice = Some(format!(
                "{} only runs on its schedule (api_trigger = false)",
                task.name
            ));
        } else {
            self.confirm(Pending::Run(task.name));
        }
    }

    fn stop(&mut self) {
        let open_run = self
            .log
            .run
            .as_ref()
            .filter(|r| r.status != "ended")
            .map(|r| r.id.clone());
        match (self.focus, self.view) {
            (Focus::Main, View::Run) => match open_run {
                Some(id) => self.confirm(Pending::StopRun(id)),
                None => self.notice = Some("this run has already ended".into()),
            },
            (Focus::Main, View::Task) => match self.runs.get(self.run_selected) {
                Some(r) if r.status != "ended" => self.confirm(Pending::StopRun(r.id.clone())),
                _ => self.notice = Some("the selected run is not running".into()),
            },
            _ => {
                let Some(task) = self.current().cloned() else {
                    return;
                };
                if task.service {
                    self.confirm(Pending::StopService(task.name));
                } else if let Some(id) = task.active_runs.last() {
                    self.confirm(Pending::StopRun(id.clone()));
                } else {
                    self.notice = Some(format!("{} has no active run", task.name));
                }
            }
        }
    }

    fn jump_to_match(&mut self) {
        let Some(term) = self.search.clone() else {
            return;
        };
        if self.view == View::Run {
            if let Some(i) = self.log.lines.iter().position(|l| l.text.contains(&term)) {
                self.log.follow = false;
                self.log.top = i;
            } else {
                self.notice = Some(format!("{term:?} is not in the log"));
            }
        }
    }

    /// Applies a message from the data worker.
    pub fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Connected {
                version,
                fingerprint,
            } => {
                self.version = version;
                self.fingerprint = fingerprint;
                self.connection = Connection::Connected;
                // After a reconnect, pick up again what is on screen.
                if self.view != View::Home {
                    if let Some(task) = self.current().map(|t| t.name.clone()) {
                        self.outbox.push(Command::LoadRuns(task));
                    }
                }
                let unfinished = self.log.run.as_ref().filter(|_| !self.log.finished);
                if let (View::Run, Some(run)) = (self.view, unfinished) {
                    self.outbox.push(Command::FollowLog(run.id.clone()));
                }
            }
            Msg::Disconnected { reason } => {
                self.notice = Some(reason.clone());
                if !matches!(self.connection, Connection::Reconnecting { .. }) {
                    self.connection = Connection::Reconnecting { since: self.now };
                }
            }
            Msg::Tasks(tasks) => {
                let keep = self.current().map(|t| t.name.clone());
                self.tasks = tasks;
                if let Some(name) = keep {
                    if let Some(pos) = self
                        .order()
                        .iter()
                        .position(|i| self.tasks[*i].name == name)
                    {
                        self.selected = pos;
                    }
                }
                self.selected = self.selected.min(self.order().len().saturating_sub(1));
            }
            Msg::Recent(runs) => self.recent = runs,
            Msg::Runs { task, runs } => {
                if self.current().is_some_and(|t| t.name == task) {
                    self.runs = runs;
                    self.run_selected = self.run_selected.min(self.runs.len().saturating_sub(1));
                }
            }
            Msg::LogLine { run, line } => {
                // Following again after a reconnect replays lines already shown.
                let seen = self.log.lines.back().is_some_and(|last| last.n >= line.n);
                if self.log.run.as_ref().is_some_and(|r| r.id == run) && !seen {
                    self.log.lines.push_back(line);
                    if self.log.lines.len() > MAX_LOG_LINES {
                        self.log.lines.pop_front();
                        self.log.top = self.log.top.saturating_sub(1);
                    }
                }
            }
            Msg::LogDone { run } => {
                if self.log.run.as_ref().is_some_and(|r| r.id == run.id) {
                    self.log.finished = true;
                    self.log.run = Some(run);
                }
            }
            Msg::Triggered(run) => {
                self.notice = Some(format!(
                    "started run {} of {}",
                    short(&run.id),
                    run.task_name
                ));
                self.open_run(run);
            }
            Msg::Notice(text) => self.notice = Some(text),
        }
    }
}

/// The last four characters of a run id, as the UIs show it.
pub fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(4)..]
}
