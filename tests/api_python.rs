//! The REST API seen by a client we did not write: `tests/oracle/api_client.py` (Python's
//! standard library and PyJWT, written from `api.md` alone) logs in to the real daemon, checks
//! the token and cookie, triggers a task, follows it to the end, reads its log and forges
//! tokens the daemon must refuse (QUALITY.md §1, "oracles we did not write").
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

const PASSWORD: &str = "correct-horse:battery staple";

const CONFIG: &str = r#"
[tasks.hello]
run = "echo hello from runwisp; echo oops >&2"

[tasks.locked]
run = "true"
cron = "0 3 * * *"
api_trigger = false

[services.web]
run = "while true; do sleep 1; done"
"#;

/// The daemon, stopped with SIGTERM (and reaped) when dropped.
struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Starts the daemon on a free port with `RUNWISP_PASSWORD` and waits until it wrote
/// `daemon.pid` (the end of boot).
fn start(p: &Project) -> Daemon {
    let port = free_port();
    let child = p
        .command(&["--headless", "--port", &port.to_string()])
        .env("RUNWISP_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn runwisp");
    let mut daemon = Daemon { child, port };
    p.wait_booted(&mut daemon.child);
    daemon
}

/// Whether the Python oracle can run here; panics (or, with RUNWISP_SKIP_ORACLES=1, says it
/// skipped and returns false) when python3 or PyJWT is missing.
fn oracle_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import jwt, hashlib, urllib.request"])
        .output();
    let problem = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "python3 cannot import PyJWT: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => format!("python3 cannot be run: {e}"),
    };
    if std::env::var("RUNWISP_SKIP_ORACLES").as_deref() == Ok("1") {
        eprintln!("skipped: {problem} (RUNWISP_SKIP_ORACLES=1)");
        return false;
    }
    panic!(
        "{problem}. The API oracle needs python3 with PyJWT: pip install -r tests/oracle/requirements.txt \
         (or set RUNWISP_SKIP_ORACLES=1 to skip the Python oracles)"
    );
}

fn client_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/api_client.py")
}

#[test]
fn an_independent_python_client_logs_in_triggers_and_reads_the_log() {
    if !oracle_available() {
        return;
    }
    let p = Project::new(CONFIG);
    let daemon = start(&p);
    // The test may read the signing key from the database, so the client can also sign
    // tokens with the real key (accepted with the right claims, refused for each wrong one).
    let secret = p
        .store()
        .meta_get("jwt_secret")
        .expect("read meta")
        .expect("the daemon stored a signing key");

    let out = Command::new("python3")
        .arg(client_script())
        .args(["--base-url", &format!("http://127.0.0.1:{}", daemon.port)])
        .arg(format!("--password={PASSWORD}"))
        .args(["--task", "hello"])
        .args(["--expect-stdout", "hello from runwisp"])
        .args(["--expect-stderr", "oops"])
        .args(["--forbidden-task", "locked"])
        .args(["--service", "web"])
        .args(["--secret-hex", &secret])
        .output()
        .expect("run the Python API client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Python API client failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the client printed no JSON summary ({e}): {stdout}"));

    assert_eq!(summary["ok"], true);
    assert_eq!(summary["token"]["alg"], "HS256");
    assert_eq!(summary["token"]["iss"], "runwisp");
    assert_eq!(summary["token"]["aud"], "runwisp-api");
    assert_eq!(summary["token"]["ttl_s"], 86_400);
    assert_eq!(summary["token"]["signature_verified"], true);

    assert_eq!(summary["cookie"]["name"], "runwisp_jwt");
    assert_eq!(summary["cookie"]["same_site"], "Strict");
    assert_eq!(summary["cookie"]["path"], "/");
    assert_eq!(summary["cookie"]["max_age"], 86_400);
    assert_eq!(summary["cookie"]["secure"], false, "plain HTTP: no Secure");

    let run = &summary["run"];
    assert_eq!(run["task_name"], "hello");
    assert_eq!(run["status"], "ended");
    assert_eq!(run["end_reason"], "success");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["triggered_by"], "api");
    assert!(run["duration_ms"].as_i64().is_some_and(|d| d >= 0), "{run}");

    // What the client saw is what the daemon recorded.
    let id = run["id"].as_str().expect("run id");
    let stored = p.only_run("hello");
    assert_eq!(stored.id.to_string(), id);
    assert_eq!(stored.exit_code, Some(0));
    let lines = summary["log"]["lines"].as_array().expect("log lines");
    assert!(
        lines.contains(&serde_json::json!(["stdout", "hello from runwisp"])),
        "{lines:?}"
    );
    assert!(
        lines.contains(&serde_json::json!(["stderr", "oops"])),
        "{lines:?}"
    );
    assert_eq!(
        summary["log"]["raw_bytes"].as_u64(),
        Some(p.log(&stored).len() as u64),
        "/log/raw is the log as on disk"
    );

    let errors = &summary["errors"];
    assert_eq!(errors["api_trigger_false"], 403);
    assert_eq!(errors["trigger_service"], 409);
    assert_eq!(errors["stop_ended_run"], 409);

    assert_eq!(summary["streams"]["opened_one_after_another"], 12);

    let forged = summary["forged_rejected"]
        .as_object()
        .expect("forged tokens");
    assert_eq!(forged["pyjwt_real_key_accepted"], 200);
    for name in [
        "alg_none",
        "hs512_random_key",
        "hs256_wrong_key",
        "expired_wrong_key",
        "expired",
        "wrong_aud",
        "wrong_iss",
        "exp_string",
        "no_exp",
        "hs512_real_key",
        "tampered_payload",
    ] {
        assert_eq!(
            forged.get(name),
            Some(&Value::from(401)),
            "{name}: {forged:?}"
        );
    }
    assert!(
        summary["checks"].as_u64().is_some_and(|n| n > 100),
        "{summary}"
    );

    // Only the one API run was made: the cookie-only POST and the forged tokens started nothing.
    assert_eq!(p.runs("hello").len(), 1);
    drop(daemon);
}
