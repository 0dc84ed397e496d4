//! The tables beside tasks and services: `[defaults]`, `[scheduler]`, `[daemon]`, `[storage]`,
//! `[notify]` and `[[notification_route]]`, and the check that every notifier id a task, a
//! service, `[notify]` or a route names is declared. `[[notifier]]` is read in `notifiers.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::fields::{Ctx, Fields};
use super::keys;
use super::load::zone;
use super::notifiers::is_http_url;
use super::{
    defaults, Daemon, Glob, LogDestination, LogFormat, LogOnFull, Notify, Route, Scheduler, Storage,
};
use crate::engine::model::{truncate_for_message, NotifyKind, Severity};

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
    f.check_table(ctx, &[keys::DEFAULTS], &[]);
    Defaults {
        timeout: f.key_duration(ctx, &keys::TIMEOUT),
        graceful_stop: f.key_duration(ctx, &keys::GRACEFUL_STOP),
        log_max_size: f.key_size(ctx, &keys::LOG_MAX_SIZE),
        log_on_full: f.key_choice(ctx, &keys::LOG_ON_FULL_KEY, keys::LOG_ON_FULL),
        keep_runs: f.key_integer(ctx, &keys::KEEP_RUNS).map(|v| v as u32),
        keep_for: f.key_duration(ctx, &keys::KEEP_FOR),
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
        f.check_table(ctx, &[keys::SCHEDULER], &[]);
        zone(ctx, &f, keys::SCHEDULER_TIMEZONE.name)
    });
    let from_config = configured.is_some();
    let (timezone, timezone_name) = configured.unwrap_or_else(host_zone);
    Scheduler {
        timezone,
        timezone_name,
        from_config,
    }
}

pub(super) fn daemon(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>, dir: &std::path::Path) -> Daemon {
    let mut daemon = Daemon {
        host: defaults::LISTEN_HOST.to_string(),
        port: defaults::LISTEN_PORT,
        shutdown_timeout: defaults::SHUTDOWN_TIMEOUT,
        external_url: None,
        metrics_public: false,
        log_format: LogFormat::Text,
        log: LogDestination::File,
        tls: None,
    };
    let Some(f) = root.table_of(ctx, "daemon") else {
        return daemon;
    };
    f.check_table(ctx, &[keys::DAEMON], &[]);
    if let Some((listen, span)) = f.string(ctx, "listen") {
        match parse_listen(&listen) {
            Ok((host, port)) => {
                daemon.host = host;
                daemon.port = port;
            }
            Err(e) => ctx.error(span, &f.key_path("listen"), e),
        }
    }
    if let Some(d) = f.key_duration(ctx, &keys::SHUTDOWN_TIMEOUT) {
        daemon.shutdown_timeout = d;
    }
    if let Some((url, span)) = f.string(ctx, "external_url") {
        let url = url.trim_end_matches('/');
        if is_http_url(url) {
            daemon.external_url = Some(url.to_string());
        } else {
            let shown = truncate_for_message(url);
            ctx.error(
                span,
                &f.key_path("external_url"),
                format!("{shown:?} is not an http:// or https:// URL (notifications link to {{external_url}}/runs/ID)"),
            );
        }
    }
    if let Some(public) = f.boolean(ctx, keys::METRICS_PUBLIC.name) {
        daemon.metrics_public = public;
    }
    if let Some(format) = f.key_choice(ctx, &keys::LOG_FORMAT, keys::LOG_FORMATS) {
        daemon.log_format = format;
    }
    if let Some(log) = f.key_choice(ctx, &keys::LOG_DESTINATION, keys::LOG_DESTINATIONS) {
        daemon.log = log;
    }
    daemon.tls = super::tls::tls(ctx, &f, dir);
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
        f.check_table(ctx, &[keys::STORAGE], &[]);
        storage.max_size = f.key_size(ctx, &keys::MAX_SIZE_KEY).unwrap_or(0);
        if let Some(v) = f.key_size(ctx, &keys::MIN_FREE_SPACE) {
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
    f.check_table(ctx, &[keys::NOTIFY], &[]);
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
    if let Some(d) = f.key_duration(ctx, &keys::COALESCE_WINDOW) {
        notify.coalesce_window = d;
    }
    if let Some(v) = f.key_integer(ctx, &keys::OCCURRENCE_RING) {
        notify.occurrence_ring = v as u32;
    }
    if let Some(v) = f.key_integer(ctx, &keys::HISTORY_KEEP) {
        notify.history_keep = v as u32;
    }
    if let Some(d) = f.key_duration(ctx, &keys::HISTORY_KEEP_FOR) {
        notify.history_keep_for = d;
    }
    notify
}

pub(super) fn routes(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>) -> Vec<Route> {
    let mut out = Vec::new();
    for f in root.array_of_tables(ctx, "notification_route") {
        f.check_table(ctx, &[keys::ROUTE], &[]);
        let mut route = Route {
            kinds: Vec::new(),
            task: None,
            severity: None,
            notify: Vec::new(),
        };
        match f.table_of(ctx, "match") {
            Some(m) => route_match(ctx, &m, &mut route),
            None if f.get("match").is_none() => ctx.error(
                f.span.clone(),
                &f.path,
                "missing `match` (at least `match = { kind = [\"run.failed\"] }`)",
            ),
            None => {}
        }
        match f.string_list(ctx, "notify") {
            Some(list) if list.is_empty() => {
                let span = f.get("notify").map_or(f.span.clone(), |v| v.span());
                ctx.error(
                    span,
                    &f.key_path("notify"),
                    "`notify` cannot be empty; name the notifier ids this route sends to (\"inapp\" for the in-app bell)",
                );
            }
            Some(list) => route.notify = list.into_iter().map(|(s, _)| s).collect(),
            None if f.get("notify").is_none() => ctx.error(
                f.span.clone(),
                &f.path,
                "missing `notify` (the notifier ids this route sends to)",
            ),
            None => {}
        }
        out.push(route);
    }
    out
}

/// `match = { kind = [...], task = "glob", severity = "warn" }`.
fn route_match(ctx: &mut Ctx<'_>, m: &Fields<'_, '_>, route: &mut Route) {
    m.check_table(ctx, &[keys::ROUTE_MATCH], &[]);
    match m.string_list(ctx, "kind") {
        Some(kinds) if kinds.is_empty() => {
            let span = m.get("kind").map_or(m.span.clone(), |v| v.span());
            ctx.error(
                span,
                &m.key_path("kind"),
                "`kind` cannot be empty; list the event kinds this route is for",
            );
        }
        Some(kinds) => {
            for (kind, span) in kinds {
                match kind.parse::<NotifyKind>() {
                    Ok(k) => route.kinds.push(k),
                    Err(_) => {
                        let all: Vec<&str> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
                        let shown = truncate_for_message(&kind);
                        ctx.error(
                            span,
                            &m.key_path("kind"),
                            format!(
                                "{shown:?} is not an event kind; use one of {}",
                                all.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        None if m.get("kind").is_none() => ctx.error(
            m.span.clone(),
            &m.path,
            "missing `kind` (the event kinds this route is for, like [\"run.failed\"])",
        ),
        None => {}
    }
    if let Some((pattern, span)) = m.string(ctx, "task") {
        match Glob::parse(&pattern) {
            Ok(glob) => route.task = Some(glob),
            Err(e) => {
                let shown = truncate_for_message(&pattern);
                ctx.error(
                    span,
                    &m.key_path("task"),
                    format!("{shown:?} is not a valid task pattern: {e}"),
                );
            }
        }
    }
    if let Some((sev, span)) = m.string(ctx, "severity") {
        match sev.parse::<Severity>() {
            Ok(sev) => route.severity = Some(sev),
            Err(_) => {
                let shown = truncate_for_message(&sev);
                ctx.error(
                    span,
                    &m.key_path("severity"),
                    format!("{shown:?} is not one of \"info\", \"warn\", \"error\""),
                );
            }
        }
    }
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
