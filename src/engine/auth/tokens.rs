//! Scoped API tokens (`webhooks.md` §2): what CI holds instead of the daemon's password. A
//! token is `rw_` and 43 base62 characters encoding 256 bits from the operating system; only
//! its SHA-256 is stored (see [`crate::engine::store::TokenRow`]), with a name, a scope (the
//! tasks it may act on, whether it may start them, whether it may read `/metrics`), its
//! creation, expiry and last use. A presented token is found by its hash and the hashes are
//! compared again in constant time; nothing here logs or returns a token's text after
//! [`create`].
//!
//! This module decides whether a token may do what a request asks ([`TokenScope::allows`]);
//! which route asks for what is the route table's business.

use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::engine::model::TaskName;
use crate::engine::store::{self, Store, StoreError, TokenRow};
use crate::engine::Engine;

/// What every token starts with.
pub const PREFIX: &str = "rw_";
/// Base62 characters after the prefix: 62^43 > 2^256.
pub const BODY_LEN: usize = 43;
/// The longest token name.
pub const MAX_NAME_LEN: usize = 64;
/// The last use is written at most this often per token (each write is a commit).
const TOUCH_EVERY_MS: i64 = 60_000;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a token could not be created, listed or revoked; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0:?} is not a token name: use 1 to {MAX_NAME_LEN} letters, digits, '-' and '_', starting with a letter or digit")]
    BadName(String),
    #[error("a token must be allowed something: give --task (its runs and, unless --read, starting it) or --metrics")]
    NoScope,
    #[error("--read gives reads of the token's tasks; give them with --task")]
    ReadWithoutTasks,
    #[error("there is no task named {0:?} (a token names tasks of the configuration)")]
    UnknownTask(String),
    #[error("a token named {0:?} exists already; revoke it first or pick another name")]
    NameTaken(String),
    #[error("there is no token named {0:?}")]
    NoSuchToken(String),
    #[error("a token's expiry must be between 1 second and 100 years")]
    BadExpiry,
    #[error("cannot read the operating system's random source: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a presented token was refused (401), or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not valid (unknown, mistyped or revoked)")]
    Unknown,
    #[error("token {0:?} has expired; create a new one")]
    Expired(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token's name: letters, digits, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let ok = (1..=MAX_NAME_LEN).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(TokenError::BadName(
                crate::engine::model::truncate_for_message(text),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TokenName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope {
    /// The tasks it may read (their task object, runs and logs) and, with `trigger`, start.
    pub tasks: Vec<TaskName>,
    pub trigger: bool,
    /// May read `/metrics`.
    pub metrics: bool,
}

/// What a request asks of a token, as the route table and the request's path say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Start this task.
    Trigger(TaskName),
    /// Read this task, or runs and logs of it.
    Read(TaskName),
    /// Read `/metrics`.
    Metrics,
    /// Anything a token is never allowed (or a task or run it cannot name).
    Nothing,
}

impl TokenScope {
    /// Whether a token of this scope may do `wanted`.
    pub fn allows(&self, wanted: &Wanted) -> bool {
        match wanted {
            Wanted::Trigger(task) => self.trigger && self.tasks.contains(task),
            Wanted::Read(task) => self.tasks.contains(task),
            Wanted::Metrics => self.metrics,
            Wanted::Nothing => false,
        }
    }

    /// Checks the scope asked for at creation: something allowed, `--read` with tasks.
    pub fn check(&self) -> Result<(), TokenError> {
        if self.tasks.is_empty() && !self.trigger {
            return Err(TokenError::ReadWithoutTasks);
        }
        if self.tasks.is_empty() && !self.metrics {
            return Err(TokenError::NoScope);
        }
        Ok(())
    }
}

/// A token that was presented and accepted: its name and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub name: String,
    pub scope: TokenScope,
}

/// A token as it is listed: everything but its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scope: TokenScope,
    /// Unix ms.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl TokenInfo {
    fn from_row(row: TokenRow) -> Self {
        // A name stored by an older or hand-edited file that no longer parses cannot be
        // presented in a request either; it is left out of the scope.
        let tasks = row
            .tasks
            .iter()
            .filter_map(|t| TaskName::parse(t).ok())
            .collect();
        Self {
            name: row.name,
            scope: TokenScope {
                tasks,
                trigger: row.trigger,
                metrics: row.metrics,
            },
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: TokenName,
    pub scope: TokenScope,
    /// `None`: it never expires.
    pub expires_in: Option<Duration>,
}

/// `rw_` and 43 base62 characters encoding 32 bytes from the operating system.
pub fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(format!("{PREFIX}{}", base62(bytes)))
}

/// `bytes` read as a big-endian number, in exactly [`BODY_LEN`] base62 digits.
fn base62(mut bytes: [u8; 32]) -> String {
    let mut digits = [0u8; BODY_LEN];
    for digit in digits.iter_mut().rev() {
        let mut remainder = 0u32;
        for byte in bytes.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    digits.iter().map(|&d| char::from(d)).collect()
}

/// Whether `text` has the shape of a token (it may still be unknown).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(PREFIX).is_some_and(|body| {
        body.len() == BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a token in `store`: checks the name and scope, and returns the token's text (shown
/// this once) with what was stored. `now` is Unix ms.
pub fn create(store: &Store, new: &NewToken, now: i64) -> Result<(String, TokenInfo), TokenError> {
    new.scope.check()?;
    let expires_at = match new.expires_in {
        None => None,
        Some(d) if d < Duration::from_secs(1) || d > crate::engine::config::units::MAX_DURATION => {
            return Err(TokenError::BadExpiry)
        }
        Some(d) => Some(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))),
    };
    let token = generate()?;
    let row = TokenRow {
        name: new.name.to_string(),
        hash: hash(&token),
        tasks: new.scope.tasks.iter().map(|t| t.to_string()).collect(),
        trigger: new.scope.trigger,
        metrics: new.scope.metrics,
        created_at: now,
        expires_at,
        last_used_at: None,
    };
    if !store.insert_token(&row)? {
        return Err(TokenError::NameTaken(new.name.to_string()));
    }
    Ok((token, TokenInfo::from_row(row)))
}

/// Every token in `store`, by name.
pub fn list(store: &Store) -> Result<Vec<TokenInfo>, TokenError> {
    Ok(store
        .tokens()?
        .into_iter()
        .map(TokenInfo::from_row)
        .collect())
}

/// Revokes the token `name`: it is refused (401) from now on.
pub fn revoke(store: &Store, name: &TokenName) -> Result<(), TokenError> {
    if store.delete_token(name.as_str())? {
        Ok(())
    } else {
        Err(TokenError::NoSuchToken(name.to_string()))
    }
}

/// Checks a presented token at `now` (Unix ms): found by its hash, compared in constant time,
/// not expired. Its last use is recorded (at most once a minute).
pub fn check(store: &Store, presented: &str, now: i64) -> Result<Accepted, Refusal> {
    if !looks_like_token(presented) {
        return Err(Refusal::Unknown);
    }
    let wanted = hash(presented);
    let Some(row) = store.token_by_hash(&wanted)? else {
        return Err(Refusal::Unknown);
    };
    if !bool::from(row.hash.ct_eq(&wanted)) {
        return Err(Refusal::Unknown);
    }
    if row.expires_at.is_some_and(|at| now >= at) {
        return Err(Refusal::Expired(row.name));
    }
    if row
        .last_used_at
        .is_none_or(|at| now.saturating_sub(at) >= TOUCH_EVERY_MS)
    {
        if let Err(e) = store.touch_token(&row.name, now) {
            tracing::warn!(token = %row.name, "cannot record a token's use: {e}");
        }
    }
    let info = TokenInfo::from_row(row);
    Ok(Accepted {
        name: info.name,
        scope: info.scope,
    })
}

impl Engine {
    /// Creates a token for tasks of the configuration in force (see [`create`]).
    pub async fn create_token(&self, new: NewToken) -> Result<(String, TokenInfo), TokenError> {
        let config = self.config();
        if let Some(unknown) = new
            .scope
            .tasks
            .iter()
            .find(|t| !config.tasks.contains_key(*t))
        {
            return Err(TokenError::UnknownTask(unknown.to_string()));
        }
        let now = self.now().as_millisecond();
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || create(&store, &new, now))
            .await
            .unwrap_or_else(|e| Err(StoreError::Worker(e.to_string()).into()))
    }

    /// Every token, by name.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || list(&store))
            .await
            .unwrap_or_else(|e| Err(StoreError::Worker(e.to_string()).into()))
    }

    /// Revokes the token `name`.
    pub async fn revoke_token(&self, name: TokenName) -> Result<(), TokenError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || revoke(&store, &name))
            .await
            .unwrap_or_else(|e| Err(StoreError::Worker(e.to_string()).into()))
    }

    /// Checks a presented token (see [`check`]).
    pub async fn check_token(&self, presented: String) -> Result<Accepted, Refusal> {
        let now = self.now().as_millisecond();
        store::blocking(&self.inner.store, move |s| Ok(check(s, &presented, now)))
            .await
            .unwrap_or_else(|e| Err(Refusal::Store(e)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scope(tasks: &[&str], trigger: bool, metrics: bool) -> TokenScope {
        TokenScope {
            tasks: tasks.iter().map(|t| TaskName::parse(t).unwrap()).collect(),
            trigger,
            metrics,
        }
    }

    #[test]
    fn tokens_are_rw_and_43_base62_characters() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        for t in [&a, &b] {
            assert!(looks_like_token(t), "{t}");
            assert_eq!(t.len(), 46);
        }
        assert_eq!(base62([0; 32]), "0".repeat(43));
        // 2^256 - 1 in base 62, as Python's divmod on the integer spells it.
        assert_eq!(
            base62([0xff; 32]),
            "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
        );
        let mut one = [0u8; 32];
        one[31] = 63;
        assert_eq!(base62(one), format!("{}11", "0".repeat(41)));
        for bad in [
            "",
            "rw_",
            "rw_abc",
            &format!("rw_{}!", "a".repeat(42)),
            &format!("xx_{}", "a".repeat(43)),
        ] {
            assert!(!looks_like_token(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_letters_digits_dash_and_underscore() {
        for ok in ["ci", "ci-deploy", "CI_2", "9"] {
            assert!(TokenName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "_x",
            "a.b",
            "a b",
            "../x",
            "tâche",
            &"a".repeat(65),
        ] {
            assert!(TokenName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_scope_allows_its_tasks_only() {
        let deploy = TaskName::parse("deploy").unwrap();
        let other = TaskName::parse("other").unwrap();
        let full = scope(&["deploy"], true, false);
        assert!(full.allows(&Wanted::Trigger(deploy.clone())));
        assert!(full.allows(&Wanted::Read(deploy.clone())));
        assert!(!full.allows(&Wanted::Trigger(other.clone())));
        assert!(!full.allows(&Wanted::Read(other.clone())));
        assert!(!full.allows(&Wanted::Metrics));
        assert!(!full.allows(&Wanted::Nothing));
        let read = scope(&["deploy"], false, false);
        assert!(!read.allows(&Wanted::Trigger(deploy.clone())));
        assert!(read.allows(&Wanted::Read(deploy.clone())));
        let metrics = scope(&[], true, true);
        assert!(metrics.allows(&Wanted::Metrics));
        assert!(metrics.check().is_ok());
        assert!(matches!(
            scope(&[], true, false).check(),
            Err(TokenError::NoScope)
        ));
        assert!(matches!(
            scope(&[], false, true).check(),
            Err(TokenError::ReadWithoutTasks)
        ));
    }

    #[test]
    fn a_token_is_checked_by_hash_expiry_and_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
        let new = NewToken {
            name: TokenName::parse("ci").unwrap(),
            scope: scope(&["deploy"], true, false),
            expires_in: Some(Duration::from_secs(60)),
        };
        let (token, info) = create(&store, &new, 1_000).unwrap();
        assert_eq!(info.expires_at, Some(61_000));
        assert!(matches!(
            create(&store, &new, 1_000),
            Err(TokenError::NameTaken(_))
        ));
        let accepted = check(&store, &token, 2_000).unwrap();
        assert_eq!(accepted.name, "ci");
        assert_eq!(list(&store).unwrap()[0].last_used_at, Some(2_000));
        // The same shape, another text: unknown.
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push(if token.ends_with('a') { 'b' } else { 'a' });
        assert!(matches!(
            check(&store, &wrong, 2_000),
            Err(Refusal::Unknown)
        ));
        assert!(matches!(check(&store, &token, 61_000), Err(Refusal::Expired(n)) if n == "ci"));
        revoke(&store, &new.name).unwrap();
        assert!(matches!(
            check(&store, &token, 2_000),
            Err(Refusal::Unknown)
        ));
        assert!(matches!(
            revoke(&store, &new.name),
            Err(TokenError::NoSuchToken(_))
        ));
        let zero = NewToken {
            expires_in: Some(Duration::ZERO),
            ..new
        };
        assert!(matches!(
            create(&store, &zero, 0),
            Err(TokenError::BadExpiry)
        ));
    }
}
