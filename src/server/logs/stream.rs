//! `GET /api/runs/{id}/log/stream`: replays the kept log from `from` (or after
//! `Last-Event-ID`), then follows the file as the run writes it, woken by the engine's events
//! (the runner writes a chunk to the file before announcing it). Events: `line` (id = line
//! number), `rotated` when `drop_old` starts a new file, and `done` with the run's end state.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::Event as SseEvent;
use axum::response::Response;
use tokio::sync::{broadcast, mpsc};

use super::{find_run, line_json, start_line};
use crate::engine::events::Event;
use crate::engine::history::log_files;
use crate::engine::model::{RunId, RunStatus};
use crate::server::extract::RunIdParam;
use crate::server::extract::{only_params, param};
use crate::server::problem::Problem;
use crate::server::streams::sse_response;
use crate::server::AppState;

/// Without a wake-up from the engine the file is re-read this often anyway.
const RECHECK: Duration = Duration::from_secs(1);

/// Follows one log file by inode, handing out whole lines.
struct Tail {
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    partial: Vec<u8>,
}

impl Tail {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            inode: 0,
            partial: Vec::new(),
        }
    }

    /// New whole lines of the current file; `rotated` is set when the file was replaced.
    fn read(&mut self, out: &mut Vec<Vec<u8>>, rotated: &mut bool) {
        if self.file.is_none() {
            if let Ok(f) = File::open(&self.path) {
                self.inode = f.metadata().map(|m| m.ino()).unwrap_or(0);
                self.file = Some(f);
            }
        }
        self.drain(out);
        let replaced = std::fs::metadata(&self.path).is_ok_and(|m| m.ino() != self.inode);
        if replaced && self.file.is_some() {
            // The old generation was renamed away: finish it, then start on the new file.
            self.drain(out);
            self.partial.clear();
            self.file = None;
            *rotated = true;
            self.read(out, &mut false);
        }
    }

    fn drain(&mut self, out: &mut Vec<Vec<u8>>) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut buf = Vec::new();
        if file.read_to_end(&mut buf).is_err() {
            return;
        }
        self.partial.extend_from_slice(&buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            out.push(std::mem::replace(&mut self.partial, rest));
        }
    }
}

fn from_param(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<i64, Problem> {
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
            .ok_or_else(|| Problem::bad_request("Last-Event-ID must be a line number")),
        None => Ok(from),
    }
}

pub async fn follow(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RunIdParam(id): RunIdParam,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    only_params(&params, &["from"])?;
    let from = from_param(&params, &headers)?;
    let run = find_run(&app, id).await?;
    let slot = app.streams.acquire(peer.ip())?;
    // Subscribe before reading, so nothing written in between is missed.
    let events = app.engine.subscribe();
    let (prev, current) = log_files(&app.engine, &run)
        .ok_or_else(|| Problem::not_found(format!("run {id} has no log")))?;
    let (tx, rx) = mpsc::channel(256);
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
        .json_data(line_json(n, raw))
        .unwrap_or_default()
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
    // Replay: everything kept, numbered, from `from` on. Reading a whole log (up to two
    // generations of log_max_size) is blocking work, done off the async workers.
    let (replay, mut tail) = tokio::task::spawn_blocking(move || {
        let mut replay = Vec::new();
        Tail::new(prev).read(&mut replay, &mut false);
        let mut tail = Tail::new(current);
        tail.read(&mut replay, &mut false);
        (replay, tail)
    })
    .await
    .map_err(|_| ())?;
    let total = replay.len() as u64;
    let start = start_line(from, total);
    let mut n = 0u64;
    for line in replay {
        n += 1;
        if n >= start {
            tx.send(line_event(n, &line)).await.map_err(|_| ())?;
        }
    }
    // Whether the run has ended comes from the database at first, after a missed event and at
    // each RECHECK; otherwise from the run's own events, so printing costs no query.
    let mut ended = false;
    let mut ask = true;
    loop {
        if ask {
            ended =
                matches!(app.engine.run(id).await, Ok(Some(ref r)) if r.status == RunStatus::Ended);
        }
        let mut lines = Vec::new();
        let mut rotated = false;
        tail.read(&mut lines, &mut rotated);
        if rotated {
            tx.send(
                SseEvent::default()
                    .event("rotated")
                    .data("the log reached log_max_size and was rotated"),
            )
            .await
            .map_err(|_| ())?;
        }
        for line in lines {
            n += 1;
            tx.send(line_event(n, &line)).await.map_err(|_| ())?;
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
                .json_data(&run)
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

    fn resume_after(last: &str) -> Result<i64, Problem> {
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
