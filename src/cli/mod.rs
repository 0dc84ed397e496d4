//! The command line (`product.md` §8): clap definitions here, one file per command. Every
//! command returns its exit code or an error, printed as one sentence on stderr.
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

mod cron;
mod daemon;
mod daemon_log;
mod exec;
mod follow;
mod init;
mod list;
mod logs;
mod remote;
mod run_task;
mod runs;
mod status;
mod table;
mod tui;
mod validate;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::engine::config::{self, Config, LoadError};

#[derive(Debug, Parser)]
#[command(
    name = "runwisp",
    version,
    about = "Runs tasks on schedules and on demand, keeps services alive, records every run."
)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        short = 'c',
        long,
        global = true,
        env = "RUNWISP_CONFIG",
        default_value = "runwisp.toml"
    )]
    pub config: PathBuf,
    /// The data directory (run history, logs, lock) [default: `data` beside the configuration
    /// file].
    #[arg(
        long = "data",
        global = true,
        env = "RUNWISP_DATA",
        value_name = "DATA"
    )]
    data_arg: Option<PathBuf>,
    /// The data directory in use: `--data`, else `data/` beside the configuration file, so the
    /// same configuration started from any working directory finds the same history, lock
    /// and daemon (and never runs a second scheduler).
    #[arg(skip)]
    pub data: PathBuf,
    /// Run the daemon in the foreground (for systemd and containers).
    #[arg(long)]
    pub headless: bool,
    /// The address the daemon listens on (overrides [daemon] listen).
    #[arg(long, global = true, env = "RUNWISP_HOST")]
    pub host: Option<String>,
    /// The port the daemon listens on (overrides [daemon] listen).
    #[arg(long, global = true, env = "RUNWISP_PORT")]
    pub port: Option<u16>,
    /// A remote daemon to talk to (http://host:port).
    #[arg(long, global = true, env = "RUNWISP_URL")]
    pub url: Option<String>,
    /// The daemon's password (for --url; a local daemon's is read from the data directory).
    #[arg(long, global = true, env = "RUNWISP_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The terminal UI's theme: dark, light, high-contrast, ansi16, or a theme file.
    #[arg(long, global = true, env = "RUNWISP_THEME", default_value = "dark")]
    pub theme: String,
    /// The terminal UI's keymap: vim, emacs, or a file laid over the default.
    #[arg(long, global = true, env = "RUNWISP_KEYMAP")]
    pub keymap: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (the same as --headless).
    Daemon,
    /// Run a task now, stream its output, exit with its exit code (through the daemon when one
    /// runs for this data directory, else in this process).
    Exec {
        /// The task to run.
        task: String,
        /// Run in this process, never through a daemon (refused while one runs here).
        #[arg(long)]
        standalone: bool,
    },
    /// Ask the running daemon to trigger a task.
    RunTask {
        task: String,
        /// Follow the run and exit with its exit code.
        #[arg(long)]
        wait: bool,
    },
    /// Is a daemon healthy here (or at --url)?
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Print the local daemon's password.
    Password,
    /// Print the OpenAPI document of the REST API.
    Openapi,
    /// Attach the terminal UI to a running daemon (local, or remote with --url).
    Tui,
    /// List tasks and services with their schedule and next firing.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show run history, newest first.
    Runs {
        /// Only the runs of this task.
        task: Option<String>,
        /// How many runs to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Print the log of a run.
    Logs {
        /// The run id (a ULID, as shown by `runwisp runs`), or a unique prefix or suffix of at
        /// least 4 characters of it (the terminal UI shows the last 4).
        run_id: String,
        /// Keep following the log until the run ends (through the daemon).
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Check the configuration and print every error.
    Validate,
    /// Write the starter runwisp.toml.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the next firings of a cron expression.
    Cron {
        /// A five-field expression or a macro such as @daily or "@every 10m".
        expr: String,
        /// The IANA time zone to read it in (default: the host's zone).
        #[arg(long)]
        tz: Option<String>,
        /// Start after this RFC 3339 instant (default: now).
        #[arg(long)]
        from: Option<String>,
        /// How many firings.
        #[arg(short = 'n', default_value_t = 5)]
        count: usize,
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, runs the command, and returns the process exit code.
pub fn run() -> i32 {
    let mut cli = match Cli::try_parse() {
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
    cli.data = data_dir(cli.data_arg.as_deref(), &cli.config);
    let printing = matches!(
        cli.command,
        Some(
            Command::List { .. }
                | Command::Runs { .. }
                | Command::Logs { follow: false, .. }
                | Command::Validate
                | Command::Cron { .. }
                | Command::Openapi
                | Command::Password
                | Command::Status { .. }
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
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    match &cli.command {
        None if cli.headless => daemon::run(cli),
        None => tui::start(cli),
        Some(Command::Tui) => tui::attach_only(cli),
        Some(Command::Daemon) => daemon::run(cli),
        Some(Command::Exec { task, standalone }) => exec::run(cli, task, *standalone),
        Some(Command::RunTask { task, wait }) => run_task::run(cli, task, *wait),
        Some(Command::Status { json }) => status::run(cli, *json),
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
        Some(Command::List { json }) => list::run(cli, *json),
        Some(Command::Runs { task, limit, json }) => runs::run(cli, task.as_deref(), *limit, *json),
        Some(Command::Logs { run_id, follow }) => logs::run(cli, run_id, *follow),
        Some(Command::Validate) => validate::run(cli),
        Some(Command::Init { force }) => init::run(cli, *force),
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
