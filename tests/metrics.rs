#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
//! `GET /metrics` of the real daemon (`operations.md` §2), read by a parser we did not write:
//! Python's `prometheus_client.openmetrics.parser` (`tests/oracle/metrics_parse.py`) refuses
//! anything that is not OpenMetrics text, and hands back the samples. Tasks that succeed and
//! fail a known number of times, a sleeping run, a service that keeps exiting, one that stays
//! up, a cron task and a notification retried once then delivered give the values to check.
//! Access: a token, unless `[daemon] metrics_public = true`.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[allow(dead_code)]
#[path = "common/notify_http.rs"]
mod notify_http;
#[path = "common/oracle.rs"]
mod oracle;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use daemon::{agent, answer, Daemon};
use notify_http::{Receiver, Reply};
use serde_json::Value;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn python_has_prometheus_client() -> bool {
    oracle::python_has("prometheus_client.openmetrics.parser")
}

/// One sample: its name and labels, sorted.
type Key = (String, Vec<(String, String)>);

/// A scrape, parsed by the oracle.
struct Scrape {
    /// Family name -> (type, unit).
    families: BTreeMap<String, (String, String)>,
    samples: BTreeMap<Key, f64>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let out = oracle::run("metrics_parse.py", text.as_bytes());
        assert!(
            out.status.success(),
            "{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut families = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for family in parsed.as_array().unwrap() {
            let name = family["name"].as_str().unwrap().to_string();
            let kind = family["type"].as_str().unwrap().to_string();
            let unit = family["unit"].as_str().unwrap_or_default().to_string();
            families.insert(name, (kind, unit));
            for s in family["samples"].as_array().unwrap() {
                let mut labels: Vec<(String, String)> = s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                labels.sort();
                let key = (s["name"].as_str().unwrap().to_string(), labels);
                let value = s["value"].as_f64().expect("a finite value");
                assert!(
                    samples.insert(key.clone(), value).is_none(),
                    "{key:?} twice"
                );
            }
        }
        Scrape { families, samples }
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.samples.get(&(name.to_string(), labels)).copied()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }

    fn kind(&self, family: &str) -> (&str, &str) {
        let (kind, unit) = self
            .families
            .get(family)
            .unwrap_or_else(|| panic!("no family {family}"));
        (kind, unit)
    }

    /// Every value the label `label` takes.
    fn label_values(&self, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples
            .keys()
            .flat_map(|(_, labels)| labels.iter())
            .filter(|(k, _)| k == label)
            .map(|(_, v)| v.clone())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// Scrapes with the daemon's token, checking the framing.
fn scrape(d: &Daemon) -> Scrape {
    let a = d.get("/metrics");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.content_type, CONTENT_TYPE);
    assert!(a.text.ends_with("# EOF\n"), "{}", a.text);
    Scrape::parse(&a.text)
}

/// Scrapes until `done` holds, up to 30 s.
fn scrape_until(d: &Daemon, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = scrape(d);
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn unix_seconds(rfc3339: &Value) -> f64 {
    let at: jiff::Timestamp = rfc3339.as_str().unwrap().parse().unwrap();
    at.as_millisecond() as f64 / 1000.0
}

const TASKS: &[&str] = &["alert", "bad", "flaky", "good", "slow", "tick", "web"];

fn config(hook_url: &str) -> String {
    format!(
        r#"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "hook"
type = "webhook"
url = "{hook_url}"

[tasks.good]
run = "echo good"

[tasks.bad]
run = "echo bad >&2; exit 3"

[tasks.alert]
run = "exit 1"
notify_on_failure = ["hook"]

[tasks.slow]
run = "sleep 60"

[tasks.tick]
run = "true"
cron = "@every 1s"

[services.flaky]
run = "exit 1"
restart_delay = "50ms"
restart_backoff = "constant"

[services.web]
run = "sleep 60"
instances = 2
"#
    )
}

#[test]
fn known_runs_restarts_and_deliveries_are_counted() {
    if !python_has_prometheus_client() {
        return;
    }
    let hook = Receiver::start(vec![Reply::status(503, "busy"), Reply::status(200, "ok")]);
    let d = Daemon::start(&config(&hook.url("/hook")));

    let mut good = Vec::new();
    for _ in 0..3 {
        let id = d.trigger("good");
        good.push(d.wait_ended(&id));
    }
    for _ in 0..2 {
        let id = d.trigger("bad");
        assert_eq!(d.wait_ended(&id)["end_reason"], "failed");
    }
    let id = d.trigger("alert");
    d.wait_ended(&id);
    let slow = d.trigger("slow");
    // A name the configuration does not have is refused and never becomes a series.
    for ghost in ["ghost", "Good", "good2"] {
        let a = d.post(&format!("/api/tasks/{ghost}/run"));
        assert_eq!(a.status, 404, "{}", a.text);
    }

    let s = scrape_until(&d, "restarts, a delivery and a cron firing", |s| {
        s.get("runwisp_service_restarts_total", &[("service", "flaky")])
            .is_some_and(|n| n >= 2.0)
            && s.get(
                "runwisp_notifications_total",
                &[("notifier", "hook"), ("result", "delivered")],
            ) == Some(1.0)
            && s.get("runwisp_scheduling_skew_seconds_count", &[])
                .is_some_and(|n| n >= 1.0)
            && s.get("runwisp_service_replicas_up", &[("service", "web")]) == Some(2.0)
    });

    // Runs by end reason, every reason of a configured task present.
    let runs = |task: &str, reason: &str| {
        s.value(
            "runwisp_runs_total",
            &[("task", task), ("end_reason", reason)],
        )
    };
    assert_eq!(s.kind("runwisp_runs"), ("counter", ""));
    assert_eq!(runs("good", "success"), 3.0);
    assert_eq!(runs("good", "failed"), 0.0);
    assert_eq!(runs("bad", "failed"), 2.0);
    assert_eq!(runs("bad", "success"), 0.0);
    assert_eq!(runs("alert", "failed"), 1.0);
    assert_eq!(runs("slow", "success"), 0.0);

    // Durations: the runs that ended, summing to what the API says they took.
    assert_eq!(
        s.kind("runwisp_run_duration_seconds"),
        ("histogram", "seconds")
    );
    let good_label = [("task", "good")];
    assert_eq!(
        s.value("runwisp_run_duration_seconds_count", &good_label),
        3.0
    );
    assert_eq!(
        s.value(
            "runwisp_run_duration_seconds_bucket",
            &[("task", "good"), ("le", "+Inf")]
        ),
        3.0
    );
    let took: f64 = good
        .iter()
        .map(|r| r["duration_ms"].as_f64().unwrap() / 1000.0)
        .sum();
    let sum = s.value("runwisp_run_duration_seconds_sum", &good_label);
    assert!((sum - took).abs() < 0.005, "sum {sum}, the API says {took}");
    assert_eq!(
        s.value("runwisp_run_duration_seconds_count", &[("task", "slow")]),
        0.0
    );

    // The last success is the last good run's end.
    let last = unix_seconds(&good[2]["end_at"]);
    let seen = s.value("runwisp_task_last_success_timestamp_seconds", &good_label);
    assert!(
        (seen - last).abs() < 0.002,
        "{seen} vs the run's end {last}"
    );
    assert!(s
        .get(
            "runwisp_task_last_success_timestamp_seconds",
            &[("task", "bad")]
        )
        .is_none());

    // What is alive now.
    assert_eq!(s.value("runwisp_runs_active", &[("task", "slow")]), 1.0);
    assert_eq!(s.value("runwisp_runs_active", &good_label), 0.0);
    assert_eq!(s.value("runwisp_runs_queued", &[("task", "slow")]), 0.0);
    let next = s.value(
        "runwisp_task_next_run_timestamp_seconds",
        &[("task", "tick")],
    );
    let now = {
        use runwisp::engine::clock::{Clock, SystemClock};
        SystemClock.now().as_millisecond() as f64 / 1000.0
    };
    assert!((next - now).abs() < 5.0, "next run {next}, now {now}");
    assert!(s
        .get("runwisp_task_next_run_timestamp_seconds", &good_label)
        .is_none());
    assert_eq!(
        s.kind("runwisp_scheduling_skew_seconds"),
        ("histogram", "seconds")
    );

    // Services.
    assert_eq!(s.kind("runwisp_service_restarts"), ("counter", ""));
    assert_eq!(
        s.value("runwisp_service_restarts_total", &[("service", "web")]),
        0.0
    );

    // One failure notification: refused once (503), then delivered.
    let notified = |result: &str| {
        s.value(
            "runwisp_notifications_total",
            &[("notifier", "hook"), ("result", result)],
        )
    };
    assert_eq!(notified("retried"), 1.0);
    assert_eq!(notified("delivered"), 1.0);
    assert_eq!(notified("failed"), 0.0);

    // Output captured: "good\n" three times, "bad\n" twice.
    assert_eq!(s.kind("runwisp_log_bytes"), ("counter", "bytes"));
    assert_eq!(s.value("runwisp_log_bytes_total", &good_label), 15.0);
    assert_eq!(s.value("runwisp_log_bytes_total", &[("task", "bad")]), 8.0);

    assert_eq!(
        s.value(
            "runwisp_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // The process, as every Prometheus client names it.
    assert!(s.value("process_resident_memory_bytes", &[]) > 1e6);
    assert!(s.value("process_open_fds", &[]) > 3.0);
    assert!(s.value("process_cpu_seconds_total", &[]) >= 0.0);
    let started = s.value("process_start_time_seconds", &[]);
    assert!(
        started <= now + 1.0 && started > now - 600.0,
        "{started} vs {now}"
    );

    // Label values come from the configuration only.
    let mut tasks = s.label_values("task");
    tasks.sort();
    assert_eq!(tasks, TASKS);
    assert_eq!(s.label_values("service"), ["flaky", "web"]);
    assert_eq!(s.label_values("notifier"), ["hook"]);

    // A stopped run: counted `stopped` (once its end is on disk), no longer active.
    let a = d.post(&format!("/api/runs/{slow}/stop"));
    assert!(a.status < 300, "{}", a.text);
    assert_eq!(d.wait_ended(&slow)["end_reason"], "stopped");
    let s = scrape_until(&d, "the stopped run to leave the active set", |s| {
        s.get("runwisp_runs_active", &[("task", "slow")]) == Some(0.0)
    });
    assert_eq!(runs_of(&s, "slow", "stopped"), 1.0);
    assert_eq!(runs_of(&s, "good", "success"), 3.0);
}

fn runs_of(s: &Scrape, task: &str, reason: &str) -> f64 {
    s.value(
        "runwisp_runs_total",
        &[("task", task), ("end_reason", reason)],
    )
}

#[test]
fn metrics_need_a_token_unless_the_config_opens_them() {
    if !python_has_prometheus_client() {
        return;
    }
    let d = Daemon::start("[tasks.hello]\nrun = \"true\"\n");
    let anonymous = d.get_anon("/metrics");
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert_eq!(anonymous.content_type, "application/problem+json");
    let bad_token = answer(
        agent()
            .get(&d.url("/metrics"))
            .header("Authorization", "Bearer not-a-token")
            .call(),
    );
    assert_eq!(bad_token.status, 401);
    let s = scrape(&d);
    assert_eq!(runs_of(&s, "hello", "success"), 0.0);
    drop(d);

    let d = Daemon::start("[daemon]\nmetrics_public = true\n\n[tasks.hello]\nrun = \"true\"\n");
    let id = d.trigger("hello");
    d.wait_ended(&id);
    let open = d.get_anon("/metrics");
    assert_eq!(open.status, 200, "{}", open.text);
    assert_eq!(open.content_type, CONTENT_TYPE);
    let s = Scrape::parse(&open.text);
    assert_eq!(runs_of(&s, "hello", "success"), 1.0);
    // The rest of the API still needs a token.
    assert_eq!(d.get_anon("/api/tasks").status, 401);
}
