//! Scoped tokens through the daemon (`/api/tokens`, full login only), as `runwisp token` makes
//! the calls.

use super::{segment, Client, ClientError};
use crate::api;

impl Client {
    /// `GET /api/tokens`: every token, never its text.
    pub fn tokens(&self) -> Result<api::TokenList, ClientError> {
        self.get("/api/tokens")
    }

    /// `POST /api/tokens`: the new token, with its text (shown this once).
    pub fn create_token(&self, new: &api::CreateToken) -> Result<api::CreatedToken, ClientError> {
        let body = serde_json::to_value(new).map_err(|e| ClientError::Protocol {
            url: self.shown.clone(),
            reason: e.to_string(),
        })?;
        self.call("POST", "/api/tokens", Some(body))
    }

    /// `DELETE /api/tokens/{name}`.
    pub fn revoke_token(&self, name: &str) -> Result<api::Revoked, ClientError> {
        self.call("DELETE", &format!("/api/tokens/{}", segment(name)), None)
    }
}
