//! What a reload does to services (`operations.md` §1): a changed definition replaces the
//! replicas one by one, fewer or more `instances` stop or start indexes at the end, and a
//! removed service is retired.

use std::sync::Arc;
use std::time::Duration;

use super::{spawn_replica, stop_replicas, ReplicaState, ServiceSlot};
use crate::engine::config::Service;
use crate::engine::defs::Def;
use crate::engine::model::TaskName;
use crate::engine::Inner;

/// How long a rolling replacement waits, beyond the old replica's `graceful_stop`, for a new
/// replica's process to be running before it gives up on the rest.
const ROLLOUT_WAIT: Duration = Duration::from_secs(30);

/// Marks a new rollout of `slot` (in reload order): any older one stops where it is.
pub(crate) fn begin_rollout(slot: &ServiceSlot) -> u64 {
    slot.rollout
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        + 1
}

/// A reload changed a service's definition (`operations.md` §1): the running replicas are
/// replaced one by one, each once the one before runs again under the new definition; fewer
/// `instances` stop the highest indexes first, more start the new indexes at the end. A stopped
/// service only takes the new definition (it starts with it when restarted). A newer reload, a
/// restart or a stop ends this replacement where it is.
pub(crate) async fn roll_out(
    inner: Arc<Inner>,
    name: TaskName,
    def: Def<Service, ServiceSlot>,
    old: Arc<Service>,
    rollout: u64,
) {
    use std::sync::atomic::Ordering;
    let Def { spec, slot } = &def;
    let instances = spec.instances as usize;
    let (generation, kept, gone) = {
        let mut state = slot.state.lock().await;
        if state.stopped {
            state.doing.resize(instances, ReplicaState::Stopped);
            return;
        }
        let before = state.epochs.len();
        // Fewer instances: the highest indexes are no longer current, and stop; their loops
        // are kept so that an index that comes back waits for its old one.
        state.epochs.truncate(instances);
        state.doing.truncate(instances);
        for index in instances..state.replicas.len() {
            if let Some(handle) = state.replicas.get_mut(index).and_then(Option::take) {
                state.retired.insert(index, handle);
            }
        }
        state.replicas.truncate(instances);
        state.retired.retain(|_, h| !h.is_finished());
        slot.bump();
        (
            state.generation,
            before.min(instances),
            (instances..before).collect::<Vec<_>>(),
        )
    };
    for index in gone {
        stop_replicas(&inner, &name, Some(index as u32));
    }
    let still = || async {
        slot.rollout.load(Ordering::SeqCst) == rollout && {
            let state = slot.state.lock().await;
            state.generation == generation && !state.stopped && !inner.is_stopping()
        }
    };
    for index in 0..kept {
        if !still().await {
            return;
        }
        replace_one(&inner, &name, slot, spec, index).await;
        let wait = old.common.graceful_stop + ROLLOUT_WAIT;
        if !running_again(&inner, slot, index, wait).await {
            tracing::error!(service = %name, replica = index, "replica {index} of service {name} is not running under its new definition; its other replicas keep the one they run until it does (restart the service to replace them all)");
            return;
        }
    }
    if !still().await {
        return;
    }
    // More instances: the new indexes start now.
    let mut state = slot.state.lock().await;
    for index in state.epochs.len()..instances {
        let epoch = state.fresh_epoch();
        state.epochs.push(epoch);
        state.doing.push(ReplicaState::Starting);
        let before = state.predecessor(index);
        let me = state.incarnation(index);
        let handle = spawn_replica(&inner, &name, slot, spec, index as u32, me, before);
        state.replicas.push(Some(handle));
    }
}

/// Replaces the replica at `index` with one of `spec`, which starts once the old one is gone.
async fn replace_one(
    inner: &Arc<Inner>,
    name: &TaskName,
    slot: &Arc<ServiceSlot>,
    spec: &Arc<Service>,
    index: usize,
) {
    let mut state = slot.state.lock().await;
    if index >= state.epochs.len() {
        return;
    }
    let epoch = state.fresh_epoch();
    state.epochs[index] = epoch;
    slot.bump();
    stop_replicas(inner, name, Some(index as u32));
    let before = state.predecessor(index);
    let me = state.incarnation(index);
    if let Some(doing) = state.doing.get_mut(index) {
        *doing = ReplicaState::Starting;
    }
    let handle = spawn_replica(inner, name, slot, spec, index as u32, me, before);
    if let Some(replica) = state.replicas.get_mut(index) {
        *replica = Some(handle);
    }
}

/// Whether the replica at `index` has its process running within `wait` (false when it
/// exited, or never started).
async fn running_again(inner: &Inner, slot: &ServiceSlot, index: usize, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let doing = slot.state.lock().await.doing.get(index).copied();
        match doing {
            Some(ReplicaState::Running { run, .. }) => {
                let started = inner.active().get(&run).is_some_and(|a| a.pid.is_some());
                if started {
                    return true;
                }
            }
            Some(ReplicaState::Starting) => {}
            Some(ReplicaState::Backoff { .. } | ReplicaState::Stopped) | None => return false,
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A reload removed a service: its replicas stop (their runs end `stopped`) and it is not
/// started again. An operator's saved stop is left as it is.
pub(crate) async fn retire(inner: &Inner, name: &TaskName, slot: &ServiceSlot) {
    {
        let mut state = slot.state.lock().await;
        state.generation += 1;
        state.stopped = true;
        slot.bump();
    }
    stop_replicas(inner, name, None);
}
