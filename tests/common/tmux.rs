//! The real binary in a tmux server of the test's own (its own socket), 120×40, killed when
//! dropped: start a command, send keys, read the screen, wait for what should appear.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Runs `command` in `dir`; `name` keeps the servers of different tests apart. When the
    /// command exits the pane says `EXITED CODE` and keeps a shell.
    pub fn start(name: &str, dir: &std::path::Path, command: &str) -> Tmux {
        // tmux names may not hold `.` or `:`; the temporary directory's name often has one.
        let unique = format!(
            "{name}-{}-{}",
            std::process::id(),
            dir.file_name().unwrap().to_string_lossy()
        )
        .replace(['.', ':'], "_");
        let tmux = Tmux {
            socket: format!("runwisp-test-{unique}"),
            session: unique,
        };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-s", &tmux.session])
            .args(["-x", "120", "-y", "40", "-c"])
            .arg(dir)
            .arg(format!("{command}; echo EXITED $?; exec sh"))
            .status()
            .expect("tmux is installed (scripts/test.sh installs it)");
        assert!(status.success());
        tmux
    }

    /// `tmux` on this server.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen's last line: the TUI's footer.
    pub fn footer(&self) -> String {
        self.screen()
            .lines()
            .nth(39)
            .unwrap_or_default()
            .to_string()
    }

    /// Sends each key (tmux key names: `Enter`, `Escape`, `C-c`, or text), a moment apart.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = self
                .cmd()
                .args(["send-keys", "-t", &self.session, key])
                .status()
                .expect("send-keys");
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until `check` holds (`what` names it in the failure).
    pub fn wait_until(&self, what: &str, limit: Duration, check: impl Fn(&Tmux) -> bool) {
        let deadline = Instant::now() + limit;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a line of the screen satisfies `check`; returns the screen.
    pub fn wait_for_line(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_until(what, limit, |t| t.screen().lines().any(&check));
        self.screen()
    }

    /// Waits until the screen shows `text`; returns the screen.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        self.wait_for_line(&format!("{text:?}"), limit, |line| line.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}
