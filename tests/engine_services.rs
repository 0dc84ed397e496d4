//! Services on the engine with real processes: replicas held, restarted no faster than their
//! back-off curve, stopped and restarted by an operator (even right after a restart), what a
//! replica is doing, and an operator's stop outliving the daemon.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/engine.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::*;
use runwisp::engine::clock::SystemClock;
use runwisp::engine::model::{EndReason, RunKind, RunStatus, TriggeredBy};

fn clock() -> Arc<SystemClock> {
    Arc::new(SystemClock)
}

async fn service_view(e: &runwisp::engine::Engine, name: &str) -> runwisp::engine::ServiceView {
    e.tasks()
        .await
        .into_iter()
        .find(|t| t.name.as_str() == name)
        .and_then(|t| t.service)
        .expect("a service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_service_restarts_no_faster_than_its_curve() {
    let config = r#"
[services.crashy]
run = "exit 3"
restart_delay = "200ms"
restart_backoff = "exponential"
"#;
    let b = boot(config, clock()).await;
    let runs = wait_runs(&b.engine, "crashy", "five lifetimes", |r| ended(r) >= 5).await;
    for (n, pair) in runs.windows(2).take(4).enumerate() {
        let gap = pair[1].start_at.unwrap() - pair[0].end_at.unwrap();
        let curve = 200 * (1 << n);
        assert!(
            gap >= curve,
            "restart {} came after {gap} ms, the curve says {curve} ms",
            n + 1
        );
        assert_eq!(pair[1].kind, RunKind::Service);
        assert_eq!(pair[1].triggered_by, TriggeredBy::Service);
        assert_eq!(pair[1].replica_index, Some(0));
    }
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_service_holds_its_replicas_and_obeys_stop_and_restart() {
    let b = boot(
        "[services.web]\nrun = \"echo replica $RUNWISP_REPLICA; sleep 60\"\ninstances = 3\ngraceful_stop = \"1s\"\n",
        clock(),
    )
    .await;
    let e = &b.engine;
    let running = |r: &[runwisp::engine::model::Run]| {
        r.iter().filter(|x| x.status == RunStatus::Running).count()
    };
    let runs = wait_runs(e, "web", "three replicas", |r| running(r) == 3).await;
    let mut indexes: Vec<_> = runs.iter().map(|r| r.replica_index.unwrap()).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2]);
    // Each replica knows its index (RUNWISP_REPLICA), so instances can use distinct ports.
    for run in &runs {
        let log = b.dir.path().join(format!("data/logs/web/{}.log", run.id));
        let want = format!("replica {}\n", run.replica_index.unwrap());
        let mut said = String::new();
        for _ in 0..200 {
            said = std::fs::read_to_string(&log).unwrap_or_default();
            if !said.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(said, want);
    }

    e.restart_service(&task("web")).await.unwrap();
    let runs = wait_runs(e, "web", "three new replicas", |r| {
        r.len() == 6 && running(r) == 3
    })
    .await;
    assert!(runs[..3]
        .iter()
        .all(|r| r.end_reason == Some(EndReason::Stopped)));
    let mut indexes: Vec<_> = runs[3..].iter().map(|r| r.replica_index.unwrap()).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2], "replaced at their own indexes");

    e.stop_service(&task("web")).await.unwrap();
    wait_runs(e, "web", "all stopped", |r| {
        running(r) == 0 && ended(r) == 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        harness::runs(e, "web").len(),
        6,
        "a stopped service stays stopped"
    );
    e.shutdown().await;
}

/// A stop right after a restart reaches every replica, including one still recording its
/// new run (not yet active when the stop came): none is left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_right_after_a_restart_leaves_no_replica_running() {
    let b = boot(
        "[services.web]\nrun = \"sleep 60\"\ninstances = 2\ngraceful_stop = \"1s\"\n",
        clock(),
    )
    .await;
    let e = &b.engine;
    wait_runs(e, "web", "two replicas", |r| {
        r.iter().filter(|x| x.status == RunStatus::Running).count() == 2
    })
    .await;
    // The window is the few milliseconds a new replica spends writing its row: stops come
    // at growing delays after each restart so that some land inside it.
    for i in 0..60u64 {
        e.restart_service(&task("web")).await.unwrap();
        tokio::time::sleep(Duration::from_micros(i * 250)).await;
        e.stop_service(&task("web")).await.unwrap();
    }
    let runs = wait_runs(e, "web", "every replica ended", |r| {
        r.iter().all(|x| x.status == RunStatus::Ended)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = harness::runs(e, "web");
    assert_eq!(later.len(), runs.len(), "nothing started after the stop");
    assert!(
        later.iter().all(|x| x.status == RunStatus::Ended),
        "{later:?}"
    );
    e.shutdown().await;
}

/// A service between restarts is in back-off, with the next attempt's time and number, never
/// "stopped"; only an operator's stop makes it stopped, and that stop outlives the daemon
/// until an operator restarts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_in_back_off_says_so_and_an_operator_stop_outlives_the_daemon() {
    use runwisp::engine::ReplicaState;
    let config = "[services.crashy]\nrun = \"exit 3\"\nrestart_delay = \"30s\"\n\n[services.web]\nrun = \"sleep 60\"\ngraceful_stop = \"1s\"\n";
    let dir = tempfile::tempdir().unwrap();
    let e = boot_in(dir.path(), config, clock()).await;
    wait_runs(&e, "crashy", "the first lifetime", |r| ended(r) == 1).await;
    let mut view = service_view(&e, "crashy").await;
    for _ in 0..200 {
        if matches!(view.state, ReplicaState::Backoff { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        view = service_view(&e, "crashy").await;
    }
    let ReplicaState::Backoff {
        next_attempt_at,
        attempt,
    } = view.state
    else {
        panic!("a crashed replica waits out its back-off: {view:?}");
    };
    assert_eq!(attempt, 1);
    let wait = next_attempt_at.as_millisecond()
        - runwisp::engine::clock::Clock::now(&runwisp::engine::clock::SystemClock).as_millisecond();
    assert!(
        (25_000..=30_000).contains(&wait),
        "next attempt in {wait} ms"
    );
    assert!(!view.stopped_by_operator);
    assert_eq!(view.replicas, vec![view.state]);

    wait_runs(&e, "web", "web running", |r| {
        r.iter().any(|x| x.status == RunStatus::Running)
    })
    .await;
    assert!(matches!(
        service_view(&e, "web").await.state,
        ReplicaState::Running { .. }
    ));
    e.stop_service(&task("web")).await.unwrap();
    let view = service_view(&e, "web").await;
    assert_eq!(
        (view.state, view.stopped_by_operator),
        (ReplicaState::Stopped, true)
    );
    e.shutdown().await;
    drop(e);

    // After a restart of the daemon the operator's stop still holds.
    let e = boot_in(dir.path(), config, clock()).await;
    let before = harness::runs(&e, "web").len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(harness::runs(&e, "web").len(), before, "web stays stopped");
    assert!(service_view(&e, "web").await.stopped_by_operator);
    e.restart_service(&task("web")).await.unwrap();
    wait_runs(&e, "web", "web running again", |r| r.len() == before + 1).await;
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_trigger_false_refuses_a_service_restart() {
    let b = boot(
        "[services.web]\nrun = \"sleep 60\"\napi_trigger = false\n",
        clock(),
    )
    .await;
    assert!(matches!(
        b.engine.restart_service(&task("web")).await,
        Err(runwisp::engine::ServiceError::Forbidden(_))
    ));
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_replica_tells_since_when_and_how_often_it_restarted() {
    use runwisp::engine::ReplicaState;
    let started =
        runwisp::engine::clock::Clock::now(&runwisp::engine::clock::SystemClock).as_millisecond();
    let b = boot(
        "[services.blinky]\nrun = \"sleep 0.3\"\ninstances = 2\nrestart_delay = \"50ms\"\nrestart_backoff = \"constant\"\n",
        clock(),
    )
    .await;
    let now = || {
        runwisp::engine::clock::Clock::now(&runwisp::engine::clock::SystemClock).as_millisecond()
    };
    // The first run of each replica: no restart yet.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen_first = false;
    let mut seen_again = false;
    while std::time::Instant::now() < deadline && !(seen_first && seen_again) {
        for replica in service_view(&b.engine, "blinky").await.replicas {
            if let ReplicaState::Running {
                since, restarts, ..
            } = replica
            {
                let at = since.as_millisecond();
                assert!(
                    at >= started - 5 && at <= now(),
                    "since {at} is not between {started} and now"
                );
                seen_first |= restarts == 0;
                seen_again |= restarts >= 2;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen_first && seen_again,
        "first run seen: {seen_first}; a run after two restarts seen: {seen_again}"
    );
    b.engine.shutdown().await;
}

/// A replica whose command is one program is that program: no idle shell between runwisp and
/// it (dash does not `exec` the last command of `sh -c`; runwisp asks it to). A command the
/// shell must come back to keeps its shell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simple_command_runs_without_an_idle_shell_above_it() {
    let b = boot(
        "[services.plain]\nrun = \"sleep 600\"\n\n[services.script]\nrun = \"sleep 600; true\"\n",
        clock(),
    )
    .await;
    let comm_of = |service: &str| {
        let run = harness::runs(&b.engine, service)
            .into_iter()
            .find(|r| r.status == RunStatus::Running && r.pid.is_some())?;
        let pid = run.pid?;
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|c| c.trim().to_string())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (mut plain, mut script) = (None, None);
    // Right after the spawn the process may still be the shell, about to become `sleep`.
    while std::time::Instant::now() < deadline
        && (plain.as_deref() != Some("sleep") || script.is_none())
    {
        plain = comm_of("plain");
        script = comm_of("script");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(plain.as_deref(), Some("sleep"), "the replica's own process");
    assert_eq!(script.as_deref(), Some("sh"), "a script keeps its shell");
    b.engine.shutdown().await;
}
