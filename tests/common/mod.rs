//! Shared fixtures for integration tests: a temporary project folder with a `runwisp.toml`, the
//! real `runwisp` binary run inside it, and direct reads of the real SQLite history.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use runwisp::engine::model::{Run, RunId};
use runwisp::engine::store::Store;

/// A folder holding a `runwisp.toml` and (after a run) a `data/` directory.
pub struct Project {
    pub dir: tempfile::TempDir,
}

/// A daemon a test left running in its project (one the terminal UI started in the
/// background, a test that failed before it stopped one) is stopped with the project, so a
/// failing test never leaves a daemon behind. Only a `runwisp --headless` whose working
/// directory is this project and whose pid is in this project's lock file is touched.
impl Drop for Project {
    fn drop(&mut self) {
        let lock = self.dir.path().join("data/daemon.lock");
        let Some(pid) = std::fs::read_to_string(lock)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok())
        else {
            return;
        };
        let ours = || {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            String::from_utf8_lossy(&cmdline).contains("--headless")
                && cwd.is_some_and(|cwd| cwd.starts_with(self.dir.path()))
        };
        if !ours() {
            return;
        }
        let target = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while ours() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if ours() {
            let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Project {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("runwisp.toml"), config).expect("write config");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data(&self) -> PathBuf {
        self.path().join("data")
    }

    /// `runwisp ARGS` in the project folder, without inheriting RUNWISP_* from the caller.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runwisp"));
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars() {
            if key.starts_with("RUNWISP_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TZ", "UTC");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run runwisp")
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn runwisp")
    }

    /// Waits until the daemon `child` finished booting: it wrote its pid to `daemon.pid`.
    /// Panics if it exits first or takes more than 20 s.
    pub fn wait_booted(&self, child: &mut Child) {
        let pid_file = self.data().join("daemon.pid");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim() == child.id().to_string())
        {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the daemon exited during boot: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not finish booting"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.data().join("runwisp.db")).expect("open history")
    }

    pub fn runs(&self, task: &str) -> Vec<Run> {
        self.store().list_runs(Some(task), 1000).expect("list runs")
    }

    pub fn only_run(&self, task: &str) -> Run {
        let runs = self.runs(task);
        assert_eq!(
            runs.len(),
            1,
            "expected exactly one run of {task}: {runs:?}"
        );
        runs.into_iter().next().expect("one run")
    }

    pub fn log_path(&self, run: &Run) -> PathBuf {
        self.data()
            .join("logs")
            .join(run.task_name.as_str())
            .join(format!("{}.log", run.id))
    }

    pub fn log(&self, run: &Run) -> String {
        std::fs::read_to_string(self.log_path(run)).expect("read run log")
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Waits for `check` to hold, polling, up to `limit`; panics with `what` otherwise.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is a living (non-zombie) process.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Resident memory of `pid` in kB, if it is still running.
/// The process's anonymous resident memory (heap, stacks): what output piling up in memory
/// would grow. The binary's own code pages are left out: how many of them are resident depends
/// on the build (a debug binary maps well over 100 MB) and on the kernel's fault-around, not on
/// what the run printed.
pub fn anon_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn run_id(run: &Run) -> RunId {
    run.id
}
