//! The one place runwisp waits for processes. runwisp is a child subreaper, so descendants that
//! escape a run (double fork, `setsid`) are re-parented to it when their parent dies; a single
//! thread blocks in `waitid` for any child and reaps every one: the exit status of a process
//! runwisp spawned goes to whoever waits for it, orphans are simply reaped so no zombie lingers.
//! Spawns do not wait for each other (200 tasks due at once start on every core), so a child may
//! exit before its spawn has registered it; the reaper holds such a child as a zombie until then.
//!
//! Because this thread reaps every child, nothing else in the process may wait for children
//! (no `std::process::Command::output()` beside it): spawn through [`spawn`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::{Child, Command};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use nix::errno::Errno;
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::sync::oneshot;

/// How a process ended: its exit code, or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// The shell convention: the code itself, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

#[derive(Default)]
struct State {
    waiting: HashMap<i32, oneshot::Sender<ExitStatus>>,
    /// Spawns started so far; each one's number is its place in this count.
    started: u64,
    /// The numbers of the spawns that have not returned yet.
    in_flight: BTreeSet<u64>,
    /// Bumped at every spawn's start and end, so the reaper knows when to look again.
    generation: u64,
}

struct Registry {
    state: Mutex<State>,
    changed: Condvar,
    /// Why the reaper thread could not be started: nothing can be spawned then, since no exit
    /// would ever be seen.
    failed: Option<String>,
}

fn lock(reg: &Registry) -> MutexGuard<'_, State> {
    reg.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // Best effort: without it escapees are re-parented to init, and cleanup still finds
        // them by the run id in their environment.
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!("cannot become a child subreaper: {e}");
        }
        let failed = std::thread::Builder::new()
            .name("runwisp-reaper".into())
            .spawn(reap_forever)
            .err()
            .map(|e| format!("cannot start the process reaper thread: {e}"));
        Registry {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            failed,
        }
    })
}

/// Makes this process a child subreaper and starts the reaper, if not done yet; an error when
/// the reaper cannot run (then no command can be run either).
pub fn init() -> std::io::Result<()> {
    match &registry().failed {
        Some(why) => Err(std::io::Error::other(why.clone())),
        None => Ok(()),
    }
}

/// Spawns `command` and returns the child with a receiver for its exit status. Spawns run in
/// parallel: a child that exits before its spawn has returned is held as a zombie by the reaper
/// until it is registered (see [`reap_forever`]).
pub fn spawn(command: &mut Command) -> std::io::Result<(Child, oneshot::Receiver<ExitStatus>)> {
    init()?;
    let reg = registry();
    let number = {
        let mut state = lock(reg);
        state.started += 1;
        state.generation += 1;
        let number = state.started;
        state.in_flight.insert(number);
        number
    };
    // No wake-up here: whoever waits on `changed` waits for a spawn to return (the reaper for
    // the child it may have made, `spawned_children` for the spawns in flight), and `Returned`
    // wakes them then. Waking the reaper now only had it find no child yet, once per spawn.
    let mut returned = Returned {
        reg,
        number,
        register: None,
    };
    let spawned = command.spawn();
    let (tx, rx) = oneshot::channel();
    if let Ok(child) = &spawned {
        returned.register = Some((child.id() as i32, tx));
    }
    drop(returned);
    spawned.map(|child| (child, rx))
}

/// The children runwisp spawned that have not been reaped yet. Waits for the spawns in flight
/// at the call to return first, so every child spawned before the call that is still alive is
/// in the set: a child of runwisp that is not is an orphan it adopted.
pub fn spawned_children() -> HashSet<i32> {
    let reg = registry();
    let mut state = lock(reg);
    let boundary = state.started;
    while state.in_flight.first().is_some_and(|n| *n <= boundary) {
        state = reg.changed.wait(state).unwrap_or_else(|p| p.into_inner());
    }
    state.waiting.keys().copied().collect()
}

/// A spawn leaving the in-flight set, with its child registered in the same step (so the reaper
/// never sees it returned but its child unknown), also when `Command::spawn` unwinds.
struct Returned<'a> {
    reg: &'a Registry,
    number: u64,
    register: Option<(i32, oneshot::Sender<ExitStatus>)>,
}

impl Drop for Returned<'_> {
    fn drop(&mut self) {
        let mut state = lock(self.reg);
        if let Some((pid, tx)) = self.register.take() {
            state.waiting.insert(pid, tx);
        }
        state.in_flight.remove(&self.number);
        state.generation += 1;
        drop(state);
        self.reg.changed.notify_all();
    }
}

/// Reaps every child, one at a time. It first looks at an exited child without reaping it
/// (`WNOWAIT`): as a zombie, its pid cannot be given to another process. A pid nobody waits for
/// is either an orphan (an escapee re-parented to runwisp) or a child whose spawn has not
/// returned yet; only a spawn that started before the child was first seen can have created
/// it, so the reaper waits for those spawns to return and looks again (a spawn that failed
/// reaps its own child). Then it reaps that pid without blocking and delivers the status to
/// whoever registered it, if anyone did; the waiter is taken off the list only once the status
/// is in hand.
fn reap_forever() {
    let reg = registry();
    // The unregistered child being waited for, and the last spawn that may have created it.
    let mut unknown: Option<(Pid, u64)> = None;
    loop {
        let seen = lock(reg).generation;
        let pid = match waitid(Id::All, WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Ok(status) => match status.pid() {
                Some(pid) => pid,
                None => continue,
            },
            Err(Errno::EINTR) => continue,
            Err(_) => {
                // No children: sleep until a spawn returns (one that started since `seen` is
                // looked at again at once).
                let mut state = lock(reg);
                while state.generation == seen {
                    state = reg.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                continue;
            }
        };
        {
            let mut state = lock(reg);
            if !state.waiting.contains_key(&pid.as_raw()) {
                let boundary = match unknown {
                    Some((known, boundary)) if known == pid => boundary,
                    _ => state.started,
                };
                let creator_running = |state: &State| {
                    !state.waiting.contains_key(&pid.as_raw())
                        && state.in_flight.first().is_some_and(|n| *n <= boundary)
                };
                if creator_running(&state) {
                    unknown = Some((pid, boundary));
                    while creator_running(&state) {
                        state = reg.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                    }
                    continue;
                }
            }
        }
        unknown = None;
        // A zombie a moment ago. Without blocking: should someone else have reaped it meanwhile
        // and the pid gone to a new, live process, this thread must not wait for that one.
        let status = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => ExitStatus::Code(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => ExitStatus::Signal(signal as i32),
            // Still alive (the pid is another process's now), reaped elsewhere, or interrupted:
            // look again.
            Ok(_) | Err(_) => continue,
        };
        let sender = lock(reg).waiting.remove(&pid.as_raw());
        if let Some(sender) = sender {
            // The waiter may be gone (its run was abandoned); the child is reaped either way.
            let _ = sender.send(status);
        }
    }
}

#[cfg(test)]
#[path = "reaper_tests.rs"]
mod tests;
