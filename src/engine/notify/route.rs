//! Who hears of an event (`notifications.md` §2): the union of every matching route, the
//! task's own lists and `append_notifiers`, each channel once.
//!
//! Decided here and written down in the README: warnings and errors always reach
//! `append_notifiers` (the bell works with zero configuration); `info` events (a success, a
//! start, a stop) reach them only when a task list or a route asked for that event, so a quiet
//! task never fills the bell with successes. `notify.delivery_failed` goes to the bell and to
//! routes that name it, never to the channel that failed.

use std::collections::BTreeSet;

use crate::engine::config::{Common, Config, INAPP};
use crate::engine::model::{NotifyKind, Severity, TaskName};

/// The task or service `name`'s shared settings.
pub(super) fn common_of<'a>(config: &'a Config, name: &TaskName) -> Option<&'a Common> {
    config
        .tasks
        .get(name)
        .map(|t| &t.common)
        .or_else(|| config.services.get(name).map(|s| &s.common))
}

/// Whether `kind` is a failure the task's `notify_on_failure` list is about.
pub(super) fn is_failure(kind: NotifyKind) -> bool {
    matches!(
        kind,
        NotifyKind::RunFailed | NotifyKind::RunTimeout | NotifyKind::RunCrashed
    )
}

/// The notifier ids (`inapp` included) an event of `kind` about `task` goes to.
pub(super) fn recipients(
    config: &Config,
    kind: NotifyKind,
    task: Option<&TaskName>,
) -> BTreeSet<String> {
    let mut asked: BTreeSet<String> = BTreeSet::new();
    if let Some(common) = task.and_then(|t| common_of(config, t)) {
        // A recovery goes to the channels that heard the failures (the caller adds them), not
        // to every failure list: a failure held back by notify_after_failures was not heard.
        if is_failure(kind) {
            asked.extend(common.notify_on_failure.iter().cloned());
        }
        if kind == NotifyKind::RunSucceeded {
            asked.extend(common.notify_on_success.iter().cloned());
        }
    }
    for route in &config.routes {
        let task_matches = match (&route.task, task) {
            (None, _) => true,
            (Some(glob), Some(task)) => glob.matches(task.as_str()),
            (Some(_), None) => false,
        };
        let loud_enough = route
            .severity
            .is_none_or(|floor| kind.severity().rank() >= floor.rank());
        if route.kinds.contains(&kind) && task_matches && loud_enough {
            asked.extend(route.notify.iter().cloned());
        }
    }
    // About runwisp itself: always in the bell, elsewhere only where a route names it.
    if matches!(kind, NotifyKind::DeliveryFailed | NotifyKind::ReloadFailed) {
        asked.insert(INAPP.to_string());
        return asked;
    }
    if kind.severity() != Severity::Info || !asked.is_empty() {
        asked.extend(config.notify.append_notifiers.iter().cloned());
    }
    asked
}

/// Splits recipients into (shown in the bell, outbound ids).
pub(super) fn split(recipients: &BTreeSet<String>) -> (bool, Vec<String>) {
    let inapp = recipients.contains(INAPP);
    let outbound = recipients
        .iter()
        .filter(|id| id.as_str() != INAPP)
        .cloned()
        .collect();
    (inapp, outbound)
}
