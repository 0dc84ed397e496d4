//! Moving around the TUI: the sidebar selection and its filter, opening a task or a run, going
//! back, and the run and stop actions. One rule holds after every key and every message
//! ([`App::sync_history`]): the history on screen is the selected task's, so what `enter` opens
//! and what `s` stops is always what is shown.

use super::app::{App, Command, Focus, LogState, Pending, RunRow, View};

impl App {
    /// Asks for the selected task's history when the task view shows another task's (or none):
    /// after a filter, a refreshed task list, or coming back from a run.
    pub fn sync_history(&mut self) {
        if self.view != View::Task {
            return;
        }
        let name = self.current().map(|t| t.name.clone());
        if name == self.runs_of {
            return;
        }
        self.runs.clear();
        self.run_selected = 0;
        self.runs_loaded = false;
        self.runs_of.clone_from(&name);
        if let Some(name) = name {
            self.outbox.push(Command::LoadRuns(name));
        }
    }

    /// Sets the sidebar filter, keeping the same task selected when it is still listed.
    pub fn set_filter(&mut self, filter: Option<String>) {
        let keep = self.current().map(|t| t.name.clone());
        self.filter = filter;
        self.selected = 0;
        if let Some(name) = keep {
            self.select_task(&name);
        }
    }

    /// Selects the task `name` in the sidebar when it is listed there.
    pub fn select_task(&mut self, name: &str) {
        if let Some(pos) = self
            .order()
            .iter()
            .position(|i| self.tasks[*i].name == name)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.order().len().saturating_sub(1));
    }

    pub(super) fn move_by(&mut self, delta: i64) {
        let step = |pos: usize, len: usize| {
            (pos as i64 + delta).clamp(0, len.saturating_sub(1) as i64) as usize
        };
        match (self.focus, self.view) {
            (Focus::Sidebar, _) => {
                let before = self.selected;
                self.selected = step(self.selected, self.order().len());
                // The main pane follows the selection (a run's log gives way to its task).
                if before != self.selected && self.view != View::Home {
                    self.open_task();
                }
            }
            (Focus::Main, View::Task) => {
                self.run_selected = step(self.run_selected, self.history().len())
            }
            (Focus::Main, View::Run) if self.tree.is_some() => {
                if let Some(tree) = self.tree.as_mut() {
                    tree.selected = step(tree.selected, tree.lines.len());
                }
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
            (Focus::Main, View::Notifications) => self.bell_move(delta),
            (Focus::Main, View::Home) => {}
        }
    }

    pub(super) fn back(&mut self) {
        match (self.focus, self.view) {
            (Focus::Main, View::Run) => match self.tree_back.pop() {
                // Back from a step's run to its pipeline's.
                Some(pipeline) => self.open_run(pipeline),
                None => {
                    self.view = View::Task;
                    self.fullscreen = false;
                }
            },
            (Focus::Main, View::Notifications) => self.close_bell(),
            (Focus::Main, _) => self.focus = Focus::Sidebar,
            (Focus::Sidebar, _) if self.filter.is_some() => self.set_filter(None),
            (Focus::Sidebar, View::Run) => self.view = View::Task,
            (Focus::Sidebar, _) => self.view = View::Home,
        }
    }

    /// Shows the selected task with its history (asked for again, kept on screen meanwhile
    /// when it is the same task's).
    fn open_task(&mut self) {
        let Some(task) = self.current().map(|t| t.name.clone()) else {
            return;
        };
        self.view = View::Task;
        self.fullscreen = false;
        self.tree_back.clear();
        self.load_history(task);
    }

    /// Asks for `task`'s history; what is shown meanwhile stays when it is that task's.
    pub(super) fn load_history(&mut self, task: String) {
        if self.runs_of.as_deref() != Some(task.as_str()) {
            self.runs.clear();
            self.run_selected = 0;
            self.runs_loaded = false;
            self.runs_of = Some(task.clone());
        }
        self.outbox.push(Command::LoadRuns(task));
    }

    pub(super) fn open(&mut self) {
        match (self.focus, self.view) {
            (Focus::Sidebar, _) => {
                self.open_task();
                self.focus = Focus::Main;
            }
            (Focus::Main, View::Task) => {
                if let Some(run) = self.history().get(self.run_selected).cloned() {
                    self.tree_back.clear();
                    self.open_run(run);
                }
            }
            (Focus::Main, View::Run) => self.open_step(),
            (Focus::Main, View::Notifications) => self.open_notification(),
            _ => {}
        }
    }

    /// Opens the run of the step selected in an open pipeline's tree; `back` returns.
    fn open_step(&mut self) {
        let Some(tree) = &self.tree else { return };
        let Some(line) = tree.lines.get(tree.selected) else {
            return;
        };
        let (Some(id), Some(pipeline)) = (line.run_id.clone(), self.log.run.clone()) else {
            self.say(format!("step {} has no run yet", line.step));
            return;
        };
        self.tree_back.push(pipeline);
        self.outbox.push(Command::OpenRun(id));
    }

    /// Shows a run's log and asks for it to be followed (with its steps, for a pipeline).
    pub fn open_run(&mut self, run: RunRow) {
        self.outbox.push(Command::FollowLog(run.id.clone()));
        self.tree = run.pipeline.then(|| {
            self.outbox.push(Command::LoadTree(run.id.clone()));
            super::app::TreeState {
                run: run.id.clone(),
                ..Default::default()
            }
        });
        self.log = LogState {
            finished: run.ended(),
            run: Some(run),
            follow: true,
            ..LogState::default()
        };
        self.view = View::Run;
        self.focus = Focus::Main;
        self.search = None;
    }

    pub(super) fn run_or_restart(&mut self) {
        let Some(task) = self.current().cloned() else {
            return;
        };
        if task.service {
            self.confirm_pending(Pending::Restart(task.name));
        } else if !task.api_trigger {
            self.say(format!(
                "{} only runs on its schedule (api_trigger = false)",
                task.name
            ));
        } else {
            self.confirm_pending(Pending::Run(task.name));
        }
    }

    fn confirm_pending(&mut self, pending: Pending) {
        self.dialog = Some(super::app::Dialog::Confirm(pending));
    }

    pub(super) fn stop(&mut self) {
        let open_run = self
            .log
            .run
            .as_ref()
            .filter(|r| !r.ended())
            .map(|r| r.id.clone());
        match (self.focus, self.view) {
            (Focus::Main, View::Run) => match open_run {
                Some(id) => self.confirm_pending(Pending::StopRun(id)),
                None => self.say("this run has already ended"),
            },
            (Focus::Main, View::Task) => match self.history().get(self.run_selected) {
                Some(r) if !r.ended() => {
                    let id = r.id.clone();
                    self.confirm_pending(Pending::StopRun(id));
                }
                _ => self.say("the selected run is not running"),
            },
            _ => {
                let Some(task) = self.current().cloned() else {
                    return;
                };
                if task.service {
                    self.confirm_pending(Pending::StopService(task.name));
                } else if let Some(id) = task.active_runs.last() {
                    self.confirm_pending(Pending::StopRun(id.clone()));
                } else {
                    self.say(format!("{} has no active run", task.name));
                }
            }
        }
    }
}
