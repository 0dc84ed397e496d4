//! Young orphans: processes of a run that left its process group (`setsid`), dropped
//! `RUNWISP_RUN_ID` from their environment (`env -i`) and whose parent died, so that nothing
//! ties them to the run any more except that runwisp, a child subreaper, adopted them. This
//! module keeps the list of active runs and decides which run such an orphan belongs to.
//!
//! A candidate is a process whose parent is runwisp, that runwisp did not spawn itself (the
//! reaper knows every spawn, including ones still in flight, so no run's first process and no
//! helper is taken; runwisp's threads are not processes and never listed), and that started at
//! or after the run started. Several runs may be active at once, so a candidate belongs to the run when,
//! in this order:
//!
//! 1. it holds the run's stdout or stderr pipe (an escapee that kept its output), and not when
//!    it holds another active run's pipe;
//! 2. its process group or session is that of a process already found to be the run's (the
//!    children of a `setsid sh -c '… &'`), and not when it is another active run's group;
//! 3. no other active run that could have left it is still running: every other run that
//!    started at or before the orphan has ended or is being stopped itself.
//!
//! Otherwise it is left alone for now: it is stopped by the end of the last run that could have
//! left it (the rule above then holds for that run). The limit: an escapee that leaves its
//! group, its environment *and* its output (`setsid env -i CMD > /dev/null 2>&1 &`) while an
//! older run (a service replica, a long task) is still running lives on until that run ends.
//! Which process forked an orphan is not kept by the kernel once its parent is gone, and this
//! is the only fact that could tell the two runs apart. During a stop ladder a process found
//! once stays the run's (the ladder remembers it), so an orphan whose parent the ladder killed
//! is never lost.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use super::procs::{stat, ProcStat};

/// One active run as the other runs' checks see it.
#[derive(Debug, Clone)]
struct Entry {
    key: u64,
    run_id: String,
    since: Option<u64>,
    pgid: Option<i32>,
    pipes: Vec<u64>,
    ending: bool,
}

struct Active {
    next: u64,
    entries: Vec<Entry>,
}

fn active() -> MutexGuard<'static, Active> {
    static ACTIVE: Mutex<Active> = Mutex::new(Active {
        next: 0,
        entries: Vec::new(),
    });
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run's place in the list of active runs, from before its spawn until it is dropped (after
/// its last check): while it is there, other runs' checks leave the orphans it may own alone.
#[derive(Debug)]
pub struct Registration {
    key: u64,
}

impl Registration {
    /// Registers run `run_id`, whose first process starts after `since` (in ticks, see
    /// [`super::procs::ticks_now`]). Call it before the spawn.
    pub fn new(run_id: &str, since: Option<u64>) -> Self {
        let mut list = active();
        list.next += 1;
        let key = list.next;
        list.entries.push(Entry {
            key,
            run_id: run_id.to_string(),
            since,
            pgid: None,
            pipes: Vec::new(),
            ending: false,
        });
        Self { key }
    }

    fn update(&self, change: impl FnOnce(&mut Entry)) {
        if let Some(entry) = active().entries.iter_mut().find(|e| e.key == self.key) {
            change(entry);
        }
    }

    /// The run's process group and the inodes of its output pipes, once it is spawned.
    pub fn started(&self, pgid: i32, pipes: Vec<u64>) {
        self.update(|e| {
            e.pgid = Some(pgid);
            e.pipes = pipes;
        });
    }

    /// The run's main process has exited or is being stopped: it no longer protects orphans
    /// that may be its own from other runs' checks.
    pub fn ending(&self) {
        self.update(|e| e.ending = true);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        active().entries.retain(|e| e.key != self.key);
    }
}

/// What a check of one run knows of it and of the other active runs.
#[derive(Debug, Clone)]
pub(super) struct View {
    pub(super) since: u64,
    pub(super) pgid: Option<i32>,
    pub(super) pipes: Vec<u64>,
    pub(super) others: Vec<Other>,
}

/// Another active run.
#[derive(Debug, Clone)]
pub(super) struct Other {
    pub(super) since: Option<u64>,
    pub(super) pgid: Option<i32>,
    pub(super) pipes: Vec<u64>,
    pub(super) ending: bool,
}

/// The view of run `run_id`; `None` when it is not registered or its start is unknown (then
/// no orphan is taken for it).
pub(super) fn view(run_id: &str) -> Option<View> {
    let list = active();
    let me = list.entries.iter().find(|e| e.run_id == run_id)?;
    Some(View {
        since: me.since?,
        pgid: me.pgid,
        pipes: me.pipes.clone(),
        others: list
            .entries
            .iter()
            .filter(|e| e.key != me.key)
            .map(|e| Other {
                since: e.since,
                pgid: e.pgid,
                pipes: e.pipes.clone(),
                ending: e.ending,
            })
            .collect(),
    })
}

/// Whose an orphan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Ours,
    Theirs,
    Unsure,
}

/// The rule of the module header for one orphan `o` holding the pipes `holds`; `groups` are
/// the process groups and sessions of the processes already found to be the run's.
pub(super) fn attribute(
    view: &View,
    o: &ProcStat,
    holds: &[u64],
    groups: &HashSet<i32>,
) -> Verdict {
    let holds_any = |pipes: &[u64]| holds.iter().any(|p| pipes.contains(p));
    if holds_any(&view.pipes) {
        return Verdict::Ours;
    }
    if view.others.iter().any(|r| holds_any(&r.pipes)) {
        return Verdict::Theirs;
    }
    if groups.contains(&o.pgid) || groups.contains(&o.sid) {
        return Verdict::Ours;
    }
    let their_group = |r: &Other| r.pgid.is_some_and(|g| g == o.pgid || g == o.sid);
    if view.others.iter().any(their_group) {
        return Verdict::Theirs;
    }
    let could_be_theirs = |r: &Other| !r.ending && r.since.is_none_or(|t| t <= o.start_time);
    if view.others.iter().any(could_be_theirs) {
        Verdict::Unsure
    } else {
        Verdict::Ours
    }
}

/// The inodes of the pipes process `pid` holds open.
fn pipes_of(pid: i32) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| {
        let target = std::fs::read_link(fd.ok()?.path()).ok()?;
        let text = target.to_str()?;
        text.strip_prefix("pipe:[")?.strip_suffix(']')?.parse().ok()
    })
    .collect()
}

/// The orphans among `stats` (every process but runwisp) that belong to the run of `view`,
/// given the processes `found` so far to be its own. Their descendants are the caller's.
pub(super) fn claim(view: &View, stats: &[ProcStat], found: &HashSet<i32>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let young_child = |s: &&ProcStat| {
        s.ppid == me && !s.zombie && s.start_time >= view.since && !found.contains(&s.pid)
    };
    let mut candidates: Vec<ProcStat> = stats.iter().filter(young_child).copied().collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    // Children runwisp spawned (every run's first process among them) are nobody's orphans.
    // Read after the listing: a child listed then that is not known now was not spawned, or
    // has exited since (then it is dropped below).
    let spawned = super::reaper::spawned_children();
    candidates.retain(|c| {
        !spawned.contains(&c.pid)
            && stat(c.pid).is_some_and(|s| s.start_time == c.start_time && !s.zombie)
    });
    let (own_sid, own_pgid) = stat(me).map_or((0, 0), |s| (s.sid, s.pgid));
    let mut groups: HashSet<i32> = stats
        .iter()
        .filter(|s| found.contains(&s.pid))
        .flat_map(|s| [s.pgid, s.sid])
        .chain(view.pgid)
        .collect();
    // runwisp's own group and session are every run's: they tell nothing.
    groups.remove(&own_sid);
    groups.remove(&own_pgid);
    let mut ours = Vec::new();
    loop {
        let before = ours.len();
        candidates.retain(|c| {
            if attribute(view, c, &pipes_of(c.pid), &groups) == Verdict::Ours {
                ours.push(c.pid);
                groups.extend(
                    [c.pgid, c.sid]
                        .into_iter()
                        .filter(|g| *g != own_sid && *g != own_pgid),
                );
                false
            } else {
                true
            }
        });
        if ours.len() == before {
            return ours;
        }
    }
}

#[cfg(test)]
#[path = "orphans_tests.rs"]
mod tests;
