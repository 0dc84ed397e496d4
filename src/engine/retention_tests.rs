//! Retention on a real store and real files: `keep_runs`, `keep_for`, `[storage] max_size`, and
//! runs that have not ended are never touched, and empty task log folders are removed.

use std::time::Duration;

use super::*;
use crate::engine::config::{Common, LogOnFull};
use crate::engine::model::{EndReason, RunId, RunKind, TriggeredBy};
use crate::engine::store::NewRun;

fn common(name: &TaskName, keep_runs: Option<u32>, keep_for: Option<Duration>) -> Common {
    Common {
        name: name.clone(),
        run: "true".into(),
        description: String::new(),
        group: "Tasks".into(),
        api_trigger: true,
        graceful_stop: Duration::from_secs(5),
        log_max_size: 1 << 20,
        log_on_full: LogOnFull::DropOld,
        keep_runs,
        keep_for,
        notify_on_failure: Vec::new(),
        notify_on_success: Vec::new(),
        notify_after_retries: false,
        notify_after_failures: 1,
        env: Default::default(),
        working_dir: ".".into(),
    }
}

/// Six runs of `task`, ended at 1000, 2000, … ms, each with a log of `size` bytes; the last
/// one is still running.
fn seed(store: &Store, dir: &DataDir, task: &TaskName, size: usize) -> Vec<RunId> {
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = RunId::new();
        let run = NewRun {
            id,
            ..NewRun::new(task.clone(), RunKind::Task, TriggeredBy::Cron, i * 1000)
        };
        store.insert_run(&run).unwrap();
        if i < 5 {
            store
                .finish_run(&id, EndReason::Success, Some(0), (i + 1) * 1000, None)
                .unwrap();
        }
        let (path, _) = dir.create_run_log(task, &id).unwrap();
        std::fs::write(path, vec![b'x'; size]).unwrap();
        ids.push(id);
    }
    ids
}

fn left(store: &Store, task: &TaskName) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_runs(Some(task.as_str()), 100)
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    ids.reverse();
    ids
}

#[test]
fn keep_runs_keep_for_and_max_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let store = Store::open(&dir.db_path()).unwrap();
    let (a, b, c) = (
        TaskName::parse("a").unwrap(),
        TaskName::parse("b").unwrap(),
        TaskName::parse("c").unwrap(),
    );
    let ids_a = seed(&store, &dir, &a, 10);
    let ids_b = seed(&store, &dir, &b, 10);
    let ids_c = seed(&store, &dir, &c, 100);
    let rules = [
        (a.clone(), common(&a, Some(2), None)),
        (
            b.clone(),
            common(&b, None, Some(Duration::from_millis(2500))),
        ),
        (c.clone(), common(&c, None, None)),
    ];
    // Now is 6000 ms: b keeps runs that ended at or after 3500 ms.
    let swept = sweep(&store, &dir, rules.iter().map(|(n, c)| (n, c)), 0, 6000).unwrap();
    assert_eq!(
        left(&store, &a),
        [ids_a[4].to_string(), ids_a[5].to_string()],
        "the newest two, one of them still running"
    );
    assert_eq!(
        left(&store, &b),
        [
            ids_b[3].to_string(),
            ids_b[4].to_string(),
            ids_b[5].to_string()
        ]
    );
    assert_eq!(left(&store, &c).len(), 6);
    assert_eq!(
        swept,
        Swept {
            runs: 4 + 3,
            for_size: 0,
            bytes: 70,
            folders: 0,
        }
    );
    for id in &ids_a[..4] {
        assert!(
            !dir.run_log_path(&a, id).exists(),
            "log files go with their rows"
        );
    }
    assert!(dir.run_log_path(&a, &ids_a[4]).exists());

    // Storage cap: 5 × 10 + 6 × 100 bytes of logs in total, 300 allowed: the oldest ended runs
    // go first, across tasks, and running runs stay whatever their size.
    let swept = sweep(&store, &dir, rules.iter().map(|(n, c)| (n, c)), 300, 6000).unwrap();
    let total: u64 = [(&a, &ids_a), (&b, &ids_b), (&c, &ids_c)]
        .iter()
        .flat_map(|(t, ids)| ids.iter().map(|id| dir.run_log_path(t, id)))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    assert!(total <= 300, "{total} bytes of logs left");
    assert!(swept.runs > 0);
    for (task, ids) in [(&a, &ids_a), (&b, &ids_b), (&c, &ids_c)] {
        assert!(
            left(&store, task).contains(&ids[5].to_string()),
            "running runs are never deleted"
        );
    }
}

/// One run of `task` that ended at `at` ms, with a log.
fn ended_run(store: &Store, dir: &DataDir, task: &TaskName, at: i64) -> RunId {
    let id = RunId::new();
    store
        .insert_run(&NewRun {
            id,
            ..NewRun::new(task.clone(), RunKind::Task, TriggeredBy::Cron, at - 500)
        })
        .unwrap();
    store
        .finish_run(&id, EndReason::Success, Some(0), at, None)
        .unwrap();
    let (path, _) = dir.create_run_log(task, &id).unwrap();
    std::fs::write(path, b"line\n").unwrap();
    id
}

#[test]
fn empty_log_folders_go_with_their_last_log_or_their_task() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let store = Store::open(&dir.db_path()).unwrap();
    let name = |n: &str| TaskName::parse(n).unwrap();
    let (done, busy, kept, gone, stray) = (
        name("done"),
        name("busy"),
        name("kept"),
        name("gone"),
        name("stray"),
    );
    let folder = |t: &TaskName| dir.logs_dir().join(t.as_str());
    ended_run(&store, &dir, &done, 1000);
    ended_run(&store, &dir, &done, 2000);
    // `busy` is running a run that has printed nothing yet: its log file does not exist, and
    // the folder it will be created in must stay.
    let ids = seed(&store, &dir, &busy, 10);
    std::fs::remove_file(dir.run_log_path(&busy, &ids[5])).unwrap();
    std::fs::create_dir(folder(&kept)).unwrap();
    std::fs::create_dir(folder(&gone)).unwrap();
    std::fs::create_dir(folder(&stray)).unwrap();
    std::fs::write(folder(&stray).join("notes.txt"), b"mine").unwrap();
    let short = Some(Duration::from_millis(1));
    let rules = [
        (done.clone(), common(&done, None, short)),
        (busy.clone(), common(&busy, None, short)),
        (kept.clone(), common(&kept, None, None)),
    ];
    let swept = sweep(&store, &dir, rules.iter().map(|(n, c)| (n, c)), 0, 6000).unwrap();
    assert_eq!(swept.runs, 2 + 5);
    assert!(
        !folder(&done).exists(),
        "its last log went, so did its folder"
    );
    assert!(
        folder(&busy).is_dir(),
        "a run that has not ended keeps its folder"
    );
    assert!(
        folder(&kept).is_dir(),
        "a configured task keeps its empty folder"
    );
    assert!(
        !folder(&gone).exists(),
        "a task no longer configured loses its empty folder"
    );
    assert!(
        folder(&stray).join("notes.txt").exists(),
        "a folder with anything in it stays"
    );
    assert_eq!(swept.folders, 2);

    // Once `busy`'s run has ended and is swept too, its folder goes.
    store
        .finish_run(&ids[5], EndReason::Success, Some(0), 6000, None)
        .unwrap();
    let swept = sweep(&store, &dir, rules.iter().map(|(n, c)| (n, c)), 0, 7000).unwrap();
    assert_eq!((swept.runs, swept.folders), (1, 1));
    assert!(!folder(&busy).exists());
    assert!(dir.logs_dir().is_dir(), "logs/ itself stays");
}
