//! Scoped API tokens in SQLite (`api_tokens`, migration `0008_tokens`): one row per token with
//! the SHA-256 of its text, never the text. Found by that hash; what a token may do and when it
//! expires are checked by [`crate::engine::auth::tokens`], not here.

use rusqlite::{params, OptionalExtension, Row};

use super::{cached_row, Result, Store, StoreError};

/// A stored token: everything but its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub name: String,
    /// SHA-256 of the token's text.
    pub hash: [u8; 32],
    pub tasks: Vec<String>,
    /// May start its tasks (false for a token made with `--read`).
    pub trigger: bool,
    pub metrics: bool,
    /// Unix ms.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "name, hash, tasks, trigger, metrics, created_at, expires_at, last_used_at";

fn read(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let hash: Vec<u8> = r.get(1)?;
    let tasks: String = r.get(2)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            format!("api_tokens.{what} is malformed").into(),
        )
    };
    Ok(TokenRow {
        name: r.get(0)?,
        hash: <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| bad("hash"))?,
        tasks: serde_json::from_str(&tasks).map_err(|_| bad("tasks"))?,
        trigger: r.get(3)?,
        metrics: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        last_used_at: r.get(7)?,
    })
}

impl Store {
    /// Stores a new token; `false` (and nothing stored) when a token of that name exists.
    pub fn insert_token(&self, token: &TokenRow) -> Result<bool> {
        let tasks = serde_json::to_string(&token.tasks)
            .map_err(|e| StoreError::Create(format!("cannot encode a token's tasks: {e}")))?;
        let added = self
            .conn()
            .execute(
                "INSERT INTO api_tokens (name, hash, tasks, trigger, metrics, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING",
                params![
                    token.name,
                    token.hash.as_slice(),
                    tasks,
                    token.trigger,
                    token.metrics,
                    token.created_at,
                    token.expires_at
                ],
            )
            .map_err(StoreError::sql("storing a token"))?;
        Ok(added == 1)
    }

    /// Every token, by name; none in a file older than the tokens (read without migrating, see
    /// [`Store::open_read_only`]).
    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        let conn = self.conn();
        let has_table: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens')",
                [],
                |r| r.get(0),
            )
            .map_err(StoreError::sql("reading tokens"))?;
        if !has_table {
            return Ok(Vec::new());
        }
        let mut select = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))
            .map_err(StoreError::sql("reading tokens"))?;
        let rows = select
            .query_map([], read)
            .map_err(StoreError::sql("reading tokens"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(StoreError::sql("reading tokens"))?;
        Ok(rows)
    }

    /// The token whose text hashes to `hash`, if any.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        cached_row(
            &self.conn(),
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = ?1"),
            [hash.as_slice()],
            read,
        )
        .optional()
        .map_err(StoreError::sql("looking up a token"))
    }

    /// Deletes the token `name`; `false` when there is none.
    pub fn delete_token(&self, name: &str) -> Result<bool> {
        let deleted = self
            .conn()
            .execute("DELETE FROM api_tokens WHERE name = ?1", [name])
            .map_err(StoreError::sql("revoking a token"))?;
        Ok(deleted == 1)
    }

    /// Records that the token `name` was used at `now` (Unix ms).
    pub fn touch_token(&self, name: &str, now: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE api_tokens SET last_used_at = ?2 WHERE name = ?1",
                params![name, now],
            )
            .map_err(StoreError::sql("recording a token's use"))?;
        Ok(())
    }

    /// Sets the expiry of the token `name` (Unix ms); for tests and repairs.
    pub fn set_token_expiry(&self, name: &str, expires_at: Option<i64>) -> Result<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE api_tokens SET expires_at = ?2 WHERE name = ?1",
                params![name, expires_at],
            )
            .map_err(StoreError::sql("changing a token's expiry"))?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(name: &str, byte: u8) -> TokenRow {
        TokenRow {
            name: name.into(),
            hash: [byte; 32],
            tasks: vec!["deploy".into()],
            trigger: true,
            metrics: false,
            created_at: 1_000,
            expires_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn tokens_are_stored_found_by_hash_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
        assert!(store.insert_token(&row("ci", 1)).unwrap());
        assert!(
            !store.insert_token(&row("ci", 2)).unwrap(),
            "names are unique"
        );
        assert!(store.insert_token(&row("other", 3)).unwrap());
        assert_eq!(store.token_by_hash(&[1; 32]).unwrap(), Some(row("ci", 1)));
        assert_eq!(store.token_by_hash(&[2; 32]).unwrap(), None);
        store.touch_token("ci", 5_000).unwrap();
        assert!(store.set_token_expiry("ci", Some(9_000)).unwrap());
        let listed = store.tokens().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].last_used_at, Some(5_000));
        assert_eq!(listed[0].expires_at, Some(9_000));
        assert!(store.delete_token("ci").unwrap());
        assert!(!store.delete_token("ci").unwrap());
        assert_eq!(store.token_by_hash(&[1; 32]).unwrap(), None);
    }
}
