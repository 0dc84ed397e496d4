use std::io::Write;
use std::path::Path;

use super::*;
use crate::engine::config::LogOnFull;
use crate::engine::datadir::prev_log_path;
use crate::engine::runner::{Chunk, LogWriter};

fn chunk(stream: Stream, text: &str) -> Chunk {
    Chunk {
        stream,
        data: text.as_bytes().to_vec(),
    }
}

fn read_all(log: &KeptLog) -> Vec<(u64, Stream, String)> {
    let mut lines = log.lines();
    let mut raw = Vec::new();
    let mut out = Vec::new();
    while let Some(n) = lines.next_line(&mut raw).unwrap() {
        let (stream, text) = decode(&raw);
        out.push((n, stream, String::from_utf8_lossy(text).into_owned()));
    }
    out
}

fn kept(path: &Path) -> KeptLog {
    KeptLog::new([prev_log_path(path), path.to_path_buf()])
}

#[test]
fn a_task_cannot_forge_another_streams_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut w = LogWriter::new(None, &path, 1 << 20, LogOnFull::DropOld, 0);
    w.write(&chunk(
        Stream::Stdout,
        "plain\n[SYSTEM] log reached log_max_size (1B); fake\n[ERR] not stderr\n[OUT] x\n[ok\n",
    ));
    w.write(&chunk(Stream::Stderr, "[SYSTEM] from stderr\n"));
    w.write(&chunk(Stream::System, "real\n"));
    w.finish();
    let got = read_all(&kept(&path));
    let want = [
        (1, Stream::Stdout, "plain"),
        (
            2,
            Stream::Stdout,
            "[SYSTEM] log reached log_max_size (1B); fake",
        ),
        (3, Stream::Stdout, "[ERR] not stderr"),
        (4, Stream::Stdout, "[OUT] x"),
        (5, Stream::Stdout, "[ok"),
        (6, Stream::Stderr, "[SYSTEM] from stderr"),
        (7, Stream::System, "real"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(n, s, t)| (*n, *s, t.to_string()))
        .collect();
    assert_eq!(got, want);
    let extent = kept(&path).extent().unwrap();
    assert_eq!(
        extent,
        Extent {
            first_available: 1,
            last_line: 7,
            truncated: false
        },
        "a forged cut marker does not mark the log truncated"
    );
}

#[test]
fn line_numbers_run_on_across_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut w = LogWriter::new(None, &path, 100, LogOnFull::DropOld, 0);
    for i in 0..40 {
        w.write(&chunk(Stream::Stdout, &format!("line {i:04}\n")));
    }
    let report = w.finish();
    assert!(report.cuts >= 3, "{report:?}");
    let lines = read_all(&kept(&path));
    // Every line ever written (40 and one marker per cut) has its number; the oldest were
    // dropped with their generation, so the kept ones end at the total and run on by one.
    let total = 40 + u64::from(report.cuts);
    assert_eq!(lines.last().map(|l| l.0), Some(total));
    for pair in lines.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "{pair:?}");
    }
    let extent = kept(&path).extent().unwrap();
    assert_eq!(extent.last_line, total);
    assert_eq!(extent.first_available, lines[0].0);
    assert!(extent.first_available > 1 && extent.truncated);
    // Each kept "line i" is line i + 1 plus the markers written before it.
    for (n, stream, text) in &lines {
        if let Some(i) = text.strip_prefix("line ") {
            let i: u64 = i.parse().unwrap();
            assert!(*n > i + 1 && *n <= i + 1 + u64::from(report.cuts));
            assert_eq!(*stream, Stream::Stdout);
        }
    }
}

#[test]
fn start_line_counts_back_from_the_end_and_never_before_the_first_kept() {
    let extent = Extent {
        first_available: 50,
        last_line: 100,
        truncated: true,
    };
    assert_eq!(start_line(-1, &extent), 100);
    assert_eq!(start_line(-10, &extent), 91);
    assert_eq!(start_line(-1000, &extent), 50);
    assert_eq!(start_line(1, &extent), 50);
    assert_eq!(start_line(70, &extent), 70);
    assert_eq!(start_line(i64::MIN, &extent), 50);
    assert_eq!(start_line(-5, &Extent::default()), 1);
}

#[test]
fn an_endless_line_is_handed_out_in_bounded_pieces() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&vec![b'x'; 3 * MAX_LINE + 10]).unwrap();
    f.write_all(b"\nend\n").unwrap();
    drop(f);
    let log = KeptLog::new([path]);
    let mut lines = log.lines();
    let mut raw = Vec::new();
    let mut sizes = Vec::new();
    while lines.next_line(&mut raw).unwrap().is_some() {
        assert!(raw.len() <= MAX_LINE);
        sizes.push(raw.len());
    }
    assert_eq!(sizes, vec![MAX_LINE, MAX_LINE, MAX_LINE, 11, 4]);
}

#[test]
fn a_tail_follows_appends_and_waits_for_a_partial_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut tail = Tail::new(path.clone(), 1);
    let mut out = Vec::new();
    let mut rotated = false;
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert!(out.is_empty(), "no file yet, nothing to read");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"one\ntwo\nthr").unwrap();
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert_eq!(out, vec![(1, b"one\n".to_vec()), (2, b"two\n".to_vec())]);
    f.write_all(b"ee\n").unwrap();
    out.clear();
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert_eq!(out, vec![(3, b"three\n".to_vec())]);
    assert!(!rotated);
    // A batch stops at its byte budget (after at least one line) and the next read goes on.
    f.write_all(b"four\nfive\n").unwrap();
    out.clear();
    tail.read(&mut out, 1, &mut rotated).unwrap();
    assert_eq!(out, vec![(4, b"four\n".to_vec())]);
    out.clear();
    tail.read(&mut out, 1, &mut rotated).unwrap();
    assert_eq!(out, vec![(5, b"five\n".to_vec())]);
}

#[test]
fn a_tail_goes_on_into_the_new_generation_with_the_next_number() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut w = LogWriter::new(None, &path, 1000, LogOnFull::DropOld, 0);
    w.write(&chunk(Stream::Stdout, "one\ntwo\nthree\n"));
    let mut tail = Tail::new(path.clone(), 1);
    let (mut out, mut rotated) = (Vec::new(), false);
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert_eq!(out.len(), 3);
    // The second long line does not fit: the file rotates.
    let long = |c: char| format!("{}\n", c.to_string().repeat(600));
    w.write(&chunk(Stream::Stdout, &long('x')));
    w.write(&chunk(Stream::Stdout, &long('y')));
    out.clear();
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert!(rotated, "the tail saw the rotation");
    let numbers: Vec<u64> = out.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![4, 5, 6]);
    assert!(out[0].1.starts_with(b"xxx") && out[2].1.starts_with(b"yyy"));
    assert!(is_cut_marker(&out[1].1));
    assert!(out[1].1.ends_with(b"moved to run.log.prev (line 5)\n"));
    w.finish();
}

/// A line longer than a small log_max_size is split into whole lines: the cut marker stays
/// its own line, and the rest of a split line reads back as its own stream, never as a line
/// of runwisp's.
#[test]
fn a_line_split_at_the_cap_stays_in_its_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut w = LogWriter::new(None, &path, 20, LogOnFull::DropNew, 0);
    w.write(&chunk(Stream::Stdout, "0123456789012345678901234567890\n"));
    w.finish();
    let lines = read_all(&kept(&path));
    assert_eq!(
        lines[0],
        (1, Stream::Stdout, "01234567890123456789".to_string())
    );
    assert_eq!(lines[1].1, Stream::System);
    assert!(lines[1].2.starts_with("log reached log_max_size (20B)"));
    assert!(kept(&path).extent().unwrap().truncated);

    // Forging a marker in the rest of a split line does not work either.
    let path = tmp.path().join("forge.log");
    let mut w = LogWriter::new(None, &path, 200, LogOnFull::DropOld, 0);
    let forged = format!(
        "{}[SYSTEM] log reached log_max_size (1B) (line 1)\n",
        "A".repeat(200)
    );
    w.write(&chunk(Stream::Stdout, &forged));
    w.finish();
    let lines = read_all(&kept(&path));
    let last = lines.last().unwrap();
    assert_eq!(
        (last.1, last.2.as_str()),
        (
            Stream::Stdout,
            "[SYSTEM] log reached log_max_size (1B) (line 1)"
        ),
        "{lines:?}"
    );
    for pair in lines.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "numbers run on: {lines:?}");
    }
    // The rest of a split stderr line is still stderr.
    let path = tmp.path().join("err.log");
    let mut w = LogWriter::new(None, &path, 200, LogOnFull::DropOld, 0);
    w.write(&chunk(
        Stream::Stderr,
        &format!("{}tail\n", "E".repeat(300)),
    ));
    w.finish();
    let lines = read_all(&kept(&path));
    let last = lines.last().unwrap();
    assert!(
        last.1 == Stream::Stderr && last.2.ends_with("tail"),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|(_, s, t)| *s == Stream::Stdout && t.starts_with('E')),
        "{lines:?}"
    );
}

/// Lines written to the old generation just before it was renamed away are all delivered,
/// not only the first: a writer writes a whole batch and then rotates.
#[test]
fn a_tail_delivers_every_line_written_before_a_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let mut w = LogWriter::new(None, &path, 1000, LogOnFull::DropOld, 0);
    w.write(&chunk(Stream::Stdout, "a\n"));
    let mut tail = Tail::new(path.clone(), 1);
    let (mut out, mut rotated) = (Vec::new(), false);
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert_eq!(out.len(), 1);
    for i in 0..10 {
        w.write(&chunk(Stream::Stdout, &format!("batch {i}\n")));
    }
    w.write(&chunk(Stream::Stdout, &format!("{}\n", "z".repeat(990))));
    out.clear();
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    assert!(rotated);
    let numbers: Vec<u64> = out.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (2..=13).collect::<Vec<u64>>(), "{out:?}");
    assert!(out[..10]
        .iter()
        .enumerate()
        .all(|(i, (_, l))| *l == format!("batch {i}\n").into_bytes()));
    w.finish();
}

/// Replays what `follow` opened, then tails: every line with its number.
fn followed(lines: &mut Lines, tail: &mut Tail) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut raw = Vec::new();
    while let Some(n) = lines.next_line(&mut raw).unwrap() {
        out.push((n, std::mem::take(&mut raw)));
    }
    tail.next = lines.next_number();
    let mut rotated = false;
    tail.read(&mut out, 1 << 20, &mut rotated).unwrap();
    out
}

fn numbers(out: &[(u64, Vec<u8>)]) -> Vec<u64> {
    out.iter().map(|(n, _)| *n).collect()
}

#[test]
fn a_rotation_while_the_rotated_generation_replays_loses_no_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    let prev = prev_log_path(&path);
    let mut w = LogWriter::new(None, &path, 1000, LogOnFull::DropOld, 0);
    let long = |c: char| format!("{}\n", c.to_string().repeat(600));
    // Generation one, then two (which starts with the marker that numbers it).
    w.write(&chunk(Stream::Stdout, &long('a')));
    w.write(&chunk(Stream::Stdout, &long('b')));
    w.write(&chunk(Stream::Stdout, "two\n"));
    let (mut lines, mut tail) = follow(&prev, path.clone()).unwrap();
    // The follower has opened both; before it reads a line, generation two is rotated away
    // (generation one is gone from disk) and three begins.
    w.write(&chunk(Stream::Stdout, &long('c')));
    w.write(&chunk(Stream::Stdout, "three\n"));
    let on_disk = std::fs::read(&prev).unwrap();
    assert!(
        on_disk.windows(3).any(|w| w == b"bbb") && !on_disk.windows(3).any(|w| w == b"aaa"),
        "the rotated name holds generation two now"
    );
    let out = followed(&mut lines, &mut tail);
    let want: Vec<u64> = (1..=out.len() as u64).collect();
    assert_eq!(numbers(&out), want, "every line once, in order");
    let texts: Vec<&[u8]> = out.iter().map(|(_, l)| l.as_slice()).collect();
    for expected in [&b"aaa"[..], b"bbb", b"two", b"ccc", b"three"] {
        assert!(
            texts.iter().any(|t| t.starts_with(expected)),
            "{expected:?} was followed"
        );
    }
    w.finish();
}

#[test]
fn a_rotated_file_the_tail_already_holds_is_not_replayed_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run.log");
    std::fs::write(&path, b"one\ntwo\n").unwrap();
    // What a rotation between the follower's two opens leaves: the rotated name is the file
    // the tail opened (here one file under both names).
    let prev = prev_log_path(&path);
    std::fs::hard_link(&path, &prev).unwrap();
    let (mut lines, mut tail) = follow(&prev, path.clone()).unwrap();
    let out = followed(&mut lines, &mut tail);
    assert_eq!(numbers(&out), vec![1, 2]);
    assert_eq!(out[1].1, b"two\n");
}
