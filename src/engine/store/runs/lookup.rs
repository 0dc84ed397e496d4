//! Finding a run by a prefix or suffix of its id ([`Store::resolve_run`]). A prefix is a range
//! of the primary key's index (`id BETWEEN '01J90…0' AND '01J9Z…Z'`). A suffix cannot use an
//! index, so it is looked for among the newest [`SUFFIX_SCAN`] runs only, walked newest first on
//! the index: the scan is bounded whatever the size of the history. Every value is a bound
//! parameter, and the reference was checked by [`RunRef::parse`] before it got here.

use rusqlite::params;

use super::{collect_runs, from_row, COLUMN_COUNT};
use crate::engine::history::{Resolved, RunRef, SHOWN_CANDIDATES};
use crate::engine::model::Run;
use crate::engine::store::{Result, Store, StoreError};

/// A suffix is looked for among this many of the newest runs.
pub const SUFFIX_SCAN: u32 = 100_000;

/// The runs whose id starts with `?1..?2` or ends with `?4` (`?3` is minus its length) among the
/// newest `?5`, newest first, at most `?6`, each with the number of matches in all.
fn matching_sql(columns: &str) -> String {
    format!(
        "WITH matching AS ( \
             SELECT id FROM runs WHERE id BETWEEN ?1 AND ?2 \
             UNION \
             SELECT id FROM (SELECT id FROM runs ORDER BY id DESC LIMIT ?5 + 0) \
             WHERE substr(id, ?3) = ?4) \
         SELECT {columns}, (SELECT COUNT(*) FROM matching) FROM runs \
         WHERE id IN matching ORDER BY id DESC LIMIT ?6 + 0"
    )
}

impl Store {
    /// The run `wanted` names: by its whole id, or as the one run whose id starts or ends with
    /// it; several runs give their newest [`SHOWN_CANDIDATES`] and their number.
    pub fn resolve_run(&self, wanted: &RunRef) -> Result<Resolved> {
        self.resolve_run_within(wanted, SUFFIX_SCAN)
    }

    /// [`Store::resolve_run`] looking for a suffix among the newest `scan` runs.
    pub(crate) fn resolve_run_within(&self, wanted: &RunRef, scan: u32) -> Result<Resolved> {
        if let Some(id) = wanted.full() {
            return Ok(match self.get_run(&id)? {
                Some(run) => Resolved::Found(Box::new(run)),
                None => Resolved::NotFound,
            });
        }
        let action = "finding a run by part of its id";
        let (low, high) = wanted.prefix_range();
        let suffix_start = -(wanted.as_str().len() as i64);
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&matching_sql(self.run_columns))
            .map_err(StoreError::sql(action))?;
        let rows = stmt
            .query_map(
                params![
                    low,
                    high,
                    suffix_start,
                    wanted.as_str(),
                    scan,
                    SHOWN_CANDIDATES as u32
                ],
                |row| Ok((from_row(row)?, row.get::<_, i64>(COLUMN_COUNT)?)),
            )
            .map_err(StoreError::sql(action))?;
        let found: Vec<(Run, i64)> = collect_runs(rows).map_err(StoreError::sql(action))?;
        let total = found.first().map_or(0, |(_, n)| (*n).max(0) as u64);
        let mut runs: Vec<Run> = found.into_iter().map(|(run, _)| run).collect();
        Ok(match (total, runs.len()) {
            (_, 0) => Resolved::NotFound,
            (1, _) => Resolved::Found(Box::new(runs.remove(0))),
            _ => Resolved::Ambiguous { shown: runs, total },
        })
    }

    /// How SQLite plans the lookup, for the test that it uses the index.
    #[cfg(test)]
    pub(crate) fn resolve_plan(&self) -> Vec<String> {
        let conn = self.conn();
        let sql = format!("EXPLAIN QUERY PLAN {}", matching_sql(self.run_columns));
        let mut stmt = conn.prepare(&sql).expect("plan");
        let rows = stmt
            .query_map(params!["A", "B", -4, "C", 10, 10], |r| {
                r.get::<_, String>(3)
            })
            .expect("plan rows");
        rows.collect::<rusqlite::Result<Vec<_>>>().expect("plan")
    }
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
