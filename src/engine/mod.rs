//! The engine: configuration, scheduling, execution and run history. It knows nothing of HTTP,
//! terminals or command-line parsing; interfaces hold an [`Engine`] handle, call it, and listen
//! to its [`events::Event`] stream.
//!
//! [`Engine::boot`] is the daemon's start-up in one readable function; [`Engine::shutdown`] its
//! stop. Everything that changes a run goes through [`launch`], so a run is recorded before its
//! process starts and its end is recorded before anything else learns of it.

pub mod auth;
pub mod clock;
pub mod config;
pub mod datadir;
mod defs;
pub mod events;
pub mod history;
pub mod launch;
pub mod lifecycle;
mod live;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod password;
pub mod pipeline;
mod recovery;
pub mod reload;
pub mod retention;
pub mod run_owner;
pub mod runlog;
pub mod runner;
pub mod schedule;
mod scheduler;
pub mod standalone;
pub mod store;
mod supervisor;
mod tasks;
mod trigger;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast;

use clock::Clock;
use config::Config;
use datadir::{DaemonLock, DataDir};
use events::Event;
use model::{RunId, TaskName};
use runner::StopHandle;
use store::Store;

pub use launch::ActiveRun;
pub use supervisor::{ReplicaState, ServiceError, ServiceView};
pub use tasks::{StopError, TaskInfo, TriggerError, TriggerRequest, RETRY_CAP};

/// Why the engine could not boot; each is one sentence for the operator.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    DataDir(#[from] datadir::DataDirError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Auth(#[from] auth::AuthSetupError),
}

/// A cheap-to-clone handle on a running engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The definitions in force (configuration, task and service slots); a reload swaps them.
    defs: defs::Current,
    pub dir: DataDir,
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    /// The runs that may be alive, firings in flight and the shutdown flag.
    pub live: live::Live,
    /// What `GET /metrics` counts; see [`metrics`].
    pub metrics: metrics::Metrics,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Settings changed in the file that keep their old value until a restart.
    needs_restart: std::sync::Mutex<Vec<String>>,
    /// Wake-ups for the interfaces; see [`Inner::emit`]. The engine's own waiters have
    /// signals of their own (`Store::lane`, `watch_defs`, `watch_deliveries`), so that with no
    /// interface attached nobody listens and the log echo emits nothing.
    events: broadcast::Sender<Event>,
    /// Bumped whenever notifications are queued for delivery: the delivery workers wait on it.
    deliveries: tokio::sync::watch::Sender<u64>,
    fingerprint: String,
    auth: auth::Auth,
    started_at: jiff::Timestamp,
    _lock: DaemonLock,
}

impl Inner {
    /// The definitions in force now: one consistent set (see [`defs`]).
    pub fn defs(&self) -> Arc<defs::Defs> {
        self.defs.get()
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.defs.get().config.clone()
    }

    /// A task's definition in force and its slot.
    pub fn task_def(&self, name: &TaskName) -> Option<defs::Def<config::Task, tasks::TaskSlot>> {
        self.defs.get().tasks.get(name).cloned()
    }

    /// A service's definition in force and its slot.
    pub fn service_def(
        &self,
        name: &TaskName,
    ) -> Option<defs::Def<config::Service, supervisor::ServiceSlot>> {
        self.defs.get().services.get(name).cloned()
    }

    /// Puts a new set of definitions in force (a reload).
    fn swap_defs(&self, defs: defs::Defs) {
        self.defs.swap(defs);
    }

    fn set_needs_restart(&self, settings: Vec<String>) {
        *self
            .needs_restart
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    fn needs_restart(&self) -> Vec<String> {
        self.needs_restart
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes whenever a reload puts new definitions in force.
    pub fn watch_defs(&self) -> tokio::sync::watch::Receiver<u64> {
        self.defs.watch()
    }

    /// Deliveries were queued: wakes the delivery workers, and tells the interfaces.
    pub fn deliveries_queued(&self) {
        self.deliveries.send_modify(|n| *n = n.wrapping_add(1));
        self.emit(Event::DeliveriesQueued);
    }

    pub fn emit(&self, event: Event) {
        // No subscriber is fine: events are a view, the database is the truth.
        let _ = self.events.send(event);
    }

    /// Whether anyone listens to the events (the log echo skips its work otherwise).
    pub fn has_listeners(&self) -> bool {
        self.events.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn active(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, ActiveRun>> {
        self.live.active()
    }

    pub fn in_flight(&self) -> live::InFlight<'_> {
        self.live.in_flight()
    }

    pub fn is_stopping(&self) -> bool {
        self.live.is_stopping()
    }

    /// Resolves when shutdown begins.
    pub async fn stopped(&self) {
        self.live.stopped().await
    }
}

impl Engine {
    /// Boots the engine on a locked data directory. The order matters and is the whole story:
    /// open the history, settle the fingerprint and the password, recover runs a crash left
    /// unfinished (killing what is left of them), sweep retention, then start scheduling and
    /// supervising. Must be called inside a tokio runtime.
    pub async fn boot(
        config: Config,
        dir: DataDir,
        lock: DaemonLock,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, BootError> {
        let store = Arc::new(Store::open(&dir.db_path())?);
        let fingerprint = datadir::fingerprint(&store)?;
        let auth = auth::Auth::new(password::ensure(&dir)?, &store)?;
        let crashed = recovery::recover(&store, &dir, &config, clock.as_ref()).await?;

        let config = Arc::new(config);
        let (events, _) = broadcast::channel(events::CAPACITY);
        let started_at = clock.now();
        let inner = Arc::new(Inner {
            metrics: metrics::Metrics::new(&config),
            defs: defs::Current::new(defs::Defs::new(config)),
            reloading: tokio::sync::Mutex::new(()),
            needs_restart: std::sync::Mutex::default(),
            dir,
            store,
            clock,
            events,
            deliveries: tokio::sync::watch::Sender::new(0),
            fingerprint,
            auth,
            started_at,
            live: live::Live::new(),
            _lock: lock,
        });
        let engine = Engine { inner };
        retention::spawn_sweeper(engine.inner.clone());
        notify::spawn(engine.inner.clone());
        supervisor::start_all(&engine.inner).await;
        tasks::retry_crashed(&engine.inner, &crashed).await;
        pipeline::resume_on_boot(&engine.inner).await;
        metrics::seed_last_success(&engine.inner);
        // Last: the catch-up a long downtime fires (a run and a notice for each of 1,000
        // tasks) would otherwise hold the database while the boot's own reads waited.
        scheduler::spawn(engine.inner.clone()).await?;
        Ok(engine)
    }

    /// Stops everything within `[daemon] shutdown_timeout`: no new firings, queued runs end
    /// `stopped`, active runs get the stop ladder, and whatever is still alive at the deadline
    /// is killed. Returns once every run is recorded (or the deadline plus a short grace).
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.live.begin_shutdown();
        // Active runs hear the stop first: ending the queued runs waits for the database.
        let stops: Vec<StopHandle> = inner.active().values().map(|a| a.stop.clone()).collect();
        for stop in &stops {
            stop.stop();
        }
        tasks::drop_queues(inner, "the daemon shut down before this run started").await;
        let budget = inner.config().daemon.shutdown_timeout;
        if !launch::wait_all_ended(inner, budget).await {
            tracing::warn!("runs still alive after shutdown_timeout; killing them");
            launch::kill_all(inner);
            launch::wait_all_ended(inner, std::time::Duration::from_secs(3)).await;
        }
    }

    /// Changes whenever a reload puts a new configuration in force.
    pub fn watch_defs(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.watch_defs()
    }

    /// Changes whenever notifications are queued for delivery.
    pub fn watch_deliveries(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.deliveries.subscribe()
    }

    /// Subscribes to the engine's events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The configuration in force now (a reload replaces it; hold the `Arc` for one answer).
    pub fn config(&self) -> Arc<Config> {
        self.inner.config()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.inner.dir
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }

    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    pub fn auth(&self) -> &auth::Auth {
        &self.inner.auth
    }

    /// When this engine booted (wall clock).
    pub fn started_at(&self) -> jiff::Timestamp {
        self.inner.started_at
    }

    /// The ids of the runs whose process may be alive now.
    pub fn active_runs(&self) -> Vec<RunId> {
        self.inner.active().keys().copied().collect()
    }
}
