#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Notifications through the real daemon (`notifications.md` §6): `runwisp --headless` on a
//! temporary project, a failing task triggered over the API, and real receivers: HTTP servers
//! answering like Slack, Discord, the Telegram Bot API and a webhook endpoint, an SMTP server
//! (aiosmtpd), and a command. What each receiver gets is checked against the run the API shows
//! and the daemon's fingerprint; the bell and the delivery outbox are read from the daemon's
//! SQLite. Each type delivering, and secrets never showing, are each a case here; retries and
//! shutdown are in `notify_delivery.rs`, coalescing and `notify_after_failures` in
//! `notify_rules.rs`, the shared fixture in `common/notify_fixture.rs`.
//!
//! Everything this binary spawns goes through runwisp's reaper (the SMTP sink does, and the
//! reaper then reaps every child of the process): the daemon too, whose exit is read from the
//! reaper's answer, never by waiting on the child.

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/notify_fixture.rs"]
mod notify_fixture;
#[allow(dead_code)]
#[path = "common/notify_http.rs"]
mod notify_http;
#[allow(dead_code)]
#[path = "common/notify_smtp.rs"]
mod notify_smtp;

use common::Project;
use nix::sys::signal::Signal;
use notify_fixture::{
    assert_signed, bell_of, deliveries_until, none_pending, unique, until, write_config, Expect,
    Wisp, PATIENCE,
};
use notify_http::{Receiver, Reply};
use notify_smtp::{run_to_end, Sink};
use runwisp::engine::runner::reaper::ExitStatus;
use serde_json::{json, Value};

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
    write_config(&project, &config);
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

    let sent = deliveries_until(&project, "six deliveries sent", |rows| {
        rows.len() == 6 && rows.iter().all(|d| d.status == "sent")
    });
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
// 2. Secrets never show.

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
    write_config(
        &project,
        &format!(
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
    );

    let mut wisp = Wisp::start(&project, &env);
    let run = wisp.run_to_end("t");
    let id = run["id"].as_str().unwrap().to_string();
    let rows = deliveries_until(&project, "seven deliveries done", |rows| {
        rows.len() == 7 && none_pending(rows)
    });
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
