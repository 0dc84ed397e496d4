//! Inbound webhooks (`webhooks.md` §1), as the engine sees them: a delivery's signature checked
//! against the task's secret in constant time, what the delivery says (event, ref, sha, repo,
//! delivery id) taken only when it matches a strict pattern, the decision (ping, ignored, run),
//! and the run it starts, with the body saved as a 0600 file beside the run's log. The HTTP side
//! (headers in, answers out, throttling) is `server/hooks.rs`. Nothing from a request ever
//! becomes part of a command line or a file name: it reaches the run only as environment
//! variables whose values passed these patterns, and the body only as a file runwisp names.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::engine::config::{Provider, Webhook};
use crate::engine::model::{Run, RunId, TaskName, TriggeredBy};
use crate::engine::store::{self, StoreError, WebhookDelivery};
use crate::engine::tasks::{fire, Firing, TriggerError};
use crate::engine::Engine;

/// What came with a delivery, as the HTTP side read it (header values, the raw body).
#[derive(Debug, Default, Clone)]
pub struct Incoming<'a> {
    /// `X-Hub-Signature-256` (github) or `X-Signature-256` (generic).
    pub signature: Option<&'a str>,
    /// `X-Gitlab-Token`.
    pub token: Option<&'a str>,
    /// `X-GitHub-Event` or `X-Gitlab-Event`.
    pub event: Option<&'a str>,
    /// `X-GitHub-Delivery`, `X-Gitlab-Event-UUID` or `X-Request-Id`.
    pub delivery: Option<&'a str>,
    pub body: &'a [u8],
}

/// What to answer a verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A GitHub `ping`: the webhook is set up right.
    Pong,
    /// Verified, but not for a run; the reason in one sentence.
    Ignored(String),
    /// A delivery id already seen within 72 hours, with the run it started.
    Duplicate(Option<RunId>),
    /// The run it started (recorded, durable).
    Started(RunId),
}

/// Whether `incoming` is signed with `secret` as `provider` signs (constant time).
pub fn verify(provider: Provider, secret: &str, incoming: &Incoming<'_>) -> bool {
    match provider {
        // Digests of both, so the comparison does not end early on a length difference.
        Provider::Gitlab => incoming.token.is_some_and(|t| {
            bool::from(Sha256::digest(t.as_bytes()).ct_eq(&Sha256::digest(secret.as_bytes())))
        }),
        Provider::Github | Provider::Generic => {
            let Some(hex_sig) = incoming
                .signature
                .and_then(|s| s.trim().strip_prefix("sha256="))
            else {
                return false;
            };
            let Ok(given) = hex::decode(hex_sig) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(incoming.body);
            // `verify_slice` compares in constant time.
            mac.verify_slice(&given).is_ok()
        }
    }
}

/// `value` when it matches a pattern of `webhooks.md` §1 (checked by `ok` on each character
/// and a length range), else nothing.
fn strict(
    value: Option<&str>,
    len: std::ops::RangeInclusive<usize>,
    ok: fn(char) -> bool,
) -> Option<String> {
    let value = value?;
    (len.contains(&value.len()) && value.chars().all(ok)).then(|| value.to_string())
}

fn event_name(value: Option<&str>) -> Option<String> {
    // GitLab names events "Push Hook": lower-cased with `_` for spaces, as `push_hook`.
    let normal = value.map(|v| v.trim().to_ascii_lowercase().replace(' ', "_"));
    strict(normal.as_deref(), 1..=64, |c| {
        c.is_ascii_lowercase() || c == '_'
    })
}

fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-')
}

/// `refs/…` of the pattern, without `..` or an empty segment (so it can never name a path
/// outside what it says, whatever a script does with it).
fn git_ref(value: Option<&str>) -> Option<String> {
    let r = strict(value, 6..=205, is_ref_char)?;
    let rest = r.strip_prefix("refs/")?;
    let clean = !rest.is_empty()
        && !r.contains("..")
        && !r.contains("//")
        && !r.ends_with('/')
        && rest
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.'));
    clean.then_some(r)
}

fn sha(value: Option<&str>) -> Option<String> {
    let v = value?;
    let ok = (v.len() == 40 || v.len() == 64)
        && v.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    ok.then(|| v.to_string())
}

fn repo(value: Option<&str>) -> Option<String> {
    let r = strict(value, 3..=200, is_ref_char)?;
    let (owner, name) = r.split_once('/')?;
    let ok = !owner.is_empty()
        && !owner.contains('/')
        && !name.is_empty()
        && !r.contains("..")
        && !r.starts_with('.');
    ok.then_some(r)
}

/// The facts of a delivery: the headers' and the JSON body's, each only when it matches its
/// pattern.
pub fn facts(provider: Provider, incoming: &Incoming<'_>) -> WebhookDelivery {
    let json: Option<serde_json::Value> = serde_json::from_slice(incoming.body).ok();
    let field = |pointer: &str| -> Option<&str> { json.as_ref()?.pointer(pointer)?.as_str() };
    let git_ref = git_ref(field("/ref"));
    let branch = git_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .map(str::to_string);
    let (sha_field, repo_field) = match provider {
        Provider::Gitlab => ("/checkout_sha", "/project/path_with_namespace"),
        Provider::Github | Provider::Generic => ("/after", "/repository/full_name"),
    };
    WebhookDelivery {
        provider: provider.as_str().to_string(),
        event: match provider {
            Provider::Generic => None,
            _ => event_name(incoming.event),
        },
        delivery: strict(incoming.delivery, 1..=64, |c| {
            c.is_ascii_alphanumeric() || c == '-'
        }),
        sha: sha(field(sha_field)).or_else(|| sha(field("/head_commit/id"))),
        repo: repo(field(repo_field)),
        git_ref,
        branch,
    }
}

/// Why a verified delivery starts no run, or `None` when it does.
pub fn ignored(hook: &Webhook, facts: &WebhookDelivery) -> Option<String> {
    if hook.provider != Provider::Generic {
        let wanted = |e: &str| {
            // GitLab's `push_hook` is what `events = ["push"]` means.
            let e = e.strip_suffix("_hook").unwrap_or(e);
            hook.events.iter().any(|w| w == e)
        };
        match facts.event.as_deref() {
            Some(event) if wanted(event) => {}
            Some(event) => {
                return Some(format!(
                    "event {event} is not one of {}",
                    hook.events.join(", ")
                ))
            }
            None => return Some("the delivery names no event".to_string()),
        }
    }
    if hook.branches.is_empty() {
        return None;
    }
    let patterns = || {
        hook.branches
            .iter()
            .map(|g| g.pattern.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (&facts.branch, &facts.git_ref) {
        (Some(branch), _) if hook.branches.iter().any(|g| g.matches(branch)) => None,
        (Some(branch), _) => Some(format!("branch {branch} does not match {}", patterns())),
        (None, Some(r)) => Some(format!("{r} is not a branch (branches: {})", patterns())),
        (None, None) => Some(format!(
            "the delivery names no branch (branches: {})",
            patterns()
        )),
    }
}

/// The run's environment from a delivery: only what passed its pattern.
fn environment(facts: &WebhookDelivery, payload: &std::path::Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("RUNWISP_WEBHOOK_PROVIDER".into(), facts.provider.clone());
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            env.insert(name.to_string(), v.clone());
        }
    };
    put("RUNWISP_WEBHOOK_EVENT", &facts.event);
    put("RUNWISP_WEBHOOK_DELIVERY", &facts.delivery);
    put("RUNWISP_GIT_REF", &facts.git_ref);
    put("RUNWISP_GIT_BRANCH", &facts.branch);
    put("RUNWISP_GIT_SHA", &facts.sha);
    put("RUNWISP_GIT_REPO", &facts.repo);
    env.insert(
        "RUNWISP_WEBHOOK_PAYLOAD".into(),
        payload.display().to_string(),
    );
    env
}

/// Writes the body as a 0600 file (replacing nothing: the name is the new run's own). It is
/// not synced: a daemon that dies keeps it (the page cache), and after a power loss the run
/// it was for is recorded `crashed` anyway; the row, which is synced, is what must survive.
fn save_payload(path: &std::path::Path, body: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        // As the run's log folder is made: private to the daemon's user.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(body)
}

impl Engine {
    /// The webhook of `task`, if it has one (for the HTTP side to verify against).
    pub fn webhook(&self, task: &TaskName) -> Option<Webhook> {
        self.inner.task_def(task)?.spec.webhook.clone()
    }

    /// A verified delivery for `task`: pong, ignored, a replay, or a run started with the
    /// delivery's facts in its environment and its body saved beside its log. Answers once the
    /// run's row is durable.
    pub async fn deliver_webhook(
        &self,
        task: &TaskName,
        hook: &Webhook,
        incoming: &Incoming<'_>,
    ) -> Result<Outcome, TriggerError> {
        if hook.provider == Provider::Github && incoming.event == Some("ping") {
            return Ok(Outcome::Pong);
        }
        let facts = facts(hook.provider, incoming);
        if let Some(why) = ignored(hook, &facts) {
            return Ok(Outcome::Ignored(why));
        }
        // The payload, the firing and the cleanup run as one task of their own: a caller that
        // hangs up cannot leave a payload file without its run.
        let engine = self.clone();
        let (task, body) = (task.clone(), incoming.body.to_vec());
        tokio::spawn(async move { engine.start_from_webhook(task, facts, body).await })
            .await
            .unwrap_or_else(|e| Err(TriggerError::Store(StoreError::Worker(e.to_string()))))
    }

    async fn start_from_webhook(
        &self,
        task: TaskName,
        facts: WebhookDelivery,
        body: Vec<u8>,
    ) -> Result<Outcome, TriggerError> {
        let id = RunId::new();
        let payload = self.inner.dir.run_payload_path(&task, &id);
        let path = payload.clone();
        tokio::task::spawn_blocking(move || save_payload(&path, &body))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
            .map_err(|e| {
                TriggerError::Store(StoreError::Worker(format!(
                    "cannot save the webhook's payload: {e}"
                )))
            })?;
        let firing = Firing {
            id: Some(id),
            webhook: Some(Arc::new(facts.clone())),
            ..Firing::new(
                TriggeredBy::Webhook,
                Arc::new(environment(&facts, &payload)),
            )
        };
        match fire(&self.inner, &task, firing).await {
            Ok(fired) => Ok(Outcome::Started(fired.id)),
            Err(TriggerError::Store(StoreError::DuplicateDelivery { .. })) => {
                let _ = std::fs::remove_file(&payload);
                let (name, delivery) = (task.to_string(), facts.delivery.unwrap_or_default());
                let now = crate::engine::clock::millis(self.inner.clock.now());
                let first = store::blocking(&self.inner.store, move |s| {
                    s.run_of_delivery(&name, &delivery, now)
                })
                .await?;
                Ok(Outcome::Duplicate(first))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&payload);
                Err(e)
            }
        }
    }

    /// The webhook delivery that started a run, for its details.
    pub async fn webhook_of(&self, run: &Run) -> Result<Option<WebhookDelivery>, StoreError> {
        if run.triggered_by != TriggeredBy::Webhook {
            return Ok(None);
        }
        let id = run.id;
        store::blocking(&self.inner.store, move |s| s.webhook_of(&id)).await
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
