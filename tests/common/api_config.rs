//! The configuration the REST API tests run the daemon with, and what they share.
#![allow(dead_code)] // each test binary uses its own part

use super::daemon;

pub const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello; echo oops >&2"

[tasks.slow]
run = "for i in 1 2 3 4 5; do echo line $i; sleep 0.4; done"

[tasks.sleeper]
run = "sleep 30"
max_concurrent = 1
queue_max = 1

[tasks.nightly]
run = "true"
cron = "0 4 * * *"
api_trigger = false
timeout = "90m"
retry_attempts = 3
retry_delay = "30s"
retry_backoff = "linear"

[services.web]
run = "sleep 60"
instances = 2
"#;

pub fn id_of(a: &daemon::Answer) -> String {
    a.json()["id"].as_str().expect("run id").to_string()
}
