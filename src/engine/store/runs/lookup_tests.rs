//! Finding runs by a prefix or suffix of their id: unique, ambiguous (listed in one sentence),
//! missing, the bound on a suffix scan, the index a prefix uses, and the read-only store the
//! CLI opens.

use super::*;
use crate::engine::model::{EndReason, RunId, RunKind, TaskName, TriggeredBy};
use crate::engine::store::NewRun;

/// A 26-character id from a 3-character head, a filler and a 4-character tail.
fn id(head: &str, fill: char, tail: &str) -> String {
    format!(
        "{head}{}{tail}",
        fill.to_string().repeat(26 - head.len() - tail.len())
    )
}

fn add(store: &Store, id: &str, task: &str, start_at: Option<i64>) {
    let run_id = RunId::parse(id).expect("test id");
    store
        .insert_run(&NewRun {
            id: run_id,
            ..NewRun::new(
                TaskName::parse(task).unwrap(),
                RunKind::Task,
                TriggeredBy::Cli,
                1_748_744_000_000,
            )
        })
        .expect("insert");
    if let Some(start) = start_at {
        store.mark_running(&run_id, start, 1, None).expect("start");
        store
            .finish_run(&run_id, EndReason::Success, Some(0), start + 1, None)
            .expect("finish");
    }
}

fn resolve(store: &Store, text: &str) -> Resolved {
    store
        .resolve_run(&RunRef::parse(text).expect("reference"))
        .expect("resolve")
}

fn found_id(resolved: Resolved) -> String {
    match resolved {
        Resolved::Found(run) => run.id.to_string(),
        other => panic!("expected one run, got {other:?}"),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("runwisp.db")).expect("open");
    (dir, store)
}

#[test]
fn a_unique_prefix_or_suffix_names_its_run_in_any_case() {
    let (_dir, store) = store();
    let (a, b, c) = (
        id("01H", 'A', "7W8X"),
        id("01H", 'B', "7W8X"),
        id("01H", 'C', "QQ00"),
    );
    for run in [&a, &b, &c] {
        add(&store, run, "backup", None);
    }
    assert_eq!(found_id(resolve(&store, "01HC")), c);
    assert_eq!(found_id(resolve(&store, "01hcc")), c, "any case");
    assert_eq!(found_id(resolve(&store, "qqoo")), c, "O read as 0");
    assert_eq!(found_id(resolve(&store, "B7W8X")), b);
    assert_eq!(
        found_id(resolve(&store, &a.to_lowercase())),
        a,
        "a whole id"
    );
    assert_eq!(resolve(&store, "ZZZZ"), Resolved::NotFound);
    assert_eq!(resolve(&store, &id("01H", 'D', "7W8X")), Resolved::NotFound);
    match resolve(&store, "7W8X") {
        Resolved::Ambiguous { shown, total } => {
            assert_eq!(total, 2);
            let ids: Vec<String> = shown.iter().map(|r| r.id.to_string()).collect();
            assert_eq!(ids, [b.as_str(), a.as_str()], "newest first");
        }
        other => panic!("expected two candidates, got {other:?}"),
    }
}

#[test]
fn an_ambiguous_reference_lists_ten_candidates_and_counts_the_rest() {
    let (_dir, store) = store();
    let start = 1_748_744_400_000; // 2025-06-01T02:20:00Z
    for (i, fill) in "0123456789ABCD".chars().enumerate() {
        let task = if i % 2 == 0 { "backup" } else { "deploy" };
        add(
            &store,
            &id("01J", fill, "0000"),
            task,
            Some(start + i as i64 * 60_000),
        );
    }
    let wanted = RunRef::parse("000").err();
    assert!(wanted.is_some(), "3 characters are refused");
    let wanted = RunRef::parse("0000").expect("reference");
    let resolved = store.resolve_run(&wanted).expect("resolve");
    let Resolved::Ambiguous { shown, total } = &resolved else {
        panic!("expected candidates, got {resolved:?}");
    };
    assert_eq!((shown.len(), *total), (10, 14));
    let sentence = resolved
        .ambiguity(&wanted, " in data directory data")
        .expect("a sentence");
    assert!(
        sentence.starts_with(
            "0000 matches 14 runs in data directory data: \
             01JDDDDDDDDDDDDDDDDDDD0000 (deploy, success, started 2025-06-01T02:33:00Z), \
             01JCCCCCCCCCCCCCCCCCCC0000 (backup, success, started 2025-06-01T02:32:00Z), "
        ),
        "{sentence}"
    );
    let tenth = format!(
        "{} (backup, success, started 2025-06-01T02:24:00Z) and 4 more; \
         give more characters of the run id",
        id("01J", '4', "0000")
    );
    assert!(sentence.ends_with(&tenth), "{sentence}");
    assert_eq!(sentence.matches(" (").count(), 10, "{sentence}");
    assert_eq!(Resolved::NotFound.ambiguity(&wanted, ""), None);
}

#[test]
fn a_suffix_is_looked_for_among_the_newest_runs_only() {
    let (_dir, store) = store();
    let old = id("01H", 'A', "7W8X");
    add(&store, &old, "backup", None);
    for fill in ['B', 'C', 'D'] {
        add(&store, &id("01H", fill, "0000"), "backup", None);
    }
    let suffix = RunRef::parse("7W8X").expect("reference");
    assert_eq!(
        store.resolve_run_within(&suffix, 3).expect("resolve"),
        Resolved::NotFound,
        "the fourth newest run is beyond a scan of 3"
    );
    let found = store.resolve_run_within(&suffix, 4).expect("resolve");
    assert_eq!(found_id(found), old);
    let prefix = RunRef::parse("01HA").expect("reference");
    assert_eq!(
        found_id(store.resolve_run_within(&prefix, 1).expect("resolve")),
        old,
        "a prefix is not bounded by the scan"
    );
}

#[test]
fn a_prefix_is_a_range_of_the_primary_key_index() {
    let (_dir, store) = store();
    let plan = store.resolve_plan();
    assert!(
        plan.iter()
            .any(|step| step.contains("INDEX") && step.contains("id>? AND id<?")),
        "{plan:#?}"
    );
    // The only scan is the bounded one over the index, never the table itself.
    assert!(
        plan.iter()
            .filter(|step| step.starts_with("SCAN runs"))
            .all(|step| step.contains("COVERING INDEX")),
        "{plan:#?}"
    );
}

#[test]
fn the_read_only_history_the_cli_opens_resolves_too() {
    let (dir, store) = store();
    let run = id("01H", 'E', "5K2M");
    add(&store, &run, "backup", Some(1_748_744_400_000));
    drop(store);
    let read_only = Store::open_read_only(&dir.path().join("runwisp.db")).expect("read-only");
    assert_eq!(found_id(resolve(&read_only, "5k2m")), run);
}
