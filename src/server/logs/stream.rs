//! `GET /api/runs/{id}/log/stream`: replays the kept log from `from` (or after
//! `Last-Event-ID`) a batch at a time, then follows the file as the run writes it, woken by the engine's events
//! (the runner writes a chunk to the file before announcing it). Events: `line` (id = line
//! number), `rotated` when `drop_old` starts a new file, and `done` with the run's end state.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::Event as SseEvent;
use axum::response::Response;
use tokio::sync::{broadcast, mpsc};

use super::find_run;
use crate::api::{LogLine, RunObject};
use crate::engine::events::Event;
use crate::engine::history::log_files;
use crate::engine::model::{RunId, RunStatus};
use crate::engine::runlog::{self, KeptLog, Lines, Tail};
use crate::server::errors::ApiError;
use crate::server::extract::RunIdParam;
use crate::server::extract::{only_params, param};
use crate::server::streams::sse_response;
use crate::server::AppState;

/// Without a wake-up from the engine the file is re-read this often anyway.
const RECHECK: Duration = Duration::from_secs(1);
/// Lines are read from disk in batches of about this many bytes.
const BATCH_BYTES: usize = 64 << 10;
/// Events waiting for a slow client; with the batch, what one stream can hold (a line is at
/// most about 130 KiB, its JSON a few times that at worst).
const QUEUE: usize = 16;

fn from_param(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<i64, ApiError> {
    // A malformed `from` is refused even when Last-Event-ID takes precedence over it.
    let from = param(params, "from")?.unwrap_or(-1000);
    match headers.get("last-event-id") {
        // The id of the last `line` event the client saw: the stream resumes after it.
        Some(last) => last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(|n| n.saturating_add(1))
            .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be a line number")),
        None => Ok(from),
    }
}

pub async fn follow(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RunIdParam(id): RunIdParam,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_params(&params, &["from"])?;
    let from = from_param(&params, &headers)?;
    let run = find_run(&app, id).await?;
    let slot = app.streams.acquire(peer.ip())?;
    // Subscribe before reading, so nothing written in between is missed.
    let events = app.engine.subscribe();
    let (prev, current) = log_files(&app.engine, &run);
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        let _slot = slot;
        let _ = produce(app, id, prev, current, from, events, tx).await;
    });
    Ok(sse_response(rx))
}

fn line_event(n: u64, raw: &[u8]) -> SseEvent {
    SseEvent::default()
        .event("line")
        .id(n.to_string())
        .json_data(LogLine::from_raw(n, raw))
        .unwrap_or_default()
}

/// Sends lines numbered `start` or later; Err means the client went away.
async fn send_lines(
    tx: &mpsc::Sender<SseEvent>,
    lines: Vec<(u64, Vec<u8>)>,
    start: u64,
) -> Result<(), ()> {
    for (n, line) in lines {
        if n >= start {
            tx.send(line_event(n, &line)).await.map_err(|_| ())?;
        }
    }
    Ok(())
}

/// Reads the next batch of the rotated generation during a replay, on the blocking pool.
async fn replay_batch(mut prev: Lines) -> Option<(Lines, Vec<(u64, Vec<u8>)>)> {
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut line = Vec::new();
        while bytes < BATCH_BYTES {
            match prev.next_line(&mut line) {
                Ok(Some(n)) => {
                    bytes += line.len();
                    out.push((n, std::mem::take(&mut line)));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("cannot read a rotated log generation: {e}");
                    break;
                }
            }
        }
        (prev, out)
    })
    .await
    .ok()
}

/// Reads what the live file has next, on the blocking pool.
async fn tail_batch(mut tail: Tail) -> Option<(Tail, Vec<(u64, Vec<u8>)>, bool)> {
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut rotated = false;
        if let Err(e) = tail.read(&mut out, BATCH_BYTES, &mut rotated) {
            tracing::warn!("cannot read a live log: {e}");
        }
        (tail, out, rotated)
    })
    .await
    .ok()
}

/// Err means the client went away.
async fn produce(
    app: AppState,
    id: RunId,
    prev: PathBuf,
    current: PathBuf,
    from: i64,
    mut events: broadcast::Receiver<Event>,
    tx: mpsc::Sender<SseEvent>,
) -> Result<(), ()> {
    // Where to start: a negative `from` counts back from the end, which takes one pass over
    // what is kept (a line at a time, off the async workers).
    let kept = KeptLog::new([prev.clone(), current.clone()]);
    let extent = tokio::task::spawn_blocking(move || kept.extent())
        .await
        .map_err(|_| ())?
        .unwrap_or_default();
    let start = runlog::start_line(from, &extent);
    // Replay the rotated generation a batch at a time, then follow the live file, both opened
    // now: a rotation meanwhile loses no line (`runlog::follow`).
    let opened = tokio::task::spawn_blocking(move || runlog::follow(&prev, current))
        .await
        .map_err(|_| ())?;
    let (mut prev_lines, mut tail) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(run = %id, "cannot open the log of run {id} to follow it: {e}");
            return Err(());
        }
    };
    loop {
        let (lines, batch) = replay_batch(prev_lines).await.ok_or(())?;
        prev_lines = lines;
        if batch.is_empty() {
            break;
        }
        send_lines(&tx, batch, start).await?;
    }
    tail.next = prev_lines.next_number();
    // Whether the run has ended comes from the database at first, after a missed event and at
    // each RECHECK; otherwise from the run's own events, so printing costs no query.
    let mut ended = false;
    let mut ask = true;
    loop {
        if ask {
            ended =
                matches!(app.engine.run(id).await, Ok(Some(ref r)) if r.status == RunStatus::Ended);
        }
        // Everything written so far, a batch at a time.
        loop {
            let (t, batch, rotated) = tail_batch(tail).await.ok_or(())?;
            tail = t;
            if rotated {
                tx.send(
                    SseEvent::default()
                        .event("rotated")
                        .data("the log reached log_max_size and was rotated"),
                )
                .await
                .map_err(|_| ())?;
            }
            if batch.is_empty() {
                break;
            }
            send_lines(&tx, batch, start).await?;
        }
        if ended {
            let run = match app.engine.run(id).await {
                Ok(Some(run)) => run,
                Ok(None) => return Err(()),
                Err(e) => {
                    // The client sees the stream end before `done`, and says so.
                    tracing::warn!(run = %id, "cannot read run {id} to end its log stream: {e}");
                    return Err(());
                }
            };
            let done = SseEvent::default()
                .event("done")
                .json_data(RunObject::from(&run))
                .unwrap_or_default();
            tx.send(done).await.map_err(|_| ())?;
            return Ok(());
        }
        // Sleep until this run prints or ends, or RECHECK passes.
        let wake = async {
            loop {
                match events.recv().await {
                    Ok(Event::RunEnded { run, .. }) if run == id => return Wake::Ended,
                    Ok(Event::LogAppended { run }) if run == id => return Wake::Printed,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return Wake::Unsure,
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        };
        (ended, ask) = tokio::select! {
            woke = wake => match woke {
                Wake::Ended => (true, false),
                Wake::Printed => (false, false),
                Wake::Unsure => (false, true),
            },
            _ = tokio::time::sleep(RECHECK) => (false, true),
            _ = tx.closed() => return Err(()),
        };
    }
}

/// Why a follower woke up.
enum Wake {
    Ended,
    Printed,
    /// Events were missed: ask the database.
    Unsure,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume_after(last: &str) -> Result<i64, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("last-event-id", last.parse().unwrap());
        from_param(&HashMap::new(), &headers)
    }

    #[test]
    fn last_event_id_resumes_after_that_line() {
        assert_eq!(resume_after("41").unwrap(), 42);
        assert_eq!(resume_after(" 0 ").unwrap(), 1);
        // The largest id does not overflow (it used to panic the handler).
        assert_eq!(resume_after("9223372036854775807").unwrap(), i64::MAX);
        for bad in ["-1", "x", "9223372036854775808", ""] {
            let problem = resume_after(bad).unwrap_err();
            assert_eq!(
                problem.status,
                axum::http::StatusCode::BAD_REQUEST,
                "{bad:?}"
            );
            assert_eq!(problem.detail, "Last-Event-ID must be a line number");
        }
    }

    #[test]
    fn from_defaults_to_the_last_thousand_lines() {
        let none = HeaderMap::new();
        assert_eq!(from_param(&HashMap::new(), &none).unwrap(), -1000);
        let params = HashMap::from([("from".to_string(), "-5".to_string())]);
        assert_eq!(from_param(&params, &none).unwrap(), -5);
        // Last-Event-ID wins over `from`, but a malformed `from` is still refused.
        let mut resume = HeaderMap::new();
        resume.insert("last-event-id", "7".parse().unwrap());
        assert_eq!(from_param(&params, &resume).unwrap(), 8);
        let bad = HashMap::from([("from".to_string(), "null".to_string())]);
        let problem = from_param(&bad, &resume).unwrap_err();
        assert_eq!(problem.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
