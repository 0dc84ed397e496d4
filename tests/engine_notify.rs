//! Notifications at the engine: run events become in-app rows and outbound deliveries by the
//! rules of `notifications.md` (coalescing, notify_after_failures, recovery, giving up), with a
//! real engine, real processes and real SQLite. Sending to real receivers is tested in
//! `notify_channels.rs` and, through the daemon, in `notify_daemon.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/engine.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::*;
use runwisp::engine::clock::SystemClock;
use runwisp::engine::model::{NotifyKind, TriggeredBy};
use runwisp::engine::notify::{Delivery, DeliveryResult, Notification};
use runwisp::engine::{Engine, TriggerRequest};

const HOOK: &str =
    "[[notifier]]\nid = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\n";

/// Runs `name` once to its end.
async fn run_once(engine: &Engine, name: &str) {
    let run = engine
        .trigger(&task(name), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    engine.wait_ended(run.id).await.unwrap().expect("ended");
}

/// Waits until the bell shows what `done` wants.
async fn bell_until(
    engine: &Engine,
    what: &str,
    done: impl Fn(&[Notification]) -> bool,
) -> Vec<Notification> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = engine.notifications(false, None, 100).await.unwrap();
        if done(&rows) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the bell shows {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Takes every pending delivery of `notifier` (marking each sent), oldest first.
async fn drain(engine: &Engine, notifier: &str) -> Vec<Delivery> {
    let mut out = Vec::new();
    while let Some(d) = engine.next_delivery(notifier).await.unwrap() {
        engine
            .delivery_done(&d, DeliveryResult::Sent)
            .await
            .unwrap();
        out.push(d);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_failures_in_one_window_are_one_row_and_three_messages() {
    let config = format!(
        "{HOOK}[tasks.flaky]\nrun = \"echo broken pipe >&2; exit 3\"\nnotify_on_failure = [\"hook\"]\n"
    );
    let b = boot(&config, Arc::new(SystemClock)).await;
    for _ in 0..25 {
        run_once(&b.engine, "flaky").await;
    }
    let rows = bell_until(&b.engine, "25 failures counted", |rows| {
        rows.first().is_some_and(|r| r.count == 25)
    })
    .await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(row.kind, NotifyKind::RunFailed);
    assert_eq!(row.title, "flaky failed (exit 3)");
    assert!(
        row.body.contains("Last output:\nbroken pipe"),
        "{}",
        row.body
    );
    assert!(row.body.contains("Trigger: api"), "{}", row.body);
    assert_eq!(
        row.occurrences.len(),
        10,
        "occurrence_ring keeps the newest 10"
    );
    let sent = drain(&b.engine, "hook").await;
    let counts: Vec<u32> = sent.iter().map(|d| d.outgoing.count).collect();
    assert_eq!(counts, [1, 10, 20], "the first at once, then every 10th");
    assert!(sent[1]
        .outgoing
        .title
        .starts_with("flaky failed (exit 3) (10 times in "));
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_after_failures_is_quiet_until_the_third_and_recovery_follows() {
    let config = format!(
        "{HOOK}[notify]\ncoalesce_window = \"0s\"\n\n[tasks.fetch]\nrun = \"test -f ok || exit 1\"\nnotify_on_failure = [\"hook\"]\nnotify_after_failures = 3\n"
    );
    let b = boot(&config, Arc::new(SystemClock)).await;
    for _ in 0..2 {
        run_once(&b.engine, "fetch").await;
    }
    bell_until(&b.engine, "two failures in the bell", |rows| {
        rows.len() == 2
    })
    .await;
    assert!(drain(&b.engine, "hook").await.is_empty(), "quiet for two");
    run_once(&b.engine, "fetch").await;
    bell_until(&b.engine, "the third failure", |rows| rows.len() == 3).await;
    let third = drain(&b.engine, "hook").await;
    assert_eq!(third.len(), 1, "the third failure speaks");
    assert_eq!(third[0].outgoing.kind, NotifyKind::RunFailed);

    std::fs::write(b.dir.path().join("ok"), "").unwrap();
    run_once(&b.engine, "fetch").await;
    let rows = bell_until(&b.engine, "the recovery", |rows| {
        rows.iter().any(|r| r.kind == NotifyKind::RunRecovered)
    })
    .await;
    let recovered = rows
        .iter()
        .find(|r| r.kind == NotifyKind::RunRecovered)
        .unwrap();
    assert!(
        recovered
            .title
            .starts_with("fetch recovered after 3 failures over "),
        "{}",
        recovered.title
    );
    assert!(
        !rows.iter().any(|r| r.kind == NotifyKind::RunSucceeded),
        "a success nobody asked for stays out of the bell"
    );
    let told = drain(&b.engine, "hook").await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0].outgoing.kind, NotifyKind::RunRecovered);
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_fails_for_good_says_so_in_the_bell_only() {
    let config = format!("{HOOK}[tasks.bad]\nrun = \"exit 2\"\nnotify_on_failure = [\"hook\"]\n");
    let b = boot(&config, Arc::new(SystemClock)).await;
    run_once(&b.engine, "bad").await;
    bell_until(&b.engine, "the failure", |rows| rows.len() == 1).await;
    let d = b
        .engine
        .next_delivery("hook")
        .await
        .unwrap()
        .expect("queued");
    // A retry is scheduled later, within the budget.
    b.engine
        .delivery_done(
            &d,
            DeliveryResult::Retry {
                after: Some(Duration::from_secs(2)),
                reason: "webhook answered 429 Too Many Requests".into(),
            },
        )
        .await
        .unwrap();
    let again = b
        .engine
        .next_delivery("hook")
        .await
        .unwrap()
        .expect("still pending");
    assert_eq!(again.id, d.id);
    assert!(
        again.next_at - d.next_at >= 2_000,
        "Retry-After is honoured"
    );
    b.engine
        .delivery_done(
            &again,
            DeliveryResult::Failed {
                reason: "webhook answered 404 Not Found".into(),
            },
        )
        .await
        .unwrap();
    let rows = bell_until(&b.engine, "the given-up delivery", |rows| {
        rows.iter().any(|r| r.kind == NotifyKind::DeliveryFailed)
    })
    .await;
    let failed = rows
        .iter()
        .find(|r| r.kind == NotifyKind::DeliveryFailed)
        .unwrap();
    assert_eq!(failed.title, "a notification to hook failed");
    assert!(failed.body.contains("404 Not Found"), "{}", failed.body);
    assert!(
        b.engine.next_delivery("hook").await.unwrap().is_none(),
        "never sent back to the channel that failed"
    );
    // Read state.
    assert_eq!(b.engine.unread_notifications().await.unwrap(), 2);
    let read = b
        .engine
        .mark_notification_read(failed.id.clone())
        .await
        .unwrap()
        .expect("marked");
    assert!(read.read_at.is_some());
    assert_eq!(b.engine.unread_notifications().await.unwrap(), 1);
    assert_eq!(b.engine.mark_all_notifications_read().await.unwrap(), 1);
    assert_eq!(b.engine.unread_notifications().await.unwrap(), 0);
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bell_survives_a_restart_and_keeps_counting() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[tasks.bad]\nrun = \"exit 4\"\n";
    let engine = boot_in(dir.path(), config, Arc::new(SystemClock)).await;
    run_once(&engine, "bad").await;
    bell_until(&engine, "the first failure", |rows| rows.len() == 1).await;
    engine.shutdown().await;
    drop(engine);
    let engine = boot_in(dir.path(), config, Arc::new(SystemClock)).await;
    run_once(&engine, "bad").await;
    let rows = bell_until(&engine, "the second failure", |rows| {
        rows.first().is_some_and(|r| r.count == 2)
    })
    .await;
    assert_eq!(rows.len(), 1, "folded into the open row, counted once each");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_stays_down_is_given_up_after_five_minutes() {
    use runwisp::engine::clock::FakeClock;
    let clock = FakeClock::at("2026-12-06T03:00:00Z".parse().unwrap());
    let config = format!("{HOOK}[tasks.bad]\nrun = \"exit 2\"\nnotify_on_failure = [\"hook\"]\n");
    let b = boot(&config, Arc::new(clock.clone())).await;
    run_once(&b.engine, "bad").await;
    bell_until(&b.engine, "the failure", |rows| rows.len() == 1).await;
    let down = || DeliveryResult::Retry {
        after: None,
        reason: "could not connect to 127.0.0.1: connection refused".into(),
    };
    let mut attempts = 0;
    while let Some(d) = b.engine.next_delivery("hook").await.unwrap() {
        attempts += 1;
        assert!(attempts < 20, "the back-off doubles up to a minute");
        clock.set(jiff::Timestamp::from_millisecond(d.next_at).unwrap());
        b.engine.delivery_done(&d, down()).await.unwrap();
    }
    // Tried at 0, 1, 3, 7, 15, 31, 63, 123, 183 and 243 s: the next would fall past 5 minutes.
    assert_eq!(attempts, 10);
    let rows = bell_until(&b.engine, "the given-up delivery", |rows| {
        rows.iter().any(|r| r.kind == NotifyKind::DeliveryFailed)
    })
    .await;
    let failed = rows
        .iter()
        .find(|r| r.kind == NotifyKind::DeliveryFailed)
        .unwrap();
    assert!(
        failed
            .body
            .contains("gave up after 10 attempt(s) over 5 minutes; the last: could not connect"),
        "{}",
        failed.body
    );
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_one_window_the_third_failure_still_speaks_and_a_failure_after_a_recovery_is_news() {
    // The default coalesce_window (1h): every failure folds into one open row.
    let config = format!(
        "{HOOK}[[notifier]]\nid = \"quiet\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/quiet\"\n\n\
         [tasks.fetch]\nrun = \"test -f ok || exit 1\"\nnotify_on_failure = [\"hook\"]\nnotify_after_failures = 3\n\n\
         [tasks.other]\nrun = \"test -f ok || exit 1\"\nnotify_on_failure = [\"quiet\"]\nnotify_after_failures = 3\n"
    );
    let b = boot(&config, Arc::new(SystemClock)).await;
    let count = |n: u32| move |rows: &[Notification]| rows.iter().any(|r| r.count == n);
    for n in 1..=2 {
        run_once(&b.engine, "fetch").await;
        bell_until(&b.engine, "a quiet failure", count(n)).await;
    }
    assert!(drain(&b.engine, "hook").await.is_empty(), "quiet for two");
    run_once(&b.engine, "fetch").await;
    bell_until(&b.engine, "the third failure", count(3)).await;
    let third = drain(&b.engine, "hook").await;
    assert_eq!(
        third.len(),
        1,
        "the third failure speaks although its row is open"
    );
    assert_eq!(third[0].outgoing.kind, NotifyKind::RunFailed);

    // A recovery goes only to who heard: `other` failed twice, quietly.
    for _ in 0..2 {
        run_once(&b.engine, "other").await;
    }
    std::fs::write(b.dir.path().join("ok"), "").unwrap();
    run_once(&b.engine, "other").await;
    run_once(&b.engine, "fetch").await;
    bell_until(&b.engine, "both recoveries", |rows| {
        rows.iter()
            .filter(|r| r.kind == NotifyKind::RunRecovered)
            .count()
            == 2
    })
    .await;
    assert!(
        drain(&b.engine, "quiet").await.is_empty(),
        "a recovery is not sent to a channel that never heard the failures"
    );
    let told = drain(&b.engine, "hook").await;
    assert_eq!(
        told.iter().map(|d| d.outgoing.kind).collect::<Vec<_>>(),
        [NotifyKind::RunRecovered],
        "told of the third failure already: no summary of it, only the recovery"
    );

    // The next failure is news again, not a repeat folded into the old row.
    std::fs::remove_file(b.dir.path().join("ok")).unwrap();
    for _ in 0..3 {
        run_once(&b.engine, "fetch").await;
    }
    let rows = bell_until(&b.engine, "a new failure row, counted to 3", |rows| {
        rows.iter()
            .filter(|r| r.kind == NotifyKind::RunFailed && r.task.as_deref() == Some("fetch"))
            .map(|r| r.count)
            .collect::<Vec<_>>()
            == [3, 3]
    })
    .await;
    assert!(rows
        .iter()
        .any(|r| r.kind == NotifyKind::RunFailed && r.read_at.is_none()));
    let again = drain(&b.engine, "hook").await;
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].outgoing.kind, NotifyKind::RunFailed);
    b.engine.shutdown().await;
}

/// A run refused because the data disk is below `[storage] min_free_space` is `run.missed`
/// (not `run.failed`), and the disk itself is a `log.disk_pressure` notice: the operator hears
/// why nothing ran, and of the disk, in the bell (README, "Missed runs").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_refused_for_disk_space_is_missed_and_raises_disk_pressure() {
    // No disk has a thousand terabytes free: every run is refused before it starts.
    let config = "[storage]\nmin_free_space = \"1000tb\"\n\n[tasks.nightly]\nrun = \"true\"\n";
    let b = boot(config, Arc::new(SystemClock)).await;
    let run = b
        .engine
        .trigger(&task("nightly"), TriggerRequest::by(TriggeredBy::Api))
        .await
        .unwrap();
    let ended = b.engine.wait_ended(run.id).await.unwrap().expect("ended");
    assert_eq!(ended.start_at, None, "never started: {ended:#?}");
    let message = ended.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("not started: the data disk has") && message.contains("min_free_space"),
        "{message}"
    );
    let rows = bell_until(&b.engine, "a missed run and the disk's pressure", |rows| {
        rows.len() >= 2
    })
    .await;
    let kinds: Vec<NotifyKind> = rows.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&NotifyKind::RunMissed), "{rows:#?}");
    assert!(kinds.contains(&NotifyKind::LogDiskPressure), "{rows:#?}");
    assert!(!kinds.contains(&NotifyKind::RunFailed), "{rows:#?}");
    let missed = rows
        .iter()
        .find(|r| r.kind == NotifyKind::RunMissed)
        .unwrap();
    assert_eq!(missed.run_id.as_deref(), Some(run.id.to_string().as_str()));
    assert_eq!(
        missed.title,
        "nightly did not start: the data disk is nearly full"
    );
    b.engine.shutdown().await;
}
