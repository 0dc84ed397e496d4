//! A run's log over HTTP: a window of numbered lines as JSON, the raw file, and a live
//! server-sent-event stream. Lines are numbered from 1 across what is kept on disk (the `.prev`
//! generation first); `[ERR] ` and `[SYSTEM] ` prefixes become the line's stream.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use super::extract::{only_params, param, RunIdParam};
use super::problem::Problem;
use super::AppState;
use crate::engine::history::log_files;
use crate::engine::model::{Run, RunId, RunStatus};

pub mod stream;

const CUT_MARKER: &str = "[SYSTEM] log reached log_max_size";
const MAX_LIMIT: usize = 10_000;

/// One numbered log line as the API shows it.
pub fn line_json(n: u64, raw: &[u8]) -> Value {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches('\n');
    let (stream, text) = if let Some(rest) = text.strip_prefix("[ERR] ") {
        ("stderr", rest)
    } else if let Some(rest) = text.strip_prefix("[SYSTEM] ") {
        ("system", rest)
    } else {
        ("stdout", text)
    };
    json!({ "n": n, "stream": stream, "text": text })
}

/// The kept log files of a run, oldest first, that exist.
fn files(app: &AppState, run: &Run) -> Vec<PathBuf> {
    match log_files(&app.engine, run) {
        Some((prev, current)) => [prev, current].into_iter().filter(|p| p.exists()).collect(),
        None => Vec::new(),
    }
}

/// Calls `each` with every line of the files in order; stops early when it returns false.
fn for_each_line(
    paths: &[PathBuf],
    mut each: impl FnMut(u64, &[u8]) -> bool,
) -> std::io::Result<u64> {
    let mut n = 0;
    let mut buf = Vec::new();
    for path in paths {
        let mut reader = BufReader::with_capacity(64 * 1024, File::open(path)?);
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            n += 1;
            if !each(n, &buf) {
                return Ok(n);
            }
        }
    }
    Ok(n)
}

pub(crate) async fn find_run(app: &AppState, id: RunId) -> Result<Run, Problem> {
    app.engine
        .run(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no run {id}")))
}

/// Where a window starting at `from` (negative: from the end) begins, 1-based.
pub fn start_line(from: i64, total: u64) -> u64 {
    if from < 0 {
        (total as i64 + from + 1).max(1) as u64
    } else {
        (from as u64).max(1)
    }
}

pub async fn lines(
    State(app): State<AppState>,
    RunIdParam(id): RunIdParam,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    only_params(&params, &["from", "limit"])?;
    let from = param(&params, "from")?.unwrap_or(-1000i64);
    let limit = param(&params, "limit")?.unwrap_or(1000i64);
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let run = find_run(&app, id).await?;
    let paths = files(&app, &run);
    let finished = run.status == RunStatus::Ended;
    let window =
        tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<Value>, u64, bool)> {
            let mut truncated = paths.len() > 1;
            let total = for_each_line(&paths, |_, line| {
                truncated |= line.starts_with(CUT_MARKER.as_bytes());
                true
            })?;
            let start = start_line(from, total);
            let mut out = Vec::new();
            for_each_line(&paths, |n, line| {
                if n >= start {
                    out.push(line_json(n, line));
                }
                out.len() < limit as usize
            })?;
            Ok((out, total, truncated))
        })
        .await
        .map_err(|_| {
            Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "reading the log failed",
            )
        })?;
    let (lines, total, truncated) = window.map_err(|e| {
        tracing::error!("cannot read the log of run {id}: {e}");
        Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the run's log could not be read; see daemon.log",
        )
    })?;
    Ok(axum::Json(json!({
        "lines": lines,
        "first_available": if total > 0 { 1 } else { 0 },
        "total_lines": total,
        "truncated": truncated,
        "finished": finished,
    }))
    .into_response())
}

fn unreadable(id: RunId, e: std::io::Error) -> std::io::Error {
    tracing::warn!(run = %id, "cannot read the log of run {id}; its download was cut: {e}");
    e
}

/// The whole log as on disk, streamed in 64 KiB chunks.
pub async fn raw(
    State(app): State<AppState>,
    RunIdParam(id): RunIdParam,
) -> Result<Response, Problem> {
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
