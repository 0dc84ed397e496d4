//! The least a runner that keeps a durable record of every run must do, with nothing else: the
//! floor under runwisp's per-run overhead and trigger throughput, measured beside them.
//!
//! PARALLEL threads each take the next run until RUNS are done: spawn `/bin/sh -c COMMAND` as
//! the runner does (own process group, stdin from /dev/null, piped output, `RUNWISP_RUN_ID` in
//! its environment, the working directory PARENT), read its output to the end, reap it, and
//! record it. One more thread commits the records: every record that has arrived, in one SQLite
//! transaction (WAL, `synchronous = FULL`, as runwisp's history), a group commit.
//!
//! - `overlapped`: a run's row is committed while the next run's process runs.
//! - `serial`: each run waits for its row's commit before the next spawn.
//! - `ahead`: as a trigger is: a run's row is durable before its process starts (a crash never
//!   leaves a process without a row), and its end is committed while the next run runs.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::time::Instant;

use super::ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Overlapped,
    Serial,
    Ahead,
}

/// A change to the record of run `id`.
pub enum Change {
    /// Its row, made before its process starts (`ahead`).
    Created { id: u32, at: i64 },
    /// How it ended: its row, or its end on the row made before.
    Ended {
        id: u32,
        pid: u32,
        started: i64,
        ended: i64,
        code: Option<i32>,
        output: usize,
    },
}

/// A change, and whom to tell once it is committed.
pub type Request = (Change, Option<SyncSender<()>>);

fn now() -> i64 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_millis() as i64)
}

fn commit_all(mut db: rusqlite::Connection, rx: Receiver<Request>) -> anyhow::Result<u32> {
    while let Ok(first) = rx.recv() {
        let txn = db.transaction()?;
        let mut done = Vec::new();
        for (change, ack) in std::iter::once(first).chain(rx.try_iter()) {
            match change {
                Change::Created { id, at } => {
                    txn.prepare_cached("INSERT INTO runs (id, created_at) VALUES (?1, ?2)")?
                        .execute(rusqlite::params![id, at])?;
                }
                Change::Ended {
                    id,
                    pid,
                    started,
                    ended,
                    code,
                    output,
                } => {
                    txn.prepare_cached(
                        "INSERT INTO runs (id, created_at, pid, start_at, end_at, exit_code, output)
                         VALUES (?1, ?3, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (id) DO UPDATE SET pid = ?2, start_at = ?3, end_at = ?4,
                             exit_code = ?5, output = ?6",
                    )?
                    .execute(rusqlite::params![id, pid, started, ended, code, output])?;
                }
            }
            done.extend(ack);
        }
        txn.commit()?;
        for ack in done {
            let _ = ack.send(());
        }
    }
    Ok(
        db.query_row("SELECT count(*) FROM runs WHERE exit_code = 0", [], |r| {
            r.get(0)
        })?,
    )
}

/// Sends `change` to the committer; waits for its commit when `wait`.
fn record(tx: &Sender<Request>, change: Change, wait: bool) -> anyhow::Result<()> {
    if !wait {
        tx.send((change, None))?;
        return Ok(());
    }
    let (ack, committed) = sync_channel(1);
    tx.send((change, Some(ack)))?;
    committed.recv()?;
    Ok(())
}

/// Makes run `id`'s row durable before its process starts, as a trigger's is.
pub fn create(tx: &Sender<Request>, id: u32) -> anyhow::Result<()> {
    record(tx, Change::Created { id, at: now() }, true)
}

/// Runs `id`'s process as the runner does and records its end; waits for that record's commit
/// when `wait`.
pub fn execute(
    id: u32,
    dir: &Path,
    command: &str,
    wait: bool,
    tx: &Sender<Request>,
) -> anyhow::Result<()> {
    let started = now();
    let mut child = Command::new("/bin/sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("RUNWISP_RUN_ID", id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    // The commands measured print nothing: reading one pipe to its end and then the other
    // cannot stall.
    let mut output = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut output)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_end(&mut output)?;
    }
    let status = child.wait()?;
    let end = Change::Ended {
        id,
        pid: child.id(),
        started,
        ended: now(),
        code: status.code(),
        output: output.len(),
    };
    record(tx, end, wait)
}

/// A new history under `parent` (removed when the guard drops) and the thread that commits to
/// it: send it changes through the sender; it ends when every sender is gone, with the number
/// of runs recorded as succeeded.
pub fn committer(
    parent: &Path,
) -> anyhow::Result<(
    tempfile::TempDir,
    Sender<Request>,
    std::thread::JoinHandle<anyhow::Result<u32>>,
)> {
    let dir = tempfile::Builder::new()
        .prefix("runwisp-recorder.")
        .tempdir_in(parent)?;
    let db = rusqlite::Connection::open(dir.path().join("runs.db"))?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE runs (id INTEGER PRIMARY KEY, created_at INTEGER, pid INTEGER,
             start_at INTEGER, end_at INTEGER, exit_code INTEGER, output INTEGER);",
    )?;
    let (tx, rx) = channel::<Request>();
    Ok((dir, tx, std::thread::spawn(move || commit_all(db, rx))))
}

pub fn run(runs: u32, parent: &Path, how: How, parallel: u32, command: &str) -> anyhow::Result<()> {
    let (_dir, tx, committer) = committer(parent)?;
    let start = Instant::now();
    let next = AtomicU32::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..parallel.max(1))
            .map(|_| {
                let (tx, next) = (tx.clone(), &next);
                scope.spawn(move || -> anyhow::Result<()> {
                    loop {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        if id >= runs {
                            return Ok(());
                        }
                        if how == How::Ahead {
                            create(&tx, id)?;
                        }
                        execute(id, parent, command, how == How::Serial, &tx)?;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a spawning thread panicked"))??;
        }
        Ok(())
    })?;
    drop(tx);
    let succeeded = committer
        .join()
        .map_err(|_| anyhow::anyhow!("the committer panicked"))??;
    let elapsed = start.elapsed();
    println!("runs={succeeded}");
    println!("elapsed_ms={}", ms(elapsed));
    println!("per_run_ms={}", ms(elapsed / runs.max(1)));
    println!(
        "runs_per_s={:.0}",
        f64::from(succeeded) / elapsed.as_secs_f64()
    );
    Ok(())
}
