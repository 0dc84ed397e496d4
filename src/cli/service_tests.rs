use std::time::Duration;

use super::unit::exec_arg;
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
