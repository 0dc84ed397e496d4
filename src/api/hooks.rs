//! The answers of `POST /hooks/{name}` (`webhooks.md` §1).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A verified GitHub `ping` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookPong {
    pub pong: bool,
}

/// A verified delivery that starts no run (202): the event or the branch is not wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookIgnored {
    /// Why, in one sentence: `branch feature/x does not match main, release/*`.
    pub ignored: String,
}

/// A delivery id already seen for this webhook within 72 hours (200): no new run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookDuplicate {
    pub duplicate: bool,
    /// The run the first delivery started.
    pub run_id: Option<String>,
}

/// A delivery that started a run (202), answered once the run's row is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookAccepted {
    pub run_id: String,
}

/// What started a run from a webhook, in the run object (`webhook`); each value only when the
/// delivery carried it in its expected shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookInfo {
    /// `github`, `gitlab` or `generic`.
    pub provider: String,
    pub event: Option<String>,
    pub delivery: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub branch: Option<String>,
    pub sha: Option<String>,
    pub repo: Option<String>,
}

impl From<crate::engine::store::WebhookDelivery> for WebhookInfo {
    fn from(d: crate::engine::store::WebhookDelivery) -> Self {
        Self {
            provider: d.provider,
            event: d.event,
            delivery: d.delivery,
            git_ref: d.git_ref,
            branch: d.branch,
            sha: d.sha,
            repo: d.repo,
        }
    }
}
