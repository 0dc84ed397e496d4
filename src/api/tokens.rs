//! Scoped API tokens on the wire (`/api/tokens`, `webhooks.md` §2). A token's text is in one
//! answer only, [`CreatedToken`]; every other object describes a token without it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /api/tokens`: the token to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Letters, digits, `-` and `_` (at most 64), unique among the tokens.
    pub name: String,
    /// The tasks it may read (the task, its runs and their logs) and, unless `read_only`,
    /// start.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Reads of its tasks only, no starting them.
    #[serde(default)]
    pub read_only: bool,
    /// May read `GET /metrics`.
    #[serde(default)]
    pub metrics: bool,
    /// Seconds until it expires; absent: it never does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
}

/// A token as it is listed: its name and scope, never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenObject {
    pub name: String,
    pub tasks: Vec<String>,
    pub read_only: bool,
    pub metrics: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; null: it never expires.
    pub expires_at: Option<String>,
    /// RFC 3339 UTC (recorded at most once a minute); null: never used.
    pub last_used_at: Option<String>,
}

/// `POST /api/tokens` (201): the token's text, shown this once, and what was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedToken {
    /// `rw_` and 43 base62 characters; present it as `Authorization: Bearer …` or
    /// `X-API-Key: …`.
    pub token: String,
    #[serde(flatten)]
    pub about: TokenObject,
}

/// `GET /api/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenObject>,
}

/// `DELETE /api/tokens/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Revoked {
    /// The name of the token revoked.
    pub revoked: String,
}

impl From<crate::engine::auth::tokens::TokenInfo> for TokenObject {
    fn from(t: crate::engine::auth::tokens::TokenInfo) -> Self {
        use crate::engine::model::rfc3339;
        Self {
            name: t.name,
            tasks: t.scope.tasks.iter().map(ToString::to_string).collect(),
            read_only: !t.scope.trigger,
            metrics: t.scope.metrics,
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
        }
    }
}
