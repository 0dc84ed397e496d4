//! The lossless lifecycle lane: a consumer sees every change of every run once, in order, and
//! after a restart of the daemon resumes after what it acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/engine.rs"]
mod harness;

use std::sync::Arc;

use harness::*;
use runwisp::engine::clock::SystemClock;
use runwisp::engine::lifecycle::{Change, Consumer, LifecycleEvent};
use runwisp::engine::model::{EndReason, RunId, TriggeredBy};
use runwisp::engine::TriggerRequest;

const CONFIG: &str = "[tasks.ok]\nrun = \"true\"\n\n[tasks.bad]\nrun = \"exit 3\"\n";

/// Reads until `n` events arrived.
async fn read(consumer: &mut Consumer, n: usize) -> Vec<LifecycleEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        let batch =
            tokio::time::timeout(std::time::Duration::from_secs(20), consumer.next_batch(100))
                .await
                .expect("events in time")
                .unwrap();
        assert!(!batch.is_empty(), "the engine stopped early");
        got.extend(batch);
    }
    got
}

fn changes_of(events: &[LifecycleEvent], run: &RunId) -> Vec<Change> {
    events
        .iter()
        .filter(|e| e.run == *run)
        .map(|e| e.change)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_sees_every_change_once_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let e = boot_in(dir.path(), CONFIG, Arc::new(SystemClock)).await;
    let mut consumer = e.lifecycle_consumer("probe").await.unwrap();
    let ok = e
        .trigger(&task("ok"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let bad = e
        .trigger(&task("bad"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let first = read(&mut consumer, 6).await;
    assert_eq!(first.len(), 6, "nothing more: {first:?}");
    assert!(first.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        changes_of(&first, &ok.id),
        [
            Change::Created,
            Change::Started,
            Change::Ended {
                reason: EndReason::Success,
                exit_code: Some(0)
            }
        ]
    );
    assert_eq!(
        changes_of(&first, &bad.id),
        [
            Change::Created,
            Change::Started,
            Change::Ended {
                reason: EndReason::Failed,
                exit_code: Some(3)
            }
        ]
    );
    // Handled up to the fourth; the daemon stops before the rest is acknowledged.
    consumer.ack(first[3].seq).await.unwrap();
    e.shutdown().await;
    drop((consumer, e));
    // The engine's background tasks let go of the data directory's lock as they finish.
    let data = runwisp::engine::datadir::DataDir::open(&dir.path().join("data")).unwrap();
    for _ in 0..500 {
        if data.daemon_holding_lock().unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let e = boot_in(dir.path(), CONFIG, Arc::new(SystemClock)).await;
    let mut consumer = e.lifecycle_consumer("probe").await.unwrap();
    let again = e
        .trigger(&task("ok"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let rest = read(&mut consumer, 5).await;
    assert_eq!(rest.len(), 5, "{rest:?}");
    assert_eq!(
        rest[..2],
        first[4..],
        "the unacknowledged events come again, once"
    );
    assert_eq!(changes_of(&rest, &again.id).len(), 3);
    // A consumer that never read before starts from now, not from all of history.
    let mut fresh = e.lifecycle_consumer("newcomer").await.unwrap();
    let later = e
        .trigger(&task("bad"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let seen = read(&mut fresh, 3).await;
    assert!(seen.iter().all(|ev| ev.run == later.id), "{seen:?}");
    e.shutdown().await;
}

/// Many runs at once, read only afterwards: the lane holds them all, where the broadcast
/// would have made a slow reader miss some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_loses_nothing() {
    let b = boot(
        "[tasks.ok]\nrun = \"true\"\nmax_concurrent = 50\n",
        Arc::new(SystemClock),
    )
    .await;
    let mut consumer = b.engine.lifecycle_consumer("slow").await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(
            b.engine
                .trigger(&task("ok"), TriggerRequest::by(TriggeredBy::Api))
                .await
                .unwrap()
                .id,
        );
    }
    let events = read(&mut consumer, 300).await;
    assert_eq!(events.len(), 300);
    for id in &ids {
        assert_eq!(changes_of(&events, id).len(), 3, "{id}");
    }
    b.engine.shutdown().await;
}

/// A consumer that has read everything sleeps until runs change, and a change wakes it at once:
/// not the 5-second re-check, and not the log lines of a run, which change no run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_up_consumer_wakes_at_the_commit_of_a_change() {
    let b = boot(
        "[tasks.chatty]\nrun = \"for i in $(seq 40); do echo line $i; sleep 0.05; done\"\n\n\
         [tasks.ok]\nrun = \"true\"\n",
        Arc::new(SystemClock),
    )
    .await;
    let mut consumer = b.engine.lifecycle_consumer("waker").await.unwrap();
    let chatty = b
        .engine
        .trigger(&task("chatty"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    // Created and started; then two seconds of output and nothing else in the lane.
    let started = read(&mut consumer, 2).await;
    assert_eq!(
        changes_of(&started, &chatty.id),
        [Change::Created, Change::Started]
    );
    let quiet = tokio::time::timeout(
        std::time::Duration::from_millis(1500),
        consumer.next_batch(100),
    )
    .await;
    assert!(quiet.is_err(), "log lines are not run changes: {quiet:?}");
    let ok = b
        .engine
        .trigger(&task("ok"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let woke = std::time::Instant::now();
    let batch = tokio::time::timeout(std::time::Duration::from_secs(2), consumer.next_batch(100))
        .await
        .expect("a commit wakes the consumer before the 5-second re-check")
        .unwrap();
    assert!(batch.iter().any(|e| e.run == ok.id), "{batch:?}");
    assert!(woke.elapsed() < std::time::Duration::from_secs(2));
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_ended_answers_for_running_and_already_ended_runs() {
    use runwisp::engine::model::RunId;
    let b = boot(
        "[tasks.slow]\nrun = \"sleep 0.3; exit 5\"\n",
        Arc::new(SystemClock),
    )
    .await;
    let run = b
        .engine
        .trigger(&task("slow"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let id = run.id;
    let ended = b.engine.wait_ended(id).await.unwrap().expect("the run");
    assert_eq!(
        (ended.end_reason, ended.exit_code),
        (Some(EndReason::Failed), Some(5))
    );
    // Asked again after the end: answered at once from the record.
    let again = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        b.engine.wait_ended(id),
    )
    .await
    .expect("at once")
    .unwrap();
    assert_eq!(again, Some(ended));
    assert_eq!(b.engine.wait_ended(RunId::new()).await.unwrap(), None);
    b.engine.shutdown().await;
}
