//! Booting the engine as a library on a temporary data directory, for tests that drive time
//! with a fake clock or call the engine API directly. Real SQLite, real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use runwisp::engine::clock::Clock;
use runwisp::engine::config::load_str;
use runwisp::engine::datadir::DataDir;
use runwisp::engine::model::{Run, RunStatus};
use runwisp::engine::Engine;

pub struct Booted {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

/// Boots an engine on `config` (folder of the config = the temp dir) with `clock`.
pub async fn boot_in(dir: &Path, config: &str, clock: Arc<dyn Clock>) -> Engine {
    let path = dir.join("runwisp.toml");
    std::fs::write(&path, config).expect("write config");
    let config = load_str("runwisp.toml", config, &path).expect("valid config");
    let data = DataDir::open(&dir.join("data")).expect("data dir");
    // An engine stopped just before lets go of the lock as its background tasks finish.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let lock = loop {
        match data.lock_exclusive() {
            Ok(lock) => break lock,
            Err(e) if tokio::time::Instant::now() >= deadline => panic!("lock: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    Engine::boot(config, data, lock, clock).await.expect("boot")
}

/// A task name the test knows is valid.
pub fn task(name: &str) -> runwisp::engine::model::TaskName {
    runwisp::engine::model::TaskName::parse(name).expect("a valid task name")
}

pub async fn boot(config: &str, clock: Arc<dyn Clock>) -> Booted {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = boot_in(dir.path(), config, clock).await;
    Booted { engine, dir }
}

pub fn runs(engine: &Engine, task: &str) -> Vec<Run> {
    let mut runs = engine
        .store()
        .list_runs(Some(task), 100_000)
        .expect("list runs");
    runs.reverse();
    runs
}

/// Waits (polling the database) until `check` holds for the runs of `task`, oldest first.
pub async fn wait_runs(
    engine: &Engine,
    task: &str,
    what: &str,
    check: impl Fn(&[Run]) -> bool,
) -> Vec<Run> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let runs = runs(engine, task);
        if check(&runs) {
            return runs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; runs of {task}: {runs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn ended(runs: &[Run]) -> usize {
    runs.iter().filter(|r| r.status == RunStatus::Ended).count()
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub fn at(run: &Run) -> Timestamp {
    Timestamp::from_millisecond(run.scheduled_for.expect("scheduled run")).expect("valid ms")
}
