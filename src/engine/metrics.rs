//! What the engine counts for `GET /metrics` (`operations.md` §2), in plain numbers: the engine
//! knows nothing of Prometheus. The server turns a [`MetricsSnapshot`] into OpenMetrics text.
//!
//! Every series is keyed by a name from the configuration (a task, a service, a notifier): the
//! maps are built once at boot from it and never grow, and an update for any other name is
//! dropped. So the number of series is bounded by the config, whatever a request names.
//!
//! Counters start at 0 at each start of the daemon (Prometheus expects that and handles the
//! reset). They count what this daemon did: runs that ended while it was down (recorded
//! `crashed` by recovery at boot) and runs of `runwisp exec --standalone` (another process)
//! are not counted. The last success of each task is seeded from the history at boot, so that
//! gauge survives a restart.
//!
//! Where each number comes from:
//! - runs ended, durations, last success: [`Metrics::run_ended`], called where this daemon
//!   records an end: in `launch::Ending::recorded` once the end is on disk (an end the
//!   shutdown gave up writing is not counted), before `RunEnded` is broadcast and the run
//!   leaves the active set, so whoever hears of the end, or sees the run no longer active,
//!   sees it counted; and in `tasks::fire` for a firing refused at once (`skipped`,
//!   `queue_full`). An `Ending` is consumed by value, once, so each end is counted exactly
//!   once. Not the lifecycle lane: its consumer resumes from a saved cursor, so at boot it
//!   would replay ends of the daemon's previous life into this life's counters (or, never
//!   acknowledging, hold the outbox for 30 days), it trails the end by a read of the outbox,
//!   and a duration would cost a read of the run.
//! - scheduling skew: `launch.rs`, when the start of a `cron` firing is recorded (how late it
//!   started against its scheduled instant; catch-up runs, late on purpose, are left out).
//! - service restarts: `supervisor/mod.rs`, when a replica that exited is to be started again.
//! - notifications: `Engine::delivery_done` (delivered, retried, or failed for good).
//! - log bytes: the capture's echo in `launch.rs`, per chunk (output as produced, before
//!   `log_max_size` applies).
//! - active and queued runs, next run, replicas up: read from the live state at snapshot time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use jiff::Timestamp;

use crate::engine::config::Config;
use crate::engine::history::RunQuery;
use crate::engine::model::{EndReason, RunKind, TaskName};
use crate::engine::store;
use crate::engine::{Engine, Inner, ReplicaState};

/// Upper bounds (seconds) of the run duration buckets.
pub const DURATION_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// Upper bounds (seconds) of the scheduling skew buckets.
pub const SKEW_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Observations in fixed buckets, with their sum and count.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Upper bounds, ascending.
    pub bounds: &'static [f64],
    /// Per bucket, not cumulative: `counts[i]` observations were above `bounds[i - 1]` and at
    /// most `bounds[i]`; the last (one more than `bounds`) counts those above every bound.
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    /// Adds one observation (a negative one, from a clock step, counts as 0).
    fn observe(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let value = value.max(0.0);
        let bucket = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        if let Some(n) = self.counts.get_mut(bucket) {
            *n += 1;
        }
        self.sum += value;
        self.count += 1;
    }
}

/// What became of one delivery attempt of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Failed, and tried again later.
    Retried,
    /// Failed for good (a final refusal, or the retry budget is spent).
    Failed,
}

impl Delivery {
    pub const ALL: [Delivery; 3] = [Delivery::Delivered, Delivery::Retried, Delivery::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Retried => "retried",
            Delivery::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        match self {
            Delivery::Delivered => 0,
            Delivery::Retried => 1,
            Delivery::Failed => 2,
        }
    }
}

#[derive(Debug, Clone)]
struct Runs {
    /// By the position of the end reason in [`EndReason::ALL`].
    ended: Vec<u64>,
    duration: Histogram,
    /// Unix ms.
    last_success: Option<i64>,
}

impl Default for Runs {
    fn default() -> Self {
        Self {
            ended: vec![0; EndReason::ALL.len()],
            duration: Histogram::new(DURATION_BUCKETS),
            last_success: None,
        }
    }
}

/// The engine's counters; one per [`crate::engine::Inner`].
/// A series per name; a reload adds the names it brings (the counters of a removed name stay,
/// unseen, should it come back).
type Series<K, V> = RwLock<BTreeMap<K, Arc<V>>>;

pub(crate) struct Metrics {
    webhooks: Series<TaskName, [AtomicU64; 4]>,
    runs: Series<TaskName, Mutex<Runs>>,
    log_bytes: Series<TaskName, AtomicU64>,
    restarts: Series<TaskName, AtomicU64>,
    notifications: Series<String, [AtomicU64; 3]>,
    skew: Mutex<Histogram>,
}

fn get<K, Q, V>(series: &Series<K, V>, key: &Q) -> Option<Arc<V>>
where
    K: Ord + std::borrow::Borrow<Q>,
    Q: Ord + ?Sized,
{
    series
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned()
}

fn add<K: Ord + Clone, V: Default>(series: &Series<K, V>, keys: impl Iterator<Item = K>) {
    let mut map = series.write().unwrap_or_else(PoisonError::into_inner);
    for key in keys {
        map.entry(key).or_default();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay usable after a panic elsewhere: they are only ever added to.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metrics {
    /// Every series the configuration names, at zero.
    pub(crate) fn new(config: &Config) -> Self {
        let metrics = Self {
            webhooks: RwLock::default(),
            runs: RwLock::default(),
            log_bytes: RwLock::default(),
            restarts: RwLock::default(),
            notifications: RwLock::default(),
            skew: Mutex::new(Histogram::new(SKEW_BUCKETS)),
        };
        metrics.add_series(config);
        metrics
    }

    /// Adds, at zero, the series of the names `config` brings (at boot and on a reload).
    pub(crate) fn add_series(&self, config: &Config) {
        let names = || config.tasks.keys().chain(config.services.keys()).cloned();
        add(&self.runs, names());
        add(&self.log_bytes, names());
        add(&self.restarts, config.services.keys().cloned());
        add(
            &self.notifications,
            config.notifiers.iter().map(|n| n.id.clone()),
        );
        let hooks = config.tasks.iter().filter(|(_, t)| t.webhook.is_some());
        add(&self.webhooks, hooks.map(|(name, _)| name.clone()));
    }

    /// What became of a delivery to the webhook of `task` (a configured one: names from
    /// requests never make a series).
    pub(crate) fn webhook(&self, task: &TaskName, result: HookResult) {
        if let Some(counts) = get(&self.webhooks, task) {
            counts[result as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A run of `task` ended `reason` at `end_at` (Unix ms); `started_at` when its process
    /// had started. Called once per end, once it is recorded.
    pub(crate) fn run_ended(
        &self,
        task: &TaskName,
        reason: EndReason,
        started_at: Option<i64>,
        end_at: i64,
    ) {
        let Some(runs) = get(&self.runs, task) else {
            return;
        };
        let mut runs = lock(&runs);
        if let Some(i) = EndReason::ALL.iter().position(|r| *r == reason) {
            runs.ended[i] += 1;
        }
        if let Some(start) = started_at {
            runs.duration.observe((end_at - start) as f64 / 1000.0);
        }
        if reason == EndReason::Success {
            runs.last_success = Some(runs.last_success.map_or(end_at, |t| t.max(end_at)));
        }
    }

    /// A cron firing started `late_ms` after its scheduled instant.
    pub(crate) fn scheduling_skew(&self, late_ms: i64) {
        lock(&self.skew).observe(late_ms as f64 / 1000.0);
    }

    /// The counter of `task`'s captured output bytes, for its capture to add to.
    pub(crate) fn log_bytes(&self, task: &TaskName) -> Option<Arc<AtomicU64>> {
        get(&self.log_bytes, task)
    }

    /// A replica of `service` exited and is to be started again.
    pub(crate) fn service_restarted(&self, service: &TaskName) {
        if let Some(n) = get(&self.restarts, service) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What became of one attempt to deliver through `notifier`.
    pub(crate) fn delivery(&self, notifier: &str, result: Delivery) {
        if let Some(counts) = get(&self.notifications, notifier) {
            counts[result.index()].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What became of a webhook delivery (`runwisp_webhook_deliveries_total`'s `result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookResult {
    Accepted = 0,
    Ignored = 1,
    Duplicate = 2,
    Rejected = 3,
}

impl HookResult {
    pub const ALL: [HookResult; 4] = [
        HookResult::Accepted,
        HookResult::Ignored,
        HookResult::Duplicate,
        HookResult::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookResult::Accepted => "accepted",
            HookResult::Ignored => "ignored",
            HookResult::Duplicate => "duplicate",
            HookResult::Rejected => "rejected",
        }
    }
}

/// One task's webhook deliveries.
#[derive(Debug, Clone)]
pub struct WebhookMetrics {
    pub name: TaskName,
    pub results: Vec<(HookResult, u64)>,
}

/// Everything `GET /metrics` shows, at one moment.
#[derive(Debug, Clone)]
pub struct MetricsSnapshot {
    /// Every task and service, in the order of [`Engine::tasks`].
    pub tasks: Vec<TaskMetrics>,
    pub services: Vec<ServiceMetrics>,
    /// How late cron firings started.
    pub skew: Histogram,
    pub notifications: Vec<NotifierMetrics>,
    pub webhooks: Vec<WebhookMetrics>,
}

/// One task or service.
#[derive(Debug, Clone)]
pub struct TaskMetrics {
    pub name: TaskName,
    pub kind: RunKind,
    /// Runs ended since the daemon started, for every end reason (zeros included).
    pub ended: Vec<(EndReason, u64)>,
    /// Seconds from start to end of the runs that started.
    pub duration: Histogram,
    pub active: usize,
    pub queued: usize,
    /// Unix ms.
    pub last_success: Option<i64>,
    pub next_run: Option<Timestamp>,
    pub log_bytes: u64,
}

/// One service.
#[derive(Debug, Clone)]
pub struct ServiceMetrics {
    pub name: TaskName,
    pub restarts: u64,
    /// Replicas whose process runs now.
    pub replicas_up: usize,
}

/// One `[[notifier]]`.
#[derive(Debug, Clone)]
pub struct NotifierMetrics {
    pub notifier: String,
    pub results: Vec<(Delivery, u64)>,
}

impl Engine {
    /// Counts a delivery to the webhook of `task` (see [`HookResult`]).
    pub fn count_webhook(&self, task: &TaskName, result: HookResult) {
        self.inner.metrics.webhook(task, result);
    }

    /// The counters and the live state, for `GET /metrics`.
    pub async fn metrics_snapshot(&self) -> MetricsSnapshot {
        let metrics = &self.inner.metrics;
        let mut tasks = Vec::new();
        let mut services = Vec::new();
        for info in self.tasks().await {
            let runs = get(&metrics.runs, &info.name).map(|r| lock(&r).clone());
            let (ended, duration, last_success) = match runs {
                Some(r) => (r.ended, r.duration, r.last_success),
                None => (
                    vec![0; EndReason::ALL.len()],
                    Histogram::new(DURATION_BUCKETS),
                    None,
                ),
            };
            if info.kind == RunKind::Service {
                let up = info.service.as_ref().map_or(0, |view| {
                    view.replicas
                        .iter()
                        .filter(|r| matches!(r, ReplicaState::Running { .. }))
                        .count()
                });
                services.push(ServiceMetrics {
                    name: info.name.clone(),
                    restarts: get(&metrics.restarts, &info.name)
                        .map_or(0, |n| n.load(Ordering::Relaxed)),
                    replicas_up: up,
                });
            }
            tasks.push(TaskMetrics {
                ended: EndReason::ALL.iter().copied().zip(ended).collect(),
                duration,
                active: info.active.len(),
                queued: info.queued,
                last_success,
                next_run: info.next,
                log_bytes: get(&metrics.log_bytes, &info.name)
                    .map_or(0, |n| n.load(Ordering::Relaxed)),
                kind: info.kind,
                name: info.name,
            });
        }
        // The notifiers of the configuration in force, in its order.
        let notifications = self
            .inner
            .config()
            .notifiers
            .iter()
            .filter_map(|n| Some((n.id.clone(), get(&metrics.notifications, &n.id)?)))
            .map(|(notifier, counts)| NotifierMetrics {
                notifier,
                results: Delivery::ALL
                    .iter()
                    .map(|d| (*d, counts[d.index()].load(Ordering::Relaxed)))
                    .collect(),
            })
            .collect();
        // The webhooks of the configuration in force.
        let webhooks = self
            .inner
            .defs()
            .tasks
            .iter()
            .filter(|(_, def)| def.spec.webhook.is_some())
            .filter_map(|(name, _)| Some((name.clone(), get(&metrics.webhooks, name)?)))
            .map(|(name, counts)| WebhookMetrics {
                name,
                results: HookResult::ALL
                    .iter()
                    .map(|r| (*r, counts[*r as usize].load(Ordering::Relaxed)))
                    .collect(),
            })
            .collect();
        MetricsSnapshot {
            tasks,
            services,
            skew: lock(&metrics.skew).clone(),
            notifications,
            webhooks,
        }
    }
}

/// Reads each task's last success from the history, in the background (a success recorded
/// since, by this daemon, is newer and stays).
pub(crate) fn seed_last_success(inner: &Arc<Inner>) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let series: Vec<_> = inner
            .metrics
            .runs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, runs)| (name.clone(), runs.clone()))
            .collect();
        for (name, runs) in series {
            let query = RunQuery {
                task: Some(name.clone()),
                end_reason: Some(EndReason::Success),
                limit: Some(1),
                ..RunQuery::default()
            };
            let found = store::blocking(&inner.store, move |s| s.query_runs(&query)).await;
            match found {
                Ok(found) => {
                    if let Some(end) = found.first().and_then(|run| run.end_at) {
                        let mut runs = lock(&runs);
                        runs.last_success = Some(runs.last_success.map_or(end, |t| t.max(end)));
                    }
                }
                Err(e) => {
                    tracing::warn!(task = %name, "cannot read the last success of {name} for the metrics: {e}");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_puts_each_observation_in_its_bucket() {
        let mut h = Histogram::new(&[1.0, 5.0]);
        for v in [0.5, 1.0, 3.0, 7.0, -2.0, f64::NAN] {
            h.observe(v);
        }
        assert_eq!(h.counts, [3, 1, 1]);
        assert_eq!(h.count, 5);
        assert!((h.sum - 11.5).abs() < 1e-9);
    }
}
