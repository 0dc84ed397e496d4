//! What a manual trigger asks for ([`TriggerRequest`]: who asked, extra environment), and a
//! recorded run waiting for its slot with that environment.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::model::TriggeredBy;
use crate::engine::store::NewRun;

/// Extra environment for one run, on top of the task's `env` (from a trigger request).
pub type RunEnv = Arc<BTreeMap<String, String>>;

/// A recorded run waiting for a free slot, with what it was asked to run with.
pub(crate) struct Queued {
    pub new: NewRun,
    pub env: RunEnv,
    /// The definition it was fired under (it runs under that one, even after a reload).
    pub spec: Arc<crate::engine::config::Task>,
}

/// Names a trigger may never set: they change what the shell or the loader runs.
const RESERVED: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "HOME",
    "SHELL",
];

/// What a manual trigger asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRequest {
    pub by: TriggeredBy,
    /// Added to the run's environment (names `[A-Za-z_][A-Za-z0-9_]*`, never `RUNWISP_*`);
    /// values are never part of the command line.
    pub env: BTreeMap<String, String>,
}

impl TriggerRequest {
    /// A trigger from `by` with nothing else.
    pub fn by(by: TriggeredBy) -> Self {
        Self {
            by,
            env: BTreeMap::new(),
        }
    }

    pub(crate) fn check_env(&self) -> Result<(), crate::engine::TriggerError> {
        for (name, value) in &self.env {
            let mut chars = name.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with("RUNWISP_")
                && !name.starts_with("LD_")
                && !RESERVED.contains(&name.as_str())
                && !value.contains('\0');
            if !valid {
                return Err(crate::engine::TriggerError::BadEnv(
                    crate::engine::model::truncate_for_message(name),
                ));
            }
        }
        Ok(())
    }
}
