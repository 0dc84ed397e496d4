//! The Python oracles in `tests/oracle/`: whether python3 has what one needs (a missing module
//! fails the test unless `RUNWISP_SKIP_ORACLES=1`), and running one script with its input on
//! stdin.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Whether `python3 -c "import MODULES"` works; when it does not, the test fails unless
/// `RUNWISP_SKIP_ORACLES=1` says to skip the oracles.
pub fn python_has(modules: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert_eq!(
            std::env::var("RUNWISP_SKIP_ORACLES").as_deref(),
            Ok("1"),
            "python3 cannot import {modules}: pip install -r tests/oracle/requirements.txt \
             (or set RUNWISP_SKIP_ORACLES=1 to skip the Python oracles)"
        );
        eprintln!("skipped: python3 cannot import {modules} (RUNWISP_SKIP_ORACLES=1)");
    }
    ok
}

/// Runs `tests/oracle/SCRIPT` with `input` on its stdin; its output (stdout and stderr kept).
pub fn run(script: &str, input: &[u8]) -> Output {
    let mut child = Command::new("python3")
        .arg(format!(
            "{}/tests/oracle/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
