//! The one place runwisp waits for processes. runwisp is a child subreaper, so descendants that
//! escape a run (double fork, `setsid`) are re-parented to it when their parent dies; a single
//! thread blocks in `waitpid(-1)` and reaps every child: the exit status of a process runwisp
//! spawned goes to whoever waits for it, orphans are simply reaped so no zombie lingers.
//!
//! Because this thread reaps every child, nothing else in the process may wait for children
//! (no `std::process::Command::output()` beside it): spawn through [`spawn`].

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Condvar, Mutex, OnceLock};

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitStatus};
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

struct Registry {
    waiting: Mutex<HashMap<i32, oneshot::Sender<ExitStatus>>>,
    /// Counts spawns, so the reaper thread can sleep while there are no children.
    spawned: Mutex<u64>,
    wake: Condvar,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // Best effort: without it escapees are re-parented to init, and cleanup still finds
        // them by the run id in their environment.
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!("cannot become a child subreaper: {e}");
        }
        let spawn = std::thread::Builder::new()
            .name("runwisp-reaper".into())
            .spawn(reap_forever);
        if let Err(e) = spawn {
            tracing::error!("cannot start the process reaper thread: {e}");
        }
        Registry {
            waiting: Mutex::new(HashMap::new()),
            spawned: Mutex::new(0),
            wake: Condvar::new(),
        }
    })
}

/// Makes this process a child subreaper and starts the reaper, if not done yet.
pub fn init() {
    registry();
}

/// Spawns `command` and returns the child with a receiver for its exit status.
pub fn spawn(command: &mut Command) -> std::io::Result<(Child, oneshot::Receiver<ExitStatus>)> {
    let reg = registry();
    let (tx, rx) = oneshot::channel();
    // The map stays locked across the spawn so the reaper cannot see the exit of a child that
    // is not registered yet.
    let child = {
        let mut waiting = reg.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let child = command.spawn()?;
        waiting.insert(child.id() as i32, tx);
        child
    };
    let mut spawned = reg.spawned.lock().unwrap_or_else(|p| p.into_inner());
    *spawned += 1;
    reg.wake.notify_all();
    Ok((child, rx))
}

fn reap_forever() {
    let mut seen_spawns = 0u64;
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(pid, code)) => deliver(pid, ExitStatus::Code(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) => {
                deliver(pid, ExitStatus::Signal(signal as i32))
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => {
                // No children right now: sleep until the next spawn.
                let reg = registry();
                let mut spawned = reg.spawned.lock().unwrap_or_else(|p| p.into_inner());
                while *spawned == seen_spawns {
                    spawned = reg.wake.wait(spawned).unwrap_or_else(|p| p.into_inner());
                }
                seen_spawns = *spawned;
            }
        }
    }
}

fn deliver(pid: Pid, status: ExitStatus) {
    let sender = registry()
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&pid.as_raw());
    if let Some(sender) = sender {
        // The waiter may be gone (its run was abandoned); the child is reaped either way.
        let _ = sender.send(status);
    }
}
