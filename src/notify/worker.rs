//! The delivery workers: one per outbound notifier, each draining that notifier's part of the
//! engine's outbox in order, so a slow or dead channel delays only itself. A worker sends on
//! the blocking pool, reports the channel's answer to the engine (which schedules the retry or
//! gives up), and sleeps until the next delivery is due or new ones are queued.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{NotifyEvent, RunObject};
use crate::engine::clock::millis;
use crate::engine::config::Notifier;
use crate::engine::model::{rfc3339, RunId};
use crate::engine::notify::{run_url, Delivery, DeliveryResult, BUDGET};
use crate::engine::Engine;

use super::{send, Outcome};

/// Without a wake-up a worker looks at the outbox again this often.
const RECHECK: Duration = Duration::from_secs(30);
/// After a send whose answer could not be recorded, a worker waits this long before it looks
/// again (the same delivery is still pending: it is sent again then, not in a tight loop).
const UNRECORDED_PAUSE: Duration = Duration::from_secs(30);

/// The running workers, and what keeps them in step with the configuration.
pub struct Workers {
    stop: watch::Sender<bool>,
    keeper: JoinHandle<()>,
    running: Arc<std::sync::Mutex<Running>>,
}

/// The worker of each declared notifier, by id, with the definition it sends with.
#[derive(Default)]
struct Running {
    workers: Vec<(Arc<Notifier>, watch::Sender<bool>, JoinHandle<()>)>,
}

/// Starts a worker for every `[[notifier]]` of the engine's configuration; after a reload,
/// a notifier that was added or changed gets a new worker and one that was removed or changed
/// has its worker stopped (what it was sending stays pending for the new one).
pub fn start(engine: &Engine) -> Workers {
    let (stop, _) = watch::channel(false);
    let running = Arc::new(std::sync::Mutex::new(Running::default()));
    reconcile(engine, &stop, &running);
    let keeper = tokio::spawn(keep_in_step(engine.clone(), stop.clone(), running.clone()));
    Workers {
        stop,
        keeper,
        running,
    }
}

/// Follows reloads until the workers stop.
async fn keep_in_step(
    engine: Engine,
    stop: watch::Sender<bool>,
    running: Arc<std::sync::Mutex<Running>>,
) {
    // The definitions' own signal: on the event broadcast this task was woken by every log
    // line of every run, only to find that it was not a reload.
    let mut reloads = engine.watch_defs();
    let mut stopping = stop.subscribe();
    loop {
        tokio::select! {
            changed = reloads.changed() => {
                if changed.is_err() {
                    return;
                }
                reconcile(&engine, &stop, &running);
            }
            _ = stopping.changed() => return,
        }
    }
}

/// Makes the running workers those of the notifiers the configuration declares now.
fn reconcile(engine: &Engine, stop: &watch::Sender<bool>, running: &std::sync::Mutex<Running>) {
    let config = engine.config();
    let mut running = running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut running.workers)
        .into_iter()
        .partition(|(notifier, _, _)| config.notifiers.iter().any(|n| n == notifier.as_ref()));
    running.workers = kept;
    // A changed notifier's new worker starts once the old one has finished what it was
    // sending, so one delivery is never sent by both.
    let mut before: std::collections::HashMap<String, JoinHandle<()>> = Default::default();
    for (notifier, own_stop, handle) in gone {
        own_stop.send_replace(true);
        before.insert(notifier.id.clone(), handle);
    }
    for notifier in &config.notifiers {
        if running
            .workers
            .iter()
            .any(|(n, _, _)| n.as_ref() == notifier)
        {
            continue;
        }
        let (own_stop, _) = watch::channel(false);
        let worker = Worker {
            engine: engine.clone(),
            notifier: Arc::new(notifier.clone()),
            stop: stop.subscribe(),
            own_stop: own_stop.subscribe(),
            wake: engine.watch_deliveries(),
        };
        let notifier = worker.notifier.clone();
        let before = before.remove(&notifier.id);
        let handle = tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            worker.run().await;
        });
        running.workers.push((notifier, own_stop, handle));
    }
}

impl Workers {
    /// Stops the workers, waiting at most `budget` for sends in flight; what is not sent stays
    /// pending and goes out after the next start.
    pub async fn stop(self, budget: Duration) {
        self.stop.send_replace(true);
        let _ = self.keeper.await;
        let handles: Vec<JoinHandle<()>> = std::mem::take(
            &mut self
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .workers,
        )
        .into_iter()
        .map(|(_, _, handle)| handle)
        .collect();
        let aborts: Vec<_> = handles.iter().map(JoinHandle::abort_handle).collect();
        let all = futures_util::future::join_all(handles);
        if tokio::time::timeout(budget, all).await.is_err() {
            // What they were sending stays pending: they never record an answer now.
            for worker in aborts {
                worker.abort();
            }
            tracing::warn!(
                "notifications still being sent at shutdown are left for the next start"
            );
        }
    }
}

struct Worker {
    engine: Engine,
    notifier: Arc<Notifier>,
    /// All workers stop (the daemon stops).
    stop: watch::Receiver<bool>,
    /// This worker stops (a reload removed or changed its notifier).
    own_stop: watch::Receiver<bool>,
    /// Changes whenever deliveries are queued (`Engine::watch_deliveries`).
    wake: watch::Receiver<u64>,
}

impl Worker {
    async fn run(mut self) {
        loop {
            if *self.stop.borrow() || *self.own_stop.borrow() {
                return;
            }
            let (wait, wakeable) = match self.engine.next_delivery(&self.notifier.id).await {
                Err(e) => {
                    tracing::error!(notifier = %self.notifier.id, "cannot read the delivery outbox: {e}");
                    (Duration::from_secs(1), false)
                }
                Ok(None) => (RECHECK, true),
                Ok(Some(delivery)) => {
                    let now = millis(self.engine.now());
                    if delivery.next_at > now {
                        let wait = Duration::from_millis((delivery.next_at - now) as u64);
                        (wait.min(RECHECK), true)
                    } else {
                        let result = self.attempt(&delivery, now).await;
                        match self.engine.delivery_done(&delivery, result).await {
                            Ok(()) => continue,
                            // Not recorded (a full disk): it is still pending, and looking again
                            // at once would send it again and again.
                            Err(_) => (UNRECORDED_PAUSE, false),
                        }
                    }
                }
            };
            if !self.pause(wait, wakeable).await {
                return;
            }
        }
    }

    /// Sleeps up to `wait` (or, when `wakeable`, until deliveries are queued); false when the
    /// workers are to stop.
    async fn pause(&mut self, wait: Duration, wakeable: bool) -> bool {
        let queued = async {
            if !wakeable {
                return std::future::pending::<()>().await;
            }
            // Deliveries queued since the last look (also while it was sending) wake it at once.
            if self.wake.changed().await.is_err() {
                std::future::pending::<()>().await
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = queued => true,
            // Told to stop, or the handle that would tell it is gone.
            changed = self.stop.changed() => changed.is_ok() && !*self.stop.borrow(),
            changed = self.own_stop.changed() => changed.is_ok() && !*self.own_stop.borrow(),
        }
    }

    async fn attempt(&self, delivery: &Delivery, now: i64) -> DeliveryResult {
        let deadline = delivery.created_at + BUDGET.as_millis() as i64;
        if now > deadline {
            return DeliveryResult::Failed {
                reason: "not sent: its 5 minutes ran out before it could be sent (runwisp was not running, or the channel was busy with earlier messages)".into(),
            };
        }
        let event = self.event(delivery).await;
        let notifier = self.notifier.clone();
        let sent = tokio::task::spawn_blocking(move || send(&notifier, &event)).await;
        match sent {
            Ok(Outcome::Delivered { .. }) => DeliveryResult::Sent,
            Ok(Outcome::Retry { after, reason }) => DeliveryResult::Retry { after, reason },
            Ok(Outcome::Failed { reason }) => DeliveryResult::Failed { reason },
            Err(e) => DeliveryResult::Retry {
                after: None,
                reason: format!("the send stopped unexpectedly: {e}"),
            },
        }
    }

    /// The event as the channels send it: with the run as the API shows it.
    async fn event(&self, delivery: &Delivery) -> NotifyEvent {
        let out = &delivery.outgoing;
        let run_id = out.run_id.as_deref().and_then(|id| RunId::parse(id).ok());
        let run = match run_id {
            Some(id) => self
                .engine
                .run(id)
                .await
                .ok()
                .flatten()
                .map(RunObject::from),
            None => None,
        };
        NotifyEvent {
            kind: out.kind,
            severity: out.severity,
            task: out.task.clone(),
            run,
            title: out.title.clone(),
            text: out.text.clone(),
            count: out.count,
            fingerprint: self.engine.fingerprint().to_string(),
            occurred_at: rfc3339(out.occurred_at),
            url: out
                .run_id
                .as_deref()
                .and_then(|id| run_url(&self.engine.config(), id)),
        }
    }
}
