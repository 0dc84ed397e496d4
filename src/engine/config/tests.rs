//! Configuration tests: the starter file, a maximal file whose every value must arrive in the
//! model, and the warnings. Notifier, secret, route and glob tests are in `tests_notify.rs`;
//! the error fixtures are in `tests_fixtures.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::engine::model::{NotifyKind, Severity};

pub(super) fn load(text: &str) -> Result<Config, ConfigErrors> {
    load_str("runwisp.toml", text, Path::new("/srv/app/runwisp.toml"))
}

fn name(s: &str) -> TaskName {
    TaskName::parse(s).expect("a valid test name")
}

const MB: u64 = 1 << 20;

#[test]
fn the_starter_file_loads() {
    let config = load(STARTER).expect("the starter runwisp.toml must be valid");
    assert!(config.tasks.len() >= 2);
}

#[test]
fn every_value_of_the_maximal_file_arrives() {
    let text = include_str!("../../../tests/fixtures/config/maximal.toml");
    let c = load_str("maximal.toml", text, Path::new("/srv/app/runwisp.toml"))
        .unwrap_or_else(|e| panic!("maximal.toml must load:\n{e}"));
    assert_eq!(c.warnings, Vec::<String>::new());

    let backup = c.task(&name("backup")).expect("task backup");
    let b = &backup.common;
    assert_eq!(b.run, "set -eu\npg_dump app > /var/backups/app.sql\n");
    assert_eq!(
        (b.description.as_str(), b.group.as_str()),
        ("Nightly database dump", "Backups")
    );
    assert!(!b.api_trigger);
    assert_eq!(backup.cron.as_ref().map(|s| s.expr()), Some("30 2 * * 1-5"));
    assert_eq!(backup.timezone_name, "Europe/Bratislava");
    assert_eq!(backup.catch_up, CatchUp::All);
    assert_eq!(backup.max_catch_up_runs, 7);
    assert_eq!(backup.max_concurrent, 3);
    assert_eq!(backup.on_overlap, OnOverlap::Terminate);
    assert_eq!(backup.queue_max, 50);
    assert_eq!(backup.retry_attempts, 4);
    assert_eq!(backup.retry_delay, Duration::from_secs(90));
    assert_eq!(backup.retry_backoff, Backoff::Exponential);
    assert_eq!(backup.restart, Restart::Never);
    assert_eq!(backup.timeout, Some(Duration::from_secs(7200)));
    assert_eq!(b.graceful_stop, Duration::ZERO);
    assert_eq!(b.log_max_size, 1536 * MB);
    assert_eq!(b.log_on_full, LogOnFull::DropNew);
    assert_eq!(b.keep_runs, Some(500));
    assert_eq!(b.keep_for, Some(Duration::from_secs(14 * 86_400)));
    assert_eq!(b.notify_on_failure, ["slack-ops", "oncall"]);
    assert_eq!(b.notify_on_success, ["hook"]);
    assert!(b.notify_after_retries);
    assert_eq!(b.notify_after_failures, 3);
    let env: Vec<(&str, &str)> = b
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("LOG_LEVEL", "debug"), ("PGHOST", "db.internal")]);
    assert_eq!(b.working_dir, PathBuf::from("/srv/app/jobs/backup"));

    // `sync` sets little: the rest comes from [defaults], [scheduler] and the built-in defaults.
    let sync = c.task(&name("sync")).expect("task sync");
    let s = &sync.common;
    assert_eq!(sync.cron.as_ref().map(|s| s.expr()), Some("@every 90s"));
    assert_eq!(sync.restart, Restart::OnFailure);
    assert_eq!(sync.retry_backoff, Backoff::Linear);
    assert_eq!(sync.catch_up, CatchUp::Skip);
    assert_eq!(sync.on_overlap, OnOverlap::Skip);
    assert_eq!(s.working_dir, PathBuf::from("/opt/sync"));
    assert_eq!(sync.timezone_name, "America/New_York");
    assert_eq!(sync.timeout, Some(Duration::from_secs(45 * 60)));
    assert_eq!(s.graceful_stop, Duration::from_secs(8));
    assert_eq!(s.log_max_size, 10 * MB);
    assert_eq!(s.log_on_full, LogOnFull::KillTask);
    assert_eq!(s.keep_runs, Some(2000));
    assert_eq!(s.keep_for, Some(Duration::from_secs(60 * 86_400)));
    assert_eq!((s.group.as_str(), s.description.as_str()), ("Tasks", ""));
    assert!(s.api_trigger);
    assert!(!s.notify_after_retries);
    assert_eq!(s.notify_after_failures, 1);
    assert_eq!(
        (sync.max_concurrent, sync.queue_max, sync.max_catch_up_runs),
        (1, 100, 100)
    );
    assert_eq!(sync.retry_delay, defaults::RETRY_DELAY);

    let worker = &c.services[&name("worker")];
    let w = &worker.common;
    assert_eq!(w.run, "exec ./worker");
    assert_eq!(
        (w.description.as_str(), w.group.as_str()),
        ("Queue worker", "Workers")
    );
    assert!(!w.api_trigger);
    assert_eq!(worker.instances, 4);
    assert_eq!(worker.restart_delay, Duration::from_secs(2));
    assert_eq!(worker.restart_backoff, Backoff::Linear);
    assert_eq!(worker.backoff_reset_after, Duration::from_secs(300));
    assert_eq!(w.graceful_stop, Duration::from_secs(15));
    assert_eq!(w.log_max_size, 20 * MB);
    assert_eq!(w.log_on_full, LogOnFull::DropOld);
    assert_eq!(w.keep_runs, Some(20));
    assert_eq!(w.keep_for, Some(Duration::from_secs(3 * 86_400)));
    assert_eq!(w.notify_on_failure, ["oncall"]);
    assert_eq!(w.notify_on_success, ["hook"]);
    assert_eq!(
        (w.notify_after_retries, w.notify_after_failures),
        (false, 2)
    );
    assert_eq!(w.env.get("QUEUE").map(String::as_str), Some("default"));
    assert_eq!(w.working_dir, PathBuf::from("/srv/app/../shared"));

    assert_eq!(c.scheduler.timezone_name, "America/New_York");
    assert_eq!(
        c.daemon,
        Daemon {
            host: "::1".into(),
            port: 8080,
            shutdown_timeout: Duration::from_secs(45),
            external_url: Some("https://runwisp.example.com/ops".into()),
            metrics_public: false,
            log_format: LogFormat::Text,
            log: LogDestination::File,
            tls: None,
        }
    );
    assert_eq!(
        c.storage,
        Storage {
            max_size: 5 << 30,
            min_free_space: MB,
        }
    );
    assert_eq!(
        c.notify,
        Notify {
            append_notifiers: vec!["inapp".into(), "slack-ops".into()],
            coalesce_window: Duration::from_secs(1800),
            occurrence_ring: 25,
            history_keep: 5000,
            history_keep_for: Duration::from_secs(180 * 86_400),
        }
    );

    let ids: Vec<&str> = c.notifiers.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        ["slack-ops", "oncall", "hook", "dev_chat", "mail", "script"]
    );
    let secret = SecretValue::new;
    assert_eq!(
        c.notifiers[0].kind,
        NotifierKind::Slack {
            webhook_url: secret("https://hooks.slack.com/services/T000/B000/maximal-slack-secret"),
            channel: Some("#ops".into()),
        }
    );
    assert_eq!(
        c.notifiers[1].kind,
        NotifierKind::Telegram {
            bot_token: secret("123456:maximal-telegram-secret"),
            chat_id: "-1001234567890".into(),
            api_url: "https://tg-proxy.internal".into(),
        }
    );
    assert_eq!(
        c.notifiers[2].kind,
        NotifierKind::Webhook {
            url: secret("https://example.com/runwisp-events?token=maximal-url-secret"),
            headers: [
                ("Authorization", "Bearer maximal-header-secret"),
                ("X-Source", "runwisp"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
            secret: Some(secret("maximal-signing-secret")),
        }
    );
    assert_eq!(
        c.notifiers[3].kind,
        NotifierKind::Discord {
            webhook_url: secret("https://discord.com/api/webhooks/1/maximal-discord-secret"),
        }
    );
    assert_eq!(
        c.notifiers[4].kind,
        NotifierKind::Email {
            host: "smtp.example.com".into(),
            port: 2525,
            tls: EmailTls::Implicit,
            username: Some("runwisp".into()),
            password: Some(secret("maximal-smtp-secret")),
            from: "runwisp <runwisp@example.com>".into(),
            to: vec![
                "ops@example.com".into(),
                "Oncall <oncall@example.com>".into()
            ],
            cc: vec!["audit@example.com".into()],
        }
    );
    assert_eq!(
        c.notifiers[5].kind,
        NotifierKind::Command {
            run: "logger -t runwisp".into(),
        }
    );
    let glob = |p: &str| Some(Glob::parse(p).expect("a valid pattern"));
    assert_eq!(
        c.routes,
        [
            Route {
                kinds: vec![NotifyKind::RunFailed, NotifyKind::RunTimeout],
                task: glob("backup*"),
                severity: Some(Severity::Error),
                notify: vec!["oncall".into(), "hook".into()],
            },
            Route {
                kinds: vec![NotifyKind::RunMissed, NotifyKind::ServiceFlapping],
                task: glob("[!a-c]?*"),
                severity: None,
                notify: vec![
                    "dev_chat".into(),
                    "mail".into(),
                    "script".into(),
                    "inapp".into()
                ],
            },
        ]
    );
    // Nothing secret survives a debug print of the whole configuration.
    let debug = format!("{c:?}");
    assert!(!debug.contains("maximal-"), "a secret leaked: {debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn a_task_that_can_never_run_is_loaded_with_a_warning() {
    let text = include_str!("../../../tests/fixtures/config/warning_never_runs.toml");
    let c = load(text).expect("a task that can never run is still valid");
    assert!(c.task(&name("cleanup")).is_some());
    assert_eq!(
        c.warnings,
        ["task \"cleanup\" has api_trigger = false and no cron, so it can never run"]
    );
}

#[test]
fn a_graceful_stop_longer_than_the_shutdown_budget_is_a_warning() {
    let text = include_str!("../../../tests/fixtures/config/warning_graceful_stop.toml");
    let c = load(text).expect("a long graceful_stop is still valid");
    assert_eq!(
        c.warnings,
        [
            "task \"drain\" has graceful_stop 30s which is longer than [daemon] shutdown_timeout 20s; daemon shutdown will kill it sooner",
            "service \"queue\" has graceful_stop 30s which is longer than [daemon] shutdown_timeout 20s; daemon shutdown will kill it sooner",
        ]
    );
}

#[test]
fn errors_print_one_per_line() {
    let text = "[tasks.a]\nrun = \"true\"\nkeep_runs = 0\n\n[tasks.b]\n";
    let errors = load(text).expect_err("two errors");
    assert_eq!(
        errors.to_string(),
        "runwisp.toml:3:13: tasks.a.keep_runs: must be between 1 and 1000000 (got 0)\n\
         runwisp.toml:5:1: tasks.b: missing required key `run` (the shell command this task runs)"
    );
}

#[test]
fn key_paths_quote_keys_that_are_not_bare() {
    let text =
        "[tasks.\"db.backup\"]\nrun = \"true\"\nretry_delay = \"0s\"\nenv = { \"A B\" = \"x\" }\n";
    let errors: Vec<String> = load(text)
        .expect_err("two errors")
        .0
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "runwisp.toml:3:15: tasks.\"db.backup\".retry_delay: must be a positive duration (got \"0s\")",
            "runwisp.toml:4:9: tasks.\"db.backup\".env.\"A B\": \"A B\" is not a valid environment variable name (use ASCII letters, digits and '_', not starting with a digit)",
        ]
    );
}

#[test]
fn sizes_written_as_toml_integers_are_bytes() {
    let text = "[storage]\nmax_size = 1_048_576\nmin_free_space = 0x400\n";
    let storage = load(text).expect("valid sizes").storage;
    assert_eq!((storage.max_size, storage.min_free_space), (MB, 1024));
    let errors = load("[storage]\nmax_size = -5\n").expect_err("negative");
    assert_eq!(
        errors.to_string(),
        "runwisp.toml:2:12: storage.max_size: a size cannot be negative (got -5)"
    );
}

#[test]
fn backoff_curves_and_their_cap() {
    use std::time::Duration;
    let base = Duration::from_secs(5);
    let cap = Duration::from_secs(300);
    let curve = |b: Backoff| {
        (1..=8)
            .map(|n| b.delay(base, n, cap).as_secs())
            .collect::<Vec<_>>()
    };
    assert_eq!(curve(Backoff::Constant), [5, 5, 5, 5, 5, 5, 5, 5]);
    assert_eq!(curve(Backoff::Linear), [5, 10, 15, 20, 25, 30, 35, 40]);
    assert_eq!(
        curve(Backoff::Exponential),
        [5, 10, 20, 40, 80, 160, 300, 300]
    );
    assert_eq!(Backoff::Exponential.delay(base, 200, cap), cap);
}

#[test]
fn a_leading_tilde_in_working_dir_is_the_home_of_runwisps_user() {
    let text = include_str!("../../../tests/fixtures/config/working_dir_home.toml");
    let c = load(text).unwrap_or_else(|e| panic!("working_dir_home.toml must load:\n{e}"));
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
        .expect("this test needs a HOME or a home directory");
    let dir = |task: &str| c.task(&name(task)).expect(task).common.working_dir.clone();
    assert_eq!(dir("home"), home);
    assert_eq!(dir("under-home"), home.join("jobs/nightly"));
    assert_eq!(dir("relative"), PathBuf::from("/srv/app/jobs"));
    assert_eq!(dir("named-user"), PathBuf::from("/srv/app/~bob"));
    let service = &c.services[&name("absolute")];
    assert_eq!(service.common.working_dir, PathBuf::from("/opt/worker"));
}

#[test]
fn external_url_loses_its_trailing_slash() {
    let c = load("[daemon]\nexternal_url = \"http://10.0.0.5:9477/\"\n").expect("valid");
    assert_eq!(
        c.daemon.external_url.as_deref(),
        Some("http://10.0.0.5:9477")
    );
    assert_eq!(load("").expect("empty").daemon.external_url, None);
}

#[test]
fn metrics_public_is_off_unless_set() {
    assert!(!load("").expect("empty").daemon.metrics_public);
    let c = load("[daemon]\nmetrics_public = true\n").expect("valid");
    assert!(c.daemon.metrics_public);
    let e = load("[daemon]\nmetrics_public = \"yes\"\n").expect_err("a string is no boolean");
    assert!(e.to_string().contains("daemon.metrics_public"), "{e}");
}

#[test]
fn the_daemons_log_format_and_destination() {
    let empty = load("").expect("empty");
    assert_eq!(
        (empty.daemon.log_format, empty.daemon.log),
        (LogFormat::Text, LogDestination::File)
    );
    let c = load("[daemon]\nlog_format = \"json\"\nlog = \"journald\"\n").expect("valid");
    assert_eq!(
        (c.daemon.log_format, c.daemon.log),
        (LogFormat::Json, LogDestination::Journald)
    );
    let c = load("[daemon]\nlog_format = \"text\"\nlog = \"file\"\n").expect("valid");
    assert_eq!(
        (c.daemon.log_format, c.daemon.log),
        (LogFormat::Text, LogDestination::File)
    );
    let e = load("[daemon]\nlog_format = \"xml\"\n").expect_err("xml is no format");
    let e = e.to_string();
    assert!(e.contains("daemon.log_format"), "{e}");
    assert!(
        e.contains("\"xml\" is not one of \"text\", \"json\""),
        "{e}"
    );
    let e = load("[daemon]\nlog = \"syslog\"\n").expect_err("syslog is not offered");
    assert!(e.to_string().contains("\"file\", \"journald\""), "{e}");
}
