//! Reading a run's kept log: the one place that knows the on-disk format the capture writes,
//! for every interface (the API's windows and live stream, `runwisp logs`, the TUI through the
//! API). It never holds a whole log: lines are read one at a time through a fixed buffer, a
//! line longer than [`MAX_LINE`] is cut, and callers take bounded batches.
//!
//! The format (written by [`crate::engine::runner::capture`]): one line per line of output;
//! stderr lines begin `[ERR] `, runwisp's own lines `[SYSTEM] `, and a stdout line that would
//! read as one of those (or as `[OUT] `) is written behind an `[OUT] ` prefix, so a task cannot
//! forge a line of another stream. Line numbers run on across `drop_old` rotation: a file that
//! rotation started begins with a `[SYSTEM]` marker that ends with its own line number,
//! `… moved to RUN.log.prev (line N)`, so the kept `.prev` generation knows where it starts
//! (`first_available`) after older lines were dropped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use crate::engine::runner::Stream;

/// The longest line a reader hands out; longer lines (only a file not written by runwisp can
/// hold one: capture cuts lines at 64 KiB after at most one more 64 KiB read, plus a prefix)
/// are cut into pieces of this size.
pub const MAX_LINE: usize = 129 * 1024;
const READ_BUF: usize = 64 * 1024;

pub const ERR_PREFIX: &[u8] = b"[ERR] ";
pub const SYSTEM_PREFIX: &[u8] = b"[SYSTEM] ";
pub const OUT_PREFIX: &[u8] = b"[OUT] ";
/// How every marker of a cut begins (`drop_old`, `drop_new`, `kill_task`).
pub const CUT_TEXT: &[u8] = b"log reached log_max_size";
/// How a rotation marker ends: `… (line N)`, N being the marker's own number.
const STARTS_AT: &[u8] = b" (line ";

/// The suffix of the marker that opens a file started by rotation.
pub fn starts_at(line: u64) -> String {
    format!(" (line {line})")
}

/// Whether a stdout line must be written behind [`OUT_PREFIX`] so it reads back as stdout.
pub fn needs_escape(line: &[u8]) -> bool {
    line.starts_with(ERR_PREFIX) || line.starts_with(SYSTEM_PREFIX) || line.starts_with(OUT_PREFIX)
}

/// One raw line of a log file (with or without its `\n`) as its stream and its text.
pub fn decode(raw: &[u8]) -> (Stream, &[u8]) {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    if let Some(text) = raw.strip_prefix(ERR_PREFIX) {
        (Stream::Stderr, text)
    } else if let Some(text) = raw.strip_prefix(SYSTEM_PREFIX) {
        (Stream::System, text)
    } else if let Some(text) = raw.strip_prefix(OUT_PREFIX) {
        (Stream::Stdout, text)
    } else {
        (Stream::Stdout, raw)
    }
}

/// Whether a raw line is runwisp's record of a cut.
pub fn is_cut_marker(raw: &[u8]) -> bool {
    matches!(decode(raw), (Stream::System, text) if text.starts_with(CUT_TEXT))
}

/// The line number a rotation marker names for itself.
fn marker_line(raw: &[u8]) -> Option<u64> {
    let (Stream::System, text) = decode(raw) else {
        return None;
    };
    if !text.starts_with(CUT_TEXT) {
        return None;
    }
    let text = text.strip_suffix(b")")?;
    let at = text
        .windows(STARTS_AT.len())
        .rposition(|w| w == STARTS_AT)?;
    std::str::from_utf8(&text[at + STARTS_AT.len()..])
        .ok()?
        .parse()
        .ok()
}

/// Reads lines of one file through a fixed buffer, keeping a partial last line for later.
pub struct LineReader {
    reader: BufReader<File>,
    partial: Vec<u8>,
}

impl LineReader {
    pub fn new(file: File) -> Self {
        Self {
            reader: BufReader::with_capacity(READ_BUF, file),
            partial: Vec::new(),
        }
    }

    /// The next whole line (with its `\n`), or None at the end of what is written so far (a
    /// partial last line waits for its end unless `take_partial`).
    pub fn next_line(&mut self, line: &mut Vec<u8>, take_partial: bool) -> io::Result<bool> {
        loop {
            let room = MAX_LINE.saturating_sub(self.partial.len());
            let read = (&mut self.reader)
                .take(room as u64)
                .read_until(b'\n', &mut self.partial)?;
            let whole = self.partial.last() == Some(&b'\n') || self.partial.len() >= MAX_LINE;
            if whole || (read == 0 && take_partial && !self.partial.is_empty()) {
                line.clear();
                std::mem::swap(line, &mut self.partial);
                // Keep a modest buffer, not the capacity of the longest line seen.
                if self.partial.capacity() > READ_BUF {
                    self.partial = Vec::new();
                }
                return Ok(true);
            }
            if read == 0 {
                return Ok(false);
            }
        }
    }

    fn file(&self) -> &File {
        self.reader.get_ref()
    }
}

/// The files of a run's log (the `.prev` generation first), read as one numbered sequence.
pub struct KeptLog {
    files: Vec<PathBuf>,
}

/// What a log holds, from one pass over it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    /// The number of the oldest kept line (0 when nothing is kept).
    pub first_available: u64,
    /// The number of the newest line (0 when nothing is kept).
    pub last_line: u64,
    /// Whether output was cut (a rotation, a dropped tail, a stopped run).
    pub truncated: bool,
}

impl KeptLog {
    /// `paths` oldest first; missing files are skipped when read.
    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Self {
        Self {
            files: paths.into_iter().collect(),
        }
    }

    /// Numbered lines from the first kept one.
    pub fn lines(&self) -> Lines {
        Lines::of(self.files.clone(), None)
    }

    /// One pass over the whole log, holding one line at a time.
    pub fn extent(&self) -> io::Result<Extent> {
        let mut lines = self.lines();
        let mut line = Vec::new();
        let mut last = 0;
        while let Some(n) = lines.next_line(&mut line)? {
            last = n;
        }
        Ok(Extent {
            first_available: if last == 0 {
                0
            } else {
                lines.first_seen.unwrap_or(1)
            },
            last_line: last,
            truncated: lines.truncated,
        })
    }
}

/// A line number to start at from a request's `from` (negative counts back from the end).
pub fn start_line(from: i64, extent: &Extent) -> u64 {
    let start = if from < 0 {
        (extent.last_line as i64)
            .saturating_add(from)
            .saturating_add(1)
    } else {
        from
    };
    (start.max(1) as u64).max(extent.first_available)
}

/// A running run's log followed from its first kept line: the lines of the rotated generation
/// (`prev`) to replay, then a [`Tail`] of the live file (`current`). The live file is opened
/// first and the rotated one after it, each held open from then on, so a `drop_old` rotation
/// at any moment loses no line and repeats none: one during the replay leaves the tail holding
/// the generation renamed away, which it finishes before it goes on to the new one; one
/// between the two opens makes the rotated file the very one the tail holds, and it is not
/// replayed. The caller sets the tail's `next` to the replay's [`Lines::next_number`].
pub fn follow(prev: &Path, current: PathBuf) -> io::Result<(Lines, Tail)> {
    let mut tail = Tail::new(current, 1);
    tail.open()?;
    let prev = match File::open(prev) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let held = tail.reader.as_ref().map(|_| tail.inode);
    let prev = match prev {
        Some(file) if Some(file.metadata()?.ino()) == held => None,
        other => other,
    };
    Ok((Lines::of(Vec::new(), prev.map(LineReader::new)), tail))
}

/// Numbered lines of a [`KeptLog`], oldest first.
pub struct Lines {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<LineReader>,
    next: u64,
    first_seen: Option<u64>,
    truncated: bool,
}

impl Lines {
    /// The lines of `current` (already open), then of `files`, numbered from 1.
    fn of(files: Vec<PathBuf>, current: Option<LineReader>) -> Self {
        Self {
            files: files.into_iter(),
            current,
            next: 1,
            first_seen: None,
            truncated: false,
        }
    }

    /// The number the next line gets (where a follower of the next file goes on).
    pub fn next_number(&self) -> u64 {
        self.next
    }

    /// The next line into `line`, with its number; None at the end.
    pub fn next_line(&mut self, line: &mut Vec<u8>) -> io::Result<Option<u64>> {
        loop {
            let Some(reader) = self.current.as_mut() else {
                let Some(path) = self.files.next() else {
                    return Ok(None);
                };
                if self.first_seen.is_some() {
                    // A later generation exists: output was rotated.
                    self.truncated = true;
                }
                match File::open(&path) {
                    Ok(file) => self.current = Some(LineReader::new(file)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                continue;
            };
            if !reader.next_line(line, true)? {
                self.current = None;
                continue;
            }
            if let Some(n) = marker_line(line) {
                // A file started by rotation: its first line knows its number.
                self.next = n;
                self.truncated = true;
            } else if is_cut_marker(line) {
                self.truncated = true;
            }
            let n = self.next;
            self.first_seen.get_or_insert(n);
            self.next += 1;
            return Ok(Some(n));
        }
    }
}

/// Follows a live log file by path: new whole lines as they are written, and the switch to a
/// new file when `drop_old` rotates. Holds one partial line at most.
pub struct Tail {
    path: PathBuf,
    reader: Option<LineReader>,
    inode: u64,
    /// The number the next line gets.
    pub next: u64,
}

impl Tail {
    /// A follower of `path` whose next line is number `next`.
    pub fn new(path: PathBuf, next: u64) -> Self {
        Self {
            path,
            reader: None,
            inode: 0,
            next,
        }
    }

    /// Opens the live file if it is not open yet and exists.
    fn open(&mut self) -> io::Result<()> {
        if self.reader.is_some() {
            return Ok(());
        }
        match File::open(&self.path) {
            Ok(file) => {
                self.inode = file.metadata()?.ino();
                self.reader = Some(LineReader::new(file));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Up to `max_bytes` of new whole lines (at least one when there is one), numbered;
    /// `rotated` is set when the file was replaced by a new generation.
    pub fn read(
        &mut self,
        out: &mut Vec<(u64, Vec<u8>)>,
        max_bytes: usize,
        rotated: &mut bool,
    ) -> io::Result<()> {
        let mut bytes = 0;
        loop {
            self.open()?;
            let Some(reader) = self.reader.as_mut() else {
                return Ok(());
            };
            let mut line = Vec::new();
            if reader.next_line(&mut line, false)? {
                if let Some(n) = marker_line(&line) {
                    self.next = n;
                }
                bytes += line.len();
                out.push((self.next, line));
                self.next += 1;
                if bytes >= max_bytes {
                    return Ok(());
                }
                continue;
            }
            // At the end of this file: was it renamed away and replaced?
            let replaced = std::fs::metadata(&self.path).is_ok_and(|m| m.ino() != self.inode)
                && reader.file().metadata().is_ok();
            if !replaced {
                return Ok(());
            }
            // Finish the old generation (all that was written to it before the rename, a last
            // line without its end included), then go on.
            let mut rest = Vec::new();
            while reader.next_line(&mut rest, true)? {
                bytes += rest.len();
                out.push((self.next, std::mem::take(&mut rest)));
                self.next += 1;
            }
            self.reader = None;
            *rotated = true;
        }
    }
}

#[cfg(test)]
#[path = "runlog_tests.rs"]
mod tests;

/// The last `n` lines of output (stdout and stderr, not runwisp's own lines) of the log file at
/// `path`, oldest first, read from at most its last 4 KiB: what a failure notification quotes.
pub fn last_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    use std::io::{Seek, SeekFrom};
    const WINDOW: u64 = 4096;
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(WINDOW);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut tail = Vec::with_capacity(WINDOW as usize);
    if file.take(WINDOW).read_to_end(&mut tail).is_err() {
        return Vec::new();
    }
    let mut raw_lines: Vec<&[u8]> = tail.split(|b| *b == b'\n').collect();
    if start > 0 && !raw_lines.is_empty() {
        // The first piece may be the end of a longer line.
        raw_lines.remove(0);
    }
    let mut out: Vec<String> = raw_lines
        .into_iter()
        .filter(|raw| !raw.is_empty())
        .filter_map(|raw| match decode(raw) {
            (Stream::System, _) => None,
            (_, text) => Some(String::from_utf8_lossy(text).into_owned()),
        })
        .collect();
    let skip = out.len().saturating_sub(n);
    out.drain(..skip);
    out
}
