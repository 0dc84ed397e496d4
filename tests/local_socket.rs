//! The local daemon's socket `data/daemon.sock`: the CLI uses it without the password, only the
//! daemon's own user (and root) is served on it, it is private, gone after a clean stop, and a
//! stale one left by a crashed daemon does not stop the next start.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{stderr, stdout};
use daemon::{Daemon, Limits};

const CONFIG: &str = r#"
[tasks.ok]
run = "echo fine"

[tasks.slow]
run = "echo one; sleep 1; echo two"
"#;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_cli_talks_to_the_local_daemon_through_its_socket_without_the_password() {
    let d = Daemon::start(CONFIG);
    let socket = d.project.data().join("daemon.sock");
    let meta = std::fs::symlink_metadata(&socket).expect("the daemon made its socket");
    assert!(meta.file_type().is_socket());
    assert_eq!(mode(&socket), 0o600);
    // Without the password, only the socket can let the CLI in.
    std::fs::remove_file(d.project.data().join("password")).unwrap();

    let waited = d.project.run(&["run-task", "ok", "--wait"]);
    assert_eq!(waited.status.code(), Some(0), "{}", stderr(&waited));
    assert!(stdout(&waited).contains("fine"), "{}", stdout(&waited));

    let runs = d.project.run(&["runs", "ok"]);
    assert_eq!(runs.status.code(), Some(0), "{}", stderr(&runs));
    let triggered = d.project.run(&["run-task", "slow"]);
    assert_eq!(triggered.status.code(), Some(0), "{}", stderr(&triggered));
    let line = stdout(&triggered);
    let id = line
        .split_whitespace()
        .nth(2)
        .expect("a run id")
        .to_string();
    // Followed live: the stream arrives over the socket as the run prints.
    let followed = d.project.run(&["logs", "-f", &id]);
    assert_eq!(followed.status.code(), Some(0), "{}", stderr(&followed));
    assert_eq!(stdout(&followed), "one\ntwo\n");
    let runs = d.project.run(&["runs", "slow", "--json"]);
    assert!(stdout(&runs).contains(&id), "{}", stdout(&runs));

    // `--url` is always TCP and a login, even to this very daemon.
    let remote = d
        .project
        .run(&["runs", "--url", &d.url(""), "--password", "wrong"]);
    assert_eq!(remote.status.code(), Some(1), "{}", stdout(&remote));
    assert!(
        stderr(&remote).contains("Invalid password"),
        "{}",
        stderr(&remote)
    );
}

#[test]
fn a_clean_stop_removes_the_socket_and_a_stale_one_does_not_block_a_start() {
    let project = common::Project::new(CONFIG);
    let data = project.data();
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = data.join("daemon.sock");
    // What a crashed daemon leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    // A sibling test forking at that moment holds a copy of the listener until its child
    // execs (close-on-exec): the file is stale once that copy is gone too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "something still listens on the stale socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    let mut d = Daemon::start_in(project, Limits::default());
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_ok());
    assert_eq!(mode(&socket), 0o600);
    std::fs::remove_file(d.project.data().join("password")).unwrap();
    let runs = d.project.run(&["runs"]);
    assert_eq!(runs.status.code(), Some(0), "{}", stderr(&runs));

    let mut child = d.child.take().expect("the daemon");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!socket.exists(), "the socket outlived a clean stop");
}

/// `curl` over the socket as `uid` (0 = as this test): its exit code and what it printed.
fn curl_as(uid: u32, socket: &Path) -> (Option<i32>, String) {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(socket)
        .arg("http://localhost/api/runs");
    if uid != 0 {
        command.uid(uid).gid(uid);
    }
    let out = command.output().expect("curl");
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn a_peer_of_another_user_is_refused_on_the_socket() {
    let is_root = nix::unistd::geteuid().is_root();
    let has_curl = Command::new("curl").arg("--version").output().is_ok();
    if !is_root || !has_curl {
        // Not a silent pass: a machine that cannot run it says so on purpose.
        assert_eq!(
            std::env::var("RUNWISP_SKIP_ROOT_TESTS").as_deref(),
            Ok("1"),
            "connecting as another user needs root (to switch users) and curl; run the tests \
             as root with curl installed, or set RUNWISP_SKIP_ROOT_TESTS=1 to skip this one"
        );
        eprintln!(
            "skipped: connecting as another user needs root and curl (RUNWISP_SKIP_ROOT_TESTS=1)"
        );
        return;
    }
    const NOBODY: u32 = 65534;
    let d = Daemon::start(CONFIG);
    let socket = d.project.data().join("daemon.sock");
    // This user is served without a token.
    let (code, text) = curl_as(0, &socket);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("\"runs\""), "{text}");
    // Another user cannot even open it: the file is 0600 in a 0700 directory.
    let (code, text) = curl_as(NOBODY, &socket);
    assert_ne!(code, Some(0), "{text}");
    assert!(!text.contains("\"runs\""), "{text}");

    // With the file opened to everyone, the daemon itself still turns the peer away.
    for dir in [d.project.path(), &d.project.data()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, text) = curl_as(NOBODY, &socket);
    assert_ne!(code, Some(0), "{text}");
    assert!(!text.contains("\"runs\""), "{text}");
    let refusal = format!("refused a connection on daemon.sock from uid {NOBODY}");
    common::wait_for("the refusal in daemon.log", Duration::from_secs(5), || {
        std::fs::read_to_string(d.project.data().join("daemon.log"))
            .is_ok_and(|log| log.contains(&refusal))
    });
}
