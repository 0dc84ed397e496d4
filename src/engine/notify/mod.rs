//! Notifications (`notifications.md`): events → routes → the in-app rows of the bell and the
//! durable delivery outbox. Run events come from the lossless lifecycle lane (`consumer.rs`);
//! `service.flapping`, `run.missed` and `log.disk_pressure` are raised where they happen
//! ([`raise`]). Sending lives outside the engine (`crate::notify`): a worker per channel takes
//! [`Engine::next_delivery`] and reports back with [`Engine::delivery_done`], which retries with
//! back-off and gives up after [`BUDGET`] with a `notify.delivery_failed` in the bell.

mod consumer;
mod message;
mod route;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::millis;
use crate::engine::events::Event;
use crate::engine::metrics::Delivery as Counted;
use crate::engine::model::{NotifyKind, RunId, Severity, TaskName};
use crate::engine::store::{self, NoticeBatch, NoticeRow, NoticeWrite, StoreError};
use crate::engine::{Engine, Inner};

pub(crate) use consumer::spawn;
pub use message::{run_url, Outgoing};

/// A delivery is retried for this long in all, from when it was queued.
pub const BUDGET: Duration = Duration::from_secs(300);
/// Back-off between attempts: from 1 s, doubling, at most this.
const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// A notification as the interfaces show it (one stored row of the bell).
pub use crate::engine::store::NoticeRow as Notification;

/// A send waiting for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub notifier: String,
    pub outgoing: Outgoing,
    pub created_at: i64,
    /// Unix ms it is due.
    pub next_at: i64,
    pub attempts: u32,
}

/// What a channel answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent,
    /// Worth another try (a timeout, a connection error, 5xx, 429), not before `after`.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Final (another 4xx, a command that failed).
    Failed {
        reason: String,
    },
}

/// What one event is, before routing.
pub(crate) struct Raised {
    pub kind: NotifyKind,
    pub task: Option<TaskName>,
    pub run: Option<RunId>,
    /// Folded with others of the same kind and task that share this (an end reason, a notifier).
    pub key_extra: String,
    pub title: String,
    pub lines: Vec<String>,
    pub at: i64,
}

/// The store's write of `raised` to `recipients`.
fn write(inner: &Inner, raised: &Raised, inapp: bool, channels: Vec<String>) -> NoticeWrite {
    let task = raised.task.as_ref().map(|t| t.to_string());
    let run_id = raised.run.map(|r| r.to_string());
    let notify = &inner.config().notify;
    NoticeWrite {
        kind: raised.kind,
        key: format!(
            "{}|{}|{}",
            raised.kind,
            task.as_deref().unwrap_or(""),
            raised.key_extra
        ),
        task,
        body: message::finish(
            &inner.config(),
            &inner.fingerprint,
            run_id.as_deref(),
            raised.lines.clone(),
        ),
        run_id,
        title: raised.title.clone(),
        at: raised.at,
        inapp,
        channels,
        window_ms: i64::try_from(notify.coalesce_window.as_millis()).unwrap_or(i64::MAX),
        ring: notify.occurrence_ring.max(1),
    }
}

/// Routes and records an event raised outside the run lifecycle (`service.flapping`,
/// `run.missed`, `log.disk_pressure`), in the background: the caller never waits on it.
pub(crate) fn raise(inner: &Arc<Inner>, raised: Raised) {
    let recipients = route::recipients(&inner.config(), raised.kind, raised.task.as_ref());
    let (inapp, channels) = route::split(&recipients);
    if !inapp && channels.is_empty() {
        return;
    }
    let notice = write(inner, &raised, inapp, channels);
    let now = millis(inner.clock.now());
    let inner = inner.clone();
    tokio::spawn(async move {
        let batch_inner = inner.clone();
        let result = store::blocking(&inner.store, move |s| {
            s.record_notices(NoticeBatch {
                notices: vec![notice],
                payload: &Outgoing::of,
                streak: None,
                cursor: None,
                now,
                recovered: None,
            })
        })
        .await;
        match result {
            Ok(rows) => announce(&batch_inner, &rows),
            Err(e) => tracing::error!("cannot record a notification: {e}"),
        }
    });
}

/// Tells the interfaces and the delivery workers about rows just written.
fn announce(inner: &Inner, rows: &[NoticeRow]) {
    for row in rows {
        if row.inapp {
            inner.emit(Event::Notification { id: row.id.clone() });
        }
    }
    if rows.iter().any(|r| !r.channels.is_empty()) {
        inner.deliveries_queued();
    }
}

/// The bell.
impl Engine {
    /// In-app notifications, newest first; `before` pages (an id from a previous page).
    pub async fn notifications(
        &self,
        unread_only: bool,
        before: Option<String>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = store::blocking(&self.inner.store, move |s| {
            s.notices(unread_only, before.as_deref(), limit)
        })
        .await?;
        Ok(rows)
    }

    pub async fn notification(&self, id: String) -> Result<Option<Notification>, StoreError> {
        let row = store::blocking(&self.inner.store, move |s| s.notice(&id)).await?;
        Ok(row.filter(|r| r.inapp))
    }

    pub async fn unread_notifications(&self) -> Result<u64, StoreError> {
        store::blocking(&self.inner.store, |s| s.unread_notices()).await
    }

    /// Marks one read; None when there is no such notification.
    pub async fn mark_notification_read(
        &self,
        id: String,
    ) -> Result<Option<Notification>, StoreError> {
        let now = millis(self.inner.clock.now());
        let row = store::blocking(&self.inner.store, move |s| s.mark_notice_read(&id, now)).await?;
        if let Some(row) = &row {
            self.inner.emit(Event::Notification { id: row.id.clone() });
        }
        Ok(row)
    }

    /// Marks every notification read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self) -> Result<usize, StoreError> {
        let now = millis(self.inner.clock.now());
        let n = store::blocking(&self.inner.store, move |s| s.mark_all_notices_read(now)).await?;
        if n > 0 {
            self.inner.emit(Event::NotificationsRead);
        }
        Ok(n)
    }
}

/// The delivery outbox, for the workers that send (one per channel).
impl Engine {
    /// The pending delivery of `notifier` due first (it may be due later: wait for `next_at`).
    pub async fn next_delivery(&self, notifier: &str) -> Result<Option<Delivery>, StoreError> {
        let notifier = notifier.to_string();
        let found = store::blocking(&self.inner.store, move |s| s.next_delivery(&notifier)).await?;
        let Some(d) = found else { return Ok(None) };
        match serde_json::from_str::<Outgoing>(&d.payload) {
            Ok(outgoing) => Ok(Some(Delivery {
                id: d.id,
                notifier: d.notifier,
                outgoing,
                created_at: d.created_at,
                next_at: d.next_at,
                attempts: d.attempts,
            })),
            Err(e) => {
                // Written by a newer runwisp, or by hand: given up, said once.
                let reason = format!("its stored message cannot be read ({e})");
                let delivery = Delivery {
                    id: d.id,
                    notifier: d.notifier,
                    outgoing: Outgoing {
                        kind: NotifyKind::DeliveryFailed,
                        severity: Severity::Warn,
                        task: None,
                        run_id: None,
                        title: String::new(),
                        text: String::new(),
                        count: 1,
                        occurred_at: d.created_at,
                    },
                    created_at: d.created_at,
                    next_at: d.next_at,
                    attempts: d.attempts,
                };
                self.delivery_done(&delivery, DeliveryResult::Failed { reason })
                    .await?;
                Box::pin(self.next_delivery(&delivery.notifier)).await
            }
        }
    }

    /// Records what the channel answered: sent, retried after a back-off (honouring the
    /// channel's `Retry-After`), or given up (then the bell says so). An error means it could
    /// not be recorded: the delivery is still pending, and the caller must wait before it looks
    /// again, or it would send the same message over and over.
    pub async fn delivery_done(
        &self,
        delivery: &Delivery,
        result: DeliveryResult,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let now = millis(inner.clock.now());
        let id = delivery.id;
        let outcome = match result {
            DeliveryResult::Sent => {
                inner
                    .metrics
                    .delivery(&delivery.notifier, Counted::Delivered);
                store::blocking(&inner.store, move |s| s.delivery_sent(id, now))
                    .await
                    .map(|_| Vec::new())
            }
            DeliveryResult::Retry { after, reason } => {
                let backoff = Duration::from_secs(1)
                    .saturating_mul(2u32.saturating_pow(delivery.attempts.min(16)))
                    .min(BACKOFF_CAP);
                let wait = backoff.max(after.unwrap_or_default());
                let next_at = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                let deadline = delivery.created_at + BUDGET.as_millis() as i64;
                if next_at > deadline {
                    inner.metrics.delivery(&delivery.notifier, Counted::Failed);
                    let attempts = delivery.attempts + 1;
                    let reason = format!(
                        "gave up after {attempts} attempt(s) over 5 minutes; the last: {reason}"
                    );
                    self.give_up(delivery, reason, now).await
                } else {
                    inner.metrics.delivery(&delivery.notifier, Counted::Retried);
                    store::blocking(&inner.store, move |s| {
                        s.delivery_retry(id, next_at, &reason)
                    })
                    .await
                    .map(|_| Vec::new())
                }
            }
            DeliveryResult::Failed { reason } => {
                inner.metrics.delivery(&delivery.notifier, Counted::Failed);
                self.give_up(delivery, reason, now).await
            }
        };
        match outcome {
            Ok(rows) => {
                announce(inner, &rows);
                Ok(())
            }
            Err(e) => {
                tracing::error!(notifier = %delivery.notifier, "cannot record a delivery: {e}");
                Err(e)
            }
        }
    }

    async fn give_up(
        &self,
        delivery: &Delivery,
        reason: String,
        now: i64,
    ) -> Result<Vec<NoticeRow>, StoreError> {
        let inner = &self.inner;
        tracing::warn!(notifier = %delivery.notifier, "a notification could not be delivered: {reason}");
        let task = delivery
            .outgoing
            .task
            .as_deref()
            .and_then(|t| TaskName::parse(t).ok());
        let raised = Raised {
            kind: NotifyKind::DeliveryFailed,
            task,
            run: delivery
                .outgoing
                .run_id
                .as_deref()
                .and_then(|r| RunId::parse(r).ok()),
            key_extra: delivery.notifier.clone(),
            title: format!("a notification to {} failed", delivery.notifier),
            lines: vec![
                format!("Notifier: {}", delivery.notifier),
                format!("Notification: {}", delivery.outgoing.title),
                format!("Error: {reason}"),
            ],
            at: now,
        };
        let recipients = route::recipients(&inner.config(), raised.kind, raised.task.as_ref());
        let (inapp, mut channels) = route::split(&recipients);
        // Never back to the channel that failed, and a failure to tell of a failure goes to the
        // bell only: no loops between two channels that are both down.
        channels.retain(|c| *c != delivery.notifier);
        if delivery.outgoing.kind == NotifyKind::DeliveryFailed {
            channels.clear();
        }
        let notice = write(inner, &raised, inapp, channels);
        let id = delivery.id;
        store::blocking(&inner.store, move |s| {
            s.delivery_given_up(id, now, &reason, &notice, &Outgoing::of)
                .map(|row| vec![row])
        })
        .await
    }
}
