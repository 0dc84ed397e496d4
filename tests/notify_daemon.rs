#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Notifications through the real daemon (`notifications.md` §6): `runwisp --headless` on a
//! temporary project, a failing task triggered over the API, and real receivers: HTTP servers
//! answering like Slack, Discord, the Telegram Bot API and a webhook endpoint, an SMTP server
//! (aiosmtpd), and a command. What each receiver gets is checked against the run the API shows
//! and the daemon's fingerprint; the bell and the delivery outbox are read from the daemon's
//! SQLite. Retries, a crash with a delivery pending, coalescing, `notify_after_failures` and
//! recovery, secrets, and a hanging command at shutdown are each a case.
//!
//! Everything this binary spawns goes through runwisp's reaper (the SMTP sink does, and the
//! reaper then reaps every child of the process): the daemon too, whose exit is read from the
//! reaper's answer, never by waiting on the child.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[allow(dead_code)]
#[path = "common/notify_http.rs"]
mod notify_http;
#[allow(dead_code)]
#[path = "common/notify_smtp.rs"]
mod notify_smtp;
#[allow(dead_code)]
use std::fmt::Debug;
use std::fs::File;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::Project;
use daemon::{agent, answer, Answer};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use notify_http::{closed_port, Receiver, Reply};
use notify_smtp::{run_to_end, Sink};
use runwisp::engine::runner::reaper::{self, ExitStatus};
use runwisp::engine::store::{NoticeRow, Store};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot::{self, error::TryRecvError};

/// How long anything the daemon does on its own may take here (the machine is shared).
const PATIENCE: Duration = Duration::from_secs(30);

/// A name no other test (nor another run of this one) uses.
fn unique(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `probe` until `done` holds for what it returns, up to `limit`; panics with `what` and
/// the last value otherwise.
fn until<T: Debug>(
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

struct Wisp {
    pid: u32,
    port: u16,
    token: String,
    exited: oneshot::Receiver<ExitStatus>,
    status: Option<ExitStatus>,
    stderr: std::path::PathBuf,
    _child: Child,
}

impl Wisp {
    /// `runwisp --headless` in `project` with `env` added, booted and logged in.
    fn start(project: &Project, env: &[(String, String)]) -> Wisp {
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

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn get(&self, path: &str) -> Answer {
        answer(
            agent()
                .get(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    fn fingerprint(&self) -> String {
        let health = answer(agent().get(&self.url("/health")).call()).json();
        let fingerprint = health["fingerprint"].as_str().expect("a fingerprint");
        assert!(!fingerprint.is_empty());
        fingerprint.to_string()
    }

    /// Triggers `task` over the API and waits for the run to end; returns the run object.
    fn run_to_end(&self, task: &str) -> Value {
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
    fn has_exited(&mut self) -> bool {
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
    fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.has_exited() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    fn signal(&mut self, signal: Signal) {
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

fn bell(project: &Project) -> Vec<NoticeRow> {
    Store::open_read_only(&project.data().join("runwisp.db"))
        .expect("open the history")
        .notices(false, None, 500)
        .expect("read the bell")
}

fn bell_of(project: &Project, kind: &str) -> Vec<NoticeRow> {
    bell(project)
        .into_iter()
        .filter(|row| row.kind.as_str() == kind)
        .collect()
}

/// A row of the delivery outbox.
#[derive(Debug, Clone)]
struct Delivery {
    notifier: String,
    status: String,
    attempts: u32,
    payload: Value,
    last_error: Option<String>,
}

fn deliveries(project: &Project) -> Vec<Delivery> {
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

fn none_pending(rows: &[Delivery]) -> bool {
    rows.iter().all(|d| d.status != "pending")
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// HMAC-SHA256 written out from RFC 2104 on plain SHA-256, so the check shares no code with the
/// signer.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
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

fn assert_signed(request: &notify_http::Request, secret: &str) {
    let expected = format!("sha256={}", hmac_sha256(secret.as_bytes(), &request.body));
    assert_eq!(
        request.header("x-runwisp-signature-256"),
        Some(expected.as_str()),
        "the signature is HMAC-SHA256 of the raw body"
    );
}

/// What the run's failure says, wherever it is said.
struct Expect<'a> {
    headline: &'a str,
    run: &'a Value,
    fingerprint: &'a str,
}

impl Expect<'_> {
    fn id(&self) -> &str {
        self.run["id"].as_str().expect("a run id")
    }

    /// `text` holds the headline, the run id and the fingerprint.
    fn told(&self, what: &str, text: &str) {
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
    fn event(&self, what: &str, event: &Value) {
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
// 1. Each type delivers.

#[test]
fn each_notifier_type_delivers_a_failure() {
    const TOKEN: &str = "424242:AAtestTOKENforTheBotApi";
    let slack = Receiver::start(vec![Reply::status(200, "ok")]);
    let discord = Receiver::start(vec![Reply::status(204, "")]);
    let telegram = Receiver::start(vec![Reply::status(
        200,
        r#"{"ok":true,"result":{"message_id":7,"chat":{"id":-1001234567890}}}"#,
    )]);
    let hook = Receiver::start(vec![Reply::status(202, "accepted")]);
    let Some(sink) = Sink::start(&[]) else {
        return;
    };
    let project = Project::new("");
    let out = project.path().join("command-event.json");
    let out = out.display();
    let config = format!(
        r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "slack-1"
type = "slack"
webhook_url = "{slack_url}"
channel = "#ops"

[[notifier]]
id = "discord-1"
type = "discord"
webhook_url = "{discord_url}"

[[notifier]]
id = "telegram-1"
type = "telegram"
bot_token = "{TOKEN}"
chat_id = "-1001234567890"
api_url = "{telegram_url}"

[[notifier]]
id = "email-1"
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "runwisp@example.com"
to = ["ops@example.com"]

[[notifier]]
id = "webhook-1"
type = "webhook"
url = "{hook_url}"
secret = "whsec-daemon-test"
headers = {{ X-Team = "ops" }}

[[notifier]]
id = "command-1"
type = "command"
run = "cat > '{out}.tmp' && mv '{out}.tmp' '{out}'"

[tasks.t]
run = "echo getting ready; echo disk full >&2; exit 3"
notify_on_failure = ["slack-1", "discord-1", "telegram-1", "email-1", "webhook-1", "command-1"]
"##,
        slack_url = slack.url("/services/T000/B000/XXXXXXXX"),
        discord_url = discord.url("/api/webhooks/1/token"),
        telegram_url = telegram.url(""),
        smtp_port = sink.port,
        hook_url = hook.url("/hooks/runwisp"),
    );
    std::fs::write(project.path().join("runwisp.toml"), config).unwrap();
    let wisp = Wisp::start(&project, &[]);
    let fingerprint = wisp.fingerprint();
    let run = wisp.run_to_end("t");
    assert_eq!(run["exit_code"], 3);
    assert_eq!(run["end_reason"], "failed");
    let expect = Expect {
        headline: "t failed (exit 3)",
        run: &run,
        fingerprint: &fingerprint,
    };

    let sent = until(
        "six deliveries sent",
        PATIENCE,
        || deliveries(&project),
        |rows| rows.len() == 6 && rows.iter().all(|d| d.status == "sent"),
    );
    assert!(sent.iter().all(|d| d.attempts == 1), "{sent:#?}");

    let got = slack.one();
    assert_eq!(got.path, "/services/T000/B000/XXXXXXXX");
    let body = got.json();
    assert_eq!(body["channel"], "#ops");
    expect.told("slack's text", body["text"].as_str().expect("text"));
    assert_eq!(body["blocks"][0]["text"]["text"], expect.headline);

    let got = discord.one();
    let body = got.json();
    assert_eq!(body["content"], expect.headline);
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], expect.headline);
    expect.told(
        "discord's embed",
        &format!(
            "{}\n{}\n{}",
            embed["title"], embed["description"], embed["footer"]["text"]
        ),
    );

    let got = telegram.one();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, format!("/bot{TOKEN}/sendMessage"));
    let body = got.json();
    assert_eq!(body["chat_id"], "-1001234567890");
    assert_eq!(body["parse_mode"], "HTML");
    expect.told("telegram's text", body["text"].as_str().expect("text"));

    let mail = sink.next_mail(PATIENCE);
    assert_eq!(mail["subject"], expect.headline);
    assert_eq!(mail["rcpt_tos"], json!(["ops@example.com"]));
    assert_eq!(mail["content_type"], "text/plain");
    // The headline is the subject; the body is the rest of the message.
    expect.told(
        "the mail",
        &format!(
            "{}\n{}",
            mail["subject"],
            mail["body"].as_str().expect("a plain-text body")
        ),
    );
    assert!(
        mail["body"].as_str().unwrap().contains("disk full"),
        "a failure quotes its last output: {mail}"
    );

    let got = hook.one();
    assert_eq!(got.path, "/hooks/runwisp");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-team"), Some("ops"));
    assert_signed(&got, "whsec-daemon-test");
    expect.event("the webhook's body", &got.json());

    let written = std::fs::read_to_string(project.path().join("command-event.json"))
        .expect("the command wrote its stdin");
    let event: Value = serde_json::from_str(&written).expect("the command's stdin is JSON");
    expect.event("the command's stdin", &event);

    // The bell has the failure too.
    let rows = bell_of(&project, "run.failed");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].title, expect.headline);
    assert_eq!(rows[0].run_id.as_deref(), Some(expect.id()));
}

// ---------------------------------------------------------------------------------------------
// 2. 429 with Retry-After.

#[test]
fn a_429_with_retry_after_2_is_retried_no_sooner_than_2_s_later() {
    let rx = Receiver::start(vec![
        Reply::status(429, "").header("Retry-After", "2"),
        Reply::status(200, "ok"),
    ]);
    let project = Project::new(&format!(
        r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "limited"
type = "webhook"
url = "{}"

[tasks.t]
run = "exit 3"
notify_on_failure = ["limited"]
"##,
        rx.url("/limited")
    ));
    let wisp = Wisp::start(&project, &[]);
    let run = wisp.run_to_end("t");
    let got = until(
        "the retry after the 429",
        PATIENCE,
        || rx.requests(),
        |got| got.len() >= 2,
    );
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_secs(2),
        "the retry came {gap:?} after the 429 that said Retry-After: 2"
    );
    for request in &got {
        let event: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(event["run"]["id"], run["id"]);
        assert_eq!(event["title"], "t failed (exit 3)");
    }
    let rows = until(
        "the delivery recorded as sent",
        PATIENCE,
        || deliveries(&project),
        |rows| none_pending(rows),
    );
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("sent", 2),
        "{rows:#?}"
    );
    assert_eq!(rx.requests().len(), 2, "nothing more after the 200");
}

// ---------------------------------------------------------------------------------------------
// 3. A receiver that is down.

#[test]
fn a_receiver_that_is_down_is_retried_while_the_bell_and_other_channels_go_on() {
    let port = closed_port();
    let live = Receiver::start(vec![Reply::status(200, "ok")]);
    let project = Project::new(&format!(
        r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "dead"
type = "webhook"
url = "http://127.0.0.1:{port}/hook"

[[notifier]]
id = "live"
type = "slack"
webhook_url = "{}"

[tasks.t]
run = "exit 3"
notify_on_failure = ["dead", "live"]
"##,
        live.url("/services/T/B/live")
    ));
    let wisp = Wisp::start(&project, &[]);
    let before = Instant::now();
    let run = wisp.run_to_end("t");

    let rows = until(
        "three attempts at the dead receiver",
        PATIENCE,
        || deliveries(&project),
        |rows| rows.iter().any(|d| d.notifier == "dead" && d.attempts >= 3),
    );
    // Back-off from 1 s, doubling: the third attempt is at least 1 s + 2 s after the first.
    assert!(
        before.elapsed() >= Duration::from_secs(3),
        "three attempts within {:?}: {rows:#?}",
        before.elapsed()
    );
    let dead: Vec<&Delivery> = rows.iter().filter(|d| d.notifier == "dead").collect();
    assert_eq!(dead.len(), 1, "{rows:#?}");
    assert_eq!(dead[0].status, "pending", "still within its 5 minutes");
    assert!(
        dead[0].last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "the last error is kept: {dead:#?}"
    );

    // The dead channel delays neither the live one nor the bell.
    let got = until(
        "the live channel",
        PATIENCE,
        || live.requests(),
        |got| !got.is_empty(),
    );
    assert_eq!(got.len(), 1);
    let text = got[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains(run["id"].as_str().unwrap()), "{text}");
    let failed = bell_of(&project, "run.failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].count, 1);
    assert_eq!(failed[0].run_id.as_deref(), run["id"].as_str());
    assert!(
        bell_of(&project, "notify.delivery_failed").is_empty(),
        "not given up before its 5 minutes"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Killed with a delivery pending.

#[test]
fn a_delivery_pending_when_the_daemon_is_killed_is_sent_once_after_the_restart() {
    let rx = Receiver::start(vec![
        Reply::status(503, "busy").header("Retry-After", "4"),
        Reply::status(200, "ok"),
    ]);
    let project = Project::new(&format!(
        r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "later"
type = "webhook"
url = "{}"

[tasks.t]
run = "exit 3"
notify_on_failure = ["later"]
"##,
        rx.url("/later")
    ));
    let mut first = Wisp::start(&project, &[]);
    let run = first.run_to_end("t");
    let rows = until(
        "the first attempt answered 503",
        PATIENCE,
        || deliveries(&project),
        |rows| rows.iter().any(|d| d.attempts == 1),
    );
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, "pending");
    first.signal(Signal::SIGKILL);
    assert!(first.wait_exit(PATIENCE), "SIGKILL ends the daemon");
    assert_eq!(
        first.status,
        Some(ExitStatus::Signal(Signal::SIGKILL as i32))
    );
    assert_eq!(
        rx.requests().len(),
        1,
        "only the 503 before the kill (the retry was due 4 s later)"
    );

    let second = Wisp::start(&project, &[]);
    let rows = until(
        "the pending delivery sent after the restart",
        PATIENCE,
        || deliveries(&project),
        |rows| none_pending(rows),
    );
    assert_eq!(rows.len(), 1, "one delivery, not a second one: {rows:#?}");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("sent", 2),
        "{rows:#?}"
    );
    let got = rx.requests();
    assert_eq!(got.len(), 2, "the 503, then the one send after the restart");
    for request in &got {
        let event = request.json();
        assert_eq!(event["kind"], "run.failed");
        assert_eq!(event["run"]["id"], run["id"]);
    }
    // Stopped cleanly, it has nothing left to send.
    drop(second);
    assert_eq!(rx.requests().len(), 2, "sent exactly once");
    assert_eq!(bell_of(&project, "run.failed").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 5. 25 failures in one window.

#[test]
fn twenty_five_failures_in_one_window_are_one_row_and_at_most_three_messages() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new(&format!(
        r##"
[[notifier]]
id = "flood"
type = "webhook"
url = "{}"

[tasks.t]
run = "echo broken pipe >&2; exit 3"
notify_on_failure = ["flood"]
"##,
        rx.url("/flood")
    ));
    let wisp = Wisp::start(&project, &[]);
    let mut last = Value::Null;
    for _ in 0..25 {
        last = wisp.run_to_end("t");
        assert_eq!(last["exit_code"], 3);
    }
    let rows = until(
        "25 failures counted in one row",
        PATIENCE,
        || bell(&project),
        |rows| rows.iter().any(|r| r.count == 25),
    );
    assert_eq!(rows.len(), 1, "one row for the whole window: {rows:#?}");
    let row = &rows[0];
    assert_eq!(row.kind.as_str(), "run.failed");
    assert_eq!(row.title, "t failed (exit 3)");
    assert_eq!(row.run_id.as_deref(), last["id"].as_str(), "the latest run");
    assert_eq!(row.occurrences.len(), 10, "the newest occurrence_ring");

    let sent = until(
        "the deliveries of the window sent",
        PATIENCE,
        || (deliveries(&project), rx.requests().len()),
        |(rows, received)| none_pending(rows) && *received == rows.len(),
    )
    .0;
    let got = rx.requests();
    assert!(
        got.len() <= 3,
        "at most 3 messages for 25 failures: {sent:#?}"
    );
    let counts: Vec<u64> = got
        .iter()
        .map(|r| r.json()["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 10, 20], "the first at once, then every 10th");
    let titles: Vec<String> = got
        .iter()
        .map(|r| r.json()["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles[0], "t failed (exit 3)");
    assert!(
        titles[1].starts_with("t failed (exit 3) (10 times in "),
        "{titles:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. notify_after_failures, then recovery.

#[test]
fn notify_after_failures_3_speaks_at_the_third_and_the_recovery_goes_to_who_heard() {
    let heard = Receiver::start(vec![Reply::status(200, "")]);
    let quiet = Receiver::start(vec![Reply::status(200, "")]);
    let project = Project::new("");
    let ok = project.path().join("ok");
    std::fs::write(
        project.path().join("runwisp.toml"),
        format!(
            r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "heard"
type = "webhook"
url = "{heard}"

[[notifier]]
id = "quiet"
type = "webhook"
url = "{quiet}"

[[notification_route]]
match = {{ kind = ["run.timeout"], task = "fetch" }}
notify = ["quiet"]

[tasks.fetch]
run = "test -f '{ok}' || exit 3"
notify_on_failure = ["heard"]
notify_after_failures = 3
"##,
            heard = heard.url("/heard"),
            quiet = quiet.url("/quiet"),
            ok = ok.display(),
        ),
    )
    .unwrap();
    let wisp = Wisp::start(&project, &[]);
    for n in 1..=2 {
        wisp.run_to_end("fetch");
        // The row and its deliveries are written in one transaction: once the row is there,
        // no delivery means none will come.
        until(
            &format!("failure {n} in the bell"),
            PATIENCE,
            || bell_of(&project, "run.failed"),
            |rows| rows.len() == n,
        );
        let rows = deliveries(&project);
        assert!(rows.is_empty(), "silent for failure {n}: {rows:#?}");
    }
    assert!(heard.requests().is_empty());

    let third = wisp.run_to_end("fetch");
    let got = until(
        "the third failure sent",
        PATIENCE,
        || heard.requests(),
        |got| !got.is_empty(),
    );
    let event = got[0].json();
    assert_eq!(event["kind"], "run.failed");
    assert_eq!(event["title"], "fetch failed (exit 3)");
    assert_eq!(event["run"]["id"], third["id"]);
    assert_eq!(
        bell_of(&project, "run.failed").len(),
        3,
        "the bell counts every failure"
    );

    std::fs::write(&ok, "").unwrap();
    let success = wisp.run_to_end("fetch");
    assert_eq!(success["end_reason"], "success");
    let rows = until(
        "the recovery sent",
        PATIENCE,
        || deliveries(&project),
        |rows| rows.len() >= 2 && none_pending(rows),
    );
    let got = until(
        "the recovery received",
        PATIENCE,
        || heard.requests(),
        |got| got.len() >= 2,
    );
    assert_eq!(got.len(), 2, "the third failure and one recovery");
    let event = got[1].json();
    assert_eq!(event["kind"], "run.recovered");
    assert_eq!(event["severity"], "info");
    assert_eq!(event["run"]["id"], success["id"]);
    let title = event["title"].as_str().unwrap();
    assert!(
        title.starts_with("fetch recovered after 3 failures"),
        "{title}"
    );
    let recovered: Vec<&Delivery> = rows
        .iter()
        .filter(|d| d.payload["kind"] == "run.recovered")
        .collect();
    assert_eq!(recovered.len(), 1, "one run.recovered: {rows:#?}");
    assert_eq!(recovered[0].notifier, "heard");
    assert!(
        rows.iter().all(|d| d.notifier == "heard"),
        "nothing to the channel that heard no failure: {rows:#?}"
    );
    assert!(quiet.requests().is_empty());
    let bell_rows = bell_of(&project, "run.recovered");
    assert_eq!(bell_rows.len(), 1, "{bell_rows:#?}");
}

// ---------------------------------------------------------------------------------------------
// 7. Secrets never show.

#[test]
fn secrets_never_show_in_the_log_the_api_or_list() {
    let u = unique("");
    let secrets = [
        format!("SECRETSLACKPATH{u}"),
        format!("SECRETTGTOKEN{u}"),
        format!("SECRETHMAC{u}"),
        format!("SECRETMAILPW{u}"),
        format!("SECRETDISCORDENV{u}"),
        format!("SECRETHOOKURLENV{u}"),
        format!("SECRETHOOKENV{u}"),
        format!("SECRETTGFILE{u}"),
    ];
    let [slack_path, tg_token, hmac, mail_pw, discord_path, hook_path, hook_secret, tg_file] =
        secrets.clone();
    // Echoes the URL (and so its secret path) in a 404, as some error pages do.
    let echo = Receiver::start(vec![Reply::EchoPath { status: 404 }]);
    let ok = Receiver::start(vec![Reply::status(
        200,
        r#"{"ok":true,"result":{"message_id":1}}"#,
    )]);
    let Some(sink) = Sink::start(&["--user", "mailer", "--password", &mail_pw]) else {
        return;
    };
    let project = Project::new("");
    let token_file = project.path().join("tg-token");
    std::fs::write(&token_file, format!("777:{tg_file}\n")).unwrap();
    let (discord_var, hook_url_var, hook_secret_var) = (
        format!("RWNDT_DISCORD_{u}"),
        format!("RWNDT_HOOK_URL_{u}"),
        format!("RWNDT_HOOK_SECRET_{u}"),
    );
    let env = vec![
        (
            discord_var.clone(),
            echo.url(&format!("/api/webhooks/77/{discord_path}")),
        ),
        (hook_url_var.clone(), ok.url(&format!("/hooks/{hook_path}"))),
        (hook_secret_var.clone(), hook_secret.clone()),
    ];
    let ids = [
        "slack-inline",
        "telegram-inline",
        "webhook-inline",
        "email-inline",
        "discord-env",
        "webhook-env",
        "telegram-file",
    ];
    std::fs::write(
        project.path().join("runwisp.toml"),
        format!(
            r##"
[notify]
coalesce_window = "0s"

[[notifier]]
id = "slack-inline"
type = "slack"
webhook_url = "{slack_url}"

[[notifier]]
id = "telegram-inline"
type = "telegram"
bot_token = "4242:{tg_token}"
chat_id = "-100777"
api_url = "{ok_url}"

[[notifier]]
id = "webhook-inline"
type = "webhook"
url = "{hook_inline}"
secret = "{hmac}"

[[notifier]]
id = "email-inline"
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
username = "mailer"
password = "{mail_pw}"
from = "runwisp@example.com"
to = ["ops@example.com"]

[[notifier]]
id = "discord-env"
type = "discord"
webhook_url_env = "{discord_var}"

[[notifier]]
id = "webhook-env"
type = "webhook"
url_env = "{hook_url_var}"
secret_env = "{hook_secret_var}"

[[notifier]]
id = "telegram-file"
type = "telegram"
bot_token_file = "{token_file}"
chat_id = "-100777"
api_url = "{echo_url}"

[tasks.t]
run = "echo the output of t; exit 3"
description = "fails on purpose"
notify_on_failure = {ids:?}
"##,
            slack_url = echo.url(&format!("/services/T000/B000/{slack_path}")),
            ok_url = ok.url(""),
            hook_inline = ok.url("/hooks/inline"),
            smtp_port = sink.port,
            token_file = token_file.display(),
            echo_url = echo.url(""),
        ),
    )
    .unwrap();

    let mut wisp = Wisp::start(&project, &env);
    let run = wisp.run_to_end("t");
    let id = run["id"].as_str().unwrap().to_string();
    let rows = until(
        "seven deliveries done",
        PATIENCE,
        || deliveries(&project),
        |rows| rows.len() == 7 && none_pending(rows),
    );
    let status = |notifier: &str| {
        rows.iter()
            .find(|d| d.notifier == notifier)
            .map(|d| d.status.clone())
            .unwrap_or_default()
    };
    for (notifier, expected) in [
        ("slack-inline", "failed"),
        ("discord-env", "failed"),
        ("telegram-file", "failed"),
        ("telegram-inline", "sent"),
        ("webhook-inline", "sent"),
        ("webhook-env", "sent"),
        ("email-inline", "sent"),
    ] {
        assert_eq!(status(notifier), expected, "{notifier}: {rows:#?}");
    }

    // The secrets were in use: each receiver got what only the secret could give.
    let got = ok.requests();
    let at = |path: &str| {
        got.iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing received at {path}: {got:#?}"))
    };
    at(&format!("/bot4242:{tg_token}/sendMessage"));
    assert_signed(at("/hooks/inline"), &hmac);
    assert_signed(at(&format!("/hooks/{hook_path}")), &hook_secret);
    let mail = sink.next_mail(PATIENCE);
    assert_eq!(mail["login"], "mailer", "the inline password logged in");
    let echoed: Vec<String> = echo.requests().into_iter().map(|r| r.path).collect();
    for path in [
        format!("/services/T000/B000/{slack_path}"),
        format!("/api/webhooks/77/{discord_path}"),
        format!("/bot777:{tg_file}/sendMessage"),
    ] {
        assert!(echoed.contains(&path), "{path} not in {echoed:?}");
    }

    let leaks = |what: &str, text: &str| -> Vec<String> {
        secrets
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .map(|s| format!("{what} shows {s}"))
            .collect()
    };
    let mut found = Vec::new();

    // The bell: one notify.delivery_failed per failed channel, naming the answer, not the secret.
    let failed = until(
        "three notify.delivery_failed in the bell",
        PATIENCE,
        || bell_of(&project, "notify.delivery_failed"),
        |rows| rows.len() == 3,
    );
    for row in &failed {
        assert!(row.body.contains("404"), "{row:#?}");
        found.extend(leaks("the bell", &format!("{}\n{}", row.title, row.body)));
    }

    // Every GET route of the API (the streams aside).
    let mut reached = Vec::new();
    for route in runwisp::server::routes::table() {
        if route.method.as_str() != "GET" || route.path.ends_with("/stream") {
            continue;
        }
        let path = route.path.replace("{name}", "t").replace("{id}", &id);
        let a = wisp.get(&path);
        if a.status == 200 {
            reached.push(path.clone());
        }
        found.extend(leaks(&format!("GET {path} ({})", a.status), &a.text));
    }
    for needed in ["/api/info", "/api/tasks", "/api/tasks/t", "/api/runs"] {
        assert!(
            reached.iter().any(|p| p == needed),
            "GET {needed} answered: reached {reached:?}"
        );
    }
    assert!(reached.contains(&format!("/api/runs/{id}")), "{reached:?}");

    // `runwisp list --json`, from the file and from the daemon.
    for args in [&["list", "--json"][..], &["list", "--json", "--url"][..]] {
        let mut command = project.command(args);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let listed = run_to_end(&mut command);
        assert_eq!(
            listed.status,
            Some(ExitStatus::Code(0)),
            "runwisp {args:?}: {}",
            listed.stderr
        );
        assert!(
            listed.stdout.contains("fails on purpose"),
            "{}",
            listed.stdout
        );
        found.extend(leaks(
            &format!("runwisp {args:?}"),
            &format!("{}\n{}", listed.stdout, listed.stderr),
        ));
    }

    // daemon.log, complete once the daemon stopped.
    wisp.signal(Signal::SIGTERM);
    assert!(wisp.wait_exit(PATIENCE), "the daemon stops on SIGTERM");
    let log = std::fs::read_to_string(project.data().join("daemon.log")).expect("daemon.log");
    assert!(
        log.contains("could not be delivered"),
        "the failed deliveries are logged: {log}"
    );
    found.extend(leaks("daemon.log", &log));
    found.extend(leaks("the daemon's stderr", &wisp.stderr_text()));
    assert!(found.is_empty(), "secrets shown:\n{}", found.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 8. A hanging command at shutdown.

/// Living processes whose command line or environment holds `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let marker = marker.as_bytes();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            ["cmdline", "environ"].iter().any(|file| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker))
            })
        })
        .filter(|pid| common::alive(*pid))
        .collect()
}

#[test]
fn a_hanging_command_notifier_neither_holds_up_shutdown_nor_outlives_the_daemon() {
    let marker = unique("RWNDT_HANG_");
    let project = Project::new(&format!(
        r##"
[daemon]
shutdown_timeout = "2s"

[notify]
coalesce_window = "0s"

[[notifier]]
id = "hang"
type = "command"
run = "{marker}=1 sleep 600"

[tasks.t]
run = "exit 3"
notify_on_failure = ["hang"]
"##
    ));
    let mut wisp = Wisp::start(&project, &[]);
    wisp.run_to_end("t");
    let hanging = until(
        "the command notifier running",
        PATIENCE,
        || processes_with(&marker),
        |pids| !pids.is_empty(),
    );

    let stopping = Instant::now();
    wisp.signal(Signal::SIGTERM);
    let exited = wisp.wait_exit(Duration::from_secs(2 + 8));
    let took = stopping.elapsed();
    // Whatever happens, nothing of this test is left running.
    let mut left = processes_with(&marker);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = processes_with(&marker);
    }
    for pid in &left {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    assert!(
        exited,
        "the daemon did not exit within shutdown_timeout + 8 s"
    );
    assert!(
        took <= Duration::from_secs(2 + 5),
        "the daemon took {took:?} to stop (shutdown_timeout = 2s)"
    );
    assert_eq!(
        wisp.status,
        Some(ExitStatus::Code(0)),
        "a clean stop: {}",
        wisp.stderr_text()
    );
    assert!(
        left.is_empty(),
        "the command notifier outlived the daemon (which stopped in {took:?}): pids {left:?} \
         (first seen {hanging:?})"
    );
    // The send stays pending for the next start.
    let rows = deliveries(&project);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, "pending", "{rows:#?}");
}
