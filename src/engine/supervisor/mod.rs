//! Services (`product.md` §5.2): each of `instances` replicas runs in its own loop; every
//! replica lifetime is one run (`triggered_by = "service"`, `replica_index`). A replica that
//! exits for any reason but an operator stop is restarted after `restart_delay` shaped by
//! `restart_backoff` (capped at 60 s); a replica that stayed up `backoff_reset_after` starts its
//! back-off from zero. An operator's stop keeps the service stopped until an operator restarts
//! it, across restarts of the daemon too (it is recorded in the store); restart replaces each
//! replica at its own index. What each replica is doing ([`ReplicaState`]) is kept here, so
//! the interfaces show it instead of guessing from the active runs.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::engine::clock::millis;
use crate::engine::config::Service;
use crate::engine::defs::Def;
use crate::engine::events::Event;
use crate::engine::launch;
use crate::engine::model::{NotifyKind, RunId, RunKind, TaskName, TriggeredBy};
use crate::engine::notify;
use crate::engine::store::{self, NewRun};
use crate::engine::{Engine, Inner};

mod rollout;

pub(crate) use rollout::{begin_rollout, retire, roll_out};

/// Restart delays of services never exceed this.
pub const RESTART_CAP: Duration = Duration::from_secs(60);

/// A service's runtime state (its replicas); it outlives a reload that keeps the service. Its
/// definition is in [`crate::engine::defs::Defs`] beside it.
#[derive(Default)]
pub(crate) struct ServiceSlot {
    state: Mutex<ServiceState>,
    /// Bumped on every stop, restart and replica replacement, so a replica waiting out its
    /// back-off hears at once that it is no longer wanted.
    changed: tokio::sync::watch::Sender<u64>,
    /// Bumped by every reload that replaces the replicas: an older rolling replacement stops.
    rollout: std::sync::atomic::AtomicU64,
}

impl ServiceSlot {
    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[derive(Default)]
struct ServiceState {
    /// Bumped by every stop and restart; a replica loop of an older generation ends.
    generation: u64,
    stopped: bool,
    replicas: Vec<Option<JoinHandle<()>>>,
    /// Per index, a fresh value whenever that one replica is replaced (a reload) or removed
    /// (fewer `instances`); a replica loop of an older epoch ends. Values come from
    /// `next_epoch` and are never reused, so an index that comes back is never the old one.
    epochs: Vec<u64>,
    next_epoch: u64,
    /// Loops of indexes removed by fewer `instances`, still stopping: an index that comes back
    /// starts once its old loop has ended (one process per index).
    retired: std::collections::HashMap<usize, JoinHandle<()>>,
    /// What each replica (by index) is doing now.
    doing: Vec<ReplicaState>,
}

/// Which replica loop this is: it runs while both still match the service's state.
#[derive(Debug, Clone, Copy)]
struct Incarnation {
    generation: u64,
    epoch: u64,
}

impl ServiceState {
    fn is_current(&self, index: u32, me: Incarnation) -> bool {
        self.generation == me.generation
            && self.epochs.get(index as usize) == Some(&me.epoch)
            && !self.stopped
    }

    fn fresh_epoch(&mut self) -> u64 {
        self.next_epoch += 1;
        self.next_epoch
    }

    /// The loop that ran at `index` before, if one may still be stopping.
    fn predecessor(&mut self, index: usize) -> Option<JoinHandle<()>> {
        let kept = self.replicas.get_mut(index).and_then(Option::take);
        kept.or_else(|| self.retired.remove(&index))
    }

    fn incarnation(&self, index: usize) -> Incarnation {
        Incarnation {
            generation: self.generation,
            epoch: self.epochs.get(index).copied().unwrap_or(0),
        }
    }
}

/// What one replica of a service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Recording its run and starting its process.
    Starting,
    /// Its process runs as this run, recorded at `since`; the replica's process was started
    /// again `restarts` times since the daemon (or a reload) started this replica.
    Running {
        run: RunId,
        since: Timestamp,
        restarts: u32,
    },
    /// It exited and waits out its restart back-off.
    Backoff {
        next_attempt_at: Timestamp,
        attempt: u32,
    },
    /// Not running: stopped by an operator, or the daemon is stopping.
    Stopped,
}

/// A service as the interfaces show it: one word for the whole, and each replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    pub state: ReplicaState,
    /// An operator stopped it (it stays stopped until restarted).
    pub stopped_by_operator: bool,
    pub replicas: Vec<ReplicaState>,
}

impl ServiceView {
    fn of(stopped: bool, replicas: &[ReplicaState]) -> Self {
        let backoff = replicas
            .iter()
            .filter_map(|r| match r {
                ReplicaState::Backoff {
                    next_attempt_at,
                    attempt,
                } => Some((*next_attempt_at, *attempt)),
                _ => None,
            })
            .min();
        let state = if stopped {
            ReplicaState::Stopped
        } else if let Some((next_attempt_at, attempt)) = backoff {
            ReplicaState::Backoff {
                next_attempt_at,
                attempt,
            }
        } else if replicas.contains(&ReplicaState::Starting) {
            ReplicaState::Starting
        } else if let Some(running) = replicas
            .iter()
            .find(|r| matches!(r, ReplicaState::Running { .. }))
        {
            *running
        } else {
            ReplicaState::Stopped
        };
        Self {
            state,
            stopped_by_operator: stopped,
            replicas: replicas.to_vec(),
        }
    }
}

/// Records what replica `index` is doing (a replica on its way out changes nothing).
async fn set_doing(slot: &ServiceSlot, index: u32, me: Incarnation, now: ReplicaState) {
    let mut state = slot.state.lock().await;
    if state.is_current(index, me) {
        if let Some(doing) = state.doing.get_mut(index as usize) {
            *doing = now;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("there is no service named \"{0}\"")]
    NotFound(TaskName),
    #[error("\"{0}\" is a task; restart applies to services (trigger a task to run it)")]
    IsTask(TaskName),
    #[error("the daemon is shutting down")]
    ShuttingDown,
    #[error("API triggering is disabled for service \"{0}\" (api_trigger = false)")]
    Forbidden(TaskName),
}

/// Starts every replica of every service at boot, except services an operator stopped (and
/// did not restart) before the daemon last stopped.
pub(crate) async fn start_all(inner: &Arc<Inner>) {
    let stopped = store::blocking(&inner.store, |s| s.stopped_services())
        .await
        .unwrap_or_else(|e| {
            tracing::error!(
                "cannot read which services an operator stopped; starting them all: {e}"
            );
            Vec::new()
        });
    for (name, def) in &inner.defs().services {
        if stopped.iter().any(|s| s == name.as_str()) {
            let mut state = def.slot.state.lock().await;
            state.stopped = true;
            state.doing = vec![ReplicaState::Stopped; def.spec.instances as usize];
            tracing::info!(service = %name, "service {name} stays stopped, as an operator left it; restart it to start it");
            continue;
        }
        let (inner, name, def) = (inner.clone(), name.clone(), def.clone());
        tokio::spawn(async move { start(&inner, &name, &def, false).await });
    }
}

/// Starts (or replaces) all replicas of a service under a new generation; `by_operator`
/// also clears a saved operator stop (under the lock, in order with stops).
pub(crate) async fn start(
    inner: &Arc<Inner>,
    name: &TaskName,
    def: &Def<Service, ServiceSlot>,
    by_operator: bool,
) {
    let Def { spec, slot } = def;
    let mut state = slot.state.lock().await;
    if by_operator {
        Engine {
            inner: inner.clone(),
        }
        .remember_stop(name, false)
        .await;
    }
    state.generation += 1;
    slot.bump();
    state.stopped = false;
    // The old generation's replicas see the new generation before their runs end.
    stop_replicas(inner, name, None);
    let instances = spec.instances as usize;
    state.doing = vec![ReplicaState::Starting; instances];
    let mut handles = Vec::with_capacity(instances);
    let mut epochs = Vec::with_capacity(instances);
    for index in 0..instances {
        let before = state.predecessor(index);
        epochs.push(state.fresh_epoch());
        handles.push(before);
    }
    state.epochs = epochs;
    state.replicas.clear();
    for (index, before) in handles.into_iter().enumerate() {
        let me = state.incarnation(index);
        let handle = spawn_replica(inner, name, slot, spec, index as u32, me, before);
        state.replicas.push(Some(handle));
    }
}

/// Starts one replica loop, once the replica it replaces (if any) has finished stopping: one
/// process per index.
fn spawn_replica(
    inner: &Arc<Inner>,
    name: &TaskName,
    slot: &Arc<ServiceSlot>,
    spec: &Arc<Service>,
    index: u32,
    me: Incarnation,
    before: Option<JoinHandle<()>>,
) -> JoinHandle<()> {
    let (inner, name, slot, spec) = (inner.clone(), name.clone(), slot.clone(), spec.clone());
    tokio::spawn(async move {
        if let Some(before) = before {
            let _ = before.await;
        }
        replica(inner, name, slot, spec, index, me).await;
    })
}

async fn current(inner: &Inner, slot: &ServiceSlot, index: u32, me: Incarnation) -> bool {
    let state = slot.state.lock().await;
    state.is_current(index, me) && !inner.is_stopping()
}

async fn replica(
    inner: Arc<Inner>,
    name: TaskName,
    slot: Arc<ServiceSlot>,
    spec: Arc<Service>,
    index: u32,
    me: Incarnation,
) {
    let mut attempt: u32 = 0;
    let mut restarts: u32 = 0;
    let mut flapping = Flapping::default();
    loop {
        let in_flight = inner.in_flight();
        if !current(&inner, &slot, index, me).await {
            break;
        }
        set_doing(&slot, index, me, ReplicaState::Starting).await;
        let new = NewRun {
            retry_attempt: attempt,
            replica_index: Some(index),
            ..NewRun::new(
                name.clone(),
                RunKind::Service,
                TriggeredBy::Service,
                millis(inner.clock.now()),
            )
        };
        let pending = inner.store.submit_insert(&new);
        if let Err(e) = inner.store.committed(pending).await {
            drop(in_flight);
            tracing::error!(service = %name, replica = index, "cannot record a replica start: {e}");
        } else {
            inner.emit(Event::RunCreated {
                run: new.id,
                task: name.clone(),
            });
            let stop = launch::register(&inner, &new, &name);
            // A stop or restart that came while the row was being written could not reach
            // this run (it was not active yet): it must not outlive its generation.
            if !current(&inner, &slot, index, me).await {
                stop.stop();
            }
            drop(in_flight);
            let running = ReplicaState::Running {
                run: new.id,
                since: inner.clock.now(),
                restarts,
            };
            set_doing(&slot, index, me, running).await;
            let started = tokio::time::Instant::now();
            let (_, ending) = launch::run_to_end(
                &inner,
                &new,
                &name,
                &spec.common,
                &Default::default(),
                None,
                stop,
            )
            .await;
            ending.recorded(&inner).await;
            if started.elapsed() >= spec.backoff_reset_after {
                attempt = 0;
            }
        }
        if !current(&inner, &slot, index, me).await {
            break;
        }
        attempt = attempt.saturating_add(1);
        restarts = restarts.saturating_add(1);
        inner.metrics.service_restarted(&name);
        flapping.restarted(&inner, &name, index);
        let delay = spec
            .restart_backoff
            .delay(spec.restart_delay, attempt, RESTART_CAP);
        tracing::info!(service = %name, replica = index, "replica exited; restarting in {delay:?} (attempt {attempt})");
        let next_attempt_at = inner.clock.now()
            + jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::MAX);
        let waiting = ReplicaState::Backoff {
            next_attempt_at,
            attempt,
        };
        set_doing(&slot, index, me, waiting).await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = inner.stopped() => break,
            _ = until_replaced(&inner, &slot, index, me) => break,
        }
    }
    set_doing(&slot, index, me, ReplicaState::Stopped).await;
}

/// Restarts of one replica within [`FLAP_WINDOW`]: [`FLAP_RESTARTS`] of them raise
/// `service.flapping`, once per window.
#[derive(Default)]
struct Flapping {
    restarts: std::collections::VecDeque<i64>,
    told_at: Option<i64>,
}

const FLAP_RESTARTS: usize = 5;
const FLAP_WINDOW_MS: i64 = 10 * 60 * 1000;

impl Flapping {
    fn restarted(&mut self, inner: &Arc<Inner>, name: &TaskName, index: u32) {
        let now = millis(inner.clock.now());
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|t| now - t > FLAP_WINDOW_MS)
        {
            self.restarts.pop_front();
        }
        let quiet = self.told_at.is_some_and(|t| now - t < FLAP_WINDOW_MS);
        if self.restarts.len() < FLAP_RESTARTS || quiet {
            return;
        }
        self.told_at = Some(now);
        let n = self.restarts.len();
        notify::raise(
            inner,
            notify::Raised {
                kind: NotifyKind::ServiceFlapping,
                task: Some(name.clone()),
                run: None,
                key_extra: index.to_string(),
                title: format!("{name}#{index} is flapping: {n} restarts in 10 minutes"),
                lines: vec![format!(
                    "Replica {index} of service {name} exited {n} times within 10 minutes; runwisp keeps restarting it with back-off."
                )],
                at: now,
            },
        );
    }
}

/// Resolves when this replica is no longer wanted: an operator stopped or restarted the
/// service, or a reload replaced or removed this replica.
async fn until_replaced(inner: &Inner, slot: &ServiceSlot, index: u32, me: Incarnation) {
    let mut changed = slot.changed.subscribe();
    loop {
        if !current(inner, slot, index, me).await {
            return;
        }
        if changed.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Stops the runs of a service's replicas: all of them, or the one at `index`.
fn stop_replicas(inner: &Inner, name: &TaskName, index: Option<u32>) {
    for run in inner.active().values().filter(|r| &r.task == name) {
        if index.is_none() || run.replica_index == index {
            run.stop.stop();
        }
    }
}

impl Engine {
    /// Records an operator's stop (or its undoing by a restart) so it outlives the daemon;
    /// a failure is logged, the stop itself still holds until the daemon stops.
    async fn remember_stop(&self, service: &TaskName, stopped: bool) {
        let (name, now) = (service.to_string(), millis(self.inner.clock.now()));
        let saved = store::blocking(&self.inner.store, move |s| {
            s.set_service_stopped(&name, stopped, now)
        })
        .await;
        if let Err(e) = saved {
            tracing::error!(service = %service, "cannot record that service {service} was {}: {e}", if stopped { "stopped" } else { "restarted" });
        }
    }

    /// What a service's replicas are doing.
    pub(crate) async fn service_view(&self, name: &TaskName) -> Option<ServiceView> {
        let def = self.inner.service_def(name)?;
        let state = def.slot.state.lock().await;
        Some(ServiceView::of(state.stopped, &state.doing))
    }

    /// Stops every replica of a service; it stays stopped until restarted.
    pub async fn stop_service(&self, service: &TaskName) -> Result<(), ServiceError> {
        let Def { spec, slot } = self
            .inner
            .service_def(service)
            .ok_or_else(|| ServiceError::NotFound(service.clone()))?;
        {
            let mut state = slot.state.lock().await;
            state.generation += 1;
            state.stopped = true;
            state.doing = vec![ReplicaState::Stopped; spec.instances as usize];
            slot.bump();
            // Saved under the lock, so a restart racing this stop saves after it, in order.
            self.remember_stop(service, true).await;
        }
        self.inner.emit(Event::ServiceStopped {
            service: service.clone(),
        });
        stop_replicas(&self.inner, service, None);
        Ok(())
    }

    /// Replaces every replica of a service at its own index (and starts a stopped service).
    pub async fn restart_service(&self, service: &TaskName) -> Result<(), ServiceError> {
        if self.inner.is_stopping() {
            return Err(ServiceError::ShuttingDown);
        }
        let defs = self.inner.defs();
        if defs.tasks.contains_key(service) {
            return Err(ServiceError::IsTask(service.clone()));
        }
        let Some(def) = defs.services.get(service) else {
            return Err(ServiceError::NotFound(service.clone()));
        };
        if !def.spec.common.api_trigger {
            return Err(ServiceError::Forbidden(service.clone()));
        }
        start(&self.inner, service, def, true).await;
        self.inner.emit(Event::ServiceRestarted {
            service: service.clone(),
        });
        Ok(())
    }
}
