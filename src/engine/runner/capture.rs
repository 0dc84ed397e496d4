//! Capturing a run's output into its log file. Two readers (stdout, stderr) cut their pipes into
//! whole lines and send them, in arrival order, to one writer that owns the file: stdout lines
//! as they are, stderr lines prefixed `[ERR] `, runwisp's own lines `[SYSTEM] `.
//!
//! The writer enforces `log_max_size` by `log_on_full`: `drop_old` moves the file to
//! `<run>.log.prev` (one generation) and continues, `drop_new` stops writing, `kill_task` stops
//! writing and asks for the run to be stopped. Each cut writes one `[SYSTEM]` marker. A log file
//! holds at most `log_max_size` bytes of output plus that marker and runwisp's own `[SYSTEM]`
//! lines (which are never dropped). Output past the cap is still
//! read and thrown away, so a chatty child never blocks on a full pipe.
//!
//! The finished log is fsynced before the run is recorded as ended (a run that printed nothing
//! has no file to sync). So that this does not leave a whole log's worth of dirty pages to flush
//! at the end (0.6 s for 1 GB on the benchmark machine, see `bench/RESULTS.md`), the writer asks
//! the kernel to start writing back every `WRITEBACK_EVERY` bytes as they come, and the final
//! fsync only waits for the tail.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, Notify};

use crate::engine::config::units::format_size;
use crate::engine::config::LogOnFull;
use crate::engine::datadir::{create_private_file, prev_log_path};
use crate::engine::runlog;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    System,
}

/// One or more whole lines, each ending in `\n`, from one stream.
#[derive(Debug)]
pub struct Chunk {
    pub stream: Stream,
    pub data: Vec<u8>,
}

/// Receives every chunk as it is captured, before the cap applies (the terminal of
/// `runwisp exec`, later the live log of the API).
pub type Echo = Box<dyn FnMut(&Chunk) + Send>;

const READ_SIZE: usize = 64 * 1024;
/// A line longer than this is cut into pieces, so one endless line cannot exhaust memory.
const MAX_LINE: usize = 64 * 1024;
/// Writeback of the log is started after this many bytes, overlapping the disk with the capture.
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

/// Reads a pipe to its end, sending whole lines. The pipe is read straight into the buffer of
/// lines in progress, the last line end is found with `memrchr`, and the chunk takes the buffer
/// itself (`take_lines`) rather than a copy of it.
pub async fn read_lines(mut pipe: pipe::Receiver, stream: Stream, tx: mpsc::Sender<Chunk>) {
    let mut pending: Vec<u8> = Vec::with_capacity(READ_SIZE);
    loop {
        pending.reserve(READ_SIZE);
        let before = pending.len();
        match pipe.read_buf(&mut pending).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        // What was pending before holds no line end: it was cut after the last one.
        let cut = match memchr::memrchr(b'\n', &pending[before..]) {
            Some(i) => before + i + 1,
            None if pending.len() >= MAX_LINE => {
                pending.push(b'\n');
                pending.len()
            }
            None => continue,
        };
        if tx
            .send(Chunk {
                stream,
                data: take_lines(&mut pending, cut),
            })
            .await
            .is_err()
        {
            break;
        }
    }
    if !pending.is_empty() {
        pending.push(b'\n');
        let _ = tx
            .send(Chunk {
                stream,
                data: pending,
            })
            .await;
    }
}

/// Takes the first `cut` bytes of `pending` as a chunk: the buffer itself, with the rest (a
/// part of a line) copied to a new one. A chunk owns about its own bytes: a buffer much larger
/// than what it holds is shrunk (the allocator usually splits it where it is), so a chunk of a
/// few bytes never holds a buffer's capacity while it waits in the channel.
fn take_lines(pending: &mut Vec<u8>, cut: usize) -> Vec<u8> {
    let rest = pending[cut..].to_vec();
    let mut data = std::mem::replace(pending, rest);
    data.truncate(cut);
    if data.capacity() / 2 > data.len() {
        data.shrink_to_fit();
    }
    data
}

/// Most chunks handed to the blocking pool at once.
const BATCH: usize = 64;

/// How long a writer job waits for more output before it gives its thread back.
const LINGER: Duration = Duration::from_millis(20);

/// Writes what the readers send until they are all done, then finishes the log. The writing
/// happens on the blocking pool: a job takes whatever has arrived, goes on taking what arrives
/// while it writes, and waits up to `LINGER` for more once the channel is empty
/// (`wait_for_more`), returning when the readers are done, when they have been quiet that long
/// or when `kill_task` wants the run stopped. A quiet run holds no thread and a chatty one is
/// written by one job whose thread the readers wake directly: no job handed to and back from
/// the runtime for every few chunks (1 GiB of output is some 60,000 chunks, and those
/// hand-overs cost a fifth of the capture's time, `bench/RESULTS.md`). `overflow` is notified
/// when `kill_task` wants the run stopped; `echo` sees every chunk right after it is in the
/// file, so whoever it wakes finds the lines already there.
pub async fn write_log(
    mut writer: LogWriter,
    mut echo: Option<Echo>,
    mut rx: mpsc::Receiver<Chunk>,
    overflow: Arc<Notify>,
) -> CaptureReport {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let job = tokio::task::spawn_blocking(move || {
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut overflowed = false;
            loop {
                for chunk in batch.drain(..) {
                    overflowed |= writer.write(&chunk);
                    if let Some(echo) = echo.as_mut() {
                        echo(&chunk);
                    }
                }
                if overflowed {
                    break;
                }
                if !wait_for_more(&mut rx, &mut batch, &waker) {
                    break;
                }
            }
            (writer, echo, batch, rx, overflowed)
        });
        match job.await {
            Ok((w, e, b, r, overflowed)) => {
                (writer, echo, batch, rx) = (w, e, b, r);
                if overflowed {
                    overflow.notify_one();
                }
            }
            Err(e) => return failed_writer(e),
        }
    }
    if !writer.needs_sync() {
        return writer.finish();
    }
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .unwrap_or_else(failed_writer)
}

/// Wakes the writer's thread parked in `wait_for_more`.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Takes the chunks that have arrived into `batch`, waiting for them up to `LINGER` on this
/// (blocking-pool) thread, parked until a reader's send wakes it. Without a timer of the
/// runtime, so a job still waiting while the runtime shuts down simply times out. False when
/// nothing came in time, or the readers are done (the caller's next `recv_many` sees that).
fn wait_for_more(rx: &mut mpsc::Receiver<Chunk>, batch: &mut Vec<Chunk>, waker: &Waker) -> bool {
    let deadline = Instant::now() + LINGER;
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(n) = rx.poll_recv_many(&mut cx, batch, BATCH) {
            return n > 0;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::park_timeout(left);
    }
}

fn failed_writer(e: tokio::task::JoinError) -> CaptureReport {
    CaptureReport {
        write_error: Some(format!("the log writer failed: {e}")),
        cuts: 0,
    }
}

/// What the writer saw, for the run's record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CaptureReport {
    /// The first write error, or why output was dropped for lack of disk space; capture went on
    /// draining either way.
    pub write_error: Option<String>,
    /// Times the cap was reached.
    pub cuts: u32,
}

/// Free space on the log's disk is checked after this many bytes.
const DISK_CHECK_EVERY: u64 = 256 * 1024;

/// Owns a run's log file and applies the cap.
pub struct LogWriter {
    /// Created at the first byte: a run that prints nothing (most cron jobs) costs no file.
    file: Option<File>,
    path: PathBuf,
    written: u64,
    cap: u64,
    policy: LogOnFull,
    dropping: bool,
    /// Nothing but (at most) a marker has been written to the current file.
    fresh: bool,
    /// Output stops when the disk's free space falls below this (`[storage] min_free_space`),
    /// so the run history always has room to record the run's end.
    disk_floor: u64,
    since_disk_check: u64,
    /// Bytes of the current file whose writeback has been started.
    writeback_from: u64,
    /// The number of the current file's first line (1 until a rotation).
    first_line: u64,
    report: CaptureReport,
}

impl LogWriter {
    /// A writer for the log at `path`: `file` when it is already open, else the file is created
    /// (0600, refusing a symlink) when the first byte comes.
    pub fn new(
        file: Option<File>,
        path: &Path,
        cap: u64,
        policy: LogOnFull,
        disk_floor: u64,
    ) -> Self {
        Self {
            file,
            path: path.to_path_buf(),
            written: 0,
            cap: cap.max(1),
            policy,
            dropping: false,
            fresh: true,
            disk_floor,
            since_disk_check: 0,
            writeback_from: 0,
            first_line: 1,
            report: CaptureReport::default(),
        }
    }

    /// Writes a chunk; returns true the moment `kill_task` wants the run stopped.
    pub fn write(&mut self, chunk: &Chunk) -> bool {
        if chunk.stream == Stream::System {
            let data = prefixed(&chunk.data, runlog::SYSTEM_PREFIX);
            self.raw(&data);
            return false;
        }
        if self.dropping || self.disk_low() {
            return false;
        }
        let owned;
        let mut data: &[u8] = if chunk.stream == Stream::Stderr {
            owned = prefixed(&chunk.data, runlog::ERR_PREFIX);
            &owned
        } else if let Some(escaped) = escape_stdout(&chunk.data) {
            owned = escaped;
            &owned
        } else {
            &chunk.data
        };
        // The rest of a line split at the cap, as a line of its own (see below).
        let mut carried: Vec<u8>;
        while !data.is_empty() {
            let room = self.cap.saturating_sub(self.written) as usize;
            if data.len() <= room {
                self.raw(data);
                self.fresh = false;
                return false;
            }
            // Cut at the last line end that fits. A line that does not fit even an empty file is
            // split at the cap, so the loop always makes progress.
            let fit = data[..room]
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|i| i + 1);
            let cut = match fit {
                Some(cut) => cut,
                None if self.fresh => data.len().min(self.cap as usize),
                None => 0,
            };
            self.raw(&data[..cut]);
            self.fresh = false;
            if cut > 0 && data[cut - 1] != b'\n' {
                // A line split in two: the piece ends its line, and the rest starts a new one
                // that reads back as the same stream (never as a marker of runwisp's).
                self.raw(b"\n");
                let rest = &data[cut..];
                let prefix: &[u8] = match chunk.stream {
                    Stream::Stderr => runlog::ERR_PREFIX,
                    _ if runlog::needs_escape(rest) => runlog::OUT_PREFIX,
                    _ => b"",
                };
                carried = [prefix, rest].concat();
                data = &carried;
            } else {
                data = &data[cut..];
            }
            if data.is_empty() {
                // A line longer than an empty file was written whole: the cut comes with
                // the next write, not now.
                return false;
            }
            self.report.cuts += 1;
            let size = format_size(self.cap);
            match self.policy {
                LogOnFull::DropOld => self.rotate(&size),
                LogOnFull::DropNew => {
                    self.marker(&format!("log reached log_max_size ({size}); further output is dropped (log_on_full = \"drop_new\")"));
                    self.dropping = true;
                    return false;
                }
                LogOnFull::KillTask => {
                    self.marker(&format!("log reached log_max_size ({size}); stopping the run (log_on_full = \"kill_task\")"));
                    self.dropping = true;
                    return true;
                }
            }
        }
        false
    }

    /// Checks the disk every [`DISK_CHECK_EVERY`] bytes; below the floor, output is dropped
    /// from now on with one marker.
    fn disk_low(&mut self) -> bool {
        if self.disk_floor == 0 || self.since_disk_check < DISK_CHECK_EVERY {
            return false;
        }
        self.since_disk_check = 0;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let Ok(free) = crate::engine::datadir::free_space_at(dir) else {
            return false;
        };
        if free >= self.disk_floor {
            return false;
        }
        let message = format!(
            "the data disk has only {} free, below [storage] min_free_space ({}); further output is dropped",
            format_size(free),
            format_size(self.disk_floor)
        );
        self.marker(&message);
        self.record_error(message);
        self.dropping = true;
        true
    }

    fn rotate(&mut self, size: &str) {
        if let Some(file) = self.file.as_mut() {
            let _ = file.flush();
        }
        // The new file's first line names its own number, so line numbers run on across the
        // rotation (see `runlog`). Counting the finished file costs a read of at most
        // log_max_size bytes, only when a rotation happens.
        let next_line = self.first_line + count_lines(&self.path);
        let prev = prev_log_path(&self.path);
        let result = std::fs::rename(&self.path, &prev)
            .map_err(|e| e.to_string())
            .and_then(|_| create_private_file(&self.path).map_err(|e| e.to_string()));
        match result {
            Ok(file) => {
                self.file = Some(file);
                self.written = 0;
                self.writeback_from = 0;
                self.fresh = true;
                let name = self
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.first_line = next_line;
                self.marker(&format!(
                    "log reached log_max_size ({size}); earlier output moved to {name}.prev{}",
                    runlog::starts_at(next_line)
                ));
            }
            Err(e) => {
                self.record_error(format!("cannot rotate the log: {e}"));
                self.dropping = true;
            }
        }
    }

    fn marker(&mut self, text: &str) {
        let line = format!("[SYSTEM] {text}\n");
        self.raw(line.as_bytes());
    }

    fn raw(&mut self, data: &[u8]) {
        if data.is_empty() || self.report.write_error.is_some() {
            return;
        }
        if self.file.is_none() {
            match create_private_file(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(e) => return self.record_error(format!("cannot create the run log: {e}")),
            }
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        match file.write_all(data) {
            Ok(()) => {
                self.written += data.len() as u64;
                self.since_disk_check += data.len() as u64;
                if self.written - self.writeback_from >= WRITEBACK_EVERY {
                    start_writeback(file, self.writeback_from, self.written);
                    self.writeback_from = self.written;
                }
            }
            Err(e) => self.record_error(format!(
                "cannot write the run log {}: {e}",
                self.path.display()
            )),
        }
    }

    fn record_error(&mut self, message: String) {
        if self.report.write_error.is_none() {
            self.report.write_error = Some(message);
        }
    }

    /// Whether [`LogWriter::finish`] has anything to sync. A run that printed nothing (most
    /// cron jobs) leaves an empty file: there is nothing to make durable, and on ext4 the fsync
    /// of a new empty file still waits for a journal commit. Lost in a crash, an empty log
    /// reads the same as a missing one.
    pub fn needs_sync(&self) -> bool {
        self.written > 0 || self.report.write_error.is_some()
    }

    /// Syncs the log (when it [needs it](LogWriter::needs_sync)) and reports.
    pub fn finish(mut self) -> CaptureReport {
        if !self.needs_sync() {
            return self.report;
        }
        let synced = self.file.as_ref().map_or(Ok(()), File::sync_data);
        if let Err(e) = synced {
            self.record_error(format!("cannot sync the run log: {e}"));
        }
        self.report
    }
}

/// Starts writing `from..to` of `file` back to disk without waiting for it. Best effort: on
/// failure the final fsync still does the whole job.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(from), i64::try_from(to - from)) else {
        return;
    };
    // SAFETY: the descriptor is owned by `file`, open for the whole call; no memory is passed.
    #[allow(unsafe_code)]
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _from: u64, _to: u64) {}

/// Lines in the file at `path` (0 when it cannot be read: numbering then restarts lower,
/// which readers survive).
fn count_lines(path: &Path) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return 0;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    loop {
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(n) => lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64,
        }
    }
}

/// Stdout lines that would read back as another stream (`[ERR] `, `[SYSTEM] `, `[OUT] `) get
/// an `[OUT] ` prefix; None when no line needs one (the common case, found with one scan for
/// `[` at a line start).
fn escape_stdout(data: &[u8]) -> Option<Vec<u8>> {
    let at_line_start = |i: usize| i == 0 || data[i - 1] == b'\n';
    let first = memchr::memchr_iter(b'[', data)
        .find(|&i| at_line_start(i) && runlog::needs_escape(&data[i..]))?;
    let mut out = Vec::with_capacity(data.len() + 64);
    out.extend_from_slice(&data[..first]);
    for line in data[first..].split_inclusive(|b| *b == b'\n') {
        if runlog::needs_escape(line) {
            out.extend_from_slice(runlog::OUT_PREFIX);
        }
        out.extend_from_slice(line);
    }
    Some(out)
}

fn prefixed(data: &[u8], prefix: &[u8]) -> Vec<u8> {
    let lines = data.iter().filter(|b| **b == b'\n').count().max(1);
    let mut out = Vec::with_capacity(data.len() + lines * prefix.len());
    for line in data.split_inclusive(|b| *b == b'\n') {
        out.extend_from_slice(prefix);
        out.extend_from_slice(line);
    }
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod tests;
