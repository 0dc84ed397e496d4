//! Server-sent-event plumbing: at most 64 open streams, 8 per peer address (503 past that), and
//! the streams of changes, each with a `ping` every 15 s and a `lagged` event (how many changes
//! were missed) when its reader fell behind: `GET /api/runs/stream`, the run changes as they
//! happen, and `GET /api/notifications/stream`, the in-app notifications created or changed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::errors::ApiError;
use super::AppState;
use crate::engine::events::Event;

pub const MAX_STREAMS: usize = 64;
pub const MAX_PER_PEER: usize = 8;
pub const PING_EVERY: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// The open-stream counter.
#[derive(Clone, Default)]
pub struct Slots(Arc<Mutex<Counts>>);

/// Holds one stream slot until dropped (when the client goes away).
pub struct Slot {
    slots: Slots,
    peer: IpAddr,
}

impl Slots {
    pub fn acquire(&self, peer: IpAddr) -> Result<Slot, ApiError> {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mine = c.per_peer.get(&peer).copied().unwrap_or(0);
        if c.total >= MAX_STREAMS || mine >= MAX_PER_PEER {
            return Err(ApiError::unavailable(
                format!("too many open streams (at most {MAX_STREAMS}, {MAX_PER_PEER} per address); close one and retry"),
            ));
        }
        c.total += 1;
        c.per_peer.insert(peer, mine + 1);
        Ok(Slot {
            slots: self.clone(),
            peer,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                c.per_peer.remove(&self.peer);
            }
        }
    }
}

/// An SSE response fed by a channel; the producer stops when the client leaves.
pub fn sse_response(rx: mpsc::Receiver<SseEvent>) -> Response {
    let stream = futures_util::StreamExt::map(ReceiverStream::new(rx), Ok::<_, Infallible>);
    Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(PING_EVERY)
                .event(SseEvent::default().event("ping")),
        )
        .into_response()
}

/// What one engine event becomes on a stream.
enum Told {
    /// Nothing for this stream.
    Skip,
    Send(SseEvent),
    /// What it is about could not be read: the reader is told it missed a change.
    Missed,
}

/// A stream of changes: each engine event is turned into an SSE event by `tell` (which may
/// read what the event is about), in order, until the client leaves; a reader that fell behind
/// the broadcast, or whose event could not be read, gets `lagged` (how many it missed) so it
/// can reload.
fn follow<F, Fut>(app: AppState, peer: SocketAddr, tell: F) -> Result<Response, ApiError>
where
    F: Fn(AppState, Event) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Told> + Send,
{
    let slot = app.streams.acquire(peer.ip())?;
    let mut events = app.engine.subscribe();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let _slot = slot;
        loop {
            // Wait for the next change, or for the client to leave (which frees its slot).
            let received = tokio::select! {
                received = events.recv() => received,
                _ = tx.closed() => return,
            };
            let told = match received {
                Ok(event) => tell(app.clone(), event).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Told::Send(SseEvent::default().event("lagged").data(missed.to_string()))
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let event = match told {
                Told::Skip => continue,
                Told::Send(event) => event,
                Told::Missed => SseEvent::default().event("lagged").data("1"),
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    Ok(sse_response(rx))
}

/// `GET /api/runs/stream`: `run.created`, `run.started` and `run.ended`, each with the run, and
/// `config.reloaded` (`{}`) when a reload changed the tasks (read the list again).
pub async fn runs(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    follow(app, peer, |app, event| async move {
        let (name, id) = match event {
            Event::ConfigReloaded => {
                return Told::Send(SseEvent::default().event("config.reloaded").data("{}"))
            }
            Event::RunCreated { run, .. } => ("run.created", run),
            Event::RunStarted { run, .. } => ("run.started", run),
            Event::RunEnded { run, .. } => ("run.ended", run),
            _ => return Told::Skip,
        };
        match app.engine.run(id).await {
            Ok(Some(run)) => SseEvent::default()
                .event(name)
                .id(run.id.to_string())
                .json_data(crate::api::RunObject::from(&run))
                .map_or(Told::Skip, Told::Send),
            // Gone already (retention): nothing to tell.
            Ok(None) => Told::Skip,
            Err(e) => {
                tracing::warn!(run = %id, "cannot read run {id} for the runs stream: {e}");
                Told::Missed
            }
        }
    })
}

/// `GET /api/notifications/stream`: `notification` (the object, on create, on every repeat
/// folded into it, and when it is read) and `read_all` (`{}`) after every notification was
/// marked read.
pub async fn notifications(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    follow(app, peer, |app, event| async move {
        let id = match event {
            Event::Notification { id } => id,
            Event::NotificationsRead => {
                return SseEvent::default()
                    .event("read_all")
                    .json_data(crate::api::notifications::ReadAll {})
                    .map_or(Told::Skip, Told::Send)
            }
            _ => return Told::Skip,
        };
        match app.engine.notification(id.clone()).await {
            Ok(Some(n)) => SseEvent::default()
                .event("notification")
                .id(n.id.clone())
                .json_data(crate::api::NotificationObject::from(n))
                .map_or(Told::Skip, Told::Send),
            // Pruned already, or not one of the bell's: nothing to tell.
            Ok(None) => Told::Skip,
            Err(e) => {
                tracing::warn!("cannot read notification {id} for the notifications stream: {e}");
                Told::Missed
            }
        }
    })
}
