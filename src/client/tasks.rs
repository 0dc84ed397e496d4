//! Typed calls on one task or service and on one run, as `runwisp stop` and `runwisp restart`
//! make them: what a name is (`GET /api/tasks/{name}`), stopping a task, a service or a run,
//! and restarting a service. Each returns the API's own answer, so `--json` can print it.

use super::{segment, Client, ClientError};
use crate::api;

impl Client {
    /// `GET /api/tasks/{name}`: the task or service `name`, or 404 with the daemon's sentence.
    pub fn task(&self, name: &str) -> Result<api::TaskObject, ClientError> {
        self.get(&format!("/api/tasks/{}", segment(name)))
    }

    /// `POST /api/tasks/{name}/stop`: stops every active and queued run of a task, or every
    /// replica of a service (which then stays stopped until restarted).
    pub fn stop_task(&self, name: &str) -> Result<api::StoppedRuns, ClientError> {
        self.call("POST", &format!("/api/tasks/{}/stop", segment(name)), None)
    }

    /// `POST /api/tasks/{name}/restart`: replaces every replica of a service (a task is
    /// refused with 400).
    pub fn restart_service(&self, name: &str) -> Result<api::Restarted, ClientError> {
        self.call(
            "POST",
            &format!("/api/tasks/{}/restart", segment(name)),
            None,
        )
    }

    /// `POST /api/runs/{id}/resume`: the new pipeline run; refused with 409 and the reason
    /// when the run cannot be resumed.
    pub fn resume(&self, id: &str) -> Result<api::RunObject, ClientError> {
        self.call("POST", &format!("/api/runs/{}/resume", segment(id)), None)
    }

    /// `GET /api/runs/{id}/tree`: a pipeline run with its steps.
    pub fn tree(&self, id: &str) -> Result<api::RunTree, ClientError> {
        self.get(&format!("/api/runs/{}/tree", segment(id)))
    }

    /// `POST /api/runs/{id}/stop` for a whole run id: the daemon's answer (202, the run is
    /// stopping); an ended run is refused with 409.
    pub fn stop_run_answer(&self, id: &str) -> Result<api::Stopping, ClientError> {
        self.call("POST", &format!("/api/runs/{}/stop", segment(id)), None)
    }
}
