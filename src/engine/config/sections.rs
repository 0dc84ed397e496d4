//! The tables beside tasks and services: `[defaults]`, `[scheduler]`, `[daemon]`, `[storage]`,
//! `[notify]`, `[[notifier]]` and `[[notification_route]]`, and the check that every notifier id
//! a task or route names is declared.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::fields::{Ctx, Fields};
use super::load::{zone, LOG_ON_FULL};
use super::Glob;
use super::{
    defaults, Daemon, LogOnFull, Notifier, NotifierKind, Notify, Route, Scheduler, SecretValue,
    Storage,
};
use crate::engine::model::{NotifyKind, Severity, TaskName};

/// The built-in in-app notifier, always available and never declared.
pub const INAPP: &str = "inapp";

/// `[defaults]`: values that fall through to every task and service that does not set them.
#[derive(Debug, Default)]
pub(super) struct Defaults {
    pub timeout: Option<Duration>,
    pub graceful_stop: Option<Duration>,
    pub log_max_size: Option<u64>,
    pub log_on_full: Option<LogOnFull>,
    pub keep_runs: Option<u32>,
    pub keep_for: Option<Duration>,
}

pub(super) fn defaults(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Defaults {
    let Some(f) = root.table_of(ctx, "defaults") else {
        return Defaults::default();
    };
    f.check_keys(
        ctx,
        &[
            "timeout",
            "graceful_stop",
            "log_max_size",
            "log_on_full",
            "keep_runs",
            "keep_for",
        ],
        &[],
    );
    Defaults {
        timeout: f.duration(ctx, "timeout", true),
        graceful_stop: f.duration(ctx, "graceful_stop", false),
        log_max_size: f.size(ctx, "log_max_size", true),
        log_on_full: f.choice(ctx, "log_on_full", LOG_ON_FULL),
        keep_runs: f.integer(ctx, "keep_runs", 1, 1_000_000).map(|v| v as u32),
        keep_for: f.duration(ctx, "keep_for", true),
    }
}

/// The host's zone: `TZ`, else `/etc/localtime`, else UTC.
pub fn host_zone() -> (TimeZone, String) {
    match TimeZone::try_system() {
        Ok(tz) => {
            let name = tz.iana_name().unwrap_or("local").to_string();
            (tz, name)
        }
        Err(_) => (TimeZone::UTC, "UTC".to_string()),
    }
}

pub(super) fn scheduler(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Scheduler {
    let configured = root.table_of(ctx, "scheduler").and_then(|f| {
        f.check_keys(ctx, &["timezone"], &[]);
        zone(ctx, &f, "timezone")
    });
    let from_config = configured.is_some();
    let (timezone, timezone_name) = configured.unwrap_or_else(host_zone);
    Scheduler {
        timezone,
        timezone_name,
        from_config,
    }
}

pub(super) fn daemon(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Daemon {
    let mut daemon = Daemon {
        host: defaults::LISTEN_HOST.to_string(),
        port: defaults::LISTEN_PORT,
        shutdown_timeout: defaults::SHUTDOWN_TIMEOUT,
        external_url: None,
    };
    let Some(f) = root.table_of(ctx, "daemon") else {
        return daemon;
    };
    f.check_keys(ctx, &["listen", "shutdown_timeout"], &[]);
    if let Some((listen, span)) = f.string(ctx, "listen") {
        match parse_listen(&listen) {
            Ok((host, port)) => {
                daemon.host = host;
                daemon.port = port;
            }
            Err(e) => ctx.error(span, &f.key_path("listen"), e),
        }
    }
    if let Some(d) = f.duration(ctx, "shutdown_timeout", true) {
        daemon.shutdown_timeout = d;
    }
    daemon
}

/// Splits `host:port` (`127.0.0.1:9477`, `[::1]:9477`, `localhost:9477`).
pub fn parse_listen(listen: &str) -> Result<(String, u16), String> {
    let bad =
        || format!("{listen:?} is not a listen address; write HOST:PORT, like \"127.0.0.1:9477\"");
    let (host, port) = listen.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !host_ok || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

pub(super) fn storage(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Storage {
    let mut storage = Storage {
        max_size: 0,
        min_free_space: defaults::MIN_FREE_SPACE,
    };
    if let Some(f) = root.table_of(ctx, "storage") {
        f.check_keys(ctx, &["max_size", "min_free_space"], &[]);
        storage.max_size = f.size(ctx, "max_size", false).unwrap_or(0);
        if let Some(v) = f.size(ctx, "min_free_space", false) {
            storage.min_free_space = v;
        }
    }
    storage
}

pub(super) fn notify(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Notify {
    let mut notify = Notify {
        append_notifiers: vec![INAPP.to_string()],
        coalesce_window: defaults::COALESCE_WINDOW,
        occurrence_ring: 10,
        history_keep: 1024,
        history_keep_for: defaults::HISTORY_KEEP_FOR,
    };
    let Some(f) = root.table_of(ctx, "notify") else {
        return notify;
    };
    let keys = [
        "append_notifiers",
        "default_notifiers",
        "coalesce_window",
        "occurrence_ring",
        "history_keep",
        "history_keep_for",
    ];
    f.check_keys(ctx, &keys, &[]);
    if f.get("append_notifiers").is_some() && f.get("default_notifiers").is_some() {
        let span = f.key_span("default_notifiers").unwrap_or(f.span.clone());
        ctx.error(
            span,
            &f.key_path("default_notifiers"),
            "`default_notifiers` is another name for `append_notifiers`; set only one of them",
        );
    }
    let list = f
        .string_list(ctx, "append_notifiers")
        .or_else(|| f.string_list(ctx, "default_notifiers"));
    if let Some(list) = list {
        notify.append_notifiers = list.into_iter().map(|(s, _)| s).collect();
    }
    if let Some(d) = f.duration(ctx, "coalesce_window", true) {
        notify.coalesce_window = d;
    }
    if let Some(v) = f.integer(ctx, "occurrence_ring", 1, 1000) {
        notify.occurrence_ring = v as u32;
    }
    if let Some(v) = f.integer(ctx, "history_keep", 1, 1_000_000) {
        notify.history_keep = v as u32;
    }
    if let Some(d) = f.duration(ctx, "history_keep_for", true) {
        notify.history_keep_for = d;
    }
    notify
}

/// Reads secret field `key` given inline, as `key_env` or as `key_file`: exactly one of them.
fn secret(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, key: &str, dir: &Path) -> Option<SecretValue> {
    let env_key = format!("{key}_env");
    let file_key = format!("{key}_file");
    let given: Vec<&str> = [key, env_key.as_str(), file_key.as_str()]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if given.is_empty() {
        ctx.error(
            f.span.clone(),
            &f.path,
            format!("missing `{key}` (or `{key}_env` naming an environment variable, or `{key}_file` naming a file)"),
        );
        return None;
    }
    let mut written: Vec<(Range<usize>, &str)> = given
        .iter()
        .map(|k| (f.key_span(k).unwrap_or(f.span.clone()), *k))
        .collect();
    written.sort_by_key(|(span, _)| span.start);
    if let [(_, first), (span, second), ..] = &written[..] {
        // Point at the second one in the file: that is where the conflict appears.
        ctx.error(
            span.clone(),
            &f.key_path(second),
            format!(
                "set only one of `{key}`, `{key}_env` and `{key}_file` (`{first}` is already set)"
            ),
        );
        return None;
    }
    if let Some((v, _)) = f.string(ctx, key) {
        return Some(SecretValue::new(v));
    }
    if let Some((name, span)) = f.string(ctx, &env_key) {
        return match std::env::var(&name) {
            Ok(v) if !v.is_empty() => Some(SecretValue::new(v)),
            _ => {
                ctx.error(
                    span,
                    &f.key_path(&env_key),
                    format!("the environment variable {name:?} is not set (or empty), so `{key}` has no value"),
                );
                None
            }
        };
    }
    let (file, span) = f.string(ctx, &file_key)?;
    let path = dir.join(&file);
    match std::fs::read_to_string(&path) {
        Ok(v) => {
            let v = v.strip_suffix('\n').unwrap_or(&v);
            let v = v.strip_suffix('\r').unwrap_or(v);
            Some(SecretValue::new(v))
        }
        Err(e) => {
            ctx.error(
                span,
                &f.key_path(&file_key),
                format!("cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}

pub(super) fn notifiers(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>, dir: &Path) -> Vec<Notifier> {
    let mut out: Vec<Notifier> = Vec::new();
    let mut seen = BTreeSet::new();
    for f in root.array_of_tables(ctx, "notifier") {
        let id = f.string(ctx, "id");
        let kind = f.string(ctx, "type");
        let Some((kind, kind_span)) = kind else {
            if f.get("type").is_none() {
                ctx.error(
                    f.span.clone(),
                    &f.path,
                    "missing `type` (one of \"slack\", \"telegram\", \"webhook\")",
                );
            }
            continue;
        };
        let secret_keys = |k: &str| [k.to_string(), format!("{k}_env"), format!("{k}_file")];
        let (mut known, notifier_kind): (Vec<String>, Option<NotifierKind>) = match kind.as_str() {
            "slack" => (
                [secret_keys("webhook_url").to_vec(), vec!["channel".into()]].concat(),
                secret(ctx, &f, "webhook_url", dir).map(|webhook_url| NotifierKind::Slack {
                    webhook_url,
                    channel: f.string(ctx, "channel").map(|(s, _)| s),
                }),
            ),
            "telegram" => (
                [
                    secret_keys("bot_token").to_vec(),
                    vec!["chat_id".into(), "api_url".into()],
                ]
                .concat(),
                telegram(ctx, &f, dir),
            ),
            "webhook" => (
                [secret_keys("url").to_vec(), vec!["headers".into()]].concat(),
                secret(ctx, &f, "url", dir).map(|url| NotifierKind::Webhook {
                    url,
                    headers: f
                        .string_table(ctx, "headers")
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v, _)| (k, v))
                        .collect::<BTreeMap<_, _>>(),
                    secret: None,
                }),
            ),
            other => {
                ctx.error(
                    kind_span,
                    &f.key_path("type"),
                    format!("{other:?} is not one of \"slack\", \"telegram\", \"webhook\""),
                );
                continue;
            }
        };
        known.extend(["id".to_string(), "type".to_string()]);
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        f.check_keys(ctx, &known, &[]);
        let Some((id, id_span)) = id else {
            if f.get("id").is_none() {
                ctx.error(
                    f.span.clone(),
                    &f.path,
                    "missing `id` (the name tasks use in notify_on_failure)",
                );
            }
            continue;
        };
        if let Err(e) = TaskName::parse(&id) {
            ctx.error(
                id_span,
                &f.key_path("id"),
                format!("{id:?} is not a valid notifier id: {e}"),
            );
            continue;
        }
        if id == INAPP {
            ctx.error(id_span, &f.key_path("id"), format!("notifier id {id:?} is reserved for the built-in in-app notifier; choose another id"));
            continue;
        }
        if !seen.insert(id.clone()) {
            ctx.error(
                id_span,
                &f.key_path("id"),
                format!("notifier id {id:?} is already used by an earlier [[notifier]]"),
            );
            continue;
        }
        if let Some(kind) = notifier_kind {
            out.push(Notifier { id, kind });
        }
    }
    out
}

fn telegram(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, dir: &Path) -> Option<NotifierKind> {
    let bot_token = secret(ctx, f, "bot_token", dir);
    let chat_id = match f.get("chat_id") {
        Some(v) => match (v.get_ref().as_str(), v.get_ref().as_integer()) {
            (Some(s), _) => Some(s.to_string()),
            (_, Some(i)) => Some(i.as_str().to_string()),
            _ => {
                ctx.error(
                    v.span(),
                    &f.key_path("chat_id"),
                    "expected a string or an integer",
                );
                None
            }
        },
        None => {
            ctx.error(
                f.span.clone(),
                &f.path,
                "missing `chat_id` (the chat the bot posts to)",
            );
            None
        }
    };
    let api_url = f
        .string(ctx, "api_url")
        .map(|(s, _)| s)
        .unwrap_or_else(|| "https://api.telegram.org".to_string());
    Some(NotifierKind::Telegram {
        bot_token: bot_token?,
        chat_id: chat_id?,
        api_url,
    })
}

pub(super) fn routes(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Vec<Route> {
    let mut out = Vec::new();
    for f in root.array_of_tables(ctx, "notification_route") {
        f.check_keys(ctx, &["match", "notify"], &[]);
        let mut route = Route {
            kinds: Vec::new(),
            task: None,
            severity: None,
            notify: Vec::new(),
        };
        if let Some(m) = f.table_of(ctx, "match") {
            m.check_keys(ctx, &["kind", "task", "severity"], &[]);
            for (kind, span) in m.string_list(ctx, "kind").unwrap_or_default() {
                if let Ok(k) = kind.parse::<NotifyKind>() {
                    route.kinds.push(k);
                } else {
                    let all: Vec<&str> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
                    ctx.error(
                        span,
                        &m.key_path("kind"),
                        format!(
                            "{kind:?} is not an event kind; use one of {}",
                            all.join(", ")
                        ),
                    );
                }
            }
            route.task = m.string(ctx, "task").map(|(pattern, _)| Glob { pattern });
            if let Some((sev, span)) = m.string(ctx, "severity") {
                if let Ok(sev) = sev.parse::<Severity>() {
                    route.severity = Some(sev);
                } else {
                    ctx.error(
                        span,
                        &m.key_path("severity"),
                        format!("{sev:?} is not one of \"info\", \"warn\", \"error\""),
                    );
                }
            }
        }
        match f.string_list(ctx, "notify") {
            Some(list) => route.notify = list.into_iter().map(|(s, _)| s).collect(),
            None if f.get("notify").is_none() => {
                ctx.error(
                    f.span.clone(),
                    &f.path,
                    "missing `notify` (the notifier ids this route sends to)",
                );
            }
            None => {}
        }
        out.push(route);
    }
    out
}

/// The ids written in `[[notifier]]` tables, whether or not the rest of the table is valid.
pub(super) fn declared_notifier_ids(root: &Fields<'_, '_>) -> Vec<String> {
    let Some(array) = root.get("notifier").and_then(|v| v.get_ref().as_array()) else {
        return Vec::new();
    };
    array
        .iter()
        .filter_map(|n| n.get_ref().as_table()?.get("id")?.get_ref().as_str())
        .map(str::to_string)
        .collect()
}

/// Every notifier id named by a task, a service, `[notify]` or a route must be declared.
pub(super) fn check_notifier_refs(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>, declared: &[&str]) {
    let known: BTreeSet<&str> = declared.iter().copied().chain([INAPP]).collect();
    let known_list = known.iter().copied().collect::<Vec<_>>().join(", ");
    let check = |ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, key: &str| {
        let Some(value) = f.get(key) else { return };
        let Some(array) = value.get_ref().as_array() else {
            return;
        };
        for item in array.iter() {
            if let Some(id) = item.get_ref().as_str() {
                if !known.contains(id) {
                    ctx.error(
                        item.span(),
                        &f.key_path(key),
                        format!("unknown notifier {id:?}; declared notifiers: {known_list}"),
                    );
                }
            }
        }
    };
    for table in ["tasks", "services"] {
        let Some(section) = root.get(table).and_then(|v| v.get_ref().as_table()) else {
            continue;
        };
        let section = Fields::new(section, table, 0..0);
        for (name, value) in section.table.iter() {
            if let Some(t) = value.get_ref().as_table() {
                let f = Fields::new(t, section.key_path(name.get_ref()), value.span());
                check(ctx, &f, "notify_on_failure");
                check(ctx, &f, "notify_on_success");
            }
        }
    }
    if let Some(n) = root.get("notify").and_then(|v| v.get_ref().as_table()) {
        let f = Fields::new(n, "notify", 0..0);
        check(ctx, &f, "append_notifiers");
        check(ctx, &f, "default_notifiers");
    }
    if let Some(routes) = root
        .get("notification_route")
        .and_then(|v| v.get_ref().as_array())
    {
        for (i, r) in routes.iter().enumerate() {
            if let Some(t) = r.get_ref().as_table() {
                let f = Fields::new(t, format!("notification_route[{i}]"), r.span());
                check(ctx, &f, "notify");
            }
        }
    }
}
