//! Schema upgrades, on a checked-in history of schema version 2
//! (`tests/fixtures/store/runs_v2.db`, made once by `make_runs_v2.sh` beside it), and the
//! helpers `read_only_tests.rs` shares.

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::engine::model::{RunId, RunKind, TaskName, TriggeredBy};

const RUNS_V2: &[u8] = include_bytes!("../../../tests/fixtures/store/runs_v2.db");

/// The columns of `0001_runs`, which every later schema keeps.
const V1_COLUMNS: &str = "id, task_name, kind, status, end_reason, exit_code, triggered_by, \
     scheduled_for, created_at, start_at, end_at, retry_attempt, retry_of_run_id, \
     replica_index, message, pid, pgid, pid_start_time";

/// A writable copy of the version-2 fixture in `dir`.
pub(super) fn copy_v2(dir: &Path) -> PathBuf {
    let path = dir.join("runwisp.db");
    std::fs::write(&path, RUNS_V2).unwrap();
    path
}

pub(super) fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// Every row of the 0001 columns, with its rowid, exactly as SQLite stores it.
fn rows(conn: &Connection) -> Vec<Vec<Value>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT rowid, {V1_COLUMNS} FROM runs ORDER BY rowid"
        ))
        .unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| (0..width).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// `PRAGMA table_info(runs)`: name, type, not null, default, primary key.
fn columns(conn: &Connection) -> Vec<(String, String, bool, Option<String>, i64)> {
    let mut stmt = conn.prepare("PRAGMA table_info(runs)").unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The schema objects on `runs`, as `(type, name, sql)`.
fn runs_schema(conn: &Connection) -> Vec<(String, String, Option<String>)> {
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'runs' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A run of a kind and with an end reason that schema 2 refuses.
fn insert_pipeline(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO runs (id, task_name, kind, status, end_reason, triggered_by, created_at) \
         VALUES ('01KB00000000000000000000P1', 'deploy', 'pipeline', 'ended', 'interrupted', \
         'api', 1764462000000)",
        [],
    )
}

#[test]
fn the_fixture_is_what_the_first_two_migrations_make() {
    let fresh = Connection::open_in_memory().unwrap();
    for (_, sql) in &MIGRATIONS[..2] {
        fresh.execute_batch(sql).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let old = Connection::open(copy_v2(dir.path())).unwrap();
    assert_eq!(user_version(&old), 2);
    let schema = |conn: &Connection| -> Vec<(String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(schema(&old), schema(&fresh));
    let kinds: Vec<String> = old
        .prepare("SELECT DISTINCT kind || '/' || status FROM runs ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        kinds,
        [
            "service/ended",
            "service/running",
            "task/ended",
            "task/pending"
        ]
    );
}

#[test]
fn opening_a_version_2_file_migrates_it_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_v2(dir.path());
    let (old_rows, old_columns, old_schema) = {
        let conn = Connection::open(&path).unwrap();
        let err = insert_pipeline(&conn).unwrap_err();
        assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
        (rows(&conn), columns(&conn), runs_schema(&conn))
    };
    assert_eq!(old_rows.len(), 8);
    let old_runs = Store::open_read_only(&path)
        .unwrap()
        .list_runs(None, 100)
        .unwrap();

    let store = Store::open(&path).unwrap();
    let conn = store.conn();
    assert_eq!(user_version(&conn), MIGRATIONS.len() as i64);
    assert_eq!(rows(&conn), old_rows, "every row and rowid kept exactly");
    let new_columns = columns(&conn);
    assert_eq!(
        new_columns[..18],
        old_columns[..],
        "the 0001 columns as they were"
    );
    let added = |name: &str| (name.to_string(), "TEXT".to_string(), false, None, 0);
    assert_eq!(
        new_columns[18..],
        [
            added("parent_run_id"),
            added("step"),
            added("resume_of_run_id")
        ]
    );
    let set: i64 = conn
        .query_row(
            "SELECT count(*) FROM runs WHERE parent_run_id IS NOT NULL OR step IS NOT NULL \
             OR resume_of_run_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(set, 0, "the new columns are NULL on old rows");

    // The indexes of 0001 are back as they were, with the new one beside them.
    let mut expected: Vec<_> = old_schema
        .into_iter()
        .filter(|(kind, ..)| kind == "index")
        .collect();
    expected.push((
        "index".into(),
        "runs_by_parent".into(),
        Some(
            "CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL"
                .into(),
        ),
    ));
    expected.push((
        "index".into(),
        "runs_by_resume".into(),
        Some(
            "CREATE INDEX runs_by_resume ON runs (resume_of_run_id) WHERE resume_of_run_id IS NOT NULL"
                .into(),
        ),
    ));
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    let schema = runs_schema(&conn);
    assert_eq!(
        schema
            .iter()
            .filter(|(kind, ..)| kind == "index")
            .cloned()
            .collect::<Vec<_>>(),
        expected
    );
    assert!(schema.iter().all(|(_, name, _)| name != "runs_new"));
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE parent_run_id = ?1",
            ["01KB0000000000000000000001"],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("runs_by_parent"), "{plan}");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // Kinds and end reasons the enums will gain now fit; the new columns take values.
    insert_pipeline(&conn).unwrap();
    conn.execute(
        "UPDATE runs SET parent_run_id = '01KB00000000000000000000P1', step = 'build' \
         WHERE id = '01KB0000000000000000000006'",
        [],
    )
    .unwrap();
    let pipeline: (String, String) = conn
        .query_row(
            "SELECT kind, end_reason FROM runs WHERE id = '01KB00000000000000000000P1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(pipeline, ("pipeline".into(), "interrupted".into()));
    drop(conn);
    let step = store
        .get_run(&RunId::parse("01KB0000000000000000000006").unwrap())
        .unwrap()
        .unwrap();
    let conn = store.conn();
    assert_eq!(
        (
            step.parent_run_id.map(|p| p.to_string()),
            step.step.as_deref()
        ),
        (
            Some("01KB00000000000000000000P1".to_string()),
            Some("build")
        )
    );
    conn.execute(
        "DELETE FROM runs WHERE id = '01KB00000000000000000000P1'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE runs SET parent_run_id = NULL, step = NULL WHERE id = '01KB0000000000000000000006'",
        [],
    )
    .unwrap();
    drop(conn);

    assert_eq!(store.list_runs(None, 100).unwrap(), old_runs);
    assert_eq!(
        store.meta_get("fingerprint").unwrap().as_deref(),
        Some("misty-river")
    );
    // UNIQUE(task_name, scheduled_for) still holds one firing to one run.
    let again = NewRun {
        scheduled_for: Some(1_764_460_800_000),
        ..NewRun::new(
            TaskName::parse("backup").unwrap(),
            RunKind::Task,
            TriggeredBy::Cron,
            1_764_470_000_000,
        )
    };
    let err = store.insert_run(&again).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    drop(store);
    // Reopening applies nothing again.
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store.conn()), MIGRATIONS.len() as i64);
    assert_eq!(rows(&store.conn()), old_rows);
}

#[test]
fn a_rebuild_that_fails_midway_leaves_the_file_at_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_v2(dir.path());
    let old_rows = {
        let conn = Connection::open(&path).unwrap();
        // Taking the name of the new index makes 0003 fail at its end, after the old table
        // was dropped and the new one renamed.
        conn.execute_batch("CREATE TABLE runs_by_parent (x)")
            .unwrap();
        rows(&conn)
    };
    let err = Store::open(&path).err().expect("the migration must fail");
    assert!(err.to_string().contains("applying a migration"), "{err}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 2);
    assert_eq!(rows(&conn), old_rows);
    assert_eq!(columns(&conn).len(), 18);
    assert!(runs_schema(&conn).iter().all(|(_, n, _)| n != "runs_new"));
    let err = insert_pipeline(&conn).unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}
