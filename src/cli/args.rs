//! The command line's clap definitions, and [`Cli::parse_args`], which resolves them into the
//! fields the commands read (`cli.url`, `cli.host`, `cli.theme`, …).
//!
//! Only `--config/-c` and `--data` are global. Every other option sits on the commands it
//! applies to, so `runwisp runs --help` shows what `runs` takes and nothing else. Bare
//! `runwisp` (and `--headless`) takes the options of the terminal UI and of the daemon it
//! starts; given before a subcommand they still work for the subcommands that take them
//! (`runwisp --url URL runs`), and are refused, naming the subcommand, for the others.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use super::completions::Shell;
use super::options::{ListenArgs, LookArgs, RemoteArgs, DEFAULT_THEME};

/// The command line. Build it with [`Cli::parse_args`]: the fields marked `skip` (the data
/// directory and the options in force) are filled there, not by clap.
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
    #[arg(long = "data", global = true, env = "RUNWISP_DATA", value_name = "DIR")]
    data_arg: Option<PathBuf>,
    /// The data directory in use: `--data`, else `data/` beside the configuration file, so the
    /// same configuration started from any working directory finds the same history, lock
    /// and daemon (and never runs a second scheduler).
    #[arg(skip)]
    pub data: PathBuf,
    /// Run the daemon in the foreground (for systemd and containers).
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    top_listen: ListenArgs,
    #[command(flatten)]
    top_remote: RemoteArgs,
    #[command(flatten)]
    top_look: LookArgs,
    // The options in force: the subcommand's own when given there, else the ones given before
    // it (or their environment variables).
    #[arg(skip)]
    pub host: Option<String>,
    #[arg(skip)]
    pub port: Option<u16>,
    #[arg(skip)]
    pub url: Option<String>,
    #[arg(skip)]
    pub password: Option<String>,
    /// `--ca`, `--client-cert` and `--client-key` in force.
    #[arg(skip)]
    pub ca: Option<PathBuf>,
    #[arg(skip)]
    pub client_cert: Option<PathBuf>,
    #[arg(skip)]
    pub client_key: Option<PathBuf>,
    #[arg(skip)]
    pub theme: String,
    #[arg(skip)]
    pub keymap: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (the same as --headless).
    Daemon {
        #[command(flatten)]
        listen: ListenArgs,
    },
    /// Run a task now, stream its output, exit with its exit code (through the daemon when one
    /// runs for this data directory, else in this process).
    Exec {
        /// The task to run.
        task: String,
        /// Run in this process, never through a daemon (refused while one runs here).
        #[arg(long)]
        standalone: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Ask the running daemon to trigger a task.
    RunTask {
        /// The task to trigger.
        task: String,
        /// Follow the run and exit with its exit code.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Stop every active and queued run of a task, every replica of a service (it stays
    /// stopped until `runwisp restart`), or one run.
    Stop {
        /// A task or service name, or a run id (or a unique prefix or suffix of at least 4
        /// characters of it, as `runwisp logs` takes).
        #[arg(value_name = "TASK|RUN_ID")]
        target: String,
        /// Print the daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Replace every replica of a service (and start one stopped with `runwisp stop`).
    Restart {
        /// The service to restart.
        service: String,
        /// Print the daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Read runwisp.toml again and put it in force, without stopping anything else (as SIGHUP
    /// does); a file with errors changes nothing and they are printed.
    Reload {
        /// Print the daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Resume a pipeline run that failed, timed out, was interrupted or crashed: a new run
    /// that skips every step that succeeded (through the daemon).
    Resume {
        /// The pipeline run (its id, or a unique prefix or suffix of at least 4 characters).
        run_id: String,
        /// Follow the new run and exit 0 only when it succeeds.
        #[arg(long)]
        wait: bool,
        /// Print the new run as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Is a daemon healthy here (or at --url)?
    Status {
        /// Print the daemon's health and details as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Print the local daemon's password.
    Password,
    /// Print the OpenAPI document of the REST API.
    Openapi,
    /// Print the JSON Schema of runwisp.toml, for editors (`runwisp init` writes it too).
    Schema,
    /// Print the shell completion script for bash, zsh or fish.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff; `runwisp man | man -l -`).
    Man,
    /// Attach the terminal UI to a running daemon (local, or remote with --url).
    Tui {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        look: LookArgs,
    },
    /// List tasks and services with their schedule and next firing (from runwisp.toml, or
    /// what a daemon reports with --url).
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
        /// List what a daemon reports: the one at URL, or without a value the one running for
        /// this data directory.
        #[arg(long, env = "RUNWISP_URL", value_name = "URL", num_args = 0..=1)]
        url: Option<Option<String>>,
        /// The daemon's password (for --url URL; a local daemon's is read from the data
        /// directory).
        #[arg(long, env = "RUNWISP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Show run history, newest first.
    Runs {
        /// Only the runs of this task (with --tree: the pipeline run to show).
        #[arg(value_name = "TASK|RUN_ID")]
        task: Option<String>,
        /// Show pipeline run RUN_ID as a tree of its steps, with their states and durations.
        #[arg(long)]
        tree: bool,
        /// How many runs to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: u32,
        /// Print the runs as JSON (the API's run objects).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Print the log of a run.
    Logs {
        /// The run id (a ULID, as shown by `runwisp runs`), or a unique prefix or suffix of at
        /// least 4 characters of it (the terminal UI shows the last 4).
        run_id: String,
        /// Keep following the log until the run ends (through the daemon).
        #[arg(short = 'f', long)]
        follow: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Show the daemon's in-app notifications, newest first.
    Notifications {
        /// Only the unread ones.
        #[arg(long)]
        unread: bool,
        /// Print the page as JSON (the API's notification objects).
        #[arg(long)]
        json: bool,
        /// How many notifications to show (1 to 1000).
        #[arg(short = 'n', long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Work with the daemon's notifiers.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// Check the configuration and print every error.
    Validate,
    /// Run the daemon as a systemd service: install, uninstall, status.
    Service {
        #[command(subcommand)]
        action: super::service::ServiceAction,
    },
    /// Scoped tokens for CI: create (printed once), list, revoke.
    Token {
        #[command(subcommand)]
        action: super::token::TokenAction,
    },
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
        /// Print the firings as a JSON array of RFC 3339 instants.
        #[arg(long)]
        json: bool,
    },
}

/// What `runwisp notify` does.
#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send a test message through one notifier via the daemon and print the channel's answer;
    /// exit 1 unless it was delivered.
    Test {
        /// The notifier's id, as in its [[notifier]] table.
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

impl Command {
    /// The remote options of a command that talks to a daemon.
    fn remote(&self) -> Option<&RemoteArgs> {
        match self {
            Command::Tui { remote, .. }
            | Command::Exec { remote, .. }
            | Command::RunTask { remote, .. }
            | Command::Stop { remote, .. }
            | Command::Restart { remote, .. }
            | Command::Reload { remote, .. }
            | Command::Resume { remote, .. }
            | Command::Status { remote, .. }
            | Command::Runs { remote, .. }
            | Command::Logs { remote, .. }
            | Command::Notifications { remote, .. }
            | Command::Notify {
                action: NotifyAction::Test { remote, .. },
            } => Some(remote),
            Command::Token { action } => Some(action.remote()),
            _ => None,
        }
    }
}

/// Which groups of options a command takes: (listen, remote, look).
fn takes(command: Option<&Command>) -> (bool, bool, bool) {
    match command {
        None => (true, true, true),
        Some(Command::Daemon { .. }) => (true, false, false),
        Some(Command::Tui { .. }) => (false, true, true),
        Some(
            Command::Exec { .. }
            | Command::RunTask { .. }
            | Command::Stop { .. }
            | Command::Restart { .. }
            | Command::Reload { .. }
            | Command::Resume { .. }
            | Command::Status { .. }
            | Command::List { .. }
            | Command::Runs { .. }
            | Command::Logs { .. }
            | Command::Notifications { .. }
            | Command::Notify { .. }
            | Command::Token { .. },
        ) => (false, true, false),
        Some(_) => (false, false, false),
    }
}

/// The command's own option if given, else the one given before it.
fn pick<T: Clone>(own: Option<&T>, top: &Option<T>) -> Option<T> {
    own.cloned().or_else(|| top.clone())
}

impl Cli {
    /// Parses `args` (the program name first) and resolves the options in force. A usage
    /// mistake is a clap error (help and version are "errors" too, printed by the caller).
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        cli.refuse_misplaced(&matches)
            .map_err(|e| e.format(&mut command))?;
        cli.resolve();
        Ok(cli)
    }

    /// An option given before a subcommand that does not take it is a usage mistake, not
    /// something to ignore silently.
    fn refuse_misplaced(&self, matches: &ArgMatches) -> Result<(), clap::Error> {
        let Some(name) = matches.subcommand_name() else {
            return Ok(());
        };
        let (listen, remote, look) = takes(self.command.as_ref());
        let groups = [
            (listen, &["host", "port"][..]),
            (
                remote,
                &["url", "password", "ca", "client_cert", "client_key"][..],
            ),
            (look, &["theme", "keymap"]),
        ];
        for (taken, ids) in groups {
            for &id in ids {
                if !taken && matches.value_source(id) == Some(ValueSource::CommandLine) {
                    return Err(clap::Error::raw(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!(
                            "--{} does not apply to `runwisp {name}`; see `runwisp {name} --help`",
                            id.replace('_', "-")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Fills the fields the commands read: the data directory, and each option from the
    /// subcommand when it was given there, else from before it (or its environment variable).
    fn resolve(&mut self) {
        self.data = super::data_dir(self.data_arg.as_deref(), &self.config);
        let none = (None, None, None);
        let (listen, remote, look) = match &self.command {
            Some(Command::Daemon { listen }) => (Some(listen), None, None),
            Some(Command::Tui { remote, look }) => (None, Some(remote), Some(look)),
            Some(command) => (None, command.remote(), None),
            None => none,
        };
        self.host = pick(listen.and_then(|l| l.host.as_ref()), &self.top_listen.host);
        self.port = pick(listen.and_then(|l| l.port.as_ref()), &self.top_listen.port);
        self.url = pick(remote.and_then(|r| r.url.as_ref()), &self.top_remote.url);
        self.password = pick(
            remote.and_then(|r| r.password.as_ref()),
            &self.top_remote.password,
        );
        self.ca = pick(remote.and_then(|r| r.ca.as_ref()), &self.top_remote.ca);
        self.client_cert = pick(
            remote.and_then(|r| r.client_cert.as_ref()),
            &self.top_remote.client_cert,
        );
        self.client_key = pick(
            remote.and_then(|r| r.client_key.as_ref()),
            &self.top_remote.client_key,
        );
        self.theme = pick(look.and_then(|l| l.theme.as_ref()), &self.top_look.theme)
            .unwrap_or_else(|| DEFAULT_THEME.to_string());
        self.keymap = pick(look.and_then(|l| l.keymap.as_ref()), &self.top_look.keymap);
        if let Some(Command::List { url, password, .. }) = &self.command {
            self.url = pick(url.as_ref().and_then(Option::as_ref), &self.top_remote.url);
            self.password = pick(password.as_ref(), &self.top_remote.password);
        }
    }

    /// `list` asked a daemon: `--url` (with or without a value) or `RUNWISP_URL`.
    pub fn list_from_daemon(&self) -> bool {
        match &self.command {
            Some(Command::List { url, .. }) => url.is_some() || self.url.is_some(),
            _ => false,
        }
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
