//! The command line (`product.md` §8): clap definitions in `args.rs`, one file per command,
//! the dispatch here. Every command returns its exit code or an error, printed as one sentence
//! on stderr.
//!
//! Exit codes: 0 ok; 1 error (config, refused, not found); 2 the listen port is in use; `exec`
//! returns the task's own exit code. Usage mistakes exit 1 too, so 2 keeps its one meaning.

/// `eprintln!` that never panics: a closed stderr must not turn a finished run into a crash.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod completions;
mod cron;
mod daemon;
mod daemon_log;
mod exec;
mod follow;
mod init;
mod list;
mod logs;
mod notifications;
mod notify;
mod options;
mod reload;
mod remote;
mod restart;
mod resume;
mod run_task;
mod runs;
mod schema;
mod service;
mod start;
mod status;
mod stop;
mod table;
mod token;
mod tree;
mod tui;
mod validate;

use std::path::{Path, PathBuf};

pub use args::{Cli, Command, NotifyAction};

use crate::engine::config::{self, Config, LoadError};

/// Parses the command line, runs the command, and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            return code;
        }
    };
    let printing = matches!(
        cli.command,
        Some(
            Command::List { .. }
                | Command::Runs { .. }
                | Command::Notifications { .. }
                | Command::Notify { .. }
                | Command::Logs { follow: false, .. }
                | Command::Validate
                | Command::Cron { .. }
                | Command::Openapi
                | Command::Schema
                | Command::Completions { .. }
                | Command::Man
                | Command::Password
                | Command::Status { .. }
                | Command::Service { .. }
                | Command::Token { .. }
        )
    );
    if printing {
        restore_sigpipe();
    }
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            say!("runwisp: {e:#}");
            1
        }
    }
}

/// The data directory: as given, else `data` beside the configuration file.
pub fn data_dir(given: Option<&Path>, config: &Path) -> PathBuf {
    match given {
        Some(dir) => dir.to_path_buf(),
        None => config.parent().unwrap_or(Path::new("")).join("data"),
    }
}

/// Rust ignores SIGPIPE, so `runwisp runs | head` would fail on a closed pipe; commands that only
/// print take the default (end quietly) like other Unix tools. Everything else keeps ignoring
/// it: a closed terminal or log pipe must never kill the daemon, a run being recorded, or the
/// terminal UI.
fn restore_sigpipe() {
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    crate::client::tls::configure(&crate::client::tls::Options {
        ca: cli.ca.as_deref(),
        client_cert: cli.client_cert.as_deref(),
        client_key: cli.client_key.as_deref(),
    })
    .map_err(anyhow::Error::msg)?;
    match &cli.command {
        None if cli.headless => daemon::run(cli),
        None => start::run(cli),
        Some(Command::Tui { .. }) => tui::attach_only(cli),
        Some(Command::Daemon { .. }) => daemon::run(cli),
        Some(Command::Exec {
            task, standalone, ..
        }) => exec::run(cli, task, *standalone),
        Some(Command::RunTask { task, wait, .. }) => run_task::run(cli, task, *wait),
        Some(Command::Stop { target, json, .. }) => stop::run(cli, target, *json),
        Some(Command::Restart { service, json, .. }) => restart::run(cli, service, *json),
        Some(Command::Reload { json, .. }) => reload::run(cli, *json),
        Some(Command::Resume {
            run_id, wait, json, ..
        }) => resume::run(cli, run_id, *wait, *json),
        Some(Command::Completions { shell }) => completions::completions(*shell),
        Some(Command::Man) => completions::man(),
        Some(Command::Status { json, .. }) => status::run(cli, *json),
        Some(Command::Password) => {
            println!("{}", remote::password(cli)?);
            Ok(0)
        }
        Some(Command::Openapi) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::server::openapi::build())?
            );
            Ok(0)
        }
        Some(Command::Schema) => schema::run(),
        Some(Command::List { json, .. }) => list::run(cli, *json, cli.list_from_daemon()),
        Some(Command::Runs {
            task: Some(run_id),
            tree: true,
            json,
            ..
        }) => tree::run(cli, run_id, *json),
        Some(Command::Runs { tree: true, .. }) => {
            anyhow::bail!(
                "--tree shows one pipeline run: give its id (`runwisp runs RUN_ID --tree`)"
            )
        }
        Some(Command::Runs {
            task, limit, json, ..
        }) => runs::run(cli, task.as_deref(), *limit, *json),
        Some(Command::Logs { run_id, follow, .. }) => logs::run(cli, run_id, *follow),
        Some(Command::Notifications {
            unread,
            json,
            limit,
            ..
        }) => notifications::run(cli, *unread, *json, *limit),
        Some(Command::Notify {
            action: NotifyAction::Test { id, .. },
        }) => notify::test(cli, id),
        Some(Command::Validate) => validate::run(cli),
        Some(Command::Init { force }) => init::run(cli, *force),
        Some(Command::Service { action }) => service::run(cli, action),
        Some(Command::Token { action }) => token::run(cli, action),
        Some(Command::Cron {
            expr,
            tz,
            from,
            count,
            json,
        }) => cron::run(expr, tz.as_deref(), from.as_deref(), *count, *json),
    }
}

/// Loads the configuration, printing every error on failure. `Ok(None)` means errors were
/// printed and the command should exit 1.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Option<Config>> {
    match config::load_file(path) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("runwisp: warning: {warning}");
            }
            Ok(Some(config))
        }
        Err(LoadError::Invalid(errors)) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            let n = errors.0.len();
            eprintln!(
                "runwisp: {} has {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            Ok(None)
        }
        Err(e @ LoadError::Read { .. }) => {
            if !path.exists() {
                anyhow::bail!(
                    "there is no {}; create one with `runwisp init`",
                    path.display()
                );
            }
            Err(e.into())
        }
    }
}
