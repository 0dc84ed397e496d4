//! Reading `runwisp.toml`: syntax errors first, then every table checked and every problem
//! collected, so a user sees all errors of a file at once. Tasks and services are read here;
//! the other sections in `sections.rs`, `[[notifier]]` in `notifiers.rs`. Which keys each table
//! takes, with their ranges and choices, is the data of `keys/`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use jiff::tz::TimeZone;
use toml::de::DeTable;

use super::errors::{ConfigErrors, LoadError, SourceMap};
use super::fields::{join_path, Ctx, Fields};
use super::keys::{self, Key};
use super::notifiers;
use super::pipeline;
use super::sections::{self, Defaults};
use super::{
    defaults, Backoff, CatchUp, Common, Config, LogOnFull, OnOverlap, Restart, Service, Task,
};
use crate::engine::model::TaskName;
use crate::engine::schedule::Schedule;

mod working_dir;

const SERVICE_ONLY: &str = "is a services-only key; a task runs once per firing (use [services.NAME] to keep a process alive)";
const TASK_ONLY: &str = "is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)";

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
    root.check_table(&mut ctx, &[keys::TOP], &[]);

    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let defaults = sections::defaults(&mut ctx, &root);
    let scheduler = sections::scheduler(&mut ctx, &root);
    let daemon = sections::daemon(&mut ctx, &root, &dir);
    let storage = sections::storage(&mut ctx, &root);
    let notify = sections::notify(&mut ctx, &root);
    let notifiers = notifiers::notifiers(&mut ctx, &root, &dir);
    let routes = sections::routes(&mut ctx, &root);

    let mut warnings = Vec::new();
    let mut tasks = BTreeMap::new();
    let mut services = BTreeMap::new();
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    let mut unresolved = pipeline::Unresolved::default();
    for (table, kind) in [
        ("tasks", "task"),
        ("services", "service"),
        ("pipelines", "pipeline"),
    ] {
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
                    format!("the name {name:?} is used by both a {other} and a {kind}; tasks, services and pipelines share one namespace"),
                );
                continue;
            }
            let Some(fields) = fields else { continue };
            let common = common(&mut ctx, &fields, &task_name, &defaults, &dir, kind);
            if kind == "pipeline" {
                pipeline::check_keys(&mut ctx, &fields);
                let t = task(&mut ctx, &fields, common, &dir, &defaults, &scheduler, None);
                if let Some(t) = t {
                    let t = pipeline::read(
                        &mut ctx,
                        &fields,
                        &task_name,
                        key_span.clone(),
                        t,
                        &mut unresolved,
                    );
                    tasks.insert(task_name, t);
                }
            } else if kind == "task" {
                check_kind_keys(
                    &mut ctx,
                    &fields,
                    &[keys::COMMON, keys::TASK],
                    keys::SERVICE,
                    SERVICE_ONLY,
                );
                let t = task(
                    &mut ctx,
                    &fields,
                    common,
                    &dir,
                    &defaults,
                    &scheduler,
                    Some(&mut warnings),
                );
                if let Some(t) = t {
                    tasks.insert(task_name, t);
                }
            } else if let Some(s) = service(&mut ctx, &fields, common) {
                services.insert(task_name, s);
            }
        }
    }

    pipeline::resolve(&mut ctx, &mut tasks, &services, unresolved);

    // Every id written in a [[notifier]] counts as declared, even when that notifier has its
    // own errors, so a typo there is not reported again at every task that names it.
    let declared = sections::declared_notifier_ids(&root);
    let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
    sections::check_notifier_refs(&mut ctx, &root, &declared);

    let commons = tasks
        .values()
        .filter(|t| !t.is_pipeline())
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

    if daemon.tls.as_ref().is_some_and(|t| t.client_ca.is_some()) {
        let hooked: Vec<&str> = tasks
            .iter()
            .filter(|(_, t)| t.webhook.is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        if !hooked.is_empty() {
            warnings.push(format!(
                "[daemon] client_ca is set, so every connection needs a client certificate, but code hosts present none: the webhooks of {} will be refused in the TLS handshake",
                hooked.join(", ")
            ));
        }
    }

    if !ctx.errors.is_empty() {
        return Err(finish_errors(ctx));
    }
    Ok(Config {
        path: path.to_path_buf(),
        digest: digest(text),
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

/// What identifies a file's content: the SHA-256 of its text, in hex.
pub fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
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
        // A pipeline runs its steps; `run` is refused by its key check.
        _ if kind == "pipeline" => String::new(),
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
    let default_group = match kind {
        "task" => "Tasks",
        "pipeline" => "Pipelines",
        _ => "Services",
    };
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
            .key_duration(ctx, &keys::GRACEFUL_STOP)
            .or(d.graceful_stop)
            .unwrap_or(defaults::GRACEFUL_STOP),
        log_max_size: f
            .key_size(ctx, &keys::LOG_MAX_SIZE)
            .or(d.log_max_size)
            .unwrap_or(defaults::LOG_MAX_SIZE),
        log_on_full: f
            .key_choice(ctx, &keys::LOG_ON_FULL_KEY, keys::LOG_ON_FULL)
            .or(d.log_on_full)
            .unwrap_or(LogOnFull::DropOld),
        keep_runs: f
            .key_integer(ctx, &keys::KEEP_RUNS)
            .map(|v| v as u32)
            .or(d.keep_runs),
        keep_for: f.key_duration(ctx, &keys::KEEP_FOR).or(d.keep_for),
        notify_on_failure: ids(f.string_list(ctx, "notify_on_failure")),
        notify_on_success: ids(f.string_list(ctx, "notify_on_success")),
        notify_after_retries: f.boolean(ctx, "notify_after_retries").unwrap_or(false),
        notify_after_failures: f
            .key_integer(ctx, &keys::NOTIFY_AFTER_FAILURES)
            .map_or(1, |v| v as u32),
        env,
        working_dir,
    }
}

/// The keys of a task or a service: `own` are known, `other` (the other kind's) rejected with
/// `why`.
fn check_kind_keys(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_, '_>,
    own: &[&[Key]],
    other: &[Key],
    why: &str,
) {
    let rejected: Vec<(&str, String)> = other
        .iter()
        .map(|k| (k.name, format!("`{}` {why}", k.name)))
        .collect();
    let rejected: Vec<(&str, &str)> = rejected.iter().map(|(k, m)| (*k, m.as_str())).collect();
    f.check_table(ctx, own, &rejected);
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
    dir: &Path,
    d: &Defaults,
    scheduler: &super::Scheduler,
    warnings: Option<&mut Vec<String>>,
) -> Option<Task> {
    let cron = f.string(ctx, "cron").and_then(|(expr, span)| {
        Schedule::parse(&expr)
            .map_err(|e| ctx.error(span, &f.key_path("cron"), e))
            .ok()
    });
    let (timezone, timezone_name) = zone(ctx, f, "timezone")
        .unwrap_or_else(|| (scheduler.timezone.clone(), scheduler.timezone_name.clone()));
    // `always` gets its own explanation; the other spellings are the table's.
    let always = f.get("restart").and_then(|v| {
        let span = v.span();
        (v.get_ref().as_str() == Some("always")).then_some(span)
    });
    let restart = match always {
        Some(span) => {
            ctx.error(span, &f.key_path("restart"), "restart = \"always\" is not allowed on tasks; use [services.NAME] for a process that must stay alive");
            Restart::Never
        }
        None => f
            .key_choice(ctx, &keys::RESTART_KEY, keys::RESTART)
            .unwrap_or(Restart::Never),
    };
    let retry_attempts = f.key_integer(ctx, &keys::RETRY_ATTEMPTS).unwrap_or(0) as u32;
    if restart == Restart::OnFailure && retry_attempts > 0 {
        let span = f.get("restart").map(|v| v.span()).unwrap_or(f.span.clone());
        ctx.error(span, &f.key_path("restart"), "restart = \"on_failure\" cannot be combined with retry_attempts > 0; choose one of them");
    }
    let webhook = super::webhook::webhook(ctx, f, common.api_trigger, dir);
    // (A pipeline without either may still run as another pipeline's step.)
    if let (false, None, Some(warnings)) = (common.api_trigger, &cron, warnings) {
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
            .key_choice(ctx, &keys::CATCH_UP_KEY, keys::CATCH_UP)
            .unwrap_or(CatchUp::Latest),
        max_catch_up_runs: f.key_integer(ctx, &keys::MAX_CATCH_UP_RUNS).unwrap_or(100) as u32,
        max_concurrent: f.key_integer(ctx, &keys::MAX_CONCURRENT).unwrap_or(1) as u32,
        on_overlap: f
            .key_choice(ctx, &keys::ON_OVERLAP_KEY, keys::ON_OVERLAP)
            .unwrap_or(OnOverlap::Queue),
        queue_max: f.key_integer(ctx, &keys::QUEUE_MAX).unwrap_or(100) as u32,
        retry_attempts,
        retry_delay: f
            .key_duration(ctx, &keys::RETRY_DELAY)
            .unwrap_or(defaults::RETRY_DELAY),
        retry_backoff: f
            .key_choice(ctx, &keys::RETRY_BACKOFF, keys::BACKOFF)
            .unwrap_or(Backoff::Constant),
        restart,
        timeout: f.key_duration(ctx, &keys::TIMEOUT).or(d.timeout),
        webhook,
        pipeline: None,
        common,
    })
}

fn service(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, common: Common) -> Option<Service> {
    check_kind_keys(
        ctx,
        f,
        &[keys::COMMON, keys::SERVICE],
        keys::TASK,
        TASK_ONLY,
    );
    Some(Service {
        instances: f.key_integer(ctx, &keys::INSTANCES).unwrap_or(1) as u32,
        restart_delay: f
            .key_duration(ctx, &keys::RESTART_DELAY)
            .unwrap_or(defaults::RESTART_DELAY),
        restart_backoff: f
            .key_choice(ctx, &keys::RESTART_BACKOFF, keys::BACKOFF)
            .unwrap_or(Backoff::Exponential),
        backoff_reset_after: f
            .key_duration(ctx, &keys::BACKOFF_RESET_AFTER)
            .unwrap_or(defaults::BACKOFF_RESET_AFTER),
        common,
    })
}
