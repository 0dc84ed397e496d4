//! The definitions the daemon runs: the configuration and, per task and service, the slot that
//! holds its current definition and its runtime state (queue, replicas). A reload (see
//! [`crate::engine::reload`]) swaps the whole set at once, so every reader sees the old set or
//! the new one, never a mix; a task or service that stays keeps its slot (and so its queue,
//! counters and replicas) and only its definition inside the slot changes.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;

use crate::engine::config::{Config, Service, Task};
use crate::engine::model::TaskName;
use crate::engine::supervisor::ServiceSlot;
use crate::engine::tasks::TaskSlot;

/// One consistent set of definitions.
pub(crate) struct Defs {
    pub config: Arc<Config>,
    pub tasks: BTreeMap<TaskName, Def<Task, TaskSlot>>,
    pub services: BTreeMap<TaskName, Def<Service, ServiceSlot>>,
}

/// A task's or service's definition in this set, and its slot (which outlives the set when the
/// next one keeps the name).
pub(crate) struct Def<S, T> {
    pub spec: Arc<S>,
    pub slot: Arc<T>,
}

impl<S, T> Clone for Def<S, T> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            slot: self.slot.clone(),
        }
    }
}

impl Defs {
    /// Fresh slots for every task and service of `config` (at boot).
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            tasks: fresh(&config.tasks),
            services: fresh(&config.services),
            config,
        }
    }
}

/// A definition with a fresh slot for each of `specs`.
fn fresh<S: Clone, T: Default>(specs: &BTreeMap<TaskName, S>) -> BTreeMap<TaskName, Def<S, T>> {
    specs
        .iter()
        .map(|(name, spec)| {
            let def = Def {
                spec: Arc::new(spec.clone()),
                slot: Arc::new(T::default()),
            };
            (name.clone(), def)
        })
        .collect()
}

/// The swappable current set, and a counter bumped by every swap (the scheduler waits on it).
pub(crate) struct Current {
    defs: RwLock<Arc<Defs>>,
    version: watch::Sender<u64>,
}

impl Current {
    pub fn new(defs: Defs) -> Self {
        Self {
            defs: RwLock::new(Arc::new(defs)),
            version: watch::Sender::new(0),
        }
    }

    /// The set in force now (cheap: one reference count).
    pub fn get(&self) -> Arc<Defs> {
        self.defs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `defs` in force, at once for every reader.
    pub fn swap(&self, defs: Defs) {
        *self.defs.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(defs);
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Changes whenever a new set is put in force.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}
