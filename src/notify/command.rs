//! `command` notifiers: `/bin/sh -c RUN` in a process group of its own, the event JSON on its
//! stdin, the first 4 KiB of stdout and stderr kept for the outcome. Run like a task's command
//! and through the engine's reaper (the one place runwisp waits for processes): past the
//! timeout the whole tree gets SIGTERM, then SIGKILL after the grace period; when the shell
//! exits, anything it left running (a background child, a `setsid` escapee) is stopped the same
//! way, so a notification never leaves a process behind.
//!
//! The tree is found as a run's is, by its process group and by `RUNWISP_RUN_ID` in the
//! environment: here a marker `notify-<notifier>-<pid>-<n>` that no run id can equal.
//!
//! Exit 0 is delivered; another exit code or a signal is final (the command is broken, another
//! attempt will not mend it); a timeout is retried.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::{http::format_secs, text, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::runner::procs;
use crate::engine::runner::reaper::{self, ExitStatus};

/// How much of stdout and of stderr is kept.
const OUTPUT_MAX: usize = 4096;
/// How often a stop looks whether the tree is gone.
const STOP_PAUSE: Duration = Duration::from_millis(25);
/// How long the output is waited for once every process is gone or stopped.
const OUTPUT_WAIT: Duration = Duration::from_secs(1);

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Set once the daemon stops them: a command it killed is not the command's failure.
static STOPPED_BY_DAEMON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The commands running now, so a daemon that stops before they finish stops them too.
static RUNNING: std::sync::Mutex<Vec<Running>> = std::sync::Mutex::new(Vec::new());

struct Running {
    marker: String,
    pgid: Option<i32>,
    since: Option<u64>,
}

/// Keeps a command in [`RUNNING`] while its send is in progress.
struct Registered(String);

impl Registered {
    fn new(marker: &str, pgid: Option<i32>, since: Option<u64>) -> Self {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        running.push(Running {
            marker: marker.to_string(),
            pgid,
            since,
        });
        Registered(marker.to_string())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|r| r.marker != self.0);
    }
}

/// Stops every command notifier still running, with its whole tree (SIGTERM, then SIGKILL
/// after a short grace): the daemon calls it as it exits, so an unfinished send never leaves
/// a process behind. The send itself stays pending and is made again after the next start.
pub fn kill_running() {
    STOPPED_BY_DAEMON.store(true, Ordering::SeqCst);
    let running: Vec<(String, Option<i32>, Option<u64>)> = RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|r| (r.marker.clone(), r.pgid, r.since))
        .collect();
    for (marker, pgid, since) in running {
        stop(&marker, pgid, true, since, Duration::from_millis(500));
    }
}

pub fn send(id: &str, run: &str, event: &NotifyEvent, limits: &Limits) -> Outcome {
    let input = match serde_json::to_vec(event) {
        Ok(input) => input,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("the event could not be encoded as JSON: {e}"),
            }
        }
    };
    let marker = format!(
        "notify-{id}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let since = procs::ticks_now();
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(run)
        .env("RUNWISP_RUN_ID", &marker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let (mut child, exited) = match reaper::spawn(&mut command) {
        Ok(spawned) => spawned,
        Err(e) => {
            let reason = format!("the command could not be started: {e}");
            return match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    Outcome::Failed { reason }
                }
                _ => Outcome::Retry {
                    after: None,
                    reason,
                },
            };
        }
    };
    let pgid = i32::try_from(child.id()).ok();
    let _registered = Registered::new(&marker, pgid, since);
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin closes the pipe: that is not an error.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());
    let (tx, status) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(exited.blocking_recv().ok());
    });

    let status = match status.recv_timeout(limits.command_timeout) {
        Ok(Some(status)) => Some(status),
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The reaper let go of it: whatever runs is stopped, since nothing can wait for it.
            stop(&marker, pgid, true, since, limits.kill_grace);
            None
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            stop(&marker, pgid, true, since, limits.kill_grace);
            // Killed: the reaper delivers its status at once.
            let _ = status.recv_timeout(limits.kill_grace + Duration::from_secs(5));
            let reason = format!(
                "the command did not finish within {} and was stopped",
                format_secs(limits.command_timeout)
            );
            return Outcome::Retry {
                after: None,
                reason,
            };
        }
    };
    // The shell is gone (and reaped): stop whatever it left behind.
    if let (Some(_), Some(pgid)) = (status, pgid) {
        if !procs::leftovers(&marker, pgid, since).is_empty() {
            stop(&marker, Some(pgid), false, since, limits.kill_grace);
        }
    }
    let stdout = stdout.recv_timeout(OUTPUT_WAIT).unwrap_or_default();
    let stderr = stderr.recv_timeout(OUTPUT_WAIT).unwrap_or_default();
    match status {
        Some(ExitStatus::Code(0)) => {
            let out = text::truncate(stdout.trim(), OUTPUT_MAX);
            Outcome::Delivered {
                detail: if out.is_empty() {
                    "the command exited 0".into()
                } else {
                    format!("the command exited 0: {out}")
                },
            }
        }
        Some(ExitStatus::Code(code)) => Outcome::Failed {
            reason: with_output(
                format!("the command exited with code {code}"),
                &stderr,
                &stdout,
            ),
        },
        Some(ExitStatus::Signal(_)) if STOPPED_BY_DAEMON.load(Ordering::SeqCst) => Outcome::Retry {
            after: None,
            reason:
                "the command was stopped with the daemon; it is sent again after the next start"
                    .into(),
        },
        Some(ExitStatus::Signal(signal)) => {
            let name = Signal::try_from(signal)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {signal}"));
            Outcome::Failed {
                reason: with_output(
                    format!("the command was killed by {name}"),
                    &stderr,
                    &stdout,
                ),
            }
        }
        None => Outcome::Retry {
            after: None,
            reason: "the command's exit could not be observed".into(),
        },
    }
}

/// `what`, then the first line of stderr (or of stdout when stderr is empty).
fn with_output(what: String, stderr: &str, stdout: &str) -> String {
    let line = match text::one_line(stderr) {
        l if l.is_empty() => text::one_line(stdout),
        l => l,
    };
    if line.is_empty() {
        what
    } else {
        format!("{what}: {}", text::truncate(&line, 300))
    }
}

/// Reads `pipe` to its end on a thread, keeping the first [`OUTPUT_MAX`] bytes.
fn capture<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = OUTPUT_MAX.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
        });
    } else {
        let _ = tx.send(String::new());
    }
    rx
}

/// SIGTERM to the command's tree, `grace` for it to go, then SIGKILL to what is left. The
/// group itself is signalled only while its leader is known not to be reaped (`group`).
fn stop(marker: &str, pgid: Option<i32>, group: bool, since: Option<u64>, grace: Duration) {
    let list = || procs::run_processes_since(marker, pgid, since);
    let signal = |pids: &[i32], signal: Signal| {
        // ESRCH (already gone) is what is wanted: errors are ignored.
        if let (true, Some(pgid)) = (group, pgid) {
            let _ = killpg(Pid::from_raw(pgid), signal);
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(*pid), signal);
        }
    };
    signal(&list(), Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        thread::sleep(STOP_PAUSE);
        if list().is_empty() {
            return;
        }
    }
    // Several rounds: a process may fork between the listing and the signal.
    for _ in 0..20 {
        signal(&list(), Signal::SIGKILL);
        thread::sleep(STOP_PAUSE);
        if list().is_empty() {
            return;
        }
    }
}
