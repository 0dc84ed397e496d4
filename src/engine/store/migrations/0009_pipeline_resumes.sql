-- runwisp history: pipelines (pipelines.md §3).
--
-- A pipeline run may be resumed once: the newer run names the one it resumes. Whether a run
-- was resumed already (only the latest run of a chain may be) is looked up by that column.
CREATE INDEX runs_by_resume ON runs (resume_of_run_id) WHERE resume_of_run_id IS NOT NULL;
