//! The fixture of the notification tests through the real daemon (`notify_daemon.rs`,
//! `notify_delivery.rs`, `notify_rules.rs`): `runwisp --headless` spawned through runwisp's
//! reaper (`Wisp`), the daemon's SQLite read from outside (the bell and the delivery outbox),
//! projects whose task fails, and the checks of what a receiver got.
//!
//! The including binary declares `common`, `daemon` and `notify_http` next to this module.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::fmt::Debug;
use std::fs::File;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::{self, Project};
use crate::daemon::{agent, answer, Answer};
use crate::notify_http::{self, Receiver};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use runwisp::engine::runner::reaper::{self, ExitStatus};
use runwisp::engine::store::{NoticeRow, Store};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot::{self, error::TryRecvError};

/// How long anything the daemon does on its own may take here (the machine is shared).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A name no other test (nor another run of this one) uses.
pub fn unique(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `probe` until `done` holds for what it returns, up to `limit`; panics with `what` and
/// the last value otherwise.
pub fn until<T: Debug>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let value = probe();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen: {value:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon, spawned through the reaper.

pub struct Wisp {
    pid: u32,
    port: u16,
    token: String,
    exited: oneshot::Receiver<ExitStatus>,
    pub status: Option<ExitStatus>,
    stderr: std::path::PathBuf,
    _child: Child,
}

impl Wisp {
    /// `runwisp --headless` in `project` with `env` added, booted and logged in.
    pub fn start(project: &Project, env: &[(String, String)]) -> Wisp {
        let port = common::free_port();
        let stderr = project.path().join(format!("daemon-stderr-{port}.txt"));
        let mut command = project.command(&["--headless", "--port", &port.to_string()]);
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).expect("a file for the daemon's stderr"));
        let (child, exited) = reaper::spawn(&mut command).expect("spawn the daemon");
        let mut wisp = Wisp {
            pid: child.id(),
            port,
            token: String::new(),
            exited,
            status: None,
            stderr,
            _child: child,
        };
        let pid_file = project.data().join("daemon.pid");
        let deadline = Instant::now() + PATIENCE;
        while !std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim() == wisp.pid.to_string()) {
            assert!(
                !wisp.has_exited(),
                "the daemon exited during boot ({:?}): {}",
                wisp.status,
                wisp.stderr_text()
            );
            assert!(
                Instant::now() < deadline,
                "the daemon did not finish booting"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let password = std::fs::read_to_string(project.data().join("password"))
            .expect("the generated password");
        let nonce = answer(agent().get(&wisp.url("/api/auth/challenge")).call()).json()["nonce"]
            .as_str()
            .expect("a nonce")
            .to_string();
        let response = runwisp::engine::auth::challenge_response(password.trim(), &nonce);
        let login = answer(
            agent()
                .post(&wisp.url("/api/auth"))
                .send_json(json!({ "nonce": nonce, "response": response })),
        );
        assert_eq!(login.status, 200, "login: {}", login.text);
        wisp.token = login.json()["token"].as_str().expect("a token").to_string();
        wisp
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Answer {
        answer(
            agent()
                .get(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    pub fn fingerprint(&self) -> String {
        let health = answer(agent().get(&self.url("/health")).call()).json();
        let fingerprint = health["fingerprint"].as_str().expect("a fingerprint");
        assert!(!fingerprint.is_empty());
        fingerprint.to_string()
    }

    /// Triggers `task` over the API and waits for the run to end; returns the run object.
    pub fn run_to_end(&self, task: &str) -> Value {
        let a = answer(
            agent()
                .post(&self.url(&format!("/api/tasks/{task}/run")))
                .header("Authorization", &format!("Bearer {}", self.token))
                .send_empty(),
        );
        assert_eq!(a.status, 201, "trigger {task}: {}", a.text);
        let id = a.json()["id"].as_str().expect("a run id").to_string();
        until(
            &format!("run {id} to end"),
            PATIENCE,
            || self.get(&format!("/api/runs/{id}")).json(),
            |run| run["status"] == "ended",
        )
    }

    /// Whether the daemon has exited (and been reaped).
    pub fn has_exited(&mut self) -> bool {
        if self.status.is_some() {
            return true;
        }
        match self.exited.try_recv() {
            Ok(status) => {
                self.status = Some(status);
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Closed) => true,
        }
    }

    /// Waits up to `limit` for the daemon to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.has_exited() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    pub fn signal(&mut self, signal: Signal) {
        // Only while it is known not to be reaped: its pid cannot be anyone else's then.
        if !self.has_exited() {
            kill(Pid::from_raw(self.pid as i32), signal).expect("signal the daemon");
        }
    }
}

impl Drop for Wisp {
    fn drop(&mut self) {
        if self.has_exited() {
            return;
        }
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        if !self.wait_exit(Duration::from_secs(20)) {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            self.wait_exit(Duration::from_secs(5));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon's SQLite, read from outside.

pub fn bell(project: &Project) -> Vec<NoticeRow> {
    Store::open_read_only(&project.data().join("runwisp.db"))
        .expect("open the history")
        .notices(false, None, 500)
        .expect("read the bell")
}

pub fn bell_of(project: &Project, kind: &str) -> Vec<NoticeRow> {
    bell(project)
        .into_iter()
        .filter(|row| row.kind.as_str() == kind)
        .collect()
}

/// A row of the delivery outbox.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub notifier: String,
    pub status: String,
    pub attempts: u32,
    pub payload: Value,
    pub last_error: Option<String>,
}

pub fn deliveries(project: &Project) -> Vec<Delivery> {
    let conn = rusqlite::Connection::open_with_flags(
        project.data().join("runwisp.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the history");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut select = conn
        .prepare(
            "SELECT notifier, status, attempts, payload, last_error FROM deliveries ORDER BY id",
        )
        .unwrap();
    let rows = select
        .query_map([], |r| {
            Ok(Delivery {
                notifier: r.get(0)?,
                status: r.get(1)?,
                attempts: r.get(2)?,
                payload: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or(Value::Null),
                last_error: r.get(4)?,
            })
        })
        .unwrap();
    rows.collect::<rusqlite::Result<Vec<_>>>().unwrap()
}

pub fn none_pending(rows: &[Delivery]) -> bool {
    rows.iter().all(|d| d.status != "pending")
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// HMAC-SHA256 written out from RFC 2104 on plain SHA-256, so the check shares no code with the
/// signer.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn assert_signed(request: &notify_http::Request, secret: &str) {
    let expected = format!("sha256={}", hmac_sha256(secret.as_bytes(), &request.body));
    assert_eq!(
        request.header("x-runwisp-signature-256"),
        Some(expected.as_str()),
        "the signature is HMAC-SHA256 of the raw body"
    );
}

/// What the run's failure says, wherever it is said.
pub struct Expect<'a> {
    pub headline: &'a str,
    pub run: &'a Value,
    pub fingerprint: &'a str,
}

impl Expect<'_> {
    pub fn id(&self) -> &str {
        self.run["id"].as_str().expect("a run id")
    }

    /// `text` holds the headline, the run id and the fingerprint.
    pub fn told(&self, what: &str, text: &str) {
        for (part, value) in [
            ("headline", self.headline),
            ("run id", self.id()),
            ("fingerprint", self.fingerprint),
        ] {
            assert!(
                text.contains(value),
                "{what} lacks the {part} {value:?}: {text}"
            );
        }
    }

    /// The webhook and command JSON of §5.
    pub fn event(&self, what: &str, event: &Value) {
        let mut keys: Vec<&str> = event
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not a JSON object: {event}"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "count",
                "fingerprint",
                "kind",
                "occurred_at",
                "run",
                "severity",
                "task",
                "text",
                "title",
                "url"
            ],
            "{what}"
        );
        assert_eq!(event["kind"], "run.failed", "{what}");
        assert_eq!(event["severity"], "error", "{what}");
        assert_eq!(event["task"], self.run["task_name"], "{what}");
        assert_eq!(event["title"], self.headline, "{what}");
        assert_eq!(event["count"], 1, "{what}");
        assert_eq!(event["fingerprint"], self.fingerprint, "{what}");
        assert!(event["url"].is_null(), "no external_url, no link: {what}");
        assert!(event["occurred_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
        assert_eq!(
            &event["run"], self.run,
            "{what}: `run` is the API's run object"
        );
        // `title` is the headline, `text` the rest of the message.
        let text = event["text"].as_str().expect("text");
        self.told(what, &format!("{}\n{text}", event["title"]));
    }
}

// ---------------------------------------------------------------------------------------------
// Projects and waits the cases share.

/// Writes `config` as the project's `runwisp.toml`.
pub fn write_config(project: &Project, config: &str) {
    std::fs::write(project.path().join("runwisp.toml"), config).unwrap();
}

/// A `[[notifier]]` of type webhook.
pub fn webhook(id: &str, url: &str) -> String {
    format!(
        r##"
[[notifier]]
id = "{id}"
type = "webhook"
url = "{url}"
"##
    )
}

/// A project whose task `t` fails (`exit 3`) and notifies `notify` of it at once (no
/// coalescing); `preamble` is more TOML before it (a `[daemon]` table, say), `notifiers` the
/// `[[notifier]]` tables.
pub fn failing_project(preamble: &str, notifiers: &str, notify: &[&str]) -> Project {
    Project::new(&failing_config(preamble, notifiers, notify))
}

/// The configuration of a [`failing_project`].
pub fn failing_config(preamble: &str, notifiers: &str, notify: &[&str]) -> String {
    format!(
        r##"{preamble}
[notify]
coalesce_window = "0s"
{notifiers}
[tasks.t]
run = "exit 3"
notify_on_failure = {notify:?}
"##
    )
}

/// Waits until the delivery outbox satisfies `done`; returns its rows.
pub fn deliveries_until(
    project: &Project,
    what: &str,
    done: impl Fn(&Vec<Delivery>) -> bool,
) -> Vec<Delivery> {
    until(what, PATIENCE, || deliveries(project), done)
}

/// Waits until no delivery is pending; returns the rows.
pub fn deliveries_settled(project: &Project, what: &str) -> Vec<Delivery> {
    deliveries_until(project, what, |rows| none_pending(rows))
}

/// Waits until `rx` has received at least `n` requests; returns them.
pub fn received(rx: &Receiver, what: &str, n: usize) -> Vec<notify_http::Request> {
    until(what, PATIENCE, || rx.requests(), |got| got.len() >= n)
}

/// The outbox holds one delivery (`why` says why just one), sent at the `attempts`th attempt.
pub fn assert_one_sent(rows: &[Delivery], attempts: u32, why: &str) {
    assert_eq!(rows.len(), 1, "{why}{rows:#?}");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("sent", attempts),
        "{rows:#?}"
    );
}
