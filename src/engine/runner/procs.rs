//! Finding and stopping every process of a run: the members of its process group, the
//! processes that carry its run id in their environment (escapees that called `setsid` or
//! double-forked), the young orphans runwisp adopted that are the run's (see [`super::orphans`]
//! for the rule), and all their descendants. The stop ladder is SIGTERM to all of them, a wait
//! of `graceful_stop`, then SIGKILL; a process it found once stays on its list while it lives.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::orphans;

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// The session id.
    pub sid: i32,
    pub zombie: bool,
    /// Start time in clock ticks since boot: with the pid, it names one process for good.
    pub start_time: u64,
}

/// Reads `/proc/PID/stat`; `None` when the process is gone.
pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = read_proc(&format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain anything; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    let sid = fields.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        zombie: state == "Z" || state == "X",
        ppid,
        pgid,
        sid,
        start_time: fields.nth(15)?.parse().ok()?,
    })
}

/// A file of `/proc`, read whole. These files say they are empty, so `read_to_string` starts
/// with a tiny buffer and doubles it: six reads and a `statx` for one stat line, once per spawn;
/// here one read takes it and a second finds the end.
fn read_proc(path: &str) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 1024];
    let mut text = Vec::new();
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    String::from_utf8(text).ok()
}

/// Now, in the unit of [`ProcStat::start_time`] (clock ticks since boot): a process started
/// after this call has a start time at least this. `None` if the clock cannot be read.
#[allow(unsafe_code)] // two libc calls, each with its SAFETY note
pub fn ticks_now() -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the whole call.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) } != 0 {
        return None;
    }
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    let (secs, nanos) = (
        u64::try_from(now.tv_sec).ok()?,
        u64::try_from(now.tv_nsec).ok()?,
    );
    // The kernel rounds a start time down to a tick the same way.
    Some(secs * hz + nanos * hz / 1_000_000_000)
}

/// The start time of `pid`, a child just spawned, whose spawn began at `before`
/// ([`ticks_now`]). The kernel stamps a new process with the boot clock that `ticks_now` reads
/// and rounds it down to a tick the same way, so when the clock is still in the tick of
/// `before` after the spawn, that tick is the child's start time. Only a spawn across a tick
/// (one in a hundred or so, at 10 ms a tick) reads `/proc/PID/stat`, which costs more than the
/// rest of the spawn's own bookkeeping when 200 tasks are due at once.
pub fn start_time_of(pid: i32, before: Option<u64>) -> Option<u64> {
    match (before, ticks_now()) {
        (Some(before), Some(after)) if before == after => Some(before),
        _ => stat(pid).map(|s| s.start_time),
    }
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

/// Whether the environment of `pid` holds `marker`; `None` when it cannot be told: the
/// environment is unreadable, or empty, as it reads while the process is in the middle of an
/// exec or an exit.
fn marked(pid: i32, marker: &[u8]) -> Option<bool> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    if env.is_empty() {
        return None;
    }
    Some(env.split(|b| *b == 0).any(|var| var == marker))
}

/// The living processes of a run: its group `pgid`, anything whose environment holds
/// `RUNWISP_RUN_ID=<run_id>`, its young orphans, and every descendant of those. Zombies are
/// left to the reaper.
pub fn run_processes(run_id: &str, pgid: Option<i32>) -> Vec<i32> {
    run_processes_since(run_id, pgid, None)
}

/// [`run_processes`] of a run whose first process started at `since` (its `start_time`): no
/// process of the run can be older, so the environments of older ones are not read. Reading
/// every process's environment was most of the cost of the check after each run.
pub fn run_processes_since(run_id: &str, pgid: Option<i32>, since: Option<u64>) -> Vec<i32> {
    pids(&scan(run_id, pgid, since, &HashMap::new()).found)
}

fn pids(found: &[ProcStat]) -> Vec<i32> {
    found.iter().map(|s| s.pid).collect()
}

/// What one pass over `/proc` found of a run.
struct Scan {
    found: Vec<ProcStat>,
    /// A process that may be the run's could not be told apart: its environment read empty,
    /// as it does in the middle of an exec or of an exit.
    uncertain: bool,
}

/// Adds every descendant of `found` to it.
fn descendants(stats: &[ProcStat], found: &mut HashSet<i32>) {
    loop {
        let before = found.len();
        for s in stats {
            if found.contains(&s.ppid) {
                found.insert(s.pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
}

/// One pass; `known` (pid → start time) are processes found to be the run's before.
fn scan(run_id: &str, pgid: Option<i32>, since: Option<u64>, known: &HashMap<i32, u64>) -> Scan {
    let me = std::process::id() as i32;
    let marker = format!("RUNWISP_RUN_ID={run_id}").into_bytes();
    let stats: Vec<ProcStat> = all_stats().into_iter().filter(|s| s.pid != me).collect();
    let may_be_ours = |s: &ProcStat| since.is_none_or(|t| s.start_time >= t);
    let mut found = HashSet::new();
    let mut unsure = Vec::new();
    for s in &stats {
        if Some(s.pgid) == pgid || known.get(&s.pid) == Some(&s.start_time) {
            found.insert(s.pid);
        } else if may_be_ours(s) {
            match marked(s.pid, &marker) {
                Some(true) => {
                    found.insert(s.pid);
                }
                Some(false) => {}
                None if s.zombie => {}
                None => unsure.push(s.pid),
            }
        }
    }
    descendants(&stats, &mut found);
    if let Some(view) = orphans::view(run_id) {
        let adopted = orphans::claim(&view, &stats, &found);
        if !adopted.is_empty() {
            found.extend(adopted);
            descendants(&stats, &mut found);
        }
    }
    Scan {
        uncertain: unsure.iter().any(|pid| !found.contains(pid)),
        found: stats
            .into_iter()
            .filter(|s| found.contains(&s.pid) && !s.zombie)
            .collect(),
    }
}

/// How many passes [`leftovers`] makes at most, and the pause between them.
const LEFTOVER_PASSES: u32 = 10;
const LEFTOVER_PAUSE: Duration = Duration::from_millis(5);

/// What a run whose first process (`pgid`, started at `since`) has exited and been reaped left
/// running. Blocks for a few milliseconds at most: reading `/proc` races with processes that
/// are changing. An escapee that forks and exits at once (`setsid sh -c 'daemon &' &`) hands
/// its child over while the child may be in the middle of an exec (its environment reads empty)
/// and the parent in the middle of its exit (its environment may read as anything), so a pass
/// that finds nothing is trusted only when nothing young was unreadable and a second pass a
/// moment later agrees.
pub fn leftovers(run_id: &str, pgid: i32, since: Option<u64>) -> Vec<i32> {
    let mut agreed = 0;
    for _ in 0..LEFTOVER_PASSES {
        let pass = scan(run_id, Some(pgid), since, &HashMap::new());
        if !pass.found.is_empty() {
            return pids(&pass.found);
        }
        agreed = if pass.uncertain { 0 } else { agreed + 1 };
        if agreed == 2 {
            return Vec::new();
        }
        std::thread::sleep(LEFTOVER_PAUSE);
    }
    run_processes_since(run_id, Some(pgid), since)
}

/// Whether nothing of a run whose first process (`pgid`, its group leader, started at `since`)
/// has exited and been reaped can be left, proven without reading every process on the machine.
/// `false` means "maybe": ask [`leftovers`].
///
/// runwisp is a child subreaper, so when a process of the run dies its children are adopted by
/// runwisp's main thread (the first live thread of the subreaper). Once the first process is
/// gone, every surviving process of the run therefore has an ancestor, maybe itself, among the
/// main thread's children, and that ancestor, a descendant of the first process, started after
/// it. So an empty group and no child of the main thread as young as the run prove there is
/// nothing to stop. Nothing is read from a child but its start time: a child in the middle of
/// its exit can read as anything else, and is handing its own children over meanwhile.
pub fn surely_gone(pgid: i32, since: u64) -> bool {
    // Where the adopted children are listed, known once runwisp is a subreaper (it becomes
    // one before its first spawn and never stops being one).
    static ADOPTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let adopted = match ADOPTED.get() {
        Some(path) => path,
        None if matches!(nix::sys::prctl::get_child_subreaper(), Ok(true)) => {
            ADOPTED.get_or_init(|| {
                let me = std::process::id();
                format!("/proc/{me}/task/{me}/children")
            })
        }
        None => return false,
    };
    // Zombies still count as members here, which only sends the caller to the full scan.
    if killpg(Pid::from_raw(pgid), None) != Err(nix::errno::Errno::ESRCH) {
        return false;
    }
    let Some(children) = read_proc(adopted) else {
        return false;
    };
    children
        .split_ascii_whitespace()
        .filter_map(|pid| pid.parse::<i32>().ok())
        .all(|pid| stat(pid).is_some_and(|s| s.start_time < since))
}

fn signal(pids: &[i32], pgid: Option<i32>, signal: Signal) {
    // ESRCH (already gone) is the outcome we want, so errors are ignored.
    if let Some(pgid) = pgid {
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
    for pid in pids {
        let _ = kill(Pid::from_raw(*pid), signal);
    }
}

/// SIGKILL to every process of a run at once (the daemon's shutdown deadline).
pub fn kill_now(run_id: &str, pgid: Option<i32>) {
    signal(&run_processes(run_id, pgid), pgid, Signal::SIGKILL);
}

/// The listings of one stop ladder, which remember every process found once (by pid and start
/// time): one whose parent the ladder killed is adopted by runwisp and may carry nothing else
/// that says whose it is.
struct Ladder {
    run_id: String,
    pgid: Option<i32>,
    since: Option<u64>,
    known: HashMap<i32, u64>,
}

impl Ladder {
    /// The run's living processes, listed on the blocking pool: a listing reads all of
    /// `/proc`, and a stop ladder lists every 25 ms.
    async fn list(&mut self) -> Vec<i32> {
        let (id, pgid, since, known) = (
            self.run_id.clone(),
            self.pgid,
            self.since,
            self.known.clone(),
        );
        let pass = move || scan(&id, pgid, since, &known).found;
        let found = match tokio::task::spawn_blocking(pass.clone()).await {
            Ok(found) => found,
            Err(_) => pass(),
        };
        self.known
            .extend(found.iter().map(|s| (s.pid, s.start_time)));
        pids(&found)
    }

    async fn wait_until_gone(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.list().await.is_empty() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// How a stop ladder ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Whether SIGKILL was needed after the grace period.
    pub killed: bool,
}

/// SIGTERM to the whole run, up to `grace` for it to exit, then SIGKILL to what is left. The
/// process group is signalled only when `pgid` is known to still be the run's; `since` (the
/// run's first start time, when known) spares reading the environments of older processes.
pub async fn stop_ladder(
    run_id: &str,
    pgid: Option<i32>,
    since: Option<u64>,
    grace: Duration,
) -> Stopped {
    let mut ladder = Ladder {
        run_id: run_id.to_string(),
        pgid,
        since,
        known: HashMap::new(),
    };
    if !grace.is_zero() {
        signal(&ladder.list().await, pgid, Signal::SIGTERM);
        if ladder.wait_until_gone(grace).await {
            return Stopped { killed: false };
        }
    }
    // Several rounds: a process may fork between the listing and the signal.
    for _ in 0..20 {
        signal(&ladder.list().await, pgid, Signal::SIGKILL);
        if ladder.wait_until_gone(Duration::from_millis(250)).await {
            break;
        }
    }
    Stopped { killed: true }
}

#[cfg(test)]
#[path = "procs_tests.rs"]
mod tests;
