//! The engine API on real processes and the real clock: overlap policies and their rows, a
//! retry chain with growing delays, `restart = "on_failure"`, services that crash or hold their
//! replicas, and stops.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/engine.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::*;
use runwisp::engine::clock::SystemClock;
use runwisp::engine::model::{EndReason, RunId, RunStatus, TriggeredBy};
use runwisp::engine::TriggerRequest;
use runwisp::engine::{StopError, TriggerError};

fn clock() -> Arc<SystemClock> {
    Arc::new(SystemClock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_runs_firings_one_after_another_and_refuses_past_queue_max() {
    let b = boot("[tasks.q]\nrun = \"sleep 0.3\"\nqueue_max = 2\n", clock()).await;
    let first = b
        .engine
        .trigger(&task("q"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    assert!(
        matches!(first.status, RunStatus::Pending | RunStatus::Running),
        "{first:?}"
    );
    let second = b
        .engine
        .trigger(&task("q"), TriggerRequest::by(TriggeredBy::Cli))
        .await
        .unwrap();
    let third = b
        .engine
        .trigger(&task("q"), TriggerRequest::by(TriggeredBy::Tui))
        .await
        .unwrap();
    assert_eq!(
        (second.status, third.status),
        (RunStatus::Pending, RunStatus::Pending)
    );
    let full = b
        .engine
        .trigger(&task("q"), TriggerRequest::by(TriggeredBy::Web))
        .await
        .unwrap();
    assert_eq!(full.status, RunStatus::Ended);
    assert_eq!(
        (full.end_reason, full.exit_code),
        (Some(EndReason::QueueFull), Some(-1))
    );
    assert_eq!(
        full.message.as_deref(),
        Some("queue full: 2 firings already waiting (queue_max = 2)")
    );
    // Answered as `fire` left them, not read back: the answers read as the rows do.
    for answered in [&second, &full] {
        let row = b.engine.run(answered.id).await.unwrap().unwrap();
        assert_eq!(&row, answered);
    }

    let runs = wait_runs(&b.engine, "q", "all ended", |r| ended(r) == 4).await;
    let done: Vec<_> = runs
        .iter()
        .filter(|r| r.end_reason == Some(EndReason::Success))
        .collect();
    assert_eq!(done.len(), 3);
    for pair in done.windows(2) {
        assert!(
            pair[1].start_at.unwrap() >= pair[0].end_at.unwrap(),
            "never two at once (FIFO): {done:#?}"
        );
    }
    assert_eq!(done[1].triggered_by, TriggeredBy::Cli);
    assert_eq!(done[2].triggered_by, TriggeredBy::Tui);
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_dropped_by_its_caller_still_runs_what_it_recorded() {
    // An HTTP client that hangs up drops the trigger's future, here after its first poll,
    // while the row is being written: the row must still start and end, never stay pending.
    let b = boot("[tasks.d]\nrun = \"true\"\n", clock()).await;
    for _ in 0..5 {
        let _ = tokio::time::timeout(
            Duration::ZERO,
            b.engine
                .trigger(&task("d"), TriggerRequest::by(TriggeredBy::Api)),
        )
        .await;
    }
    let runs = wait_runs(&b.engine, "d", "every recorded run ended", |r| {
        !r.is_empty() && ended(r) == r.len()
    })
    .await;
    assert!(
        runs.iter()
            .all(|r| r.end_reason == Some(EndReason::Success)),
        "{runs:#?}"
    );
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_records_the_firing_and_moves_on() {
    let b = boot(
        "[tasks.s]\nrun = \"sleep 0.5\"\non_overlap = \"skip\"\nmax_concurrent = 2\n",
        clock(),
    )
    .await;
    for _ in 0..2 {
        let run = b
            .engine
            .trigger(&task("s"), TriggerRequest::by(TriggeredBy::Api))
            .await
            .unwrap();
        assert!(
            matches!(run.status, RunStatus::Pending | RunStatus::Running),
            "{run:?}"
        );
    }
    let skipped = b
        .engine
        .trigger(&task("s"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    assert_eq!(
        (skipped.end_reason, skipped.exit_code),
        (Some(EndReason::Skipped), Some(-1))
    );
    assert_eq!(
        skipped.message.as_deref(),
        Some("task already running, skipping (policy: skip)")
    );
    let runs = wait_runs(&b.engine, "s", "all ended", |r| ended(r) == 3).await;
    assert_eq!(
        runs.iter()
            .filter(|r| r.end_reason == Some(EndReason::Success))
            .count(),
        2
    );
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_stops_the_oldest_then_starts_the_new_one() {
    let b = boot("[tasks.t]\nrun = \"echo $RUNWISP_RUN_ID; sleep 30\"\non_overlap = \"terminate\"\ngraceful_stop = \"1s\"\n", clock()).await;
    let old = b
        .engine
        .trigger(&task("t"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    wait_runs(&b.engine, "t", "the first run running", |r| {
        r[0].status == RunStatus::Running
    })
    .await;
    let new = b
        .engine
        .trigger(&task("t"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let runs = wait_runs(&b.engine, "t", "the new run running", |r| {
        r.len() == 2 && r[1].status == RunStatus::Running
    })
    .await;
    assert_eq!(runs[0].id, old.id);
    assert_eq!(runs[0].end_reason, Some(EndReason::Stopped));
    assert_eq!(runs[1].id, new.id);
    assert!(runs[1].start_at.unwrap() >= runs[0].end_at.unwrap());
    b.engine.shutdown().await;
    let runs = harness::runs(&b.engine, "t");
    assert_eq!(
        runs[1].end_reason,
        Some(EndReason::Stopped),
        "shutdown stops it"
    );
}

/// Triggers arriving while the old run is still being terminated (it ignores SIGTERM for its
/// graceful_stop): the newest is the one that runs, the ones in between are superseded, and
/// nothing waits past queue_max.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_runs_the_newest_trigger_last_and_supersedes_the_rest() {
    let b = boot("[tasks.deploy]\nrun = \"trap '' TERM; echo $RUNWISP_RUN_ID; sleep 30\"\non_overlap = \"terminate\"\nqueue_max = 3\ngraceful_stop = \"2s\"\n", clock()).await;
    let first = b
        .engine
        .trigger(&task("deploy"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    wait_runs(&b.engine, "deploy", "the first run running", |r| {
        r[0].status == RunStatus::Running
    })
    .await;
    let mut later = Vec::new();
    for _ in 0..6 {
        later.push(
            b.engine
                .trigger(&task("deploy"), TriggerRequest::by(TriggeredBy::Api))
                .await
                .unwrap()
                .id,
        );
    }
    let newest = *later.last().unwrap();
    let runs = wait_runs(&b.engine, "deploy", "the newest running", |r| {
        r.iter()
            .any(|x| x.id == newest && x.status == RunStatus::Running)
    })
    .await;
    assert_eq!(runs[0].id, first.id);
    assert_eq!(runs[0].end_reason, Some(EndReason::Stopped));
    for run in &runs[1..6] {
        assert_eq!(run.end_reason, Some(EndReason::Skipped), "{run:?}");
        assert!(run.start_at.is_none(), "never started: {run:?}");
        assert!(run
            .message
            .as_deref()
            .unwrap_or("")
            .starts_with("superseded by the newer run"));
    }
    assert_eq!(runs[6].id, newest);
    assert!(runs[6].start_at.unwrap() >= runs[0].end_at.unwrap());
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_chain_of_three_attempts_with_growing_delays() {
    let config = r#"
[tasks.flaky]
run = "echo attempt $RUNWISP_ATTEMPT; exit 4"
retry_attempts = 3
retry_delay = "200ms"
retry_backoff = "exponential"
"#;
    let b = boot(config, clock()).await;
    let first = b
        .engine
        .trigger(&task("flaky"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let runs = wait_runs(&b.engine, "flaky", "four ended attempts", |r| ended(r) == 4).await;
    assert_eq!(runs[0].id, first.id);
    for (n, run) in runs.iter().enumerate() {
        assert_eq!(run.end_reason, Some(EndReason::Failed));
        assert_eq!(run.exit_code, Some(4));
        assert_eq!(run.retry_attempt, n as u32);
        if n > 0 {
            assert_eq!(run.triggered_by, TriggeredBy::Retry);
            assert_eq!(run.retry_of_run_id, Some(runs[n - 1].id));
            let waited = run.created_at - runs[n - 1].end_at.unwrap();
            let curve = 200 * (1 << (n - 1));
            assert!(
                waited >= curve,
                "attempt {n} waited {waited} ms, the curve says {curve} ms"
            );
        }
        let log = std::fs::read_to_string(
            b.dir
                .path()
                .join("data/logs/flaky")
                .join(format!("{}.log", run.id)),
        )
        .unwrap();
        assert_eq!(log, format!("attempt {}\n", n + 1));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        harness::runs(&b.engine, "flaky").len(),
        4,
        "no fifth attempt"
    );
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_failure_runs_until_a_success() {
    let config = r#"
[tasks.until]
run = "echo x >> count; test $(wc -l < count) -ge 3"
restart = "on_failure"
retry_delay = "100ms"
"#;
    let b = boot(config, clock()).await;
    b.engine
        .trigger(&task("until"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let runs = wait_runs(&b.engine, "until", "a success", |r| {
        r.iter().any(|x| x.end_reason == Some(EndReason::Success))
    })
    .await;
    let reasons: Vec<_> = runs.iter().map(|r| r.end_reason).collect();
    assert_eq!(
        reasons,
        [
            Some(EndReason::Failed),
            Some(EndReason::Failed),
            Some(EndReason::Success)
        ]
    );
    assert_eq!(runs[1].triggered_by, TriggeredBy::Restart);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(harness::runs(&b.engine, "until").len(), 3);
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_stops() {
    let config = r#"
[tasks.nightly]
run = "true"
cron = "0 4 * * *"
api_trigger = false

[tasks.long]
run = "sleep 30"

[services.web]
run = "sleep 30"
"#;
    let b = boot(config, clock()).await;
    let e = &b.engine;
    assert!(matches!(
        e.trigger(&task("nightly"), TriggerRequest::by(TriggeredBy::Api))
            .await,
        Err(TriggerError::Forbidden)
    ));
    assert_eq!(
        e.trigger(&task("nightly"), TriggerRequest::by(TriggeredBy::Api))
            .await
            .unwrap_err()
            .to_string(),
        "API triggering disabled for this task"
    );
    assert!(matches!(
        e.trigger(&task("web"), TriggerRequest::by(TriggeredBy::Api))
            .await,
        Err(TriggerError::IsService(_))
    ));
    assert!(matches!(
        e.trigger(&task("nope"), TriggerRequest::by(TriggeredBy::Api))
            .await,
        Err(TriggerError::NotFound(_))
    ));
    // A hostile name never reaches the engine: it takes only validated names.
    assert!(runwisp::engine::model::TaskName::parse("../x").is_err());
    // Extra environment is checked: runwisp's own names and malformed ones are refused.
    for (bad, value) in [
        ("RUNWISP_RUN_ID", "x"),
        ("1X", "x"),
        ("A-B", "x"),
        ("", "x"),
        ("PATH", "/tmp"),
        ("LD_PRELOAD", "/tmp/x.so"),
        ("BASH_ENV", "/tmp/x"),
        ("REF", "nul\0byte"),
    ] {
        let mut request = TriggerRequest::by(TriggeredBy::Api);
        request.env.insert(bad.to_string(), value.to_string());
        assert!(
            matches!(
                e.trigger(&task("long"), request).await,
                Err(TriggerError::BadEnv(_))
            ),
            "{bad:?}"
        );
    }

    let running = e
        .trigger(&task("long"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let queued = e
        .trigger(&task("long"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    wait_runs(e, "long", "running", |r| r[0].status == RunStatus::Running).await;
    e.stop_run(queued.id).await.unwrap();
    let runs = wait_runs(e, "long", "queued run stopped", |r| {
        r[1].status == RunStatus::Ended
    })
    .await;
    assert_eq!(
        (runs[1].end_reason, runs[1].exit_code),
        (Some(EndReason::Stopped), Some(-1))
    );
    e.stop_run(running.id).await.unwrap();
    let runs = wait_runs(e, "long", "running run stopped", |r| ended(r) == 2).await;
    assert_eq!(runs[0].end_reason, Some(EndReason::Stopped));
    assert!(matches!(
        e.stop_run(running.id).await,
        Err(StopError::AlreadyEnded(_))
    ));
    assert!(matches!(
        e.stop_run(RunId::new()).await,
        Err(StopError::NotFound(_))
    ));
    e.shutdown().await;
}

/// A trigger's extra environment reaches its run, also when the run waited in the queue, and
/// never another run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triggers_environment_reaches_its_run_through_the_queue() {
    let b = boot(
        "[tasks.show]\nrun = \"sleep 0.2; echo ref=$DEPLOY_REF\"\nmax_concurrent = 1\n",
        clock(),
    )
    .await;
    let with = |value: &str| {
        let mut request = TriggerRequest::by(TriggeredBy::Api);
        request.env.insert("DEPLOY_REF".into(), value.into());
        request
    };
    let first = b.engine.trigger(&task("show"), with("v1")).await.unwrap();
    let second = b
        .engine
        .trigger(&task("show"), with("v2 'quoted' $(nope)"))
        .await
        .unwrap();
    let plain = b
        .engine
        .trigger(&task("show"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    wait_runs(&b.engine, "show", "all three ended", |r| ended(r) == 3).await;
    let log = |id: &RunId| {
        std::fs::read_to_string(b.dir.path().join(format!("data/logs/show/{id}.log"))).unwrap()
    };
    assert_eq!(log(&first.id), "ref=v1\n");
    assert_eq!(
        log(&second.id),
        "ref=v2 'quoted' $(nope)\n",
        "a value is data, never code"
    );
    assert_eq!(log(&plain.id), "ref=\n");
    b.engine.shutdown().await;
}
