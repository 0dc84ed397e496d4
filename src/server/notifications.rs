//! `/api/notifications…` and `/api/notifiers/{id}/test` (`notifications.md` §3, §4): the in-app
//! notifications of the bell (a page of them, the unread count, marking one or all read) and a
//! test message sent through one `[[notifier]]` at once. The notification stream lives with the
//! other streams (`streams.rs`); what a notification is and when it is made is the engine's
//! business, how a channel sends is `crate::notify`'s.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::extract::{notification_id, only_params, param, NotificationIdParam, NotifierIdParam};
use super::AppState;
use crate::api::{
    MarkedRead, NotificationObject, NotificationPage, NotifierTest, NotifyEvent, TestOutcome,
    UnreadCount,
};
use crate::engine::config::INAPP;
use crate::engine::model::{rfc3339, NotifyKind, Severity};
use crate::notify::{Limits, Outcome};

/// A page holds this many notifications unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 50;
/// The most a page may hold.
pub const MAX_PAGE: u32 = 1000;
/// A test through a `command` notifier is stopped after this long, so its answer comes within
/// the request timeout (a real delivery gets the full 30 s).
const TEST_COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

const FILTERS: &[&str] = &["unread", "limit", "before"];

/// `GET /api/notifications?unread=&limit=&before=`: newest first; `next_before` is the last id
/// when the page is full.
pub async fn list(
    State(app): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    only_params(&params, FILTERS)?;
    let unread: bool = param(&params, "unread")?.unwrap_or(false);
    let limit: u32 = param(&params, "limit")?.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_PAGE}"
        )));
    }
    let before = match params.get("before") {
        Some(raw) => Some(notification_id(raw).map_err(|e| {
            ApiError::bad_request(format!(
                "`before` must be the id of a notification of a previous page: {}",
                e.detail
            ))
        })?),
        None => None,
    };
    let rows = app.engine.notifications(unread, before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|n| n.id.clone()))
        .flatten();
    let page = NotificationPage {
        notifications: rows.into_iter().map(NotificationObject::from).collect(),
        next_before,
    };
    Ok(axum::Json(page).into_response())
}

/// `GET /api/notifications/unread-count`.
pub async fn unread_count(State(app): State<AppState>) -> Result<Response, ApiError> {
    let unread = app.engine.unread_notifications().await?;
    Ok(axum::Json(UnreadCount { unread }).into_response())
}

/// `POST /api/notifications/{id}/read`: the notification, read (a read one keeps its time).
pub async fn mark_read(
    State(app): State<AppState>,
    NotificationIdParam(id): NotificationIdParam,
) -> Result<Response, ApiError> {
    match app.engine.mark_notification_read(id.clone()).await? {
        Some(row) => Ok(axum::Json(NotificationObject::from(row)).into_response()),
        None => Err(ApiError::not_found(format!(
            "there is no notification {id}"
        ))),
    }
}

/// `POST /api/notifications/read`: every notification read; answers how many were unread.
pub async fn mark_all_read(State(app): State<AppState>) -> Result<Response, ApiError> {
    let marked = app.engine.mark_all_notifications_read().await?;
    Ok(axum::Json(MarkedRead {
        marked: marked as u64,
    })
    .into_response())
}

/// The notifiers a test message is being sent through right now: at most one test each.
#[derive(Clone, Default)]
pub struct TestsInFlight(Arc<Mutex<HashSet<String>>>);

/// One test in flight; the notifier is free again when this is dropped (when the send ended,
/// whether or not the client waited for it).
struct InFlight {
    tests: TestsInFlight,
    id: String,
}

impl TestsInFlight {
    fn start(&self, id: &str) -> Result<InFlight, ApiError> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(id.to_string()) {
            return Err(ApiError::conflict(format!(
                "a test message to notifier {id:?} is already being sent; wait for its answer"
            )));
        }
        Ok(InFlight {
            tests: self.clone(),
            id: id.to_string(),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut set = self.tests.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.id);
    }
}

/// `POST /api/notifiers/{id}/test`: sends one test message through that notifier now and
/// answers what the channel said (200 whatever it said): 404 for an unknown id, 400 for
/// `inapp`, 409 while a test of the same notifier is under way.
pub async fn test(
    State(app): State<AppState>,
    NotifierIdParam(id): NotifierIdParam,
) -> Result<Response, ApiError> {
    if id == INAPP {
        return Err(ApiError::bad_request("the in-app notifier needs no test"));
    }
    let notifiers = &app.engine.config().notifiers;
    let Some(notifier) = notifiers.iter().find(|n| n.id == id).cloned() else {
        let declared: Vec<&str> = notifiers.iter().map(|n| n.id.as_str()).collect();
        let known = if declared.is_empty() {
            "no [[notifier]] is declared".to_string()
        } else {
            format!("the declared ones are {}", declared.join(", "))
        };
        return Err(ApiError::not_found(format!(
            "there is no notifier {id:?}; {known}"
        )));
    };
    let in_flight = app.tests.start(&id)?;
    let event = test_event(&app, &id);
    let limits = Limits {
        command_timeout: TEST_COMMAND_TIMEOUT,
        ..Limits::default()
    };
    let sending = notifier.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _in_flight = in_flight;
        crate::notify::send_with(&sending, &event, &limits)
    })
    .await
    .map_err(|e| ApiError::internal("the test message could not be sent; see daemon.log", e))?;
    let (outcome, detail) = match outcome {
        Outcome::Delivered { detail } => (TestOutcome::Delivered, detail),
        Outcome::Retry { reason, .. } => (TestOutcome::Retry, reason),
        Outcome::Failed { reason } => (TestOutcome::Failed, reason),
    };
    Ok(axum::Json(NotifierTest {
        notifier: id,
        r#type: notifier.kind.type_name().to_string(),
        outcome,
        detail,
    })
    .into_response())
}

/// The test message: the shape of a real event, saying what it is and where it comes from.
fn test_event(app: &AppState, id: &str) -> NotifyEvent {
    let fingerprint = app.engine.fingerprint().to_string();
    let host = super::info::hostname();
    let host = if host.is_empty() {
        String::new()
    } else {
        format!(" on {host}")
    };
    NotifyEvent {
        kind: NotifyKind::RunSucceeded,
        severity: Severity::Info,
        task: None,
        run: None,
        title: format!("runwisp test message from {fingerprint}"),
        text: format!(
            "This is a test of notifier {id}, sent by the runwisp daemon {fingerprint}{host}; \
             nothing went wrong."
        ),
        count: 1,
        fingerprint,
        occurred_at: rfc3339(app.engine.now().as_millisecond()),
        url: None,
    }
}
