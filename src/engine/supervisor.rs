//! Services (`product.md` §5.2): each of `instances` replicas runs in its own loop; every
//! replica lifetime is one run (`triggered_by = "service"`, `replica_index`). A replica that
//! exits for any reason but an operator stop is restarted after `restart_delay` shaped by
//! `restart_backoff` (capped at 60 s); a replica that stayed up `backoff_reset_after` starts its
//! back-off from zero. Stop keeps the service stopped until restarted (or the daemon restarts);
//! restart replaces each replica at its own index.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::engine::clock::millis;
use crate::engine::config::{Config, Service};
use crate::engine::events::Event;
use crate::engine::launch;
use crate::engine::model::{RunId, RunKind, TaskName, TriggeredBy};
use crate::engine::store::{self, NewRun};
use crate::engine::{Engine, Inner};

/// Restart delays of services never exceed this.
pub const RESTART_CAP: Duration = Duration::from_secs(60);

pub(crate) struct ServiceSlot {
    pub spec: Arc<Service>,
    state: Mutex<ServiceState>,
    /// Told every new generation, so a replica waiting out its back-off hears a stop or a
    /// restart at once.
    changed: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct ServiceState {
    /// Bumped by every stop and restart; a replica loop of an older generation ends.
    generation: u64,
    stopped: bool,
    replicas: Vec<Option<JoinHandle<()>>>,
}

pub(crate) fn slots(config: &Config) -> BTreeMap<TaskName, ServiceSlot> {
    config
        .services
        .iter()
        .map(|(name, spec)| {
            let slot = ServiceSlot {
                spec: Arc::new(spec.clone()),
                state: Mutex::new(ServiceState::default()),
                changed: tokio::sync::watch::Sender::new(0),
            };
            (name.clone(), slot)
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("there is no service named {0:?}")]
    NotFound(String),
    #[error("{0:?} is a task; restart applies to services (trigger a task to run it)")]
    IsTask(String),
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

/// Starts every replica of every service (at boot).
pub(crate) fn start_all(inner: &Arc<Inner>) {
    for name in inner.services.keys() {
        let inner = inner.clone();
        let name = name.clone();
        tokio::spawn(async move { start(&inner, &name).await });
    }
}

/// Starts (or replaces) all replicas of a service under a new generation.
async fn start(inner: &Arc<Inner>, name: &TaskName) {
    let Some(slot) = inner.services.get(name) else {
        return;
    };
    let mut state = slot.state.lock().await;
    state.generation += 1;
    slot.changed.send_replace(state.generation);
    state.stopped = false;
    let generation = state.generation;
    // The old generation's replicas see the new generation before their runs end.
    stop_replicas(inner, name);
    let instances = slot.spec.instances as usize;
    let mut previous = std::mem::take(&mut state.replicas);
    previous.resize_with(instances, || None);
    for (index, before) in previous.into_iter().enumerate() {
        let inner = inner.clone();
        let name = name.clone();
        state.replicas.push(Some(tokio::spawn(async move {
            // The replica this one replaces finishes stopping first: one process per index.
            if let Some(before) = before {
                let _ = before.await;
            }
            replica(inner, name, index as u32, generation).await;
        })));
    }
}

async fn current(inner: &Inner, name: &TaskName, generation: u64) -> bool {
    match inner.services.get(name) {
        Some(slot) => {
            let state = slot.state.lock().await;
            state.generation == generation && !state.stopped && !inner.is_stopping()
        }
        None => false,
    }
}

async fn replica(inner: Arc<Inner>, name: TaskName, index: u32, generation: u64) {
    let Some(slot) = inner.services.get(&name) else {
        return;
    };
    let spec = slot.spec.clone();
    let mut attempt: u32 = 0;
    loop {
        let in_flight = inner.in_flight();
        if !current(&inner, &name, generation).await {
            break;
        }
        let new = NewRun {
            id: RunId::new(),
            task_name: name.to_string(),
            kind: RunKind::Service,
            triggered_by: TriggeredBy::Service,
            scheduled_for: None,
            created_at: millis(inner.clock.now()),
            retry_attempt: attempt,
            retry_of_run_id: None,
            replica_index: Some(index),
        };
        let row = new.clone();
        if let Err(e) = store::blocking(&inner.store, move |s| s.insert_run(&row)).await {
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
            if !current(&inner, &name, generation).await {
                stop.stop();
            }
            drop(in_flight);
            let started = tokio::time::Instant::now();
            let (_, ending) =
                launch::run_to_end(&inner, &new, &name, &spec.common, None, stop).await;
            ending.recorded(&inner).await;
            if started.elapsed() >= spec.backoff_reset_after {
                attempt = 0;
            }
        }
        if !current(&inner, &name, generation).await {
            break;
        }
        attempt = attempt.saturating_add(1);
        let delay = spec
            .restart_backoff
            .delay(spec.restart_delay, attempt, RESTART_CAP);
        tracing::info!(service = %name, replica = index, "replica exited; restarting in {delay:?} (attempt {attempt})");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = inner.stopped() => break,
            _ = wait_generation_change(&inner, &name, generation) => break,
        }
    }
}

/// Resolves when an operator stops or restarts the service.
async fn wait_generation_change(inner: &Inner, name: &TaskName, generation: u64) {
    let Some(slot) = inner.services.get(name) else {
        return;
    };
    let mut changed = slot.changed.subscribe();
    // Resolves at once when the generation moved on before the wait began.
    let _ = changed.wait_for(|now| *now != generation).await;
}

fn stop_replicas(inner: &Inner, name: &TaskName) {
    for run in inner.active().values().filter(|r| &r.task == name) {
        run.stop.stop();
    }
}

impl Engine {
    /// Stops every replica of a service; it stays stopped until restarted.
    pub async fn stop_service(&self, name: &str) -> Result<(), ServiceError> {
        let service =
            TaskName::parse(name).map_err(|_| ServiceError::NotFound(name.to_string()))?;
        let slot = self
            .inner
            .services
            .get(&service)
            .ok_or_else(|| ServiceError::NotFound(name.to_string()))?;
        {
            let mut state = slot.state.lock().await;
            state.generation += 1;
            state.stopped = true;
            slot.changed.send_replace(state.generation);
        }
        self.inner.emit(Event::ServiceStopped {
            service: service.clone(),
        });
        stop_replicas(&self.inner, &service);
        Ok(())
    }

    /// Replaces every replica of a service at its own index (and starts a stopped service).
    pub async fn restart_service(&self, name: &str) -> Result<(), ServiceError> {
        if self.inner.is_stopping() {
            return Err(ServiceError::ShuttingDown);
        }
        let service =
            TaskName::parse(name).map_err(|_| ServiceError::NotFound(name.to_string()))?;
        if self.inner.tasks.contains_key(&service) {
            return Err(ServiceError::IsTask(name.to_string()));
        }
        if !self.inner.services.contains_key(&service) {
            return Err(ServiceError::NotFound(name.to_string()));
        }
        start(&self.inner, &service).await;
        self.inner.emit(Event::ServiceRestarted { service });
        Ok(())
    }
}
