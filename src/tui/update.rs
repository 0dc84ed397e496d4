//! What the data worker's messages do to the UI state: the connection's state (and the notices
//! it leaves, cleared once the daemon is back), task lists, histories and log lines. A history
//! is only taken for the selected task.

use super::app::{run_label, App, Connection, Msg, Notice, View, MAX_LOG_LINES};
use super::rows::RunRow;

/// Runs kept in the recent list and in a task's history (what the worker asks for).
pub const RECENT: usize = 50;
pub const HISTORY: usize = 200;

/// Replaces the run with the same id, or inserts it in id order (ids sort by creation, newest
/// first here), keeping at most `keep`.
fn merge(list: &mut Vec<RunRow>, run: RunRow, keep: usize) {
    match list.iter().position(|r| r.id <= run.id) {
        Some(i) if list[i].id == run.id => list[i] = run,
        Some(i) => list.insert(i, run),
        None => list.push(run),
    }
    list.truncate(keep);
}

impl App {
    /// Applies a message from the data worker.
    pub fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Connected {
                version,
                fingerprint,
            } => self.connected(version, fingerprint),
            Msg::Disconnected { reason } => {
                self.offline(reason);
                if !matches!(self.connection, Connection::Reconnecting { .. }) {
                    self.connection = Connection::Reconnecting { since: self.now };
                }
            }
            Msg::Offline(text) => self.offline(text),
            Msg::Tasks(tasks) => {
                let keep = self.current().map(|t| t.name.clone());
                self.tasks = tasks;
                match keep {
                    Some(name) => self.select_task(&name),
                    None => self.selected = self.selected.min(self.order().len().saturating_sub(1)),
                }
            }
            Msg::Config(drift) => self.config = drift,
            Msg::Recent(runs) => self.recent = runs,
            Msg::RunsChanged(changed) => {
                self.merge_runs(changed);
                // An open pipeline's steps change with its runs.
                let live = !self.log.finished;
                if let (View::Run, Some(tree), true) = (self.view, &self.tree, live) {
                    self.outbox
                        .push(super::app::Command::LoadTree(tree.run.clone()));
                }
            }
            Msg::Runs { task, runs } => {
                if self.current().is_some_and(|t| t.name == task) {
                    self.runs = runs;
                    self.runs_of = Some(task);
                    self.runs_loaded = true;
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
                    if run.pipeline {
                        self.outbox
                            .push(super::app::Command::LoadTree(run.id.clone()));
                    }
                    self.log.finished = true;
                    self.log.run = Some(run);
                }
            }
            Msg::RunWebhook { run, summary } => {
                if self.log.run.as_ref().is_some_and(|r| r.id == run) {
                    self.log.webhook = Some(summary);
                }
            }
            Msg::Triggered(run) => {
                self.say(format!(
                    "started run {} of {}",
                    run_label(&run.id),
                    run.task_name
                ));
                // The task stays selected, so `esc` shows its history.
                self.select_task(&run.task_name);
                self.open_run(run);
            }
            Msg::Notice(text) => self.say(text),
            Msg::Notifications { list, unread } => self.bell_page(list, unread),
            Msg::Notification(n) => self.bell_merge(*n),
            Msg::Unread(n) => self.bell.unread = n,
            Msg::Opened(run) => self.opened(run),
            Msg::Tree { run, lines } => {
                if let Some(tree) = self.tree.as_mut().filter(|t| t.run == run) {
                    tree.selected = tree.selected.min(lines.len().saturating_sub(1));
                    tree.lines = lines;
                }
            }
        }
        self.sync_history();
    }

    /// Merges changed runs into the recent list and the open history (newest first, by id).
    fn merge_runs(&mut self, changed: Vec<RunRow>) {
        for run in changed {
            merge(&mut self.recent, run.clone(), RECENT);
            if self.runs_of.as_deref() == Some(run.task_name.as_str()) {
                merge(&mut self.runs, run, HISTORY);
            }
        }
        self.run_selected = self.run_selected.min(self.runs.len().saturating_sub(1));
    }

    fn offline(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            offline: true,
        });
    }

    fn connected(&mut self, version: String, fingerprint: String) {
        self.version = version;
        self.fingerprint = fingerprint;
        self.connection = Connection::Connected;
        // What the lost connection left in the footer is stale now.
        if self.notice.as_ref().is_some_and(|n| n.offline) {
            self.notice = None;
        }
        // After a reconnect, pick up again what is on screen.
        if matches!(self.view, View::Task | View::Run) {
            if let Some(task) = self.current().map(|t| t.name.clone()) {
                self.load_history(task);
            }
        }
        let unfinished = self.log.run.as_ref().filter(|_| !self.log.finished);
        if let (View::Run, Some(run)) = (self.view, unfinished) {
            self.outbox
                .push(super::app::Command::FollowLog(run.id.clone()));
        }
    }
}
