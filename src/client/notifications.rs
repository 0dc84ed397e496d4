//! Typed calls of the in-app notifications (`notifications.md` §3): a page of them, the unread
//! count, and marking one or all read. The stream (`/api/notifications/stream`) is read with
//! [`Client::stream`].

use super::{Client, ClientError};
use crate::api;

impl Client {
    /// `GET /api/notifications`: newest first, at most `limit`, only the unread ones with
    /// `unread_only`, older than the id `before` when given.
    pub fn notifications(
        &self,
        unread_only: bool,
        limit: u32,
        before: Option<&str>,
    ) -> Result<api::NotificationPage, ClientError> {
        let mut path = format!("/api/notifications?limit={limit}");
        if unread_only {
            path.push_str("&unread=true");
        }
        if let Some(before) = before {
            path.push_str("&before=");
            path.push_str(before);
        }
        self.get(&path)
    }

    /// `GET /api/notifications/unread-count`.
    pub fn unread_notifications(&self) -> Result<u64, ClientError> {
        let count: api::UnreadCount = self.get("/api/notifications/unread-count")?;
        Ok(count.unread)
    }

    /// `POST /api/notifications/{id}/read`: the notification as it is now.
    pub fn mark_notification_read(&self, id: &str) -> Result<api::NotificationObject, ClientError> {
        self.call("POST", &format!("/api/notifications/{id}/read"), None)
    }

    /// `POST /api/notifications/read`: marks every one read; returns how many were unread.
    pub fn mark_all_notifications_read(&self) -> Result<u64, ClientError> {
        let marked: api::MarkedRead = self.call("POST", "/api/notifications/read", None)?;
        Ok(marked.marked)
    }
}
