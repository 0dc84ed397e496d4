#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
//! runwisp under systemd (operations §3), with the real binary: the unit `service install
//! --dry-run` prints (and `systemd-analyze verify` accepts), the daemon's `READY=1`, `STOPPING=1`
//! and `WATCHDOG=1` on a `NOTIFY_SOCKET` the test binds, and `[daemon] log_format = "json"`.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const CONFIG: &str =
    "[daemon]\nshutdown_timeout = \"20s\"\n\n[tasks.t]\nrun = \"true\"\ncron = \"@every 1h\"\n";

/// `runwisp ARGS` in the project, without the caller's systemd variables.
fn command(p: &Project, args: &[&str]) -> Command {
    let mut cmd = p.command(args);
    for var in [
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "JOURNAL_STREAM",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

fn binary() -> PathBuf {
    canonical(Path::new(env!("CARGO_BIN_EXE_runwisp")))
}

/// The unit `service install --dry-run ARGS` prints, and what it says on stderr.
fn dry_run(p: &Project, args: &[&str]) -> (String, String) {
    let mut all = vec!["service", "install", "--dry-run"];
    all.extend_from_slice(args);
    let out = command(p, &all).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (stdout(&out), stderr(&out))
}

#[test]
fn dry_run_prints_the_unit_with_absolute_paths() {
    let p = Project::new(CONFIG);
    let dir = canonical(p.path());
    // A relative --config, resolved from the working directory.
    let (unit, said) = dry_run(&p, &["--config", "runwisp.toml"]);
    let lines: Vec<&str> = unit.lines().collect();
    let exec = format!(
        "ExecStart={} --config {} --data {} --headless",
        binary().display(),
        dir.join("runwisp.toml").display(),
        dir.join("data").display()
    );
    let working_dir = format!("WorkingDirectory={}", dir.display());
    for want in [
        "Type=notify",
        "NotifyAccess=main",
        exec.as_str(),
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "KillMode=mixed",
        "TimeoutStopSec=25s",
        working_dir.as_str(),
        "UMask=0077",
        "WantedBy=multi-user.target",
    ] {
        assert!(lines.contains(&want), "{want:?} missing from\n{unit}");
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("WatchdogSec")),
        "{unit}"
    );
    assert_eq!(
        said,
        "runwisp: --dry-run: would write the unit above to /etc/systemd/system/runwisp.service, then run:\n  systemctl daemon-reload\n  systemctl enable --now runwisp\n"
    );
    assert!(!p.data().exists(), "a dry run creates nothing");

    // --user and --data.
    let data = p.path().join("elsewhere");
    let home = tempfile::tempdir().unwrap();
    let out = command(
        &p,
        &[
            "service",
            "install",
            "--dry-run",
            "--user",
            "--data",
            data.to_str().unwrap(),
        ],
    )
    .env("HOME", home.path())
    .env_remove("XDG_CONFIG_HOME")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let unit = stdout(&out);
    assert!(
        unit.contains(&format!("--data {} --headless", data.display())),
        "{unit}"
    );
    assert!(unit.contains("\nWantedBy=default.target\n"), "{unit}");
    assert!(
        stderr(&out).contains(&format!(
            "would write the unit above to {}/.config/systemd/user/runwisp.service, then run:\n  systemctl --user daemon-reload\n  systemctl --user enable --now runwisp\n",
            home.path().display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn install_refuses_in_one_sentence_a_config_with_errors() {
    let p = Project::new("[tasks.t]\nrun = \"true\"\ncron = \"not cron\"\n");
    let out = command(&p, &["service", "install", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "no unit for a broken config");
    assert!(stderr(&out).contains("has 1 error"), "{}", stderr(&out));
}

#[test]
fn without_systemd_install_and_status_say_so_and_change_nothing() {
    if Path::new("/run/systemd/system").exists() {
        eprintln!("note: systemd runs here; this test only checks a machine without it");
        return;
    }
    let p = Project::new(CONFIG);
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["service", "install", "--user"][..],
        &["service", "status", "--user"][..],
    ] {
        let out = command(&p, args).env("HOME", home.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let said = stderr(&out);
        assert!(
            said.contains("runwisp: systemd is not running on this machine")
                || said.contains("runwisp: systemctl is not available here"),
            "{said}"
        );
        assert_eq!(said.lines().count(), 1, "one sentence: {said}");
    }
    assert!(!home.path().join(".config").exists(), "nothing written");
}

fn systemd_analyze() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("systemd-analyze"))
        .find(|p| p.is_file())
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let Some(analyze) = systemd_analyze() else {
        // scripts/test.sh installs Debian's systemd, which has it; elsewhere say what was left out.
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing in CI: scripts/test.sh installs the systemd package"
        );
        eprintln!("note: systemd-analyze is not installed; the unit was not verified");
        return;
    };
    let p = Project::new(CONFIG);
    for user in [false, true] {
        let args: &[&str] = if user { &["--user"] } else { &[] };
        let (unit, _) = dry_run(&p, args);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runwisp.service");
        std::fs::write(&file, &unit).unwrap();
        let runtime = tempfile::tempdir().unwrap();
        let mut verify = Command::new(&analyze);
        if user {
            verify.arg("--user").env("XDG_RUNTIME_DIR", runtime.path());
        }
        let out = verify.arg("verify").arg(&file).output().unwrap();
        let said = stderr(&out);
        assert!(
            out.status.success(),
            "systemd-analyze verify (user {user}) failed: {said}\n{unit}"
        );
        // It exits 0 on an ignored (wrong) setting, naming the file and line.
        let about_it: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("runwisp.service"))
            .collect();
        assert!(about_it.is_empty(), "user {user}: {about_it:?}\n{unit}");
    }
}

/// A socket standing in for systemd's `NOTIFY_SOCKET`.
struct Notify {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Notify {
    fn bind() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        Notify {
            socket,
            path,
            _dir: dir,
        }
    }

    /// The next message within `limit`, if any.
    fn recv(&self, limit: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("notify socket: {e}"),
        }
    }

    /// Messages until one has `line`; returns it and the ones before it.
    fn until(&self, line: &str, child: &mut Child, limit: Duration) -> (String, Vec<String>) {
        let deadline = Instant::now() + limit;
        let mut before = Vec::new();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the daemon exited ({status}) before {line}; it said {before:?}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {line} within {limit:?}; got {before:?}"
            );
            if let Some(m) = self.recv(left.min(Duration::from_millis(200))) {
                if m.lines().any(|l| l == line) {
                    return (m, before);
                }
                before.push(m);
            }
        }
    }
}

fn sigterm(child: &Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
}

#[test]
fn the_daemon_tells_systemd_it_is_ready_and_then_stopping() {
    let p = Project::new(CONFIG);
    let notify = Notify::bind();
    let port = free_port();
    let mut child = command(&p, &["--headless", "--port", &port.to_string()])
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (ready, before) = notify.until("READY=1", &mut child, Duration::from_secs(20));
    assert!(before.is_empty(), "nothing before READY=1: {before:?}");
    let lines: Vec<&str> = ready.lines().collect();
    assert_eq!(
        lines,
        [
            "READY=1".to_string(),
            format!("MAINPID={}", child.id()),
            format!("STATUS=1 task, 0 services, listening on 127.0.0.1:{port}"),
        ]
    );
    // Ready means booted and listening.
    assert!(p.data().join("daemon.pid").exists());
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening once READY=1");

    // SIGHUP reloads: RELOADING=1 (with the monotonic time systemd asks for), then READY=1
    // with the counts of the new file.
    std::fs::write(
        p.path().join("runwisp.toml"),
        format!("{CONFIG}\n[tasks.added_on_reload]\nrun = \"true\"\n"),
    )
    .unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGHUP).unwrap();
    let (reloading, _) = notify.until("RELOADING=1", &mut child, Duration::from_secs(20));
    assert!(
        reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")),
        "{reloading}"
    );
    let (ready, _) = notify.until("READY=1", &mut child, Duration::from_secs(20));
    assert!(
        ready
            .lines()
            .any(|l| l == format!("STATUS=2 tasks, 0 services, listening on 127.0.0.1:{port}")),
        "{ready}"
    );

    sigterm(&child);
    let (stopping, _) = notify.until("STOPPING=1", &mut child, Duration::from_secs(20));
    assert!(
        stopping.lines().any(|l| l == "STATUS=stopping (SIGTERM)"),
        "{stopping}"
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(notify.recv(Duration::from_millis(100)), None);
}

/// Starts the daemon through `sh`, which sets `WATCHDOG_PID` to the pid it then execs into
/// (`$$`), to another pid, or leaves it unset; returns the watchdog pets counted in the second
/// after `READY=1`.
fn watchdog_pets(watchdog_pid: Option<&str>) -> usize {
    let p = Project::new(CONFIG);
    let notify = Notify::bind();
    let port = free_port().to_string();
    let set_pid = match watchdog_pid {
        Some(pid) => format!("WATCHDOG_PID={pid}; export WATCHDOG_PID; "),
        None => String::new(),
    };
    let script = format!("{set_pid}exec \"$0\" --headless --port {port}");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_runwisp"))
        .current_dir(p.path())
        .env("TZ", "UTC")
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .env_remove("RUNWISP_CONFIG")
        .env_remove("RUNWISP_DATA")
        .env_remove("RUNWISP_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    notify.until("READY=1", &mut child, Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut pets = 0;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Some(m) = notify.recv(left) {
            assert_eq!(m, "WATCHDOG=1\n", "only pets while running");
            pets += 1;
        }
    }
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    pets
}

#[test]
fn the_daemon_pets_the_watchdog_at_half_its_interval() {
    // 200 ms: a pet every 100 ms, so about 10 in a second.
    let own = watchdog_pets(Some("$$"));
    assert!(
        (3..=15).contains(&own),
        "{own} pets with WATCHDOG_PID = the daemon"
    );
    let unset = watchdog_pets(None);
    assert!(
        (3..=15).contains(&unset),
        "{unset} pets without WATCHDOG_PID"
    );
    // The watchdog of another process (here: the shell's parent, the test) is not ours.
    let other = watchdog_pets(Some(&std::process::id().to_string()));
    assert_eq!(other, 0, "a watchdog meant for another pid");
}

fn run_and_stop(p: &Project) {
    let mut child = command(p, &["--headless", "--port", &free_port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    p.wait_booted(&mut child);
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn log_format_json_writes_daemon_log_as_json_lines() {
    let p = Project::new(
        "[daemon]\nlog_format = \"json\"\n\n[tasks.t]\nrun = \"true\"\ncron = \"@every 1h\"\n",
    );
    run_and_stop(&p);
    let log = std::fs::read_to_string(p.data().join("daemon.log")).unwrap();
    let mut messages = Vec::new();
    for line in log.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let message = entry["fields"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no fields.message: {line}"));
        assert!(
            entry["level"].is_string() && entry["timestamp"].is_string(),
            "{line}"
        );
        messages.push(message.to_string());
    }
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("runwisp ") && m.contains(" started (pid ")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "runwisp stopped"),
        "{messages:?}"
    );

    // The default stays text.
    let p = Project::new(CONFIG);
    run_and_stop(&p);
    let log = std::fs::read_to_string(p.data().join("daemon.log")).unwrap();
    assert!(log.lines().all(|l| !l.starts_with('{')), "{log}");
    assert!(log.contains("INFO"), "{log}");
}

#[test]
fn log_journald_without_a_journal_falls_back_to_daemon_log() {
    let p = Project::new(
        "[daemon]\nlog = \"journald\"\n\n[tasks.t]\nrun = \"true\"\ncron = \"@every 1h\"\n",
    );
    run_and_stop(&p);
    let log = std::fs::read_to_string(p.data().join("daemon.log"));
    if Path::new("/run/systemd/journal/socket").exists() {
        assert!(log.is_err(), "the journal replaces daemon.log: {log:?}");
        return;
    }
    let log = log.unwrap();
    assert!(
        log.contains("[daemon] log = \"journald\", but there is no journal here (/run/systemd/journal/socket does not exist); logging to daemon.log instead"),
        "{log}"
    );
    assert!(log.contains("runwisp stopped"), "{log}");
}

#[test]
fn tasks_do_not_inherit_what_systemd_gave_the_daemon() {
    let p = Project::new(
        "[services.probe]\nrun = 'echo \"notify=${NOTIFY_SOCKET:-unset} watchdog=${WATCHDOG_USEC:-unset} journal=${JOURNAL_STREAM:-unset}\"; sleep 30'\n",
    );
    let notify = Notify::bind();
    let port = free_port();
    let mut child = command(&p, &["--headless", "--port", &port.to_string()])
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "30000000")
        .env("JOURNAL_STREAM", "8:12345")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    notify.until("READY=1", &mut child, Duration::from_secs(20));
    let logs = p.data().join("logs/probe");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text: String = std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        if text.contains("notify=") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(
        text.trim(),
        "notify=unset watchdog=unset journal=unset",
        "a replica must not see the daemon's systemd environment"
    );
}
