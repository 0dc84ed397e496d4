//! `[tasks.NAME.webhook]` (`webhooks.md` §1): who signs the deliveries, the shared secret (from
//! exactly one of `secret`, `secret_env` and `secret_file`, at least 16 bytes, never shown in an
//! error), the events that start a run and the branch globs. A webhook on a task with
//! `api_trigger = false` is an error: the task said it takes no manual trigger.

use std::path::Path;

use super::fields::{Ctx, Fields};
use super::keys::{self, Key};
use super::notifiers::Table;
use super::{Glob, SecretValue};

/// Who signs a webhook's deliveries, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `X-Hub-Signature-256: sha256=HEX`, events in `X-GitHub-Event`.
    Github,
    /// `X-Gitlab-Token` equal to the secret, events in `X-Gitlab-Event`.
    Gitlab,
    /// `X-Signature-256: sha256=HEX`, as GitHub; no events.
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Generic => "generic",
        }
    }
}

/// A task's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub provider: Provider,
    pub secret: SecretValue,
    /// The events that start a run (`push`); generic deliveries have none and always run.
    pub events: Vec<String>,
    /// Globs on the pushed branch; empty means any branch (and pushes of tags too).
    pub branches: Vec<Glob>,
}

/// The shortest secret: GitHub suggests a long random string; 16 bytes is the floor.
pub const MIN_SECRET: usize = 16;

/// Reads `[tasks.NAME.webhook]`; `None` (after its errors) when it is not valid.
pub(super) fn webhook(
    ctx: &mut Ctx<'_>,
    task: &Fields<'_, '_>,
    api_trigger: bool,
    dir: &Path,
) -> Option<Webhook> {
    task.get("webhook")?;
    let f = task.table_of(ctx, "webhook")?;
    f.check_table(ctx, &[keys::HOOK], &[]);
    let table = Table {
        f: &f,
        who: String::new(),
        dir,
    };
    if !api_trigger {
        let span = task.get("api_trigger").map_or(f.span.clone(), |v| v.span());
        ctx.error(
            span,
            &task.key_path("api_trigger"),
            "api_trigger = false cannot be combined with a webhook, which triggers the task; remove one of them",
        );
    }
    let provider = match f.string(ctx, "provider") {
        Some((p, _)) if p == "github" => Some(Provider::Github),
        Some((p, _)) if p == "gitlab" => Some(Provider::Gitlab),
        Some((p, _)) if p == "generic" => Some(Provider::Generic),
        Some((p, span)) => {
            let shown = crate::engine::model::truncate_for_message(&p);
            let message = format!(
                "{shown:?} is not a webhook provider; use \"github\", \"gitlab\" or \"generic\""
            );
            ctx.error(span, &f.key_path("provider"), message);
            None
        }
        None => {
            if f.get("provider").is_none() {
                table.missing(ctx, "`provider` (\"github\", \"gitlab\" or \"generic\")");
            }
            None
        }
    };
    // One of the three sources is required here (the schema cannot say which).
    let secret_key = Key {
        required: true,
        ..keys::HOOK_SECRET
    };
    let secret = table.secret(ctx, &secret_key).and_then(|s| {
        if s.value.expose().len() < MIN_SECRET {
            let message = format!(
                "the webhook secret is shorter than {MIN_SECRET} bytes; use a long random string (openssl rand -hex 32)"
            );
            table.error(ctx, s.span, &s.key, &message);
            return None;
        }
        Some(s.value)
    });
    let events = match f.string_list(ctx, "events") {
        Some(list) => list.into_iter().map(|(e, _)| e).collect(),
        None => vec!["push".to_string()],
    };
    let mut branches = Vec::new();
    for (pattern, span) in f.string_list(ctx, "branches").unwrap_or_default() {
        match Glob::parse(&pattern) {
            Ok(glob) => branches.push(glob),
            Err(e) => ctx.error(span, &f.key_path("branches"), e),
        }
    }
    Some(Webhook {
        provider: provider?,
        secret: secret?,
        events,
        branches,
    })
}
