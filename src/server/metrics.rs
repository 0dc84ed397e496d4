//! `GET /metrics` (`operations.md` §2): the engine's [`MetricsSnapshot`] and this process's
//! resource use, in the OpenMetrics text that the `prometheus-client` crate writes (counters as
//! `NAME_total`, units as suffixes, `# EOF` at the end). A registry is built per scrape from
//! the snapshot, so the engine keeps plain numbers and nothing here holds state.
//!
//! Access is the route's [`Access::Metrics`](super::routes::Access::Metrics): a token (a full
//! login, or the local socket) unless `[daemon] metrics_public = true`. A token scoped to the
//! metrics alone comes with scoped tokens. `runwisp_webhook_deliveries_total` comes with the
//! webhooks.
//!
//! The process metrics carry the names every Prometheus client uses (`process_*`) and are read
//! from `/proc/self` at scrape time; on a system without it they are left out.

use std::fmt::Debug;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{
    text, EncodeGaugeValue, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::errors::ApiError;
use super::AppState;
use crate::engine::metrics::{Histogram, MetricsSnapshot, TaskMetrics};

/// The `Content-Type` of an answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// Counters, one per label set.
#[derive(Debug)]
struct Counters(Vec<(Labels, u64)>);

impl EncodeMetric for Counters {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(value, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Gauges, one per label set.
#[derive(Debug)]
struct Gauges<N>(Vec<(Labels, N)>);

impl<N: EncodeGaugeValue + Debug> EncodeMetric for Gauges<N> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.0 {
            encoder.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Histograms kept by the engine, one per label set.
#[derive(Debug)]
struct Histograms(Vec<(Labels, Histogram)>);

impl EncodeMetric for Histograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, h) in &self.0 {
            // The encoder adds the buckets up itself; the last is +Inf.
            let buckets: Vec<(f64, u64)> = h
                .bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(h.counts.iter().copied())
                .collect();
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn label(name: &'static str, value: impl ToString) -> Labels {
    vec![(name, value.to_string())]
}

/// A gauge of each task that has a value.
fn each<N>(tasks: &[TaskMetrics], value: impl Fn(&TaskMetrics) -> Option<N>) -> Gauges<N> {
    Gauges(
        tasks
            .iter()
            .filter_map(|t| value(t).map(|v| (label("task", &t.name), v)))
            .collect(),
    )
}

/// Unix ms as seconds.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The engine's numbers, as `runwisp_*`.
fn register_engine(r: &mut Registry, s: MetricsSnapshot) {
    let runs = s
        .tasks
        .iter()
        .flat_map(|t| {
            t.ended.iter().map(|(reason, n)| {
                let labels = vec![
                    ("task", t.name.to_string()),
                    ("end_reason", reason.to_string()),
                ];
                (labels, *n)
            })
        })
        .collect();
    r.register(
        "runs",
        "Runs ended since the daemon started, by task and end reason",
        Counters(runs),
    );
    r.register_with_unit(
        "run_duration",
        "How long runs took, from the start of their process to their end",
        Unit::Seconds,
        Histograms(
            s.tasks
                .iter()
                .map(|t| (label("task", &t.name), t.duration.clone()))
                .collect(),
        ),
    );
    let tasks = &s.tasks;
    r.register(
        "runs_active",
        "Runs whose process may be alive",
        each(tasks, |t| Some(t.active as i64)),
    );
    r.register(
        "runs_queued",
        "Runs waiting for a free slot",
        each(tasks, |t| Some(t.queued as i64)),
    );
    r.register_with_unit(
        "task_last_success_timestamp",
        "When the task's newest successful run ended (Unix time)",
        Unit::Seconds,
        each(tasks, |t| t.last_success.map(seconds)),
    );
    r.register_with_unit(
        "task_next_run_timestamp",
        "When the task's schedule fires next (Unix time)",
        Unit::Seconds,
        each(tasks, |t| t.next_run.map(|at| seconds(at.as_millisecond()))),
    );
    r.register_with_unit(
        "scheduling_skew",
        "How late cron firings started against their scheduled instant",
        Unit::Seconds,
        Histograms(vec![(Vec::new(), s.skew)]),
    );
    r.register(
        "service_restarts",
        "Replica restarts after an exit, since the daemon started",
        Counters(
            s.services
                .iter()
                .map(|svc| (label("service", &svc.name), svc.restarts))
                .collect(),
        ),
    );
    r.register(
        "service_replicas_up",
        "Replicas whose process runs",
        Gauges(
            s.services
                .iter()
                .map(|svc| (label("service", &svc.name), svc.replicas_up as i64))
                .collect(),
        ),
    );
    r.register(
        "notifications",
        "Delivery attempts of notifications, by notifier and result",
        Counters(
            s.notifications
                .iter()
                .flat_map(|n| {
                    n.results.iter().map(|(result, count)| {
                        let labels = vec![
                            ("notifier", n.notifier.clone()),
                            ("result", result.as_str().to_string()),
                        ];
                        (labels, *count)
                    })
                })
                .collect(),
        ),
    );
    r.register(
        "webhook_deliveries",
        "Deliveries to each task's webhook, by result",
        Counters(
            s.webhooks
                .iter()
                .flat_map(|w| {
                    w.results.iter().map(|(result, count)| {
                        let labels = vec![
                            ("name", w.name.to_string()),
                            ("result", result.as_str().to_string()),
                        ];
                        (labels, *count)
                    })
                })
                .collect(),
        ),
    );
    r.register_with_unit(
        "log",
        "Output captured from runs, before log_max_size applies",
        Unit::Bytes,
        Counters(
            s.tasks
                .iter()
                .map(|t| (label("task", &t.name), t.log_bytes))
                .collect(),
        ),
    );
    r.register(
        "build_info",
        "The running build",
        Gauges(vec![(label("version", env!("CARGO_PKG_VERSION")), 1i64)]),
    );
}

/// This process's resource use, read from `/proc/self`.
#[derive(Debug, Default)]
struct Process {
    resident_bytes: Option<i64>,
    cpu_seconds: Option<f64>,
    open_fds: Option<i64>,
    start_time: Option<f64>,
}

/// `/proc` reports times in USER_HZ, which Linux fixes at 100 for every architecture runwisp
/// builds for (Prometheus's own procfs reader assumes the same).
const USER_HZ: f64 = 100.0;

impl Process {
    fn read() -> Self {
        let resident_bytes = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            });
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as i64);
        // Fields after the command name, which may hold spaces and parentheses: utime and
        // stime (fields 14 and 15) and starttime (22), counted from field 3.
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        let cpu_seconds = field(14)
            .zip(field(15))
            .map(|(user, system)| (user + system) as f64 / USER_HZ);
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let start_time = field(22)
            .zip(boot_time)
            .map(|(ticks, boot)| boot as f64 + ticks as f64 / USER_HZ);
        Self {
            resident_bytes,
            cpu_seconds,
            open_fds,
            start_time,
        }
    }

    fn register(self, r: &mut Registry) {
        let one = |v: Option<i64>| Gauges(v.map(|v| (Vec::new(), v)).into_iter().collect());
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            one(self.resident_bytes),
        );
        r.register_with_unit(
            "process_cpu",
            "User and system CPU time spent",
            Unit::Seconds,
            CpuSeconds(self.cpu_seconds),
        );
        r.register(
            "process_open_fds",
            "Open file descriptors",
            one(self.open_fds),
        );
        r.register_with_unit(
            "process_start_time",
            "When the process started (Unix time)",
            Unit::Seconds,
            Gauges(
                self.start_time
                    .map(|v| (Vec::new(), v))
                    .into_iter()
                    .collect(),
            ),
        );
    }
}

/// A counter of fractional seconds.
#[derive(Debug)]
struct CpuSeconds(Option<f64>);

impl EncodeMetric for CpuSeconds {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        match &self.0 {
            Some(v) => encoder.encode_counter::<NoLabelSet, _, f64>(v, None),
            None => Ok(()),
        }
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// The whole text of one scrape.
fn render(snapshot: MetricsSnapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    register_engine(registry.sub_registry_with_prefix("runwisp"), snapshot);
    Process::read().register(&mut registry);
    let mut body = String::new();
    text::encode(&mut body, &registry)?;
    Ok(body)
}

pub async fn scrape(State(app): State<AppState>) -> Result<Response, ApiError> {
    let snapshot = app.engine.metrics_snapshot().await;
    let body = render(snapshot).map_err(|e| ApiError::internal("cannot write the metrics", e))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}
