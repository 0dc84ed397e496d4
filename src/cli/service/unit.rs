//! The text of `runwisp.service`: a pure function of [`UnitSpec`], with systemd's quoting of
//! the words of `ExecStart=` and its spelling of a duration.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
pub(super) fn exec_arg(word: &str) -> String {
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
