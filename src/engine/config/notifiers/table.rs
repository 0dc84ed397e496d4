//! One `[[notifier]]` table being read: required and optional strings, secrets from exactly one
//! of `X`, `X_env` and `X_file`, URL secrets and address lists. Every error names the notifier
//! and the key, never what a secret holds.

use std::env::VarError;
use std::ops::Range;
use std::path::Path;

use super::checks::{is_address, is_http_url};
use crate::engine::config::fields::{Ctx, Fields};
use crate::engine::config::keys::Key;
use crate::engine::config::SecretValue;
use crate::engine::model::truncate_for_message;

/// A secret with where it came from, so a later check can point at it without showing it.
pub(in crate::engine::config) struct Secret {
    pub(in crate::engine::config) value: SecretValue,
    /// `url`, `url_env` or `url_file`: the key that supplied it.
    pub(in crate::engine::config) key: String,
    pub(in crate::engine::config) span: Range<usize>,
}

/// One `[[notifier]]` table being read; the errors of its rules name the notifier.
pub(in crate::engine::config) struct Table<'f, 'a, 'i> {
    pub(in crate::engine::config) f: &'f Fields<'a, 'i>,
    /// `notifier "slack-ops": `, or empty when the table has no id.
    pub(in crate::engine::config) who: String,
    pub(in crate::engine::config) dir: &'f Path,
}

impl Table<'_, '_, '_> {
    pub(in crate::engine::config) fn error_at(
        &self,
        ctx: &mut Ctx<'_>,
        span: Range<usize>,
        path: &str,
        message: &str,
    ) {
        ctx.error(span, path, format!("{}{message}", self.who));
    }

    pub(in crate::engine::config) fn error(
        &self,
        ctx: &mut Ctx<'_>,
        span: Range<usize>,
        key: &str,
        message: &str,
    ) {
        self.error_at(ctx, span, &self.f.key_path(key), message);
    }

    /// A required key is absent: reported at the `[[notifier]]` header.
    pub(in crate::engine::config) fn missing(&self, ctx: &mut Ctx<'_>, what: &str) {
        self.error_at(
            ctx,
            self.f.span.clone(),
            &self.f.path,
            &format!("missing {what}"),
        );
    }

    pub(in crate::engine::config) fn key_span_or_table(&self, key: &str) -> Range<usize> {
        self.f.key_span(key).unwrap_or(self.f.span.clone())
    }

    /// An optional string that, when written, is not blank.
    pub(in crate::engine::config) fn optional(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
    ) -> Option<(String, Range<usize>)> {
        let (s, span) = self.f.string(ctx, key)?;
        if s.trim().is_empty() {
            self.error(ctx, span, key, &format!("`{key}` cannot be empty"));
            return None;
        }
        Some((s, span))
    }

    /// A required string, not blank.
    pub(in crate::engine::config) fn required(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        what: &str,
    ) -> Option<(String, Range<usize>)> {
        if self.f.get(key).is_none() {
            self.missing(ctx, &format!("`{key}` ({what})"));
            return None;
        }
        self.optional(ctx, key)
    }

    /// Secret `key`, from exactly one of `key`, `key_env` and `key_file`; a missing one is an
    /// error when its table entry says it is required.
    pub(in crate::engine::config) fn secret(&self, ctx: &mut Ctx<'_>, key: &Key) -> Option<Secret> {
        let (key, required) = (key.name, key.required);
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        let mut given: Vec<(Range<usize>, &str)> = [key, env_key.as_str(), file_key.as_str()]
            .into_iter()
            .filter_map(|k| Some((self.f.key_span(k)?, k)))
            .collect();
        given.sort_by_key(|(span, _)| span.start);
        let source = match given.as_slice() {
            [] => {
                if required {
                    self.missing(ctx, &format!("`{key}` (or `{key}_env` naming an environment variable, or `{key}_file` naming a file)"));
                }
                return None;
            }
            [(_, first), (span, second), ..] => {
                // Point at the second one in the file: that is where the conflict appears.
                let message = format!(
                    "set only one of `{key}`, `{key}_env` and `{key}_file` (`{first}` is already set)"
                );
                self.error(ctx, span.clone(), second, &message);
                return None;
            }
            [(_, source)] => *source,
        };
        // A wrong type is reported by `string` without the value.
        let (text, span) = self.f.string(ctx, source)?;
        if text.is_empty() {
            self.error(ctx, span, source, &format!("`{source}` cannot be empty"));
            return None;
        }
        let value = if source == key {
            Ok(text)
        } else if source == env_key {
            match std::env::var(&text) {
                Ok(v) if !v.is_empty() => Ok(v),
                Ok(_) => Err(format!("the environment variable {text:?} is empty")),
                Err(VarError::NotPresent) => {
                    Err(format!("the environment variable {text:?} is not set"))
                }
                Err(VarError::NotUnicode(_)) => Err(format!(
                    "the environment variable {text:?} is not valid UTF-8"
                )),
            }
        } else {
            let path = self.dir.join(&text);
            match std::fs::read_to_string(&path) {
                Ok(v) => match v.trim_end_matches(['\n', '\r']) {
                    "" => Err(format!("the file {} is empty", path.display())),
                    v => Ok(v.to_string()),
                },
                // An I/O error names the problem, never the file's content.
                Err(e) => Err(format!("cannot read the file {}: {e}", path.display())),
            }
        };
        match value {
            Ok(v) => Some(Secret {
                value: SecretValue::new(v),
                key: source.to_string(),
                span,
            }),
            Err(message) => {
                self.error(ctx, span, source, &message);
                None
            }
        }
    }

    /// A required secret that is an http(s) URL (a webhook URL carries its token).
    pub(in crate::engine::config) fn url_secret(
        &self,
        ctx: &mut Ctx<'_>,
        key: &Key,
    ) -> Option<SecretValue> {
        debug_assert!(key.required, "{}", key.name);
        let secret = self.secret(ctx, key)?;
        let key = key.name;
        if !is_http_url(secret.value.expose()) {
            let message = format!(
                "`{key}` must be an http:// or https:// URL (its value is a secret and is not shown)"
            );
            self.error(ctx, secret.span, &secret.key, &message);
            return None;
        }
        Some(secret.value)
    }

    /// A list of mail addresses; `required` also rejects an absent or empty list.
    pub(in crate::engine::config) fn addresses(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        required: bool,
    ) -> Vec<String> {
        let Some(list) = self.f.string_list(ctx, key) else {
            if required && self.f.get(key).is_none() {
                self.missing(ctx, &format!("`{key}` (a list of recipient addresses)"));
            }
            return Vec::new();
        };
        if required && list.is_empty() {
            let span = self.f.get(key).map_or(self.f.span.clone(), |v| v.span());
            self.error(
                ctx,
                span,
                key,
                &format!("`{key}` needs at least one address"),
            );
        }
        let mut out = Vec::new();
        for (address, span) in list {
            if is_address(&address) {
                out.push(address);
            } else {
                let shown = truncate_for_message(&address);
                let message = format!("{shown:?} is not a mail address (write name@example.com or \"Name <name@example.com>\")");
                self.error(ctx, span, key, &message);
            }
        }
        out
    }
}
