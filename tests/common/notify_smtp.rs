//! A real SMTP server for the notification tests (`smtp_sink.py`, on aiosmtpd), and running a
//! child process to its end. Every process here is spawned through runwisp's reaper: once a
//! command notifier has run in this test binary, the reaper reaps every child, so nothing may
//! wait for one on its own.
//!
//! Without python3 or aiosmtpd the tests fail with how to install it, unless
//! `RUNWISP_SKIP_ORACLES=1`, when they are skipped (as the cron oracles are).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use runwisp::engine::runner::reaper::{self, ExitStatus};
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/smtp_sink.py");

pub struct Sink {
    pub port: u16,
    child: Child,
    exited: Option<tokio::sync::oneshot::Receiver<ExitStatus>>,
    mails: mpsc::Receiver<Value>,
}

impl Sink {
    /// Starts the sink with `args` (`--tls starttls --cert … --key …`); `None` when it cannot
    /// run and `RUNWISP_SKIP_ORACLES=1`.
    pub fn start(args: &[&str]) -> Option<Sink> {
        let mut command = Command::new("python3");
        command
            .arg(SCRIPT)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (mut child, exited) = match reaper::spawn(&mut command) {
            Ok(spawned) => spawned,
            Err(e) => return unavailable(format!("python3 could not be started ({e})")),
        };
        let mut stderr = child.stderr.take().expect("stderr");
        let (err_tx, err_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok);
        let Some(port) = first
            .as_deref()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
            .and_then(|v| v["port"].as_u64())
        else {
            let status = exited.blocking_recv().ok();
            let stderr = err_rx.recv().unwrap_or_default();
            if status == Some(ExitStatus::Code(3)) {
                return unavailable(stderr.trim().to_string());
            }
            panic!("the SMTP sink did not start ({status:?}): {stderr}");
        };
        let (tx, mails) = mpsc::channel();
        thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mail: Value = serde_json::from_str(&line).expect("a mail as JSON");
                if tx.send(mail).is_err() {
                    break;
                }
            }
        });
        Some(Sink {
            port: u16::try_from(port).expect("a port"),
            child,
            exited: Some(exited),
            mails,
        })
    }

    /// The next mail received, within `timeout`.
    pub fn next_mail(&self, timeout: Duration) -> Value {
        self.mails
            .recv_timeout(timeout)
            .expect("a mail reached the SMTP sink")
    }

    /// Whether no mail arrives within `wait`.
    pub fn no_mail(&self, wait: Duration) -> bool {
        self.mails.recv_timeout(wait).is_err()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        if let Some(exited) = self.exited.take() {
            let _ = exited.blocking_recv();
        }
    }
}

fn unavailable<T>(why: String) -> Option<T> {
    if std::env::var("RUNWISP_SKIP_ORACLES").is_ok_and(|v| v == "1") {
        eprintln!("notify_channels: SMTP test skipped, RUNWISP_SKIP_ORACLES=1 ({why})");
        None
    } else {
        panic!(
            "the SMTP sink cannot run: {why}. Install it with `pip install -r \
             tests/oracle/requirements.txt` (python3 and aiosmtpd are needed), or set \
             RUNWISP_SKIP_ORACLES=1 to skip the email tests"
        )
    }
}

/// What a finished child process said.
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end through the reaper.
pub fn run_to_end(command: &mut Command) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (mut child, exited) = reaper::spawn(command).expect("spawn");
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            let _ = tx.send(text);
        });
        rx
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = exited.blocking_recv().ok();
    Finished {
        status,
        stdout: stdout.recv().unwrap_or_default(),
        stderr: stderr.recv().unwrap_or_default(),
    }
}
