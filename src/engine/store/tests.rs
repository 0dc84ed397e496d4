use super::*;
use crate::engine::model::{EndReason, RunId, RunKind, RunStatus, TaskName, TriggeredBy};

fn new_run(task: &str, scheduled_for: Option<i64>) -> NewRun {
    NewRun {
        scheduled_for,
        ..NewRun::new(
            TaskName::parse(task).unwrap(),
            RunKind::Task,
            TriggeredBy::Cli,
            1_000,
        )
    }
}

#[test]
fn a_run_goes_from_pending_to_ended() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let run = new_run("backup", None);
    store.insert_run(&run).unwrap();
    assert_eq!(
        store.get_run(&run.id).unwrap().unwrap().status,
        RunStatus::Pending
    );
    store.mark_running(&run.id, 2_000, 4242, Some(77)).unwrap();
    let running = store.get_run(&run.id).unwrap().unwrap();
    assert_eq!(
        (running.status, running.pid, running.pid_start_time),
        (RunStatus::Running, Some(4242), Some(77))
    );
    assert_eq!(store.unfinished_runs().unwrap().len(), 1);
    store
        .finish_run(&run.id, EndReason::Failed, Some(3), 3_000, None)
        .unwrap();
    let ended = store.get_run(&run.id).unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Ended);
    assert_eq!(ended.end_reason, Some(EndReason::Failed));
    assert_eq!(ended.exit_code, Some(3));
    assert!(store.unfinished_runs().unwrap().is_empty());
    // Ending twice keeps the first end.
    store
        .finish_run(&run.id, EndReason::Crashed, Some(-2), 4_000, None)
        .unwrap();
    assert_eq!(
        store.get_run(&run.id).unwrap().unwrap().end_reason,
        Some(EndReason::Failed)
    );
}

#[test]
fn one_firing_never_yields_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    store.insert_run(&new_run("backup", Some(60_000))).unwrap();
    let err = store
        .insert_run(&new_run("backup", Some(60_000)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    // Manual runs have no scheduled_for and never collide.
    store.insert_run(&new_run("backup", None)).unwrap();
    store.insert_run(&new_run("backup", None)).unwrap();
    store.insert_run(&new_run("other", Some(60_000))).unwrap();
    assert_eq!(store.list_runs(Some("backup"), 10).unwrap().len(), 3);
    assert_eq!(store.list_runs(None, 10).unwrap().len(), 4);
}

#[test]
fn history_survives_reopening_and_migrations_are_not_reapplied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runwisp.db");
    let run = new_run("backup", None);
    {
        let store = Store::open(&path).unwrap();
        store.insert_run(&run).unwrap();
        assert_eq!(
            store
                .meta_get_or_insert("fingerprint", "misty-river")
                .unwrap(),
            "misty-river"
        );
    }
    let store = Store::open(&path).unwrap();
    assert!(store.get_run(&run.id).unwrap().is_some());
    assert_eq!(
        store.meta_get_or_insert("fingerprint", "other").unwrap(),
        "misty-river"
    );
    let mode: String = store
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runwisp.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path).err().expect("must refuse");
    assert!(
        err.to_string().contains("written by a newer runwisp"),
        "{err}"
    );
}

#[test]
fn queries_filter_and_page_newest_first() {
    use crate::engine::history::RunQuery;
    use crate::engine::model::TaskName;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let mut run = new_run(if i % 2 == 0 { "even" } else { "odd" }, None);
        if i == 4 {
            run.triggered_by = TriggeredBy::Api;
        }
        store.insert_run(&run).unwrap();
        if i < 3 {
            store
                .finish_run(&run.id, EndReason::Success, Some(0), 5, None)
                .unwrap();
        }
        ids.push(run.id);
    }
    let even = TaskName::parse("even").unwrap();
    let page = store
        .query_runs(&RunQuery {
            task: Some(even.clone()),
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
        [ids[8].to_string(), ids[6].to_string()]
    );
    let next = store
        .query_runs(&RunQuery {
            task: Some(even),
            before: Some(ids[6]),
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        next.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
        [ids[4].to_string(), ids[2].to_string()]
    );
    let ended = store
        .query_runs(&RunQuery {
            status: Some(RunStatus::Ended),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ended.len(), 3);
    let api = store
        .query_runs(&RunQuery {
            triggered_by: Some(TriggeredBy::Api),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(api.len(), 1);
    let success = store
        .query_runs(&RunQuery {
            end_reason: Some(EndReason::Success),
            limit: Some(5000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(success.len(), 3);
}

#[test]
fn concurrent_writes_each_get_their_own_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let earlier = new_run("backup", None);
    store.insert_run(&earlier).unwrap();
    let fresh: Vec<NewRun> = (0..20).map(|i| new_run("fresh", Some(i))).collect();
    let same: Vec<NewRun> = (0..5).map(|_| new_run("same", Some(7))).collect();
    let (fresh_ok, same_ok, same_dup) = std::thread::scope(|scope| {
        // Holding the connection makes the writers pile up into one batch behind the first.
        let held = store.conn();
        let fresh: Vec<_> = fresh
            .iter()
            .map(|r| scope.spawn(|| store.insert_run(r)))
            .collect();
        let same: Vec<_> = same
            .iter()
            .map(|r| scope.spawn(|| store.insert_run(r)))
            .collect();
        let end = scope.spawn(|| {
            store.mark_running(&earlier.id, 2_000, 42, None)?;
            store.finish_run(&earlier.id, EndReason::Success, Some(0), 3_000, None)
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        end.join().unwrap().unwrap();
        let fresh_ok = fresh
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(Result::is_ok)
            .count();
        let same: Vec<_> = same.into_iter().map(|h| h.join().unwrap()).collect();
        let dup = same
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Duplicate { .. })))
            .count();
        (fresh_ok, same.iter().filter(|r| r.is_ok()).count(), dup)
    });
    assert_eq!((fresh_ok, same_ok, same_dup), (20, 1, 4));
    assert_eq!(store.list_runs(Some("fresh"), 100).unwrap().len(), 20);
    assert_eq!(store.list_runs(Some("same"), 100).unwrap().len(), 1);
    let ended = store.get_run(&earlier.id).unwrap().unwrap();
    assert_eq!(
        (ended.status, ended.end_reason, ended.pid),
        (RunStatus::Ended, Some(EndReason::Success), Some(42))
    );
    // Every change is committed: a second connection sees them all.
    let other = Store::open(store.path()).unwrap();
    assert_eq!(other.list_runs(None, 100).unwrap().len(), 22);
}

/// A queued or refused run is answered from memory (`NewRun::as_pending`, `as_refused`), not
/// from its row: the two must read alike, with every field a run can be recorded with set.
#[test]
fn a_new_run_as_pending_or_refused_reads_as_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let plain = new_run("plain", None);
    let full = NewRun {
        scheduled_for: Some(60_000),
        retry_attempt: 2,
        retry_of_run_id: Some(plain.id),
        replica_index: Some(3),
        parent: Some((plain.id, "build".into())),
        resume_of: Some(plain.id),
        ..new_run("full", None)
    };
    for new in [&plain, &full] {
        store.insert_run(new).unwrap();
        let row = store.get_run(&new.id).unwrap().unwrap();
        assert_eq!(new.as_pending(), row);
        // Refused at once: ended without a start, as `fire` answers it.
        let message = "queue full: 2 firings already waiting (queue_max = 2)";
        let (reason, end_at) = (EndReason::QueueFull, new.created_at + 5);
        store
            .finish_run(&new.id, reason, Some(-1), end_at, Some(message))
            .unwrap();
        let row = store.get_run(&new.id).unwrap().unwrap();
        assert_eq!(new.as_refused(reason, end_at, message.into()), row);
    }
}

#[test]
fn a_start_leaves_the_connection_synced_and_queued_changes_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let synchronous = |store: &Store| -> i64 {
        store
            .conn()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    };
    let (a, b) = (new_run("a", None), new_run("b", None));
    store.insert_run(&a).unwrap();
    store.insert_run(&b).unwrap();
    assert_eq!(synchronous(&store), 2);
    // A start alone commits with NORMAL (group.rs tests which batches do), and the connection
    // is left at FULL for the writes that bypass the batches (retention, anchors, the secret).
    store.mark_running(&a.id, 2_000, 41, None).unwrap();
    assert_eq!(synchronous(&store), 2, "left at FULL after a start");

    // The end of `a` queued before the start of `b`: whoever waits first commits both, in
    // that order, and the batch holds an end, so it is synced.
    let end = store.submit_finish(&a.id, EndReason::Success, Some(0), 3_000, None);
    let start = store.submit_start(&b.id, 3_000, 42, None);
    store.wait(start).unwrap();
    assert_eq!(synchronous(&store), 2);
    assert_eq!(
        store.get_run(&a.id).unwrap().unwrap().status,
        RunStatus::Ended,
        "the end queued first was committed with the start queued after it"
    );
    store.wait(end).unwrap();
    assert_eq!(
        store.get_run(&b.id).unwrap().unwrap().status,
        RunStatus::Running
    );
}

/// 200 writers waiting without threads (as 200 tasks due at once do) and one blocking writer
/// among them: every change is committed with its own result, a second run for the same firing
/// is refused alone, and the leading ends with the queue, so later writers are served too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_writers_share_commits_and_each_gets_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("runwisp.db")).unwrap());
    let runs: Vec<NewRun> = (0..200)
        .map(|i| new_run(&format!("t{}", i % 20), Some(i64::from(i))))
        .collect();
    let twin = NewRun {
        id: RunId::new(),
        ..runs[7].clone()
    };
    let mut writers = tokio::task::JoinSet::new();
    for run in runs.iter().chain([&twin]) {
        let (store, pending) = (store.clone(), store.submit_insert(run));
        writers.spawn(async move { store.committed(pending).await });
    }
    let blocking = {
        let (store, run) = (store.clone(), new_run("blocking", None));
        tokio::task::spawn_blocking(move || store.insert_run(&run))
    };
    let mut refused = 0;
    while let Some(result) = writers.join_next().await {
        match result.unwrap() {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    blocking.await.unwrap().unwrap();
    assert_eq!(refused, 1, "only the second run of one firing is refused");
    for run in &runs {
        assert!(store.get_run(&run.id).unwrap().is_some());
    }
    // Nobody leads once the queue is empty: a writer arriving later is served all the same.
    let late = new_run("late", None);
    store.committed(store.submit_insert(&late)).await.unwrap();
    assert_eq!(
        store.get_run(&late.id).unwrap().unwrap().status,
        RunStatus::Pending
    );
    // The leader may still be waiting for more (it lingers a moment after the queue empties):
    // a change only queued is committed at the latest with the next one a writer waits for, and
    // a blocking writer arriving meanwhile is served too.
    let queued_only = store.submit_start(&late.id, 1, 4242, None);
    let (other, blocking_run) = (store.clone(), new_run("blocking-late", None));
    tokio::task::spawn_blocking(move || other.insert_run(&blocking_run))
        .await
        .unwrap()
        .unwrap();
    let row = store.get_run(&late.id).unwrap().unwrap();
    assert_eq!((row.status, row.pid), (RunStatus::Running, Some(4242)));
    store.committed(queued_only).await.unwrap();
}

/// A run's start and end are queued in no hurry: while the commit thread lingers for more, they
/// wait for the next change someone hurries (a trigger's row), go with it, and have their
/// `then` run before that writer is answered; a trigger waiting for a start hurries it; alone,
/// they are committed when the linger runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_in_no_hurry_go_with_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("runwisp.db")).unwrap());
    // Long enough that only a bug commits a change in no hurry before it runs out.
    store.set_linger(std::time::Duration::from_secs(2));
    let (a, b, c) = (new_run("a", None), new_run("b", None), new_run("c", None));
    store.committed(store.submit_insert(&a)).await.unwrap();
    store.committed(store.submit_insert(&b)).await.unwrap();
    let status = |id: &RunId| store.get_run(id).unwrap().unwrap().status;

    // The leader lingers after `b` (a change queued while it is still committing goes with its
    // next batch at once): a start in no hurry is not committed on its own.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (told, heard) = std::sync::mpsc::channel();
    let then = |told: std::sync::mpsc::Sender<&'static str>, what| -> Then {
        Box::new(move |result: &Result<()>| {
            assert!(result.is_ok(), "{result:?}");
            let _ = told.send(what);
        })
    };
    store.submit_start_then(&a.id, 1, 4242, None, then(told.clone(), "a started"), false);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(status(&a.id), RunStatus::Pending, "committed in no hurry");
    assert!(heard.try_recv().is_err());

    // The next hurried change takes it along, and its `then` has run when that one returns.
    store.committed(store.submit_insert(&c)).await.unwrap();
    assert_eq!(heard.try_recv(), Ok("a started"));
    assert_eq!(status(&a.id), RunStatus::Running);

    // A trigger waiting for a start hurries it.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    store.submit_start_then(&b.id, 2, 4343, None, then(told.clone(), "b started"), false);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(status(&b.id), RunStatus::Pending);
    store.hurry();
    let waited =
        tokio::task::spawn_blocking(move || heard.recv_timeout(std::time::Duration::from_secs(1)));
    assert_eq!(waited.await.unwrap(), Ok("b started"), "hurried");
    assert_eq!(status(&b.id), RunStatus::Running);

    // A start asked to hurry, and an end in no hurry alone: committed when the linger ends.
    store.submit_start_then(&c.id, 3, 4444, None, then(told, "c started"), true);
    let end = store.submit_finish(&a.id, EndReason::Success, Some(0), 5, None);
    store.committed_lazily(end).await.unwrap();
    assert_eq!(status(&a.id), RunStatus::Ended);
    assert_eq!(status(&c.id), RunStatus::Running);
}

fn failure_notice(key: &str, at: i64, window_ms: i64) -> NoticeWrite {
    NoticeWrite {
        kind: crate::engine::model::NotifyKind::RunFailed,
        task: Some("t".into()),
        run_id: None,
        title: format!("{key} failed"),
        body: String::new(),
        key: key.into(),
        at,
        inapp: true,
        channels: Vec::new(),
        window_ms,
        ring: 10,
    }
}

/// The bell keeps its newest `history_keep` closed rows and none older than
/// `history_keep_for`; a row still open (its window running) is never pruned.
#[test]
fn pruning_keeps_the_newest_closed_notices_and_every_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let payload = |_: &NoticeRow| String::new();
    let record = |notice: NoticeWrite| {
        let now = notice.at;
        store
            .record_notices(NoticeBatch {
                notices: vec![notice],
                payload: &payload,
                streak: None,
                cursor: None,
                now,
                recovered: None,
            })
            .unwrap();
    };
    // The oldest row is still open (a window of an hour); five closed ones follow.
    record(failure_notice("open", 500, 3_600_000));
    for (i, at) in [1000, 2000, 3000, 4000, 5000].into_iter().enumerate() {
        record(failure_notice(&format!("k{i}"), at, 0));
    }
    let titles = || -> Vec<String> {
        let mut t: Vec<String> = store
            .notices(false, None, 100)
            .unwrap()
            .into_iter()
            .map(|n| n.title)
            .collect();
        t.sort();
        t
    };
    // Keep 3: the two oldest closed rows go, the open one stays.
    assert_eq!(store.prune_notices(3, 0).unwrap(), 2);
    assert_eq!(
        titles(),
        ["k2 failed", "k3 failed", "k4 failed", "open failed"]
    );
    // Older than the cut-off goes even among the kept; the open row, older still, stays.
    assert_eq!(store.prune_notices(3, 3500).unwrap(), 1);
    assert_eq!(titles(), ["k3 failed", "k4 failed", "open failed"]);
}

/// A run is read through the second connection: not held up by a commit, which holds the first
/// (and, on a slow disk, its fsync) for as long as it takes.
#[test]
fn a_run_is_read_while_a_commit_holds_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("runwisp.db")).unwrap());
    let run = new_run("backup", None);
    store.insert_run(&run).unwrap();
    let held = store.conn();
    let reader = std::thread::spawn({
        let (store, id) = (store.clone(), run.id);
        move || store.get_run(&id)
    });
    let waited = std::time::Instant::now();
    while !reader.is_finished() && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let finished = reader.is_finished();
    drop(held);
    assert!(finished, "the read waited for the writer");
    let read = reader.join().unwrap().unwrap().expect("the run");
    assert_eq!(read.id, run.id);
    assert_eq!(read.status, RunStatus::Pending);
}
