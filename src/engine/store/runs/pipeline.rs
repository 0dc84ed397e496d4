//! The runs of a pipeline (`pipelines.md` §2–3): its steps' runs, whether a run was resumed,
//! and the newest run of a pipeline (what `resume_on_boot` looks at).

use rusqlite::{params, OptionalExtension};

use super::{collect_runs, from_row};
use crate::engine::model::{Run, RunId, TaskName};
use crate::engine::store::{Result, Store, StoreError};

/// A pipeline run has at most this many step runs read back (its steps, their retries and
/// resumes are far fewer; this bounds a hand-made table).
const MAX_STEP_RUNS: u32 = 10_000;

impl Store {
    /// The runs whose parent is pipeline run `parent`, oldest first.
    pub fn step_runs(&self, parent: &RunId) -> Result<Vec<Run>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM runs WHERE parent_run_id = ?1 ORDER BY id LIMIT ?2 + 0",
                self.run_columns
            ))
            .map_err(StoreError::sql("reading a pipeline's steps"))?;
        let rows = stmt
            .query_map(params![parent.to_string(), MAX_STEP_RUNS], from_row)
            .map_err(StoreError::sql("reading a pipeline's steps"))?;
        collect_runs(rows).map_err(StoreError::sql("reading a pipeline's steps"))
    }

    /// The run that resumed run `id`, if one did.
    pub fn resumed_by(&self, id: &RunId) -> Result<Option<RunId>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT id FROM runs WHERE resume_of_run_id = ?1 ORDER BY id LIMIT 1",
                [id.to_string()],
                |row| row.get(0),
            )
            .optional()
            .map_err(StoreError::sql("looking for a resume"))?;
        Ok(text.and_then(|t| RunId::parse(&t).ok()))
    }

    /// The newest run of `task` that is not a step of another pipeline.
    pub fn latest_top_level_run(&self, task: &TaskName) -> Result<Option<Run>> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {} FROM runs WHERE task_name = ?1 AND parent_run_id IS NULL \
                     ORDER BY id DESC LIMIT 1",
                    self.run_columns
                ),
                [task.as_str()],
                from_row,
            )
            .optional()
            .map_err(StoreError::sql("reading a pipeline's newest run"))
    }
}
