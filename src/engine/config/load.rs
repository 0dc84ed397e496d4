//! Reading `runwisp.toml`: syntax errors first, then every table checked and every problem
//! collected, so a user sees all errors of a file at once. Tasks and services are read here;
//! the other sections in `sections.rs`, `[[notifier]]` in `notifiers.rs`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use jiff::tz::TimeZone;
use toml::de::DeTable;

use super::errors::{ConfigErrors, LoadError, SourceMap};
use super::fields::{join_path, Ctx, Fields};
use super::notifiers;
use super::sections::{self, Defaults};
use super::{
    defaults, Backoff, CatchUp, Common, Config, LogOnFull, OnOverlap, Restart, Service, Task,
};
use crate::engine::model::TaskName;
use crate::engine::schedule::Schedule;

mod working_dir;

const TOP_KEYS: &[&str] = &[
    "tasks",
    "services",
    "defaults",
    "scheduler",
    "daemon",
    "storage",
    "notify",
    "notifier",
    "notification_route",
];

const COMMON_KEYS: &[&str] = &[
    "run",
    "description",
    "group",
    "api_trigger",
    "graceful_stop",
    "log_max_size",
    "log_on_full",
    "keep_runs",
    "keep_for",
    "notify_on_failure",
    "notify_on_success",
    "notify_after_retries",
    "notify_after_failures",
    "env",
    "working_dir",
];

const TASK_KEYS: &[&str] = &[
    "cron",
    "timezone",
    "catch_up",
    "max_catch_up_runs",
    "max_concurrent",
    "on_overlap",
    "queue_max",
    "retry_attempts",
    "retry_delay",
    "retry_backoff",
    "restart",
    "timeout",
];

const SERVICE_KEYS: &[&str] = &[
    "instances",
    "restart_delay",
    "restart_backoff",
    "backoff_reset_after",
];

const SERVICE_ONLY: &str = "is a services-only key; a task runs once per firing (use [services.NAME] to keep a process alive)";
const TASK_ONLY: &str = "is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)";

pub(super) const LOG_ON_FULL: &[(&str, LogOnFull)] = &[
    ("drop_old", LogOnFull::DropOld),
    ("drop_new", LogOnFull::DropNew),
    ("kill_task", LogOnFull::KillTask),
];

const BACKOFF: &[(&str, Backoff)] = &[
    ("constant", Backoff::Constant),
    ("linear", Backoff::Linear),
    ("exponential", Backoff::Exponential),
];

/// Reads and validates a configuration file.
pub fn load_file(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    load_str(&path.display().to_string(), &text, &absolute).map_err(LoadError::Invalid)
}

/// Validates configuration `text`; `label` names the file in errors, `path` anchors relative
/// working directories.
pub fn load_str(label: &str, text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx {
        map: SourceMap::new(label, text),
        errors: Vec::new(),
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            ctx.error(span, "", format!("TOML syntax error: {message}"));
        }
        return Err(finish_errors(ctx));
    }
    let root = Fields::new(doc.get_ref(), "", doc.span());
    let rejected = [(
        "pipelines",
        "[pipelines] are not supported by this version of runwisp",
    )];
    root.check_keys(&mut ctx, TOP_KEYS, &rejected);

    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let defaults = sections::defaults(&mut ctx, &root);
    let scheduler = sections::scheduler(&mut ctx, &root);
    let daemon = sections::daemon(&mut ctx, &root);
    let storage = sections::storage(&mut ctx, &root);
    let notify = sections::notify(&mut ctx, &root);
    let notifiers = notifiers::notifiers(&mut ctx, &root, &dir);
    let routes = sections::routes(&mut ctx, &root);

    let mut warnings = Vec::new();
    let mut tasks = BTreeMap::new();
    let mut services = BTreeMap::new();
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    for (table, kind) in [("tasks", "task"), ("services", "service")] {
        let Some(section) = root.table_of(&mut ctx, table) else {
            continue;
        };
        for (name, (key_span, fields)) in section.entries(&mut ctx) {
            let path = section.key_path(&name);
            // A bad name is echoed (shortened) in the message, not in the key path.
            let Some(task_name) =
                checked_name(&mut ctx, &name, kind, key_span.clone(), &section.path)
            else {
                continue;
            };
            if let Some(other) = names.insert(name.clone(), kind) {
                ctx.error(
                    key_span.clone(),
                    &path,
                    format!("the name {name:?} is used by both a {other} and a {kind}; tasks and services share one namespace"),
                );
                continue;
            }
            let Some(fields) = fields else { continue };
            let common = common(&mut ctx, &fields, &task_name, &defaults, &dir, kind);
            if kind == "task" {
                let t = task(
                    &mut ctx,
                    &fields,
                    common,
                    &defaults,
                    &scheduler,
                    &mut warnings,
                );
                if let Some(t) = t {
                    tasks.insert(task_name, t);
                }
            } else if let Some(s) = service(&mut ctx, &fields, common) {
                services.insert(task_name, s);
            }
        }
    }

    // Every id written in a [[notifier]] counts as declared, even when that notifier has its
    // own errors, so a typo there is not reported again at every task that names it.
    let declared = sections::declared_notifier_ids(&root);
    let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
    sections::check_notifier_refs(&mut ctx, &root, &declared);

    let commons = tasks
        .values()
        .map(|t| ("task", &t.common))
        .chain(services.values().map(|s| ("service", &s.common)));
    for (kind, c) in commons {
        if c.graceful_stop > daemon.shutdown_timeout {
            warnings.push(format!(
                "{kind} {:?} has graceful_stop {} which is longer than [daemon] shutdown_timeout {}; daemon shutdown will kill it sooner",
                c.name.as_str(),
                super::units::format_duration(c.graceful_stop),
                super::units::format_duration(daemon.shutdown_timeout)
            ));
        }
    }

    if !ctx.errors.is_empty() {
        return Err(finish_errors(ctx));
    }
    Ok(Config {
        path: path.to_path_buf(),
        tasks,
        services,
        scheduler,
        daemon,
        storage,
        notify,
        notifiers,
        routes,
        warnings,
    })
}

fn finish_errors(ctx: Ctx<'_>) -> ConfigErrors {
    let mut errors = ctx.errors;
    errors.sort_by_key(|e| (e.line, e.column));
    errors.dedup();
    ConfigErrors(errors)
}

fn checked_name(
    ctx: &mut Ctx<'_>,
    name: &str,
    kind: &str,
    span: Range<usize>,
    path: &str,
) -> Option<TaskName> {
    match TaskName::parse(name) {
        Ok(n) => Some(n),
        Err(e) => {
            let shown = crate::engine::model::truncate_for_message(name);
            ctx.error(
                span,
                path,
                format!("{shown:?} is not a valid {kind} name: {e}"),
            );
            None
        }
    }
}

/// Resolves a zone name; `None` after recording an error.
pub(super) fn zone(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_, '_>,
    key: &str,
) -> Option<(TimeZone, String)> {
    let (name, span) = fields.string(ctx, key)?;
    match TimeZone::get(&name) {
        Ok(tz) => Some((tz, name)),
        Err(_) => {
            ctx.error(
                span,
                &fields.key_path(key),
                format!("unknown time zone {name:?} (use an IANA name such as \"Europe/Bratislava\" or \"UTC\")"),
            );
            None
        }
    }
}

fn common(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_, '_>,
    name: &TaskName,
    d: &Defaults,
    dir: &Path,
    kind: &str,
) -> Common {
    let run = match f.string(ctx, "run") {
        Some((run, span)) if run.trim().is_empty() => {
            ctx.error(span, &f.key_path("run"), "`run` cannot be empty");
            String::new()
        }
        Some((run, _)) => run,
        None => {
            if f.get("run").is_none() {
                ctx.error(
                    f.span.clone(),
                    &f.path,
                    format!("missing required key `run` (the shell command this {kind} runs)"),
                );
            }
            String::new()
        }
    };
    let mut env = BTreeMap::new();
    for (key, value, span) in f.string_table(ctx, "env").unwrap_or_default() {
        let path = join_path(&f.key_path("env"), &key);
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            let shown = crate::engine::model::truncate_for_message(&key);
            ctx.error(span, &path, format!("{shown:?} is not a valid environment variable name (use ASCII letters, digits and '_', not starting with a digit)"));
        } else if key.starts_with("RUNWISP_") {
            ctx.error(
                span,
                &path,
                "names starting with RUNWISP_ are reserved for runwisp itself; choose another name",
            );
        } else {
            env.insert(key, value);
        }
    }
    let working_dir = match f.string(ctx, "working_dir") {
        Some((w, span)) if w.trim().is_empty() => {
            ctx.error(
                span,
                &f.key_path("working_dir"),
                "`working_dir` cannot be empty",
            );
            dir.to_path_buf()
        }
        Some((w, span)) => match working_dir::resolve(&w, dir, working_dir::home) {
            Ok(path) => path,
            Err(message) => {
                ctx.error(span, &f.key_path("working_dir"), message);
                dir.to_path_buf()
            }
        },
        None => dir.to_path_buf(),
    };
    let default_group = if kind == "task" { "Tasks" } else { "Services" };
    Common {
        name: name.clone(),
        run,
        description: f
            .string(ctx, "description")
            .map(|(s, _)| s)
            .unwrap_or_default(),
        group: f
            .string(ctx, "group")
            .map(|(s, _)| s)
            .unwrap_or_else(|| default_group.to_string()),
        api_trigger: f.boolean(ctx, "api_trigger").unwrap_or(true),
        graceful_stop: f
            .duration(ctx, "graceful_stop", false)
            .or(d.graceful_stop)
            .unwrap_or(defaults::GRACEFUL_STOP),
        log_max_size: f
            .size(ctx, "log_max_size", true)
            .or(d.log_max_size)
            .unwrap_or(defaults::LOG_MAX_SIZE),
        log_on_full: f
            .choice(ctx, "log_on_full", LOG_ON_FULL)
            .or(d.log_on_full)
            .unwrap_or(LogOnFull::DropOld),
        keep_runs: f
            .integer(ctx, "keep_runs", 1, 1_000_000)
            .map(|v| v as u32)
            .or(d.keep_runs),
        keep_for: f.duration(ctx, "keep_for", true).or(d.keep_for),
        notify_on_failure: ids(f.string_list(ctx, "notify_on_failure")),
        notify_on_success: ids(f.string_list(ctx, "notify_on_success")),
        notify_after_retries: f.boolean(ctx, "notify_after_retries").unwrap_or(false),
        notify_after_failures: f
            .integer(ctx, "notify_after_failures", 1, 1_000_000)
            .map_or(1, |v| v as u32),
        env,
        working_dir,
    }
}

fn ids(list: Option<Vec<(String, Range<usize>)>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

fn task(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_, '_>,
    common: Common,
    d: &Defaults,
    scheduler: &super::Scheduler,
    warnings: &mut Vec<String>,
) -> Option<Task> {
    let known: Vec<&str> = COMMON_KEYS.iter().chain(TASK_KEYS).copied().collect();
    let rejected: Vec<(&str, String)> = SERVICE_KEYS
        .iter()
        .map(|k| (*k, format!("`{k}` {SERVICE_ONLY}")))
        .collect();
    let rejected: Vec<(&str, &str)> = rejected.iter().map(|(k, m)| (*k, m.as_str())).collect();
    f.check_keys(ctx, &known, &rejected);

    let cron = f.string(ctx, "cron").and_then(|(expr, span)| {
        Schedule::parse(&expr)
            .map_err(|e| ctx.error(span, &f.key_path("cron"), e))
            .ok()
    });
    let (timezone, timezone_name) = zone(ctx, f, "timezone")
        .unwrap_or_else(|| (scheduler.timezone.clone(), scheduler.timezone_name.clone()));
    let restart = match f.string(ctx, "restart") {
        Some((s, span)) => match s.as_str() {
            "never" => Restart::Never,
            "on_failure" => Restart::OnFailure,
            "always" => {
                ctx.error(span, &f.key_path("restart"), "restart = \"always\" is not allowed on tasks; use [services.NAME] for a process that must stay alive");
                Restart::Never
            }
            other => {
                ctx.error(
                    span,
                    &f.key_path("restart"),
                    format!("{other:?} is not one of \"never\", \"on_failure\""),
                );
                Restart::Never
            }
        },
        None => Restart::Never,
    };
    let retry_attempts = f.integer(ctx, "retry_attempts", 0, 100).unwrap_or(0) as u32;
    if restart == Restart::OnFailure && retry_attempts > 0 {
        let span = f.get("restart").map(|v| v.span()).unwrap_or(f.span.clone());
        ctx.error(span, &f.key_path("restart"), "restart = \"on_failure\" cannot be combined with retry_attempts > 0; choose one of them");
    }
    if !common.api_trigger && cron.is_none() {
        warnings.push(format!(
            "task {:?} has api_trigger = false and no cron, so it can never run",
            common.name.as_str()
        ));
    }
    Some(Task {
        cron,
        timezone,
        timezone_name,
        catch_up: f
            .choice(
                ctx,
                "catch_up",
                &[
                    ("latest", CatchUp::Latest),
                    ("all", CatchUp::All),
                    ("skip", CatchUp::Skip),
                ],
            )
            .unwrap_or(CatchUp::Latest),
        max_catch_up_runs: f
            .integer(ctx, "max_catch_up_runs", 1, 1_000_000)
            .unwrap_or(100) as u32,
        max_concurrent: f.integer(ctx, "max_concurrent", 1, 1024).unwrap_or(1) as u32,
        on_overlap: f
            .choice(
                ctx,
                "on_overlap",
                &[
                    ("queue", OnOverlap::Queue),
                    ("skip", OnOverlap::Skip),
                    ("terminate", OnOverlap::Terminate),
                ],
            )
            .unwrap_or(OnOverlap::Queue),
        queue_max: f.integer(ctx, "queue_max", 1, 10_000).unwrap_or(100) as u32,
        retry_attempts,
        retry_delay: f
            .duration(ctx, "retry_delay", true)
            .unwrap_or(defaults::RETRY_DELAY),
        retry_backoff: f
            .choice(ctx, "retry_backoff", BACKOFF)
            .unwrap_or(Backoff::Constant),
        restart,
        timeout: f.duration(ctx, "timeout", true).or(d.timeout),
        common,
    })
}

fn service(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, common: Common) -> Option<Service> {
    let known: Vec<&str> = COMMON_KEYS.iter().chain(SERVICE_KEYS).copied().collect();
    let rejected: Vec<(&str, String)> = TASK_KEYS
        .iter()
        .map(|k| (*k, format!("`{k}` {TASK_ONLY}")))
        .collect();
    let rejected: Vec<(&str, &str)> = rejected.iter().map(|(k, m)| (*k, m.as_str())).collect();
    f.check_keys(ctx, &known, &rejected);
    Some(Service {
        instances: f.integer(ctx, "instances", 1, 64).unwrap_or(1) as u32,
        restart_delay: f
            .duration(ctx, "restart_delay", true)
            .unwrap_or(defaults::RESTART_DELAY),
        restart_backoff: f
            .choice(ctx, "restart_backoff", BACKOFF)
            .unwrap_or(Backoff::Exponential),
        backoff_reset_after: f
            .duration(ctx, "backoff_reset_after", true)
            .unwrap_or(defaults::BACKOFF_RESET_AFTER),
        common,
    })
}
