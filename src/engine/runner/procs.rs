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

/// Now, in the unit of [`ProcStat::start_time`] (clock ticks since boot): a process started
/// after this call has a start time at least this. `None` if the clock cannot be read.
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
/// `RUNWISP_RUN_ID=<run_id>`, and every descendant of those. Zombies are left to the reaper.
pub fn run_processes(run_id: &str, pgid: Option<i32>) -> Vec<i32> {
    run_processes_since(run_id, pgid, None)
}

/// [`run_processes`] of a run whose first process started at `since` (its `start_time`): no
/// process of the run can be older, so the environments of older ones are not read. Reading
/// every process's environment was most of the cost of the check after each run.
pub fn run_processes_since(run_id: &str, pgid: Option<i32>, since: Option<u64>) -> Vec<i32> {
    scan(run_id, pgid, since).found
}

/// What one pass over `/proc` found of a run.
struct Scan {
    found: Vec<i32>,
    /// A process that may be the run's could not be told apart: its environment read empty,
    /// as it does in the middle of an exec or of an exit.
    uncertain: bool,
}

fn scan(run_id: &str, pgid: Option<i32>, since: Option<u64>) -> Scan {
    let me = std::process::id() as i32;
    let marker = format!("RUNWISP_RUN_ID={run_id}").into_bytes();
    let stats: Vec<ProcStat> = all_stats().into_iter().filter(|s| s.pid != me).collect();
    let may_be_ours = |s: &ProcStat| since.is_none_or(|t| s.start_time >= t);
    let mut found = HashSet::new();
    let mut unsure = Vec::new();
    for s in &stats {
        if Some(s.pgid) == pgid {
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
    Scan {
        uncertain: unsure.iter().any(|pid| !found.contains(pid)),
        found: stats
            .iter()
            .filter(|s| found.contains(&s.pid) && !s.zombie)
            .map(|s| s.pid)
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
        let pass = scan(run_id, Some(pgid), since);
        if !pass.found.is_empty() {
            return pass.found;
        }
        agreed = if pass.uncertain { 0 } else { agreed + 1 };
        if agreed == 2 {
            return Vec::new();
        }
        std::thread::sleep(LEFTOVER_PAUSE);
    }
    scan(run_id, Some(pgid), since).found
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

/// [`run_processes_since`] on the blocking pool: a listing reads all of `/proc`, and a stop
/// ladder lists every 25 ms.
async fn listed(run_id: &str, pgid: Option<i32>, since: Option<u64>) -> Vec<i32> {
    let id = run_id.to_string();
    match tokio::task::spawn_blocking(move || run_processes_since(&id, pgid, since)).await {
        Ok(pids) => pids,
        Err(_) => run_processes_since(run_id, pgid, since),
    }
}

/// SIGKILL to every process of a run at once (the daemon's shutdown deadline).
pub fn kill_now(run_id: &str, pgid: Option<i32>) {
    signal(&run_processes(run_id, pgid), pgid, Signal::SIGKILL);
}

async fn wait_until_gone(
    run_id: &str,
    pgid: Option<i32>,
    since: Option<u64>,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if listed(run_id, pgid, since).await.is_empty() {
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
/// process group is signalled only when `pgid` is known to still be the run's; `since` (the
/// run's first start time, when known) spares reading the environments of older processes.
pub async fn stop_ladder(
    run_id: &str,
    pgid: Option<i32>,
    since: Option<u64>,
    grace: Duration,
) -> Stopped {
    if !grace.is_zero() {
        signal(&listed(run_id, pgid, since).await, pgid, Signal::SIGTERM);
        if wait_until_gone(run_id, pgid, since, grace).await {
            return Stopped { killed: false };
        }
    }
    // Several rounds: a process may fork between the listing and the signal.
    for _ in 0..20 {
        signal(&listed(run_id, pgid, since).await, pgid, Signal::SIGKILL);
        if wait_until_gone(run_id, pgid, since, Duration::from_millis(250)).await {
            break;
        }
    }
    Stopped { killed: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_started_after_ticks_now_is_not_older() {
        let before = ticks_now().expect("the boot clock");
        let mut sleep = std::process::Command::new("/bin/sleep");
        sleep.arg("1");
        let (child, _exited) = super::super::reaper::spawn(&mut sleep).expect("spawn sleep");
        let started = stat(child.id() as i32).map(|s| s.start_time);
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        assert!(
            started.is_some_and(|t| t >= before),
            "{started:?} < {before}"
        );
        let me = stat(std::process::id() as i32).expect("own stat");
        assert!(me.start_time <= before);
    }

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
    async fn what_a_run_leaves_behind_is_never_missed() {
        use std::os::unix::process::CommandExt;
        // As the runner does: the run's own process group, its id in the environment, and the
        // time just before the spawn, in the unit of a process's start time.
        let spawn = |run_id: &str, script: &str| {
            let mut cmd = std::process::Command::new("/bin/sh");
            cmd.arg("-c")
                .arg(script)
                .env("RUNWISP_RUN_ID", run_id)
                .process_group(0);
            let since = ticks_now().expect("the boot clock");
            let (child, exited) = super::super::reaper::spawn(&mut cmd).expect("spawn sh");
            (child.id() as i32, since, exited)
        };
        // "Maybe" is always a correct answer (another test's process, adopted by this one, may
        // be young), so the test asks until it gets "gone".
        let gone_within_5s = |pgid: i32, since: u64| async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !surely_gone(pgid, since) {
                if std::time::Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            true
        };

        // A run that leaves nothing behind.
        let (pgid, since, exited) = spawn("01GONETEST0000000000000000", "true");
        exited.await.expect("exit status");
        assert!(gone_within_5s(pgid, since).await);
        assert_eq!(
            leftovers("01GONETEST0000000000000000", pgid, Some(since)),
            Vec::<i32>::new()
        );

        // Escapees in their own session: one that outlives the run, and one that forks a
        // daemon and exits at once, handing the daemon over while it may be in the middle of
        // an exec (its environment reads empty) and itself in the middle of its exit (its
        // environment may read as anything). Found at once, every time, and never "gone".
        let scripts = [
            "setsid sleep 5 > /dev/null 2>&1 &",
            "setsid sh -c 'sleep 5 & :' > /dev/null 2>&1 &",
        ];
        for (round, script) in scripts.iter().cycle().take(30).enumerate() {
            let run_id = "01ESCAPETEST00000000000000";
            let (pgid, since, exited) = spawn(run_id, script);
            exited.await.expect("exit status");
            assert!(!surely_gone(pgid, since), "round {round}: gone at once");
            let left = leftovers(run_id, pgid, Some(since));
            let until = std::time::Instant::now() + Duration::from_millis(20);
            while std::time::Instant::now() < until {
                assert!(!surely_gone(pgid, since), "round {round}: gone meanwhile");
            }
            assert!(!left.is_empty(), "round {round}: {script} left nothing?");
            stop_ladder(run_id, Some(pgid), Some(since), Duration::ZERO).await;
            assert_eq!(
                run_processes(run_id, None),
                Vec::<i32>::new(),
                "round {round}"
            );
            assert!(
                gone_within_5s(pgid, since).await,
                "round {round}: never gone"
            );
        }
    }
}
