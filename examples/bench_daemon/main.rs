//! A helper for `bench/daemon.sh`, not a test: it drives the engine as a library and prints
//! `key=value` lines for the script to read.
//!
//! ```text
//! bench_daemon queue RUNS PARENT          boot an engine in a new directory under PARENT with one
//!                                         task (`run = "true"`, `queue_max = 10000`), trigger it
//!                                         RUNS times, wait until every run has ended (the
//!                                         directory is removed unless BENCH_KEEP is set)
//! bench_daemon history DB QUERIES LIMIT TASK...
//!                                         time Store::list_runs(TASK, LIMIT) QUERIES times on DB,
//!                                         cycling through the tasks
//! bench_daemon spawn N [ROUNDS]           spawn N `/bin/sh -c true` back to back the way the runner
//!                                         does (own process group, piped output), ROUNDS times (1):
//!                                         the floor under the scheduling skew of N tasks due at
//!                                         once, quantiles over every round's spawns together
//! bench_daemon recorder RUNS PARENT [overlapped|serial|ahead] [PARALLEL [COMMAND]]
//!                                         the least a runner that keeps a durable record must do
//!                                         (see `recorder.rs`): the floor beside the shell loop
//!                                         for queued runs, and beside `xargs -P` for triggers
//! bench_daemon serve PORT PARENT PARALLEL COMMAND
//!                                         the least an HTTP trigger server with a durable record
//!                                         must do (see `serve.rs`): the floor beside runwisp
//!                                         under the same `wrk`
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: a failure ends it with its reason

mod recorder;
mod serve;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runwisp::engine::clock::SystemClock;
use runwisp::engine::config::load_str;
use runwisp::engine::datadir::DataDir;
use runwisp::engine::events::Event;
use runwisp::engine::model::{EndReason, RunStatus, TaskName, TriggeredBy};
use runwisp::engine::store::Store;
use runwisp::engine::{Engine, TriggerRequest};

fn usage() -> ! {
    eprintln!("usage: bench_daemon queue RUNS PARENT [together|one-by-one] | history DB QUERIES LIMIT TASK... | spawn N [ROUNDS] | recorder RUNS PARENT [overlapped|serial|ahead] [PARALLEL [COMMAND]] | serve PORT PARENT PARALLEL COMMAND");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(arg: Option<&String>) -> T {
    arg.and_then(|a| a.parse().ok()).unwrap_or_else(|| usage())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("queue") => {
            let runs: u32 = number(args.get(1));
            let parent = args.get(2).unwrap_or_else(|| usage());
            let together = match args.get(3).map(String::as_str) {
                None | Some("together") => true,
                Some("one-by-one") => false,
                Some(_) => usage(),
            };
            queue(runs, Path::new(parent), together)
        }
        Some("history") if args.len() >= 5 => {
            let queries: usize = number(args.get(2));
            let limit: u32 = number(args.get(3));
            history(Path::new(&args[1]), queries, limit, &args[4..])
        }
        Some("spawn") => spawn(
            number(args.get(1)),
            args.get(2).map_or(1, |_| number(args.get(2))),
        ),
        Some("serve") if args.len() == 5 => serve::run(
            number(args.get(1)),
            Path::new(&args[2]),
            number(args.get(3)),
            &args[4],
        ),
        Some("recorder") => {
            let parent = args.get(2).unwrap_or_else(|| usage());
            let how = match args.get(3).map(String::as_str) {
                None | Some("overlapped") => recorder::How::Overlapped,
                Some("serial") => recorder::How::Serial,
                Some("ahead") => recorder::How::Ahead,
                Some(_) => usage(),
            };
            let parallel = args.get(4).map_or(1, |_| number(args.get(4)));
            let command = args.get(5).map_or("true", String::as_str);
            recorder::run(
                number(args.get(1)),
                Path::new(parent),
                how,
                parallel,
                command,
            )
        }
        _ => usage(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// The value at quantile `q` (nearest rank) of sorted `values`.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `runs` triggers of a task `run = "true"` with `max_concurrent = 1`, timed from the first
/// trigger until every run is recorded ended. `together`: the triggers are sent at once, as
/// many clients would (their rows share commits); otherwise one after another, each waiting
/// for its row to be on disk, so the queue fills no faster than one commit at a time.
fn queue(runs: u32, parent: &Path, together: bool) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("runwisp-queue.")
        .tempdir_in(parent)?;
    let path = dir.path().join("runwisp.toml");
    let text = "[tasks.q]\nrun = \"true\"\nqueue_max = 10000\n";
    std::fs::write(&path, text)?;
    let config = load_str("runwisp.toml", text, &path).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let data = DataDir::open(&dir.path().join("data"))?;
    let lock = data.lock_exclusive()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let engine = Engine::boot(config, data, lock, Arc::new(SystemClock)).await?;
        let mut events = engine.subscribe();
        let start = Instant::now();
        let counter = tokio::spawn(async move {
            let mut ended = 0;
            while ended < runs {
                match events.recv().await {
                    Ok(Event::RunEnded { .. }) => ended += 1,
                    Ok(_) => {}
                    // Missed events: the database check below settles it.
                    Err(_) => return false,
                }
            }
            true
        });
        let q = TaskName::parse("q")?;
        if together {
            let triggers: Vec<_> = (0..runs)
                .map(|_| {
                    let engine = engine.clone();
                    let q = q.clone();
                    tokio::spawn(async move {
                        engine
                            .trigger(&q, TriggerRequest::by(TriggeredBy::Cli))
                            .await
                    })
                })
                .collect();
            for trigger in triggers {
                trigger.await??;
            }
        } else {
            for _ in 0..runs {
                engine
                    .trigger(&q, TriggerRequest::by(TriggeredBy::Cli))
                    .await?;
            }
        }
        let enqueued = start.elapsed();
        let counted = counter.await.unwrap_or(false);
        // The database is the truth: wait until every run is recorded ended.
        let rows = loop {
            let rows = engine.store().list_runs(Some("q"), runs + 1)?;
            if counted || rows.iter().all(|r| r.status == RunStatus::Ended) {
                break rows;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let elapsed = start.elapsed();
        let ok = rows
            .iter()
            .filter(|r| r.end_reason == Some(EndReason::Success))
            .count();
        engine.shutdown().await;
        println!("runs={}", rows.len());
        println!("succeeded={ok}");
        println!("enqueue_ms={}", ms(enqueued));
        println!("elapsed_ms={}", ms(elapsed));
        println!("per_run_ms={}", ms(elapsed / runs.max(1)));
        anyhow::Ok(())
    })?;
    if std::env::var_os("BENCH_KEEP").is_some() {
        // For a closer look at the timeline in data/runwisp.db.
        println!("kept={}", dir.keep().display());
    }
    Ok(())
}

fn history(db: &Path, queries: usize, limit: u32, tasks: &[String]) -> anyhow::Result<()> {
    let open = Instant::now();
    let store = Store::open(db)?;
    let opened = open.elapsed();
    let first = Instant::now();
    let rows = store.list_runs(Some(&tasks[0]), limit)?.len();
    let cold = first.elapsed();
    let mut times = Vec::with_capacity(queries);
    let mut returned = 0;
    for i in 0..queries {
        let task = &tasks[i % tasks.len()];
        let t = Instant::now();
        returned += store.list_runs(Some(task), limit)?.len();
        times.push(t.elapsed());
    }
    times.sort();
    println!("open_ms={}", ms(opened));
    println!("first_ms={}", ms(cold));
    println!("first_rows={rows}");
    println!("queries={queries}");
    println!("rows_per_query={}", returned / queries.max(1));
    println!("p50_ms={}", ms(quantile(&times, 0.50)));
    println!("p99_ms={}", ms(quantile(&times, 0.99)));
    println!("max_ms={}", ms(times[times.len() - 1]));
    Ok(())
}

fn spawn(n: usize, rounds: usize) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let (n, rounds) = (n.max(1), rounds.max(1));
    let mut at = Vec::with_capacity(n * rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            let child = Command::new("/bin/sh")
                .args(["-c", "true"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .spawn()?;
            at.push(start.elapsed());
            children.push(child);
        }
        for mut child in children {
            child.wait()?;
        }
    }
    at.sort();
    println!("spawned={n}");
    println!("rounds={rounds}");
    println!("p50_ms={}", ms(quantile(&at, 0.50)));
    println!("p99_ms={}", ms(quantile(&at, 0.99)));
    println!("max_ms={}", ms(at[at.len() - 1]));
    Ok(())
}
