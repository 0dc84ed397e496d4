//! `runwisp service install|uninstall|status` (operations §3): runwisp as a systemd service.
//! `install` writes `runwisp.service` (the system's, or with `--user` the user's) running this
//! binary `--headless` for this configuration and data directory, then `daemon-reload` and
//! `enable --now`; `uninstall` undoes it; `status` is `systemctl status runwisp`. `--dry-run`
//! prints the unit on stdout and the commands on stderr, and changes nothing.
//!
//! The unit's text comes from [`unit_text`], a pure function of [`UnitSpec`]. It sets no
//! sandboxing option: what tasks may do on the host is the operator's call.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{load_config, Cli};
use crate::engine::datadir::DataDir;

mod unit;

use unit::{unit_text, UnitSpec};

/// What `runwisp service` does.
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Write runwisp.service for this configuration and data directory, then enable and start
    /// it (systemctl daemon-reload, enable --now runwisp).
    Install {
        /// Your own user's service (~/.config/systemd/user), not the system's.
        #[arg(long)]
        user: bool,
        /// Print the unit and the commands it would run; write and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop and disable the service, remove its unit, daemon-reload.
    Uninstall {
        /// Your own user's service, not the system's.
        #[arg(long)]
        user: bool,
        /// Print what it would do; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the service's state (systemctl status runwisp).
    Status {
        /// Your own user's service, not the system's.
        #[arg(long)]
        user: bool,
    },
}

/// The unit's name, whichever configuration it runs.
pub const UNIT: &str = "runwisp.service";
/// Where system units written by an administrator live.
const SYSTEM_UNIT_DIR: &str = "/etc/systemd/system";

/// The system's service manager, or the user's (`--user`).
#[derive(Debug, Clone, Copy)]
struct Scope {
    user: bool,
}

impl Scope {
    fn name(self) -> &'static str {
        if self.user {
            "user"
        } else {
            "system"
        }
    }

    /// Where the unit goes: /etc/systemd/system, or `$XDG_CONFIG_HOME/systemd/user`
    /// (`~/.config/systemd/user`).
    fn unit_path(self) -> anyhow::Result<PathBuf> {
        if !self.user {
            return Ok(Path::new(SYSTEM_UNIT_DIR).join(UNIT));
        }
        let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .and_then(absolute)
            .or_else(|| {
                std::env::var_os("HOME")
                    .and_then(absolute)
                    .map(|h| h.join(".config"))
            })
            .context("neither XDG_CONFIG_HOME nor HOME is set to an absolute path, so there is no place for a user unit")?;
        Ok(config_home.join("systemd/user").join(UNIT))
    }

    /// `systemctl [--user] ARGS`.
    fn systemctl(self, args: &[&'static str]) -> Vec<&'static str> {
        let mut line = vec!["systemctl"];
        if self.user {
            line.push("--user");
        }
        line.extend_from_slice(args);
        line
    }
}

/// Why this process cannot change `scope`'s units, as one sentence; `None` when it can.
fn cannot_manage(scope: Scope, root: bool, booted: bool, has_systemctl: bool) -> Option<String> {
    if !scope.user && !root {
        return Some(format!("changing a system unit ({SYSTEM_UNIT_DIR}/{UNIT}) needs root: run it with sudo, or add --user for a service of your own user"));
    }
    if !booted {
        return Some("systemd is not running on this machine (there is no /run/systemd/system), so there is no service manager to install into; --dry-run prints the unit".to_string());
    }
    if !has_systemctl {
        return Some("systemctl is not available here (it is not on PATH)".to_string());
    }
    None
}

fn check_can_manage(scope: Scope) -> anyhow::Result<()> {
    let root = nix::unistd::geteuid().is_root();
    let booted = sd_notify::booted().unwrap_or(false);
    match cannot_manage(scope, root, booted, on_path("systemctl")) {
        Some(why) => bail!(why),
        None => Ok(()),
    }
}

/// Whether an executable called `name` is on PATH.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

pub fn run(cli: &Cli, action: &ServiceAction) -> anyhow::Result<i32> {
    match *action {
        ServiceAction::Install { user, dry_run } => install(cli, Scope { user }, dry_run),
        ServiceAction::Uninstall { user, dry_run } => uninstall(Scope { user }, dry_run),
        ServiceAction::Status { user } => status(Scope { user }),
    }
}

/// An absolute path for `path`, symbolic links resolved when it exists.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(_) => std::path::absolute(path)
            .with_context(|| format!("cannot tell the absolute path of {}", path.display())),
    }
}

fn install(cli: &Cli, scope: Scope, dry_run: bool) -> anyhow::Result<i32> {
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    let config_path = absolute(&cli.config)?;
    let spec = UnitSpec {
        binary: std::env::current_exe().context("cannot tell where the runwisp binary is")?,
        working_dir: config_path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        config: config_path,
        data: absolute(&cli.data)?,
        shutdown_timeout: config.daemon.shutdown_timeout,
        user: scope.user,
    };
    let text = unit_text(&spec).map_err(anyhow::Error::msg)?;
    let path = scope.unit_path()?;
    let steps = [
        scope.systemctl(&["daemon-reload"]),
        scope.systemctl(&["enable", "--now", "runwisp"]),
    ];
    if dry_run {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        say!(
            "runwisp: --dry-run: would write the unit above to {}, then run:",
            path.display()
        );
        for step in &steps {
            say!("  {}", step.join(" "));
        }
        return Ok(0);
    }
    check_can_manage(scope)?;
    let before = std::fs::read_to_string(&path).ok();
    if before.is_none() {
        warn_if_a_daemon_runs(&spec.data);
    }
    write_unit(&path, &text)?;
    say!(
        "runwisp: wrote the {} unit {} (runs {} --headless for {}, data in {})",
        scope.name(),
        path.display(),
        spec.binary.display(),
        spec.config.display(),
        spec.data.display()
    );
    for step in &steps {
        run_step(step)?;
    }
    let user = if scope.user { " --user" } else { "" };
    if before.as_deref().is_some_and(|b| b != text) {
        say!("runwisp: the unit changed; if runwisp was already running, apply it with `systemctl{user} restart runwisp`");
    }
    say!(
        "runwisp: runwisp is enabled and started; `runwisp service status{user}` shows it, `journalctl{} -u runwisp` or {} its log",
        if scope.user { " --user" } else { "" },
        spec.data.join("daemon.log").display()
    );
    if scope.user {
        say!("runwisp: a user service stops when you log out unless lingering is on: `loginctl enable-linger $USER`");
    }
    Ok(0)
}

/// A daemon already holding the data directory outside systemd keeps the service from starting.
fn warn_if_a_daemon_runs(data: &Path) {
    let held = DataDir::existing(data)
        .ok()
        .flatten()
        .and_then(|dir| dir.daemon_holding_lock().ok().flatten());
    if let Some(pid) = held {
        say!("runwisp: warning: a daemon{pid} already runs for {}; the service cannot start until it stops", data.display());
    }
}

/// Writes the unit through a temporary file renamed over it, readable by all (0644).
fn write_unit(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(".{UNIT}.{}.tmp", std::process::id()));
    let written = std::fs::write(&temp, text)
        .and_then(|()| std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644)))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Runs one systemctl command in the open (its output is the user's to read).
fn run_step(line: &[&str]) -> anyhow::Result<()> {
    let shown = line.join(" ");
    say!("runwisp: $ {shown}");
    let status = std::process::Command::new(line[0])
        .args(&line[1..])
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

fn uninstall(scope: Scope, dry_run: bool) -> anyhow::Result<i32> {
    let path = scope.unit_path()?;
    let disable = scope.systemctl(&["disable", "--now", "runwisp"]);
    let reload = scope.systemctl(&["daemon-reload"]);
    if dry_run {
        say!(
            "runwisp: --dry-run: would run `{}`, remove {}{}, then run `{}`",
            disable.join(" "),
            path.display(),
            if path.exists() {
                ""
            } else {
                " (which does not exist)"
            },
            reload.join(" ")
        );
        return Ok(0);
    }
    if !path.exists() {
        let other = if scope.user {
            "without --user"
        } else {
            "with --user"
        };
        bail!(
            "there is no {}: runwisp is not installed as a {} service (try {other})",
            path.display(),
            scope.name()
        );
    }
    check_can_manage(scope)?;
    if let Err(e) = run_step(&disable) {
        say!("runwisp: warning: {e:#}; removing the unit all the same");
    }
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    say!("runwisp: removed {}", path.display());
    run_step(&reload)?;
    Ok(0)
}

fn status(scope: Scope) -> anyhow::Result<i32> {
    if !on_path("systemctl") {
        bail!(
            "systemctl is not available here, so runwisp cannot run as a systemd service on this machine; `runwisp status` tells whether a daemon runs for this data directory"
        );
    }
    if !sd_notify::booted().unwrap_or(false) {
        bail!(
            "systemd is not running on this machine (there is no /run/systemd/system); `runwisp status` tells whether a daemon runs for this data directory"
        );
    }
    let path = scope.unit_path()?;
    if !path.exists() {
        say!(
            "runwisp: {} does not exist: `runwisp service install{}` writes it",
            path.display(),
            if scope.user { " --user" } else { "" }
        );
    }
    let line = scope.systemctl(&["status", "runwisp"]);
    let status = std::process::Command::new(line[0])
        .args(&line[1..])
        .status()
        .with_context(|| format!("cannot run `{}`", line.join(" ")))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
