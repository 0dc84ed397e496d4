//! Finding and stopping every process of a run: the members of its process group, the
//! processes that carry its run id in their environment (escapees that called `setsid` or
//! double-forked), and all their descendants. The stop ladder is SIGTERM to all of them, a wait
//! of `graceful_stop`, then SIGKILL.

use std::collections::HashSet;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub zombie: bool,
    /// Start time in clock ticks since boot: with the pid, it names one process for good.
    pub start_time: u64,
}

/// Reads `/proc/PID/stat`; `None` when the process is gone.
pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        zombie: state == "Z" || state == "X",
        ppid,
        pgid,
        start_time: fields.nth(16)?.parse().ok()?,
    })
}

fn all_stats() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

fn has_marker(pid: i32, marker: &[u8]) -> bool {
    marked(pid, marker).unwrap_or(false)
}

/// Whether the environment of `pid` holds `marker`; `None` when it cannot be told: the
/// environment is unreadable, or empty, as it reads while the process is in the middle of an
/// exec.
fn marked(pid: i32, marker: &[u8]) -> Option<bool> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    if env.is_empty() {
        return None;
    }
    Some(env.split(|b| *b == 0).any(|var| var == marker))
}

/// The living processes of a run: its group `pgid`, anything whose environment holds
/// `RUNWISP_RUN_ID=<run_id>`, and every descendant of those. Zombies are left to the reaper.
pub fn run_processes(run_id: &str, pgid: Option<i32>) -> Vec<i32> {
    run_processes_since(run_id, pgid, None)
}

/// [`run_processes`] of a run whose first process started at `since` (its `start_time`): no
/// process of the run can be older, so the environments of older ones are not read. Reading
/// every process's environment was most of the cost of the check after each run.
pub fn run_processes_since(run_id: &str, pgid: Option<i32>, since: Option<u64>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let marker = format!("RUNWISP_RUN_ID={run_id}").into_bytes();
    let stats: Vec<ProcStat> = all_stats().into_iter().filter(|s| s.pid != me).collect();
    let may_be_ours = |s: &ProcStat| since.is_none_or(|t| s.start_time >= t);
    let mut found: HashSet<i32> = stats
        .iter()
        .filter(|s| Some(s.pgid) == pgid || (may_be_ours(s) && has_marker(s.pid, &marker)))
        .map(|s| s.pid)
        .collect();
    loop {
        let before = found.len();
        for s in &stats {
            if found.contains(&s.ppid) {
                found.insert(s.pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    stats
        .iter()
        .filter(|s| found.contains(&s.pid) && !s.zombie)
        .map(|s| s.pid)
        .collect()
}

/// Whether nothing of a run whose first process (`pgid`, its group leader) has exited and been
/// reaped can be left, proven without reading every process on the machine. `false` means
/// "maybe": ask [`run_processes_since`].
///
/// runwisp is a child subreaper, so when a process of the run dies its children are adopted by
/// runwisp's main thread (the first live thread of the subreaper). Once the first process is
/// gone, every surviving process of the run therefore has an ancestor, maybe itself, among the
/// main thread's children, and that ancestor is in the run's group or carries the run id in its
/// environment just as the process does (an environment is inherited). So an empty group and
/// no such child of the main thread mean that the full scan would find nothing either. A child
/// whose environment cannot be read (one in the middle of an exec reads empty) makes the answer
/// "maybe". The one thing this cannot see, and the full scan can, is a marked process below an
/// adopted parent that left the group and replaced its own environment after forking it.
pub fn surely_gone(run_id: &str, pgid: i32) -> bool {
    if !matches!(nix::sys::prctl::get_child_subreaper(), Ok(true)) {
        return false;
    }
    // Zombies still count as members here, which only sends the caller to the full scan.
    if killpg(Pid::from_raw(pgid), None) != Err(nix::errno::Errno::ESRCH) {
        return false;
    }
    let me = std::process::id();
    let Ok(children) = std::fs::read_to_string(format!("/proc/{me}/task/{me}/children")) else {
        return false;
    };
    let marker = format!("RUNWISP_RUN_ID={run_id}").into_bytes();
    children
        .split_ascii_whitespace()
        .filter_map(|pid| pid.parse::<i32>().ok())
        .all(|pid| match stat(pid) {
            None => true,
            Some(s) if s.zombie => true,
            Some(s) => s.pgid != pgid && marked(pid, &marker) == Some(false),
        })
}

fn signal_all(run_id: &str, pgid: Option<i32>, signal: Signal) {
    // ESRCH (already gone) is the outcome we want, so errors are ignored.
    if let Some(pgid) = pgid {
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
    for pid in run_processes(run_id, pgid) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// SIGKILL to every process of a run at once (the daemon's shutdown deadline).
pub fn kill_now(run_id: &str, pgid: Option<i32>) {
    signal_all(run_id, pgid, Signal::SIGKILL);
}

async fn wait_until_gone(run_id: &str, pgid: Option<i32>, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if run_processes(run_id, pgid).is_empty() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// How a stop ladder ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Whether SIGKILL was needed after the grace period.
    pub killed: bool,
}

/// SIGTERM to the whole run, up to `grace` for it to exit, then SIGKILL to what is left. The
/// process group is signalled only when `pgid` is known to still be the run's.
pub async fn stop_ladder(run_id: &str, pgid: Option<i32>, grace: Duration) -> Stopped {
    if !grace.is_zero() {
        signal_all(run_id, pgid, Signal::SIGTERM);
        if wait_until_gone(run_id, pgid, grace).await {
            return Stopped { killed: false };
        }
    }
    // Several rounds: a process may fork between the listing and the signal.
    for _ in 0..20 {
        signal_all(run_id, pgid, Signal::SIGKILL);
        if wait_until_gone(run_id, pgid, Duration::from_millis(250)).await {
            break;
        }
    }
    Stopped { killed: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_stat() {
        let me = std::process::id() as i32;
        let s = stat(me).expect("own stat");
        assert_eq!(s.pid, me);
        assert!(!s.zombie);
        assert!(s.start_time > 0);
        assert!(stat(i32::MAX).is_none());
    }

    #[tokio::test]
    async fn surely_gone_only_when_no_escapee_was_adopted() {
        use std::os::unix::process::CommandExt;
        let spawn = |run_id: &str, script: &str| {
            let mut cmd = std::process::Command::new("/bin/sh");
            cmd.arg("-c")
                .arg(script)
                .env("RUNWISP_RUN_ID", run_id)
                .process_group(0);
            super::super::reaper::spawn(&mut cmd).expect("spawn sh")
        };
        // "Maybe" is always a correct answer (a process of another test, adopted by this one,
        // may be in the middle of an exec), so the test asks until it gets "gone".
        let gone_within_5s = |run_id: &'static str, pgid: i32| async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !surely_gone(run_id, pgid) {
                if std::time::Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            true
        };
        // A run that leaves nothing behind.
        let (child, exited) = spawn("01GONETEST0000000000000000", "true");
        exited.await.expect("exit status");
        assert!(gone_within_5s("01GONETEST0000000000000000", child.id() as i32).await);

        // A run whose escapee (its own session) outlives it and is adopted by this process.
        let run_id = "01ESCAPETEST00000000000000";
        let (child, exited) = spawn(run_id, "setsid sleep 30 > /dev/null 2>&1 &");
        exited.await.expect("exit status");
        let pgid = child.id() as i32;
        assert!(!surely_gone(run_id, pgid), "the escapee is still running");
        // (Read while the escapee is in the middle of an exec, an environment is empty.)
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let left = loop {
            let left = run_processes(run_id, Some(pgid));
            if !left.is_empty() || std::time::Instant::now() > deadline {
                break left;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = kill(Pid::from_raw(left[0]), Signal::SIGKILL);
        assert!(gone_within_5s(run_id, pgid).await, "escapee never went");
    }
}
