//! Run history in SQLite (`runwisp.db` in the data directory): WAL journal, full fsync on commit
//! (a run's start excepted, see `group.rs`),
//! append-only migrations kept as `.sql` files beside this module, and the `runs` table of
//! `product.md` §6 with `UNIQUE(task_name, scheduled_for)` so one firing never yields two runs.
//!
//! A `Store` holds one connection behind a mutex: the one writer of its process. Every change
//! is one short transaction, shared by the run writes that arrive together (`group.rs`). Reads
//! use the same connection for now; the daemon adds a reader pool when it needs one. Commands
//! that only read the history open it with [`Store::open_read_only`], which never migrates.
//!
//! A bound `LIMIT` is written `LIMIT ?N + 0`: SQLite plans a bare `LIMIT ?N` with the value
//! bound, so every new binding threw the cached statement away and parsed it again (the
//! lifecycle lane's read, a tenth of the daemon's CPU while 200 tasks ran at once).

mod group;
mod notices;
mod outbox;
mod runs;
mod services;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use group::{Pending, Then};
pub use notices::{Delivery, NoticeBatch, NoticeRow, NoticeWrite, PayloadFn, Streak};
pub use outbox::OutboxRow;
pub use runs::{NewRun, WebhookDelivery, DELIVERY_MEMORY_MS};
pub use tokens::TokenRow;

/// The migrations, in order. `user_version` records how many have been applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_runs", include_str!("migrations/0001_runs.sql")),
    (
        "0002_task_anchors",
        include_str!("migrations/0002_task_anchors.sql"),
    ),
    (
        "0003_runs_open",
        include_str!("migrations/0003_runs_open.sql"),
    ),
    (
        "0004_service_stops",
        include_str!("migrations/0004_service_stops.sql"),
    ),
    (
        "0005_lifecycle",
        include_str!("migrations/0005_lifecycle.sql"),
    ),
    (
        "0006_notifications",
        include_str!("migrations/0006_notifications.sql"),
    ),
    (
        "0007_webhook_deliveries",
        include_str!("migrations/0007_webhook_deliveries.sql"),
    ),
    ("0008_tokens", include_str!("migrations/0008_tokens.sql")),
    (
        "0009_pipeline_resumes",
        include_str!("migrations/0009_pipeline_resumes.sql"),
    ),
];

/// The oldest schema [`Store::open_read_only`] reads: the run queries of `runs.rs` select only
/// columns of `0001_runs`, and later migrations add tables and nullable columns they skip.
const READABLE_FROM: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the run history {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the run history: {0}")]
    Create(String),
    #[error("the run history {path} was written by a newer runwisp (schema {found}, this binary knows {known}); upgrade runwisp")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "the run history {path} has no schema yet (schema 0); the daemon creates it when it starts"
    )]
    NoSchema { path: PathBuf },
    #[error("the disk holding the run history is full; free some space (nothing was recorded)")]
    DiskFull,
    #[error("a run of task {task:?} for {scheduled_for} already exists")]
    Duplicate { task: String, scheduled_for: i64 },
    /// A webhook delivery id already seen for this task within 72 hours.
    #[error("webhook delivery {delivery:?} of task {task:?} was already received")]
    DuplicateDelivery { task: String, delivery: String },
    #[error("the database worker stopped unexpectedly: {0}")]
    Worker(String),
    #[error("{action}: {source}")]
    Sql {
        action: &'static str,
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Wraps a SQLite error with what was being done, singling out a full disk.
    pub(crate) fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sql { action, source },
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// One row of `sql` through the connection's cache of prepared statements. `query_row` on the
/// connection parses the SQL again at every call: a run's row read to answer each trigger took
/// more CPU parsing than reading.
pub(crate) fn cached_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, row)
}

/// Runs a store call on the blocking pool, so a commit's fsync never stalls the async workers.
pub async fn blocking<T, F>(store: &std::sync::Arc<Store>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(&store))
        .await
        .unwrap_or_else(|e| Err(StoreError::Worker(e.to_string())))
}

/// The run history.
pub struct Store {
    conn: Mutex<Connection>,
    /// A second connection, read-only, for reading one run ([`Store::get_run`]): in WAL mode a
    /// reader never waits for a writer, so a run is read while a commit (and its fsync) holds
    /// the first. None for a store opened read-only, and should it fail to open.
    reader: Option<Mutex<Connection>>,
    path: PathBuf,
    group: group::Group,
    /// What a run is read from: every column, or the older file's with NULL for the rest.
    run_columns: &'static str,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // SQLite gives the -wal and -shm files the database file's mode, so create it 0600.
        if !path.exists() {
            crate::engine::datadir::create_private_file(path)
                .map_err(|e| StoreError::Create(e.to_string()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // Every statement of the run path stays prepared (the default cache holds 16, fewer
        // than the daemon uses, and an evicted statement is parsed again).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut store = Self {
            conn: Mutex::new(conn),
            reader: None,
            path: path.to_path_buf(),
            group: group::Group::default(),
            run_columns: runs::COLUMNS,
        };
        store.migrate()?;
        // Opened once the schema is there. Without it every read takes the first connection.
        store.reader = match open_reader(path) {
            Ok(reader) => Some(Mutex::new(reader)),
            Err(e) => {
                tracing::warn!("cannot open a second connection to the run history: {e}");
                None
            }
        };
        Ok(store)
    }

    /// Opens the database at `path` for reading only (`SQLITE_OPEN_READ_ONLY`): it is never
    /// created, migrated or written, and no pragma is set, so a reader such as `runwisp runs`
    /// cannot change a history a daemon (of this or another version) is using. A WAL-mode file
    /// is read through its `-wal` and `-shm` beside it; SQLite creates those two if they are
    /// missing and a read-only connection leaves them behind, but the database file itself
    /// keeps its bytes.
    ///
    /// A schema newer than this binary knows is refused with [`StoreError::TooNew`], as by
    /// [`Store::open`]. An older one is read as it is, unmigrated: the run queries select the
    /// columns of `0001_runs` ([`READABLE_FROM`]), which every later schema keeps, and read the
    /// columns `0003_runs_open` added as NULL in a file older than that. (A query that comes to
    /// need a table or column of a later migration must check the file's version first.) A file with no schema at all
    /// (created, but its first migration never ran) answers [`StoreError::NoSchema`]. Writes
    /// through the returned store fail with SQLite's "readonly database" error.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        let version = check_version(&conn, path)?;
        if version < READABLE_FROM {
            return Err(StoreError::NoSchema {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            conn: Mutex::new(conn),
            reader: None,
            path: path.to_path_buf(),
            group: group::Group::default(),
            run_columns: if version >= 3 {
                runs::COLUMNS
            } else {
                runs::COLUMNS_BEFORE_V3
            },
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied transaction behind (SQLite
        // rolls it back), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reader connection, if the store has one.
    fn reader(&self) -> Option<MutexGuard<'_, Connection>> {
        let reader = self.reader.as_ref()?;
        Some(reader.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Applies the pending migrations, each in its own transaction with the `user_version` it
    /// leads to, so a migration (a table rebuild included) is applied entirely or not at all.
    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        if check_version(&conn, &self.path)? == MIGRATIONS.len() as i64 {
            return Ok(());
        }
        loop {
            // IMMEDIATE takes the write lock before the version is read again, so two processes
            // opening an old file at once never apply the same migration twice.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sql("starting a migration"))?;
            let version = check_version(&tx, &self.path)?;
            let Some((_, sql)) = MIGRATIONS.get(version as usize) else {
                return Ok(());
            };
            tx.execute_batch(sql)
                .map_err(StoreError::sql("applying a migration"))?;
            tx.pragma_update(None, "user_version", version + 1)
                .map_err(StoreError::sql("recording the schema version"))?;
            tx.commit()
                .map_err(StoreError::sql("committing a migration"))?;
        }
    }

    /// Reads a daemon fact (fingerprint, secrets).
    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("reading daemon metadata"))
    }

    /// Stores (or replaces) a daemon fact.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(StoreError::sql("storing daemon metadata"))?;
        Ok(())
    }

    /// Stores a daemon fact unless one is already stored; returns the value in force.
    pub fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            [key, value],
        )
        .map_err(StoreError::sql("storing daemon metadata"))?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(StoreError::sql("reading daemon metadata"))
    }
}

/// The reader connection of a store that writes: read-only, with a small page cache (it reads
/// single rows) and its statements kept prepared.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let reader = Connection::open_with_flags(path, flags)?;
    reader.busy_timeout(Duration::from_secs(5))?;
    reader.pragma_update(None, "cache_size", -256)?;
    reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(reader)
}

/// The file's `user_version`, refused with [`StoreError::TooNew`] when this binary does not
/// know it.
fn check_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(StoreError::sql("reading the schema version"))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    Ok(version)
}

#[cfg(test)]
mod migrate_tests;
#[cfg(test)]
mod read_only_tests;
#[cfg(test)]
mod tests;
