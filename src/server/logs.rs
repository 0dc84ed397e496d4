//! A run's log over HTTP: a window of numbered lines as JSON, the raw file, and a live
//! server-sent-event stream. Lines are numbered from 1 across what is kept on disk (the `.prev`
//! generation first, continuing across rotation); the format is read by
//! [`crate::engine::runlog`], and no answer holds a whole log in memory.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::errors::ApiError;
use super::extract::{only_params, param, RunIdParam};
use super::AppState;
use crate::api::{LogLine, LogWindowHead};
use crate::engine::history::log_files;
use crate::engine::model::{Run, RunId, RunStatus};
use crate::engine::runlog::{self, KeptLog};

pub mod stream;

const MAX_LIMIT: usize = 10_000;
/// A window stops before this many bytes of JSON, whatever `limit` says; `next_from` then
/// says where to go on.
pub const MAX_WINDOW_BYTES: usize = 4 << 20;
/// The answer is handed to the connection in pieces of about this size.
const PIECE: usize = 64 << 10;

/// The kept log files of a run, oldest first.
fn files(app: &AppState, run: &Run) -> Vec<PathBuf> {
    let (prev, current) = log_files(&app.engine, run);
    vec![prev, current]
}

pub(crate) async fn find_run(app: &AppState, id: RunId) -> Result<Run, ApiError> {
    app.engine
        .run(id)
        .await?
        .ok_or_else(|| ApiError::no_run(id))
}

fn unreadable_log(id: RunId, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(
        "the run's log could not be read; see daemon.log",
        format_args!("run {id}: {e}"),
    )
}

pub async fn lines(
    State(app): State<AppState>,
    RunIdParam(id): RunIdParam,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    only_params(&params, &["from", "limit"])?;
    let from = param(&params, "from")?.unwrap_or(-1000i64);
    let limit = param(&params, "limit")?.unwrap_or(1000i64);
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let run = find_run(&app, id).await?;
    let log = KeptLog::new(files(&app, &run));
    let finished = run.status == RunStatus::Ended;
    // One pass for the extent, then the window is written as it is read, a piece at a time:
    // memory stays at one piece whatever the log holds.
    let (tx, rx) = mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let extent = match log.extent() {
            Ok(extent) => extent,
            Err(e) => {
                let _ = head_tx.send(Err(e));
                return;
            }
        };
        if head_tx.send(Ok(())).is_err() {
            return;
        }
        let head = LogWindowHead {
            first_available: extent.first_available,
            total_lines: extent.last_line,
            truncated: extent.truncated,
            finished,
        };
        let start = runlog::start_line(from, &extent);
        if let Err(e) = write_window(&log, &head, start, limit as usize, &tx) {
            tracing::warn!(run = %id, "the log window of run {id} was cut: {e}");
            let _ = tx.blocking_send(Err(e));
        }
    });
    match head_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(unreadable_log(id, e)),
        Err(e) => return Err(unreadable_log(id, e)),
    }
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((headers, body).into_response())
}

/// Writes the window's JSON into `tx` a piece at a time; an error cuts the body.
fn write_window(
    log: &KeptLog,
    head: &LogWindowHead,
    start: u64,
    limit: usize,
    tx: &mpsc::Sender<std::io::Result<Vec<u8>>>,
) -> std::io::Result<()> {
    let gone = || std::io::Error::other("the client went away");
    let mut out = serde_json::to_vec(head).map_err(std::io::Error::other)?;
    out.pop(); // the closing brace: the lines follow
    out.extend_from_slice(b",\"lines\":[");
    let mut sent_bytes = 0usize;
    let mut count = 0usize;
    let mut next_from = None;
    let mut lines = log.lines();
    let mut raw = Vec::new();
    let mut item = Vec::new();
    while let Some(n) = lines.next_line(&mut raw)? {
        if n < start {
            continue;
        }
        if count == limit {
            next_from = Some(n);
            break;
        }
        item.clear();
        serde_json::to_writer(&mut item, &LogLine::from_raw(n, &raw))
            .map_err(std::io::Error::other)?;
        if count > 0 && sent_bytes + out.len() + item.len() + 64 > MAX_WINDOW_BYTES {
            next_from = Some(n);
            break;
        }
        if count > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&item);
        count += 1;
        if out.len() >= PIECE {
            sent_bytes += out.len();
            tx.blocking_send(Ok(std::mem::take(&mut out)))
                .map_err(|_| gone())?;
        }
    }
    write!(out, "],\"next_from\":")?;
    serde_json::to_writer(&mut out, &next_from).map_err(std::io::Error::other)?;
    out.push(b'}');
    tx.blocking_send(Ok(out)).map_err(|_| gone())
}

fn unreadable(id: RunId, e: std::io::Error) -> std::io::Error {
    tracing::warn!(run = %id, "cannot read the log of run {id}; its download was cut: {e}");
    e
}

/// The whole log as on disk, streamed in 64 KiB chunks.
pub async fn raw(
    State(app): State<AppState>,
    RunIdParam(id): RunIdParam,
) -> Result<Response, ApiError> {
    let run = find_run(&app, id).await?;
    let paths = files(&app, &run);
    // A file removed since it was listed (retention) has nothing left to send; any other error
    // aborts the body, so the client sees a cut transfer, not a shorter log.
    let chunks = futures_util::stream::try_unfold(
        (paths.into_iter(), None::<tokio::fs::File>),
        move |(mut paths, mut file)| async move {
            loop {
                let Some(open) = file.as_mut() else {
                    let Some(path) = paths.next() else {
                        return Ok(None);
                    };
                    match tokio::fs::File::open(&path).await {
                        Ok(opened) => file = Some(opened),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(unreadable(id, e)),
                    }
                    continue;
                };
                let mut buf = vec![0u8; 64 * 1024];
                let n = open.read(&mut buf).await.map_err(|e| unreadable(id, e))?;
                if n == 0 {
                    file = None;
                    continue;
                }
                buf.truncate(n);
                return Ok(Some((buf, (paths, file))));
            }
        },
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok((headers, Body::from_stream(chunks)).into_response())
}
