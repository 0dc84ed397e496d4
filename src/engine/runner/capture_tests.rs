use super::*;

fn writer(dir: &Path, cap: u64, policy: LogOnFull) -> (LogWriter, PathBuf) {
    let path = dir.join("run.log");
    (LogWriter::new(None, &path, cap, policy, 0), path)
}

#[test]
fn the_file_is_created_at_the_first_byte_and_never_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let (quiet, path) = writer(tmp.path(), 1 << 20, LogOnFull::DropOld);
    assert_eq!(quiet.finish(), CaptureReport::default());
    assert!(!path.exists(), "a run that printed nothing leaves no file");

    let target = tmp.path().join("elsewhere");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let (mut w, _) = writer(tmp.path(), 1 << 20, LogOnFull::DropOld);
    w.write(&out("hello\n"));
    w.write(&out("again\n"));
    let report = w.finish();
    let error = report.write_error.expect("an error on the run");
    assert!(error.starts_with("cannot create the run log: "), "{error}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}

fn out(text: &str) -> Chunk {
    Chunk {
        stream: Stream::Stdout,
        data: text.as_bytes().to_vec(),
    }
}

#[test]
fn prefixes_stderr_and_system_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut w, path) = writer(tmp.path(), 1 << 20, LogOnFull::DropOld);
    w.write(&out("hello\n"));
    w.write(&Chunk {
        stream: Stream::Stderr,
        data: b"oops\nagain\n".to_vec(),
    });
    w.write(&Chunk {
        stream: Stream::System,
        data: b"timeout\n".to_vec(),
    });
    assert_eq!(w.finish(), CaptureReport::default());
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "hello\n[ERR] oops\n[ERR] again\n[SYSTEM] timeout\n"
    );
}

#[test]
fn drop_old_keeps_one_previous_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut w, path) = writer(tmp.path(), 100, LogOnFull::DropOld);
    for i in 0..40 {
        assert!(!w.write(&out(&format!("line {i:04}\n"))));
    }
    let report = w.finish();
    assert!(report.cuts >= 3);
    let current = std::fs::read_to_string(&path).unwrap();
    let prev = std::fs::read_to_string(tmp.path().join("run.log.prev")).unwrap();
    assert!(
        current.starts_with(
            "[SYSTEM] log reached log_max_size (100B); earlier output moved to run.log.prev (line "
        ),
        "{current}"
    );
    assert!(current.ends_with("line 0039\n"), "{current}");
    assert!(current.len() <= 100 && prev.len() <= 100);
}

/// Logs past several writeback windows, and rotations inside them, keep every byte.
#[test]
fn large_logs_are_whole_across_writeback_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let mib = |i: usize| -> Vec<u8> {
        (0..16_384)
            .flat_map(|j| format!("chunk {i:03} line {j:05} {:>42}\n", "").into_bytes())
            .collect()
    };
    assert_eq!(mib(0).len(), 1 << 20);
    let (mut w, path) = writer(tmp.path(), 1 << 30, LogOnFull::DropOld);
    let mut expected = Vec::new();
    for i in 0..20 {
        let data = mib(i);
        expected.extend_from_slice(&data);
        w.write(&Chunk {
            stream: Stream::Stdout,
            data,
        });
    }
    assert_eq!(w.finish(), CaptureReport::default());
    assert!(std::fs::read(&path).unwrap() == expected);

    let (mut w, path) = writer(tmp.path(), 12 << 20, LogOnFull::DropOld);
    for i in 0..30 {
        w.write(&Chunk {
            stream: Stream::Stdout,
            data: mib(i),
        });
    }
    let report = w.finish();
    assert_eq!((report.cuts, report.write_error), (2, None));
    let current = std::fs::read(&path).unwrap();
    let prev = std::fs::read(tmp.path().join("run.log.prev")).unwrap();
    // Each generation opens with the marker that names its own line number: the file it
    // replaced held 12 MiB of 64-byte lines and a marker.
    let marker = |n: u64| {
        format!("[SYSTEM] log reached log_max_size (12MB); earlier output moved to run.log.prev (line {n})\n").into_bytes()
    };
    let prev_marker = marker((12 << 20) / 64 + 1);
    let prev_lines = prev.iter().filter(|b| **b == b'\n').count() as u64;
    let current_marker = marker((12 << 20) / 64 + 1 + prev_lines);
    assert!(
        prev.starts_with(&prev_marker),
        "{:?}",
        String::from_utf8_lossy(&prev[..120])
    );
    assert!(current.starts_with(&current_marker));
    assert!(current.len() <= 12 << 20 && prev.len() <= 12 << 20);
    let kept = [&prev[prev_marker.len()..], &current[current_marker.len()..]].concat();
    assert!(kept == (12..30).flat_map(mib).collect::<Vec<u8>>());
}

#[test]
fn drop_new_stops_writing_and_kill_task_asks_to_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut w, path) = writer(tmp.path(), 20, LogOnFull::DropNew);
    assert!(!w.write(&out("0123456789\n0123456789\nlater\n")));
    assert!(!w.write(&out("much later\n")));
    w.finish();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "0123456789\n[SYSTEM] log reached log_max_size (20B); further output is dropped (log_on_full = \"drop_new\")\n"
    );
    let (mut w, path) = writer(tmp.path(), 20, LogOnFull::KillTask);
    assert!(!w.write(&out("short\n")));
    assert!(w.write(&out("0123456789abcdef\n")));
    assert!(!w.write(&out("ignored\n")));
    w.finish();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "short\n[SYSTEM] log reached log_max_size (20B); stopping the run (log_on_full = \"kill_task\")\n"
    );
}
