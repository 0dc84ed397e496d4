//! Reload without a restart (`operations.md` §1): `runwisp.toml` is read and validated whole;
//! a file with any error changes nothing. A valid one is put in force at once, as one new set
//! of definitions (see [`crate::engine::defs`]):
//!
//! - added tasks start scheduling from now (no catch-up for the time before they existed);
//! - changed tasks keep their slot: runs already recorded (active or queued) finish under the
//!   definition they were fired under, the next firing uses the new one, and a changed `cron` or
//!   `timezone` plans its next instant from now;
//! - removed tasks fire no more; their active runs finish, their queued runs end `stopped`,
//!   their history stays;
//! - changed services have their replicas replaced one by one; removed services stop; untouched
//!   services are not touched;
//! - settings the daemon cannot change while it runs keep their old value and are reported as
//!   needing a restart.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::engine::clock::millis;
use crate::engine::config::{self, Config, ConfigErrors, LoadError};
use crate::engine::defs::{Def, Defs};
use crate::engine::events::Event;
use crate::engine::model::{NotifyKind, TaskName};
use crate::engine::{notify, supervisor, tasks, Engine, Inner};

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Tasks and services that are new.
    pub added: Vec<TaskName>,
    /// Tasks and services whose definition changed.
    pub changed: Vec<TaskName>,
    /// Tasks and services no longer in the file.
    pub removed: Vec<TaskName>,
    /// Other parts of the file that changed and are in force now (`[storage]`, notifiers…).
    pub settings: Vec<String>,
    /// Settings that changed in the file but keep their old value until the daemon restarts.
    pub needs_restart: Vec<String>,
}

impl Reloaded {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.settings.is_empty()
    }
}

/// How many names the summary line gives of each list.
const NAMED: usize = 10;

/// The summary line: `reloaded: 2 added (a, b), 1 changed (c), 1 removed (d); [daemon] listen
/// needs a restart`.
impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A long list names its first few (the answer's arrays have them all).
        let names = |list: &[TaskName]| {
            let mut shown: Vec<&str> = list.iter().take(NAMED).map(TaskName::as_str).collect();
            let more = format!("… and {} more", list.len().saturating_sub(NAMED));
            if list.len() > NAMED {
                shown.push(&more);
            }
            shown.join(", ")
        };
        let mut parts = Vec::new();
        for (list, what) in [
            (&self.added, "added"),
            (&self.changed, "changed"),
            (&self.removed, "removed"),
        ] {
            if !list.is_empty() {
                parts.push(format!("{} {what} ({})", list.len(), names(list)));
            }
        }
        if !self.settings.is_empty() {
            parts.push(format!("{} changed", self.settings.join(", ")));
        }
        let mut line = if parts.is_empty() {
            "reloaded: nothing changed".to_string()
        } else {
            format!("reloaded: {}", parts.join(", "))
        };
        if !self.needs_restart.is_empty() {
            let verb = if self.needs_restart.len() == 1 {
                "needs"
            } else {
                "need"
            };
            line.push_str(&format!(
                "; {} {verb} a restart",
                self.needs_restart.join(", ")
            ));
        }
        f.write_str(&line)
    }
}

/// Why nothing was reloaded; one sentence (plus every error of the file).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot read the configuration file {path}: {reason}; nothing was reloaded")]
    Read { path: String, reason: String },
    #[error("{0}\nnothing was reloaded: the daemon keeps running the definitions it had")]
    Invalid(ConfigErrors),
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

impl From<LoadError> for ReloadError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Read { path, source } => ReloadError::Read {
                path,
                reason: source.to_string(),
            },
            LoadError::Invalid(errors) => ReloadError::Invalid(errors),
        }
    }
}

/// Whether the file on disk is what the daemon runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDisk {
    Same,
    /// The file was edited since it was last loaded (a reload would apply it).
    Differs,
    /// The file cannot be read now.
    Unreadable(String),
}

impl Engine {
    /// Reads `runwisp.toml` again and puts it in force (see the module's rules). One reload
    /// at a time; the file is validated whole before anything changes.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        // Its own task: a caller that gives up (an HTTP client hanging up, a timeout) must not
        // cut a reload between the swap and what follows from it.
        let engine = self.clone();
        let path = self.inner.config().path.display().to_string();
        tokio::spawn(async move { engine.reload_now().await })
            .await
            .unwrap_or_else(|e| {
                Err(ReloadError::Read {
                    path,
                    reason: format!("the reload stopped unexpectedly ({e})"),
                })
            })
    }

    async fn reload_now(&self) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        if self.inner.is_stopping() {
            return Err(ReloadError::ShuttingDown);
        }
        let path = self.inner.config().path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load_file(&path))
            .await
            .map_err(|e| ReloadError::Read {
                path: self.inner.config().path.display().to_string(),
                reason: e.to_string(),
            })??;
        Ok(apply(&self.inner, loaded).await)
    }

    /// Whether `runwisp.toml` on disk differs from what the daemon runs.
    pub async fn config_on_disk(&self) -> OnDisk {
        let config = self.inner.config();
        let path = config.path.clone();
        let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(path)).await;
        match read {
            Ok(Ok(text)) if config::digest(&text) == config.digest => OnDisk::Same,
            Ok(Ok(_)) => OnDisk::Differs,
            Ok(Err(e)) => OnDisk::Unreadable(e.to_string()),
            Err(e) => OnDisk::Unreadable(e.to_string()),
        }
    }

    /// A reload nobody waits on (SIGHUP) failed: the bell says so, with the errors.
    pub fn tell_reload_failed(&self, error: &ReloadError) {
        let lines: Vec<String> = error.to_string().lines().map(String::from).collect();
        let first = lines.first().cloned().unwrap_or_default();
        notify::raise(
            &self.inner,
            notify::Raised {
                kind: NotifyKind::ReloadFailed,
                task: None,
                run: None,
                key_extra: String::new(),
                title: format!("runwisp.toml was not reloaded: {first}"),
                lines,
                at: millis(self.inner.clock.now()),
            },
        );
    }

    /// Settings changed in the file that keep their old value until the daemon restarts (as
    /// of the last reload).
    pub fn needs_restart(&self) -> Vec<String> {
        self.inner.needs_restart()
    }
}

/// Puts a validated configuration in force and starts what follows from it (the scheduler
/// re-plans on its own when it sees the new set).
pub(crate) async fn apply(inner: &Arc<Inner>, mut new: Config) -> Reloaded {
    let old = inner.defs();
    let mut reloaded = Reloaded {
        needs_restart: keep_restart_settings(&old.config, &mut new),
        settings: changed_settings(&old.config, &new),
        ..Reloaded::default()
    };
    let mut defs = Defs {
        config: Arc::new(new),
        tasks: BTreeMap::new(),
        services: BTreeMap::new(),
    };
    for (name, task) in &defs.config.tasks {
        let def = match old.tasks.get(name) {
            Some(def) if *def.spec == *task => def.clone(),
            Some(def) => {
                reloaded.changed.push(name.clone());
                Def {
                    spec: Arc::new(task.clone()),
                    slot: def.slot.clone(),
                }
            }
            None => {
                reloaded.added.push(name.clone());
                Def {
                    spec: Arc::new(task.clone()),
                    slot: Arc::default(),
                }
            }
        };
        defs.tasks.insert(name.clone(), def);
    }
    let mut rollouts = Vec::new();
    let mut starts = Vec::new();
    for (name, service) in &defs.config.services {
        let def = match old.services.get(name) {
            Some(def) if *def.spec == *service => def.clone(),
            Some(def) => {
                reloaded.changed.push(name.clone());
                let new = Def {
                    spec: Arc::new(service.clone()),
                    slot: def.slot.clone(),
                };
                rollouts.push((name.clone(), new.clone(), def.spec.clone()));
                new
            }
            None => {
                reloaded.added.push(name.clone());
                let new = Def {
                    spec: Arc::new(service.clone()),
                    slot: Arc::default(),
                };
                starts.push((name.clone(), new.clone()));
                new
            }
        };
        defs.services.insert(name.clone(), def);
    }
    let removed_tasks: Vec<_> = old
        .tasks
        .iter()
        .filter(|(name, _)| !defs.tasks.contains_key(*name))
        .map(|(name, def)| (name.clone(), def.slot.clone()))
        .collect();
    let removed_services: Vec<_> = old
        .services
        .iter()
        .filter(|(name, _)| !defs.services.contains_key(*name))
        .map(|(name, def)| (name.clone(), def.slot.clone()))
        .collect();
    reloaded
        .removed
        .extend(removed_tasks.iter().map(|(n, _)| n.clone()));
    reloaded
        .removed
        .extend(removed_services.iter().map(|(n, _)| n.clone()));
    reloaded.added.sort();
    reloaded.changed.sort();
    reloaded.removed.sort();

    inner.metrics.add_series(&defs.config);
    inner.set_needs_restart(reloaded.needs_restart.clone());
    inner.swap_defs(defs);

    for (name, slot) in removed_tasks {
        tasks::drop_queue(inner, &name, &slot, tasks::REMOVED).await;
    }
    for (name, slot) in removed_services {
        supervisor::retire(inner, &name, &slot).await;
    }
    // In reload order, under the reload lock: a later reload's retire or rollout comes after.
    for (name, def) in starts {
        supervisor::start(inner, &name, &def, false).await;
    }
    for (name, def, old) in rollouts {
        let rollout = supervisor::begin_rollout(&def.slot);
        tokio::spawn(supervisor::roll_out(inner.clone(), name, def, old, rollout));
    }
    tracing::info!("{reloaded}");
    inner.emit(Event::ConfigReloaded);
    reloaded
}

/// Settings that only take effect at start keep their old value in `new`; returns those that
/// changed in the file.
fn keep_restart_settings(old: &Config, new: &mut Config) -> Vec<String> {
    let (was, now) = (&old.daemon, &mut new.daemon);
    let mut kept = Vec::new();
    if (was.host.as_str(), was.port) != (now.host.as_str(), now.port) {
        kept.push("[daemon] listen");
        now.host.clone_from(&was.host);
        now.port = was.port;
    }
    if was.log_format != now.log_format {
        kept.push("[daemon] log_format");
        now.log_format = was.log_format;
    }
    if was.log != now.log {
        kept.push("[daemon] log");
        now.log = was.log;
    }
    // The files' contents are reloaded by the listener itself; which files, at a restart.
    if was.tls != now.tls {
        kept.push("[daemon] tls_cert, tls_key and client_ca");
        now.tls.clone_from(&was.tls);
    }
    if was.metrics_public != now.metrics_public {
        kept.push("[daemon] metrics_public");
        now.metrics_public = was.metrics_public;
    }
    kept.into_iter().map(String::from).collect()
}

/// The parts of the file besides tasks and services that changed (and are in force now).
fn changed_settings(old: &Config, new: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    if old.scheduler != new.scheduler {
        changed.push("[scheduler]");
    }
    if old.daemon != new.daemon {
        changed.push("[daemon]");
    }
    if old.storage != new.storage {
        changed.push("[storage]");
    }
    if old.notify != new.notify {
        changed.push("[notify]");
    }
    if old.notifiers != new.notifiers {
        changed.push("[[notifier]]");
    }
    if old.routes != new.routes {
        changed.push("[[notification_route]]");
    }
    changed.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> TaskName {
        TaskName::parse(s).expect("a valid name")
    }

    #[test]
    fn the_summary_names_what_changed_and_what_needs_a_restart() {
        let reloaded = Reloaded {
            added: vec![name("a"), name("b")],
            changed: vec![name("c")],
            removed: vec![name("d")],
            settings: Vec::new(),
            needs_restart: vec!["[daemon] listen".into()],
        };
        assert_eq!(
            reloaded.to_string(),
            "reloaded: 2 added (a, b), 1 changed (c), 1 removed (d); [daemon] listen needs a restart"
        );
        assert_eq!(Reloaded::default().to_string(), "reloaded: nothing changed");
        let many = Reloaded {
            added: (0..12).map(|i| name(&format!("t{i:02}"))).collect(),
            ..Reloaded::default()
        };
        assert_eq!(
            many.to_string(),
            "reloaded: 12 added (t00, t01, t02, t03, t04, t05, t06, t07, t08, t09, … and 2 more)"
        );
        let settings = Reloaded {
            settings: vec!["[storage]".into(), "[[notifier]]".into()],
            ..Reloaded::default()
        };
        assert_eq!(
            settings.to_string(),
            "reloaded: [storage], [[notifier]] changed"
        );
    }
}
