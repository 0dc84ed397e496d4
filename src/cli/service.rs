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
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{load_config, Cli};
use crate::engine::datadir::DataDir;

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
/// How much longer than `[daemon] shutdown_timeout` systemd waits before SIGKILL.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// What the unit runs and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// The runwisp binary, absolute.
    pub binary: PathBuf,
    /// The configuration file, absolute.
    pub config: PathBuf,
    /// The data directory, absolute.
    pub data: PathBuf,
    /// The configuration's folder.
    pub working_dir: PathBuf,
    /// `[daemon] shutdown_timeout`.
    pub shutdown_timeout: Duration,
    /// A user unit (`--user`) rather than a system one.
    pub user: bool,
}

/// The text of `runwisp.service` for `spec`; refuses a path systemd could not be told
/// (relative, or with a control character such as a newline).
pub fn unit_text(spec: &UnitSpec) -> Result<String, String> {
    for (what, path) in [
        ("the runwisp binary", &spec.binary),
        ("the configuration file", &spec.config),
        ("the data directory", &spec.data),
        ("the working directory", &spec.working_dir),
    ] {
        let text = path.to_str().ok_or_else(|| {
            format!(
                "the path of {what}, {}, is not UTF-8, which a unit file cannot hold",
                path.display()
            )
        })?;
        if !path.is_absolute() || text.chars().any(char::is_control) {
            return Err(format!(
                "the path of {what}, {text:?}, cannot be written in a unit file (it must be absolute, without control characters)"
            ));
        }
    }
    let path = |p: &Path| p.to_string_lossy().replace('%', "%%");
    let exec = [
        exec_arg(&spec.binary.to_string_lossy()),
        "--config".to_string(),
        exec_arg(&spec.config.to_string_lossy()),
        "--data".to_string(),
        exec_arg(&spec.data.to_string_lossy()),
        "--headless".to_string(),
    ]
    .join(" ");
    let (after, wanted_by) = if spec.user {
        ("", "default.target")
    } else {
        (
            "After=network-online.target\nWants=network-online.target\n",
            "multi-user.target",
        )
    };
    let runs_as = if spec.user {
        "Tasks run as your user"
    } else {
        "Tasks run as root unless you add User= and Group=,"
    };
    Ok(format!(
        "# Written by `runwisp service install{user_flag}`; `runwisp service uninstall{user_flag}` removes it.
# {runs_as} with systemd's environment (not a login shell's).
[Unit]
Description=runwisp: tasks and services of {config}
{after}
[Service]
Type=notify
NotifyAccess=main
ExecStart={exec}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
KillMode=mixed
TimeoutStopSec={stop}
WorkingDirectory={working_dir}
UMask=0077
# Restart runwisp when it stops answering for this long:
#WatchdogSec=30s

[Install]
WantedBy={wanted_by}
",
        user_flag = if spec.user { " --user" } else { "" },
        config = path(&spec.config),
        stop = systemd_span(spec.shutdown_timeout + STOP_MARGIN),
        working_dir = path(&spec.working_dir),
    ))
}

/// One word of `ExecStart=`: bare when it holds only plain characters, else double-quoted
/// with `\` and `"` escaped; `%` (specifiers) and `$` (variables) doubled either way.
fn exec_arg(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:=@%$".contains(c);
    if !escaped.is_empty() && escaped.chars().all(plain) {
        escaped
    } else {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A duration as systemd reads it: whole seconds as `15s`, anything finer in milliseconds.
fn systemd_span(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis().max(1))
    }
}

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
mod tests {
    use super::*;

    fn spec(user: bool) -> UnitSpec {
        UnitSpec {
            binary: "/usr/local/bin/runwisp".into(),
            config: "/srv/app/runwisp.toml".into(),
            data: "/srv/app/data".into(),
            working_dir: "/srv/app".into(),
            shutdown_timeout: Duration::from_secs(10),
            user,
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn a_system_unit_has_every_key() {
        let text = unit_text(&spec(false)).unwrap();
        let l = lines(&text);
        for want in [
            "[Unit]",
            "Description=runwisp: tasks and services of /srv/app/runwisp.toml",
            "After=network-online.target",
            "Wants=network-online.target",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            "ExecStart=/usr/local/bin/runwisp --config /srv/app/runwisp.toml --data /srv/app/data --headless",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure",
            "KillMode=mixed",
            "TimeoutStopSec=15s",
            "WorkingDirectory=/srv/app",
            "UMask=0077",
            "[Install]",
            "WantedBy=multi-user.target",
        ] {
            assert!(l.contains(&want), "{want:?} missing from\n{text}");
        }
        // The watchdog is the operator's choice: offered, commented out.
        assert!(l.contains(&"#WatchdogSec=30s"), "{text}");
        assert!(!l.iter().any(|l| l.starts_with("WatchdogSec=")), "{text}");
        // No sandboxing that would change what tasks may do, and no user chosen for them.
        for absent in [
            "ProtectSystem",
            "ProtectHome",
            "PrivateTmp",
            "NoNewPrivileges",
            "User=",
        ] {
            assert!(
                !l.iter().any(|l| l.starts_with(absent)),
                "{absent} in\n{text}"
            );
        }
        let sections: Vec<&&str> = l.iter().filter(|l| l.starts_with('[')).collect();
        assert_eq!(sections, [&"[Unit]", &"[Service]", &"[Install]"]);
    }

    #[test]
    fn a_user_unit_is_wanted_by_the_default_target_and_needs_no_network_target() {
        let text = unit_text(&spec(true)).unwrap();
        let l = lines(&text);
        assert!(l.contains(&"WantedBy=default.target"), "{text}");
        assert!(!text.contains("network-online"), "{text}");
        assert!(l.contains(&"Type=notify"), "{text}");
        assert!(
            text.starts_with("# Written by `runwisp service install --user`"),
            "{text}"
        );
    }

    #[test]
    fn the_stop_budget_is_the_shutdown_timeout_and_five_seconds() {
        let with = |d: Duration| {
            let text = unit_text(&UnitSpec {
                shutdown_timeout: d,
                ..spec(false)
            })
            .unwrap();
            let line = text
                .lines()
                .find(|l| l.starts_with("TimeoutStopSec="))
                .unwrap();
            line.trim_start_matches("TimeoutStopSec=").to_string()
        };
        assert_eq!(with(Duration::from_secs(45)), "50s");
        assert_eq!(with(Duration::from_millis(1500)), "6500ms");
        assert_eq!(with(Duration::ZERO), "5s");
    }

    #[test]
    fn paths_are_quoted_and_escaped_for_systemd() {
        assert_eq!(exec_arg("/srv/app/runwisp.toml"), "/srv/app/runwisp.toml");
        assert_eq!(exec_arg("/srv/my app/x"), "\"/srv/my app/x\"");
        assert_eq!(exec_arg("/srv/100%/x"), "/srv/100%%/x");
        assert_eq!(exec_arg("/srv/$HOME"), "/srv/$$HOME");
        assert_eq!(exec_arg("/a\\b\"c'd"), "\"/a\\\\b\\\"c'd\"");
        let text = unit_text(&UnitSpec {
            config: "/srv/my app/50%.toml".into(),
            working_dir: "/srv/my app".into(),
            ..spec(false)
        })
        .unwrap();
        assert!(
            text.contains("--config \"/srv/my app/50%%.toml\" --data"),
            "{text}"
        );
        assert!(text.contains("\nWorkingDirectory=/srv/my app\n"), "{text}");
        assert!(text.contains("of /srv/my app/50%%.toml\n"), "{text}");
    }

    #[test]
    fn a_path_a_unit_cannot_hold_is_refused_in_one_sentence() {
        let newline = unit_text(&UnitSpec {
            data: "/srv/a\nb".into(),
            ..spec(false)
        })
        .unwrap_err();
        assert!(
            newline.starts_with("the path of the data directory, \"/srv/a\\nb\""),
            "{newline}"
        );
        let relative = unit_text(&UnitSpec {
            config: "runwisp.toml".into(),
            ..spec(false)
        })
        .unwrap_err();
        assert!(relative.contains("must be absolute"), "{relative}");
    }

    #[test]
    fn who_may_change_units() {
        let (system, user) = (Scope { user: false }, Scope { user: true });
        let why = cannot_manage(system, false, true, true).unwrap();
        assert!(
            why.contains("needs root: run it with sudo, or add --user"),
            "{why}"
        );
        assert_eq!(cannot_manage(user, false, true, true), None);
        assert_eq!(cannot_manage(system, true, true, true), None);
        let why = cannot_manage(user, false, false, true).unwrap();
        assert!(
            why.starts_with("systemd is not running on this machine"),
            "{why}"
        );
        let why = cannot_manage(system, true, true, false).unwrap();
        assert!(why.starts_with("systemctl is not available here"), "{why}");
    }

    #[test]
    fn the_commands_name_the_user_manager_with_user() {
        let user = Scope { user: true };
        assert_eq!(
            user.systemctl(&["daemon-reload"]),
            ["systemctl", "--user", "daemon-reload"]
        );
        assert_eq!(
            Scope { user: false }.systemctl(&["enable", "--now", "runwisp"]),
            ["systemctl", "enable", "--now", "runwisp"]
        );
        assert_eq!(
            Scope { user: false }.unit_path().unwrap(),
            Path::new("/etc/systemd/system/runwisp.service")
        );
    }
}
