//! The scheduler with a fake clock: a day of `*/15` firings, daylight-saving days in two zones,
//! each catch-up policy after a 3-day outage, and wall-clock jumps forward and backward.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

#[path = "common/engine.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::*;
use jiff::Timestamp;
use runwisp::engine::clock::{Clock, FakeClock};
use runwisp::engine::model::{EndReason, NotifyKind, RunKind, RunStatus, TriggeredBy};
use runwisp::engine::store::{NewRun, Store};

/// Advances the clock `step` at a time until `end`, waiting after each step until the task has
/// as many runs as its schedule has instants since `boot`, so no two instants land in one
/// wake-up.
async fn walk(
    engine: &runwisp::engine::Engine,
    clock: &FakeClock,
    task: &str,
    boot: Timestamp,
    end: Timestamp,
    step: Duration,
) {
    let name = runwisp::engine::model::TaskName::parse(task).unwrap();
    let spec = &engine.config().tasks[&name];
    let schedule = spec.cron.as_ref().expect("a scheduled task");
    let mut expected = 0;
    let mut cursor = boot;
    while clock.now() < end {
        clock.advance(step);
        while let Some(t) = schedule
            .next_after(cursor, &spec.timezone)
            .filter(|t| *t <= clock.now())
        {
            expected += 1;
            cursor = t;
        }
        wait_runs(engine, task, "the firing", |r| r.len() >= expected).await;
    }
}

async fn boot_at(config: &str, start: &str) -> (Booted, FakeClock) {
    let clock = FakeClock::at(ts(start));
    let booted = boot(config, Arc::new(clock.clone())).await;
    (booted, clock)
}

fn instants(runs: &[runwisp::engine::model::Run]) -> Vec<String> {
    runs.iter().map(|r| at(r).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_quarter_hours_fires_96_times_once_each() {
    let (b, clock) = boot_at(
        "[tasks.q]\ncron = \"*/15 * * * *\"\ntimezone = \"UTC\"\nrun = \"true\"\n",
        "2025-06-01T00:00:00Z",
    )
    .await;
    walk(
        &b.engine,
        &clock,
        "q",
        ts("2025-06-01T00:00:00Z"),
        ts("2025-06-02T00:00:00Z"),
        Duration::from_secs(300),
    )
    .await;
    let runs = wait_runs(&b.engine, "q", "96 ended runs", |r| ended(r) == 96).await;
    assert_eq!(runs.len(), 96);
    assert!(runs.iter().all(|r| r.triggered_by == TriggeredBy::Cron));
    assert_eq!(at(&runs[0]), ts("2025-06-01T00:15:00Z"));
    assert_eq!(at(&runs[95]), ts("2025-06-02T00:00:00Z"));
    for pair in runs.windows(2) {
        assert_eq!(at(&pair[1]).duration_since(at(&pair[0])).as_secs(), 900);
    }
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_york_spring_forward_day() {
    let config = r#"
[tasks.wall]
cron = "*/30 * * * *"
timezone = "America/New_York"
run = "true"

[tasks.pinned]
cron = "30 2 * * *"
timezone = "America/New_York"
run = "true"
"#;
    // Midnight to midnight local on 2025-03-09 (EST then EDT): a 23-hour day.
    let (b, clock) = boot_at(config, "2025-03-09T05:00:00Z").await;
    walk(
        &b.engine,
        &clock,
        "wall",
        ts("2025-03-09T05:00:00Z"),
        ts("2025-03-10T04:00:00Z"),
        Duration::from_secs(600),
    )
    .await;
    let wall = wait_runs(&b.engine, "wall", "46 runs", |r| r.len() == 46).await;
    let wall_instants = instants(&wall);
    // Around the gap: 01:00 and 01:30 EST, then straight to 03:00 and 03:30 EDT (02:00 and
    // 02:30 do not exist), each exactly once.
    assert_eq!(
        wall_instants[1..5],
        [
            "2025-03-09T06:00:00Z",
            "2025-03-09T06:30:00Z",
            "2025-03-09T07:00:00Z",
            "2025-03-09T07:30:00Z"
        ],
        "{wall_instants:?}"
    );
    let mut unique = wall_instants.clone();
    unique.dedup();
    assert_eq!(unique.len(), 46, "no instant fires twice");
    let pinned = wait_runs(&b.engine, "pinned", "one run", |r| r.len() == 1).await;
    assert_eq!(
        instants(&pinned),
        ["2025-03-09T07:00:00Z"],
        "02:30 does not exist: fires once at 03:00 EDT"
    );
    b.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lord_howe_fall_back_day() {
    let config = r#"
[tasks.wall]
cron = "*/15 * * * *"
timezone = "Australia/Lord_Howe"
run = "true"

[tasks.pinned]
cron = "45 1 * * *"
timezone = "Australia/Lord_Howe"
run = "true"
"#;
    // 2025-04-06 local day: 00:00 +11:00 to 24:00 +10:30, 24.5 hours long.
    let (b, clock) = boot_at(config, "2025-04-05T13:00:00Z").await;
    walk(
        &b.engine,
        &clock,
        "wall",
        ts("2025-04-05T13:00:00Z"),
        ts("2025-04-06T13:30:00Z"),
        Duration::from_secs(300),
    )
    .await;
    let wall = wait_runs(&b.engine, "wall", "98 runs", |r| r.len() == 98).await;
    let at_0130: Vec<String> = wall
        .iter()
        .map(|r| {
            at(r)
                .to_zoned(jiff::tz::TimeZone::get("Australia/Lord_Howe").unwrap())
                .strftime("%H:%M%:z")
                .to_string()
        })
        .filter(|t| t.starts_with("01:30"))
        .collect();
    assert_eq!(
        at_0130,
        ["01:30+11:00", "01:30+10:30"],
        "a repeated wall-clock time fires twice"
    );
    let pinned = wait_runs(&b.engine, "pinned", "one run", |r| r.len() == 1).await;
    assert_eq!(
        instants(&pinned),
        ["2025-04-05T14:45:00Z"],
        "01:45 fires at its first occurrence only"
    );
    b.engine.shutdown().await;
}

/// Records a past cron run, as a daemon that ran before an outage would have.
fn seed_last_run(dir: &std::path::Path, task: &str, scheduled: &str) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let store = Store::open(&dir.join("data/runwisp.db")).unwrap();
    let t = ts(scheduled).as_millisecond();
    let run = NewRun {
        scheduled_for: Some(t),
        ..NewRun::new(
            runwisp::engine::model::TaskName::parse(task).unwrap(),
            RunKind::Task,
            TriggeredBy::Cron,
            t,
        )
    };
    store.insert_run(&run).unwrap();
    store
        .finish_run(
            &run.id,
            runwisp::engine::model::EndReason::Success,
            Some(0),
            t,
            Some("seeded"),
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_after_a_three_day_outage() {
    let config = r#"
[scheduler]
timezone = "UTC"

[tasks.latest]
cron = "0 * * * *"
run = "true"

[tasks.all]
cron = "0 * * * *"
catch_up = "all"
max_catch_up_runs = 10
queue_max = 100
run = "true"

[tasks.skip]
cron = "0 * * * *"
catch_up = "skip"
run = "true"

[tasks.fresh]
cron = "0 * * * *"
run = "true"
"#;
    let dir = tempfile::tempdir().unwrap();
    for task in ["latest", "all", "skip"] {
        seed_last_run(dir.path(), task, "2025-06-01T00:00:00Z");
    }
    // 72 hourly firings were missed; the daemon comes back at 2025-06-04T00:30Z.
    let clock = FakeClock::at(ts("2025-06-04T00:30:00Z"));
    let engine = boot_in(dir.path(), config, Arc::new(clock.clone())).await;

    let latest = wait_runs(&engine, "latest", "one catch-up run", |r| ended(r) == 2).await;
    assert_eq!(latest[1].triggered_by, TriggeredBy::CatchUp);
    assert_eq!(at(&latest[1]), ts("2025-06-04T00:00:00Z"));

    let all = wait_runs(&engine, "all", "ten catch-up runs", |r| ended(r) == 11).await;
    let caught: Vec<Timestamp> = all[1..].iter().map(at).collect();
    let expected: Vec<Timestamp> = (0..10)
        .map(|h| ts("2025-06-03T15:00:00Z") + jiff::SignedDuration::from_hours(h))
        .collect();
    assert_eq!(caught, expected, "the newest 10, oldest first");
    assert!(all[1..]
        .iter()
        .all(|r| r.triggered_by == TriggeredBy::CatchUp));

    // skip and a task the daemon never saw before fire nothing until the next hour.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs(&engine, "skip").len(), 1);
    assert_eq!(runs(&engine, "fresh").len(), 0);
    clock.set(ts("2025-06-04T01:00:00Z"));
    for task in ["skip", "fresh"] {
        let r = wait_runs(&engine, task, "the next hourly firing", |r| {
            r.iter()
                .any(|x| x.scheduled_for == Some(ts("2025-06-04T01:00:00Z").as_millisecond()))
        })
        .await;
        assert_eq!(r.last().unwrap().triggered_by, TriggeredBy::Cron);
    }
    // What was dropped is told once per task in the bell (`run.missed`), saying what the
    // policy did; `fresh` missed nothing and says nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut told = loop {
        let mut told: Vec<(String, String)> = engine
            .notifications(false, None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == NotifyKind::RunMissed)
            .map(|n| (n.title, n.body))
            .collect();
        if told.len() >= 3 || tokio::time::Instant::now() >= deadline {
            told.sort();
            break told;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let titles: Vec<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        [
            "all missed 72 firing(s) while runwisp was not running",
            "latest missed 72 firing(s) while runwisp was not running",
            "skip missed 72 firing(s) while runwisp was not running",
        ],
        "{told:#?}"
    );
    for (body, says) in told.iter_mut().map(|(_, b)| b).zip([
        "catch_up = \"all\" runs 10 of them, 62 dropped (max_catch_up_runs = 10).",
        "catch_up = \"latest\" runs the most recent one.",
        "catch_up = \"skip\" runs none of them.",
    ]) {
        assert!(body.contains(says), "{body:?} says {says:?}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_clock_jumps() {
    let (b, clock) = boot_at(
        "[tasks.h]\ncron = \"0 * * * *\"\ntimezone = \"UTC\"\nrun = \"true\"\n",
        "2025-06-01T00:00:00Z",
    )
    .await;
    for hour in 1..=3 {
        clock.set(ts("2025-06-01T00:00:00Z") + jiff::SignedDuration::from_hours(hour));
        wait_runs(&b.engine, "h", "hourly run", |r| r.len() == hour as usize).await;
    }
    // Back by an hour and a half: 02:00 and 03:00 already ran and must not run again.
    clock.set(ts("2025-06-01T01:30:00Z"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    for t in [
        "2025-06-01T02:00:00Z",
        "2025-06-01T03:00:00Z",
        "2025-06-01T04:00:00Z",
    ] {
        clock.set(ts(t));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs = wait_runs(&b.engine, "h", "the 04:00 run", |r| r.len() >= 4).await;
    assert_eq!(
        instants(&runs),
        [
            "2025-06-01T01:00:00Z",
            "2025-06-01T02:00:00Z",
            "2025-06-01T03:00:00Z",
            "2025-06-01T04:00:00Z"
        ],
        "nothing fires twice after the clock went back"
    );
    // Forward by five hours: the catch-up policy (latest) runs one, for 09:00.
    clock.set(ts("2025-06-01T09:10:00Z"));
    let runs = wait_runs(&b.engine, "h", "one catch-up run", |r| r.len() == 5).await;
    assert_eq!(runs[4].triggered_by, TriggeredBy::CatchUp);
    assert_eq!(at(&runs[4]), ts("2025-06-01T09:00:00Z"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(harness::runs(&b.engine, "h").len(), 5);
    b.engine.shutdown().await;
}

/// A firing is recorded a moment ahead of its instant and started at the instant, not
/// before; a stop within that moment records it ended, never started, and the next start
/// does not fire that instant again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_is_recorded_ahead_and_started_at_its_instant() {
    let config = "[tasks.h]\ncron = \"0 * * * *\"\ntimezone = \"UTC\"\ncatch_up = \"latest\"\nrun = \"true\"\n";
    let (Booted { engine, dir }, clock) = boot_at(config, "2025-06-01T00:30:00Z").await;
    let ahead = jiff::SignedDuration::from_millis(20);
    let due = ts("2025-06-01T01:00:00Z");
    clock.set(due - ahead);
    let runs = wait_runs(&engine, "h", "the run recorded ahead", |r| r.len() == 1).await;
    assert_eq!(at(&runs[0]), due);
    // Time enough for it to start, were it not held until its instant.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = &harness::runs(&engine, "h")[0];
    assert_eq!(run.status, RunStatus::Pending, "{run:#?}");
    assert_eq!(run.start_at, None);
    assert!(run.created_at < due.as_millisecond());
    clock.set(due);
    let runs = wait_runs(&engine, "h", "the run ended", |r| ended(r) == 1).await;
    assert_eq!(runs[0].end_reason, Some(EndReason::Success), "{runs:#?}");
    assert_eq!(runs[0].start_at, Some(due.as_millisecond()));

    // Stopped within the moment before the next instant.
    let next = ts("2025-06-01T02:00:00Z");
    clock.set(next - ahead);
    wait_runs(&engine, "h", "the next run recorded", |r| r.len() == 2).await;
    engine.shutdown().await;
    let runs = harness::runs(&engine, "h");
    drop(engine);
    assert_eq!(runs[1].status, RunStatus::Ended, "{runs:#?}");
    assert_eq!(runs[1].end_reason, Some(EndReason::Stopped));
    assert_eq!(runs[1].start_at, None);
    assert!(runs[1]
        .message
        .as_deref()
        .is_some_and(|m| m.contains("shut down before this run started")));
    // The next start, after that instant, does not fire it again.
    clock.set(next + jiff::SignedDuration::from_mins(5));
    let engine = boot_in(dir.path(), config, Arc::new(clock.clone())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(harness::runs(&engine, "h").len(), 2);
    engine.shutdown().await;
}
