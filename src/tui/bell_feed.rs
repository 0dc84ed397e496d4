//! The data worker's side of the notifications: follows `GET /api/notifications/stream` in its
//! own thread (each change handed over as it comes, the stream opened again a second after it
//! breaks, for as long as the connection it belongs to lasts), reads the unread count and the
//! first page again when something changed (at most once a [`EVERY`], whatever the event
//! rate), and carries out the list's commands. A daemon without these routes (404) simply has
//! no notifications to show: nothing is said about it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::app::{Msg, RunRow};
use super::bell::PAGE;
use super::data::{send, UiEvent, Work};
use crate::api::NotificationObject;
use crate::client::{Client, ClientError};

/// The most often the count and the first page are read again because of events.
const EVERY: Duration = Duration::from_secs(1);

/// What is to be read again, and when.
#[derive(Debug, Default)]
pub struct Feed {
    count: bool,
    page: bool,
    last: Option<Instant>,
    at: Option<Instant>,
}

impl Feed {
    /// When the next read is due.
    pub fn due(&self) -> Option<Instant> {
        self.at
    }

    /// Something changed: the unread count, with `page` the first page too, is read again at
    /// once when the last read is a second old, else a second after it.
    pub fn stale(&mut self, page: bool) {
        self.count = true;
        self.page |= page;
        let now = Instant::now();
        let at = match self.last {
            Some(last) if now < last + EVERY => last + EVERY,
            _ => now,
        };
        self.at = Some(self.at.map_or(at, |known| known.min(at)));
    }

    /// Reads what is stale, if it is due.
    pub fn run(&mut self, client: &Client, ui: &Sender<UiEvent>) -> Result<(), ClientError> {
        if self.at.is_none_or(|at| at > Instant::now()) {
            return Ok(());
        }
        self.read(client, ui)
    }

    /// Reads what is stale now (an operator's command does not wait).
    fn read(&mut self, client: &Client, ui: &Sender<UiEvent>) -> Result<(), ClientError> {
        let page = std::mem::take(&mut self.page);
        let count = std::mem::take(&mut self.count);
        self.at = None;
        self.last = Some(Instant::now());
        let read = || -> Result<(), ClientError> {
            let unread = client.unread_notifications()?;
            if page {
                let list = client
                    .notifications(false, PAGE as u32, None)?
                    .notifications;
                send(ui, Msg::Notifications { list, unread });
            } else if count {
                send(ui, Msg::Unread(unread));
            }
            Ok(())
        };
        absent_is_empty(read())
    }

    /// One changed notification from the stream: shown at once; the count follows.
    pub fn changed(&mut self, ui: &Sender<UiEvent>, n: Box<NotificationObject>) {
        send(ui, Msg::Notification(n));
        self.stale(false);
    }

    pub fn mark_read(
        &mut self,
        client: &Client,
        ui: &Sender<UiEvent>,
        id: &str,
    ) -> Result<(), ClientError> {
        let n = client.mark_notification_read(id)?;
        send(ui, Msg::Notification(Box::new(n)));
        self.count = true;
        self.read(client, ui)
    }

    pub fn mark_all_read(
        &mut self,
        client: &Client,
        ui: &Sender<UiEvent>,
    ) -> Result<(), ClientError> {
        let marked = client.mark_all_notifications_read()?;
        if marked == 0 {
            send(ui, Msg::Notice("no unread notifications".into()));
        }
        self.count = true;
        self.page = true;
        self.read(client, ui)
    }
}

/// A daemon without the notification routes answers 404: it has none to show.
fn absent_is_empty(result: Result<(), ClientError>) -> Result<(), ClientError> {
    match result {
        Err(e) if e.status() == Some(404) => Ok(()),
        other => other,
    }
}

/// `enter` on a notification: its run, read for the log view.
pub fn open_run(client: &Client, ui: &Sender<UiEvent>, id: &str) -> Result<(), ClientError> {
    let run = client.run(id)?;
    send(ui, Msg::Opened(RunRow::from(&run)));
    Ok(())
}

/// Follows the notifications stream in its own thread for the connection numbered `mine`
/// (`connection` holds the current one's number): every change goes to the worker as it is;
/// `read_all` (and `lagged`, changes missed) ask for the first page again. A broken stream is
/// opened again a second later (a refused one five seconds later) while the connection lasts;
/// a daemon without it (404) or a login it does not admit ends it. Losing the connection is the
/// run stream's to report.
pub fn watch(
    client: &Client,
    work: Sender<Work>,
    connection: Arc<AtomicU64>,
    mine: u64,
) -> std::io::Result<()> {
    let client = client.clone();
    std::thread::Builder::new()
        .name("runwisp-tui-bell".into())
        .spawn(move || {
            let current = || connection.load(Ordering::SeqCst) == mine;
            loop {
                let ended = client.stream("/api/notifications/stream", |event| {
                    if !current() {
                        return false;
                    }
                    match event.name.as_str() {
                        "notification" => {
                            match serde_json::from_str::<NotificationObject>(&event.data) {
                                Ok(n) => work.send(Work::Notification(Box::new(n))).is_ok(),
                                Err(_) => work.send(Work::NotificationsStale).is_ok(),
                            }
                        }
                        "read_all" | "lagged" => work.send(Work::NotificationsStale).is_ok(),
                        _ => true,
                    }
                });
                let wait = match ended.as_ref().err().and_then(ClientError::status) {
                    // No such stream here, or not for this login: nothing to follow.
                    Some(401 | 403 | 404) => return,
                    // Refused for now (too many streams): not too eagerly.
                    Some(_) => Duration::from_secs(5),
                    None => Duration::from_secs(1),
                };
                if !current() {
                    return;
                }
                std::thread::sleep(wait);
                // Changes may have been missed meanwhile.
                if !current() || work.send(Work::NotificationsStale).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_coalesced_to_one_a_second() {
        let mut feed = Feed::default();
        feed.stale(true);
        let first = feed.due().unwrap();
        assert!(first <= Instant::now(), "the first change is read at once");
        // As if read now.
        feed.at = None;
        feed.last = Some(Instant::now());
        feed.page = false;
        feed.count = false;
        for _ in 0..100 {
            feed.stale(false);
        }
        let next = feed.due().unwrap();
        assert!(
            next >= feed.last.unwrap() + EVERY,
            "a burst waits for the second to pass"
        );
        assert!(feed.count && !feed.page);
    }
}
