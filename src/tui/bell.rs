//! The in-app notifications in the TUI (`notifications.md` §3): the first page of them as the
//! daemon lists them (newest first, at most [`PAGE`]), the unread count as the daemon counts it,
//! and what the keys do to them: `n` opens the list in the main pane (and closes it), its keys are
//! the main pane's, `enter` opens the selected one's run the way the history opens a run, `m`
//! marks the selected one read (outside the list: the one in the footer), `M` all of them. The
//! daemon decides what is read: a mark goes to it, and its answer is what is shown. Reading and
//! following them is `bell_feed.rs`, drawing them `views/bell.rs`.

use crate::api::NotificationObject;

use super::app::{App, Command, Focus, RunRow, View};

/// The most notifications kept in memory: the daemon's first page.
pub const PAGE: usize = 50;

/// What the TUI knows of the notifications.
#[derive(Debug, Clone, Default)]
pub struct Bell {
    /// Newest first (by id, as the daemon lists them), at most [`PAGE`].
    pub list: Vec<NotificationObject>,
    /// Unread notifications, all of them (not only those in `list`).
    pub unread: u64,
    /// The id of the one selected in the list (the first when unset or gone).
    pub selected: Option<String>,
    /// Where `esc` goes back to from the list.
    pub back_to: Option<(View, Focus)>,
}

impl Bell {
    /// The position of the selected notification in the list.
    pub fn position(&self) -> usize {
        self.selected
            .as_ref()
            .and_then(|id| self.list.iter().position(|n| &n.id == id))
            .unwrap_or(0)
    }

    pub fn current(&self) -> Option<&NotificationObject> {
        self.list.get(self.position())
    }

    /// The unread notification that happened last: the footer shows it.
    pub fn latest_unread(&self) -> Option<&NotificationObject> {
        self.list
            .iter()
            .filter(|n| n.read_at.is_none())
            .max_by(|a, b| (&a.last_at, &a.id).cmp(&(&b.last_at, &b.id)))
    }

    /// How many are unread: the daemon's count, or more when the list already shows more (the
    /// count is read again a moment after a change).
    pub fn unread(&self) -> u64 {
        let listed = self.list.iter().filter(|n| n.read_at.is_none()).count() as u64;
        self.unread.max(listed)
    }

    /// Replaces the notification with the same id, or inserts it in id order, keeping at most
    /// [`PAGE`]. The unread count follows at once (one fewer when a listed one was read, one
    /// more for a new unread one) until the daemon's own count, asked for after every change,
    /// arrives.
    fn merge(&mut self, n: NotificationObject) {
        let unread = n.read_at.is_none();
        let was = match self.list.iter().position(|known| known.id <= n.id) {
            Some(i) if self.list[i].id == n.id => {
                let was = self.list[i].read_at.is_none();
                self.list[i] = n;
                Some(was)
            }
            Some(i) => {
                self.list.insert(i, n);
                None
            }
            None => {
                self.list.push(n);
                None
            }
        };
        match (was, unread) {
            (Some(true), false) => self.unread = self.unread.saturating_sub(1),
            (None | Some(false), true) => self.unread += 1,
            _ => {}
        }
        self.list.truncate(PAGE);
    }
}

impl App {
    /// `n`: opens the list in the main pane, or closes it when it is what has focus.
    pub(super) fn toggle_bell(&mut self) {
        if self.view == View::Notifications {
            if self.focus == Focus::Main {
                self.close_bell();
            } else {
                self.focus = Focus::Main;
            }
            return;
        }
        self.bell.back_to = Some((self.view, self.focus));
        self.bell.selected = self.bell.list.first().map(|n| n.id.clone());
        self.view = View::Notifications;
        self.focus = Focus::Main;
        self.fullscreen = false;
    }

    /// Back to where the list was opened from.
    pub(super) fn close_bell(&mut self) {
        let (view, focus) = self
            .bell
            .back_to
            .take()
            .unwrap_or((View::Home, Focus::Sidebar));
        self.view = view;
        self.focus = focus;
        if self.view == View::Task {
            // Its history may have changed meanwhile.
            if let Some(task) = self.current().map(|t| t.name.clone()) {
                self.load_history(task);
            }
        }
    }

    pub(super) fn bell_move(&mut self, delta: i64) {
        let len = self.bell.list.len();
        if len == 0 {
            return;
        }
        let to = (self.bell.position() as i64 + delta).clamp(0, len as i64 - 1) as usize;
        self.bell.selected = Some(self.bell.list[to].id.clone());
    }

    /// `enter` in the list: the selected notification's run, in the log view.
    pub(super) fn open_notification(&mut self) {
        let Some(n) = self.bell.current() else { return };
        match &n.run_id {
            Some(run) => self.outbox.push(Command::OpenRun(run.clone())),
            None => self.say("this notification is not about a run"),
        }
    }

    /// The run asked for arrives: shown as the history shows a run, its task selected so that
    /// `esc` shows the task's history.
    pub(super) fn opened(&mut self, run: RunRow) {
        let listed = |app: &App| {
            app.order()
                .iter()
                .any(|i| app.tasks[*i].name == run.task_name)
        };
        if !listed(self) && self.filter.is_some() {
            self.set_filter(None);
        }
        self.select_task(&run.task_name);
        self.fullscreen = false;
        self.open_run(run);
    }

    /// `m`: the selected notification in the list, elsewhere the one the footer shows.
    pub(super) fn mark_read(&mut self) {
        let target = if self.view == View::Notifications && self.focus == Focus::Main {
            self.bell.current()
        } else {
            self.bell.latest_unread()
        };
        match target {
            Some(n) if n.read_at.is_none() => {
                let id = n.id.clone();
                self.outbox.push(Command::MarkRead(id));
            }
            Some(_) => self.say("already read"),
            None => self.say("no unread notifications"),
        }
    }

    /// `M`: every notification.
    pub(super) fn mark_all_read(&mut self) {
        if self.bell.unread() == 0 {
            self.say("no unread notifications");
        } else {
            self.outbox.push(Command::MarkAllRead);
        }
    }

    /// The first page arrived (after connecting, or after every one was marked read).
    pub(super) fn bell_page(&mut self, mut list: Vec<NotificationObject>, unread: u64) {
        list.truncate(PAGE);
        self.bell.list = list;
        self.bell.unread = unread;
    }

    pub(super) fn bell_merge(&mut self, n: NotificationObject) {
        self.bell.merge(n);
    }
}
