//! Read-only opening ([`Store::open_read_only`]): on the version-2 fixture, beside a writer,
//! and on files it must refuse.

use rusqlite::Connection;

use super::migrate_tests::{copy_v2, user_version};
use super::*;
use crate::engine::model::{RunId, TaskName};

#[test]
fn a_reader_leaves_a_version_2_file_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_v2(dir.path());
    let modified = || std::fs::metadata(&path).unwrap().modified().unwrap();
    let before = (std::fs::read(&path).unwrap(), modified());
    {
        let store = Store::open_read_only(&path).unwrap();
        let runs = store.list_runs(None, 100).unwrap();
        assert_eq!(runs.len(), 8);
        assert_eq!(runs[0].id.to_string(), "01KB0000000000000000000008");
        let failed = store
            .get_run(&RunId::parse("01KB0000000000000000000002").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            failed.message.as_deref(),
            Some("exit status 3 — «ünïcode» and 'quotes'")
        );
        let service = store
            .get_run(&RunId::parse("01KB0000000000000000000004").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(service.pid_start_time, Some(9_007_199_254_740_993));
        assert_eq!(store.list_runs(Some("web"), 100).unwrap().len(), 2);
        let report = TaskName::parse("report").unwrap();
        let last = store.last_runs(std::slice::from_ref(&report)).unwrap();
        assert_eq!(last[&report].id.to_string(), "01KB0000000000000000000007");
        assert_eq!(store.unfinished_runs().unwrap().len(), 2);
        let err = store.meta_set("fingerprint", "other").unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
    }
    assert!(
        std::fs::read(&path).unwrap() == before.0,
        "the database file changed"
    );
    assert_eq!(modified(), before.1);
    assert_eq!(user_version(&Connection::open(&path).unwrap()), 2);
}

#[test]
fn a_reader_sees_what_a_running_writer_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runwisp.db");
    let writer = Store::open(&path).unwrap();
    writer.meta_set("fingerprint", "misty-river").unwrap();
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(
        reader.meta_get("fingerprint").unwrap().as_deref(),
        Some("misty-river")
    );
    writer.meta_set("fingerprint", "quiet-lake").unwrap();
    assert_eq!(
        reader.meta_get("fingerprint").unwrap().as_deref(),
        Some("quiet-lake")
    );
}

#[test]
fn a_reader_refuses_a_newer_schema_an_empty_file_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.db");
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let before = std::fs::read(&newer).unwrap();
    match Store::open_read_only(&newer) {
        Err(StoreError::TooNew { found, known, .. }) => {
            assert_eq!((found, known), (99, MIGRATIONS.len() as i64))
        }
        other => panic!("expected TooNew, got {:?}", other.err()),
    }
    assert!(std::fs::read(&newer).unwrap() == before);

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = Store::open_read_only(&empty).err().expect("no schema");
    assert!(matches!(err, StoreError::NoSchema { .. }), "{err}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    let missing = dir.path().join("missing.db");
    let err = Store::open_read_only(&missing).err().expect("no file");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(!missing.exists());
}
