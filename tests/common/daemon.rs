//! A real daemon for API tests: started on a free loopback port in a temporary project, with the
//! password it generated itself (read from `data/password`), logged in once; stopped (SIGTERM)
//! when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{free_port, Project};

pub struct Daemon {
    pub project: Project,
    pub child: Option<Child>,
    pub port: u16,
    pub password: String,
    pub token: String,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// A response: status, headers we look at, and the body as JSON (or text).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub allow: Option<String>,
    pub retry_after: Option<String>,
    pub set_cookie: Option<String>,
    pub nosniff: bool,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = result.expect("HTTP exchange");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, allow, retry_after, set_cookie, nosniff) = (
        header("content-type").unwrap_or_default(),
        header("allow"),
        header("retry-after"),
        header("set-cookie"),
        header("x-content-type-options").as_deref() == Some("nosniff"),
    );
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        content_type,
        allow,
        retry_after,
        set_cookie,
        nosniff,
        text,
    }
}

/// Limits a test daemon starts under (soft and hard alike, so it cannot raise them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// RLIMIT_AS, in bytes.
    pub memory: Option<u64>,
    /// RLIMIT_NOFILE.
    pub open_files: Option<u64>,
}

impl Daemon {
    pub fn start(config: &str) -> Daemon {
        Self::start_limited(config, Limits::default())
    }

    /// A daemon under resource limits (see [`Limits`]), so a test that pushes one fails with
    /// the daemon instead of taking the machine down.
    pub fn start_limited(config: &str, limits: Limits) -> Daemon {
        Self::start_in(Project::new(config), limits)
    }

    /// A daemon for an existing project.
    pub fn start_in(project: Project, limits: Limits) -> Daemon {
        let port = free_port();
        let mut command = project.command(&["--headless", "--port", &port.to_string()]);
        if limits != Limits::default() {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent.
            #[allow(unsafe_code)]
            unsafe {
                command.pre_exec(move || {
                    let set = |resource, value: u64| {
                        let limit = libc::rlimit {
                            rlim_cur: value,
                            rlim_max: value,
                        };
                        if libc::setrlimit(resource, &limit) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    };
                    if let Some(bytes) = limits.memory {
                        set(libc::RLIMIT_AS, bytes)?;
                    }
                    if let Some(files) = limits.open_files {
                        set(libc::RLIMIT_NOFILE, files)?;
                    }
                    Ok(())
                });
            }
        }
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn daemon");
        project.wait_booted(&mut child);
        let password =
            std::fs::read_to_string(project.data().join("password")).expect("generated password");
        let mut daemon = Daemon {
            project,
            child: Some(child),
            port,
            password: password.trim().to_string(),
            token: String::new(),
        };
        daemon.token = daemon.login(&daemon.password.clone()).expect("login");
        daemon
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn challenge(&self) -> String {
        let a = answer(agent().get(&self.url("/api/auth/challenge")).call());
        a.json()["nonce"].as_str().expect("nonce").to_string()
    }

    /// Logs in; `Err` carries the refusal.
    pub fn login(&self, password: &str) -> Result<String, Box<Answer>> {
        let nonce = self.challenge();
        let response = runwisp::engine::auth::challenge_response(password, &nonce);
        let a = answer(
            agent()
                .post(&self.url("/api/auth"))
                .send_json(serde_json::json!({ "nonce": nonce, "response": response })),
        );
        if a.status == 200 {
            Ok(a.json()["token"].as_str().expect("token").to_string())
        } else {
            Err(Box::new(a))
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        answer(
            agent()
                .get(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    pub fn get_anon(&self, path: &str) -> Answer {
        answer(agent().get(&self.url(path)).call())
    }

    pub fn post(&self, path: &str) -> Answer {
        answer(
            agent()
                .post(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .send_empty(),
        )
    }

    pub fn post_json(&self, path: &str, body: serde_json::Value) -> Answer {
        answer(
            agent()
                .post(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )
    }

    /// Sends raw bytes and reads the raw answer (for malformed requests).
    pub fn raw(&self, request: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(request).expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("a running daemon")
    }

    /// Panics unless the daemon is still running.
    pub fn assert_alive(&mut self, after: &str) {
        let child = self.child.as_mut().expect("a daemon");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the daemon died {after}: {status}");
        }
    }

    /// Peak resident memory of the daemon so far, in MiB (VmHWM).
    pub fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the daemon's /proc status");
        let kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("VmHWM");
        kb / 1024
    }

    /// Triggers `task` and returns the new run's id.
    pub fn trigger(&self, task: &str) -> String {
        let a = self.post(&format!("/api/tasks/{task}/run"));
        assert_eq!(a.status, 201, "{}", a.text);
        a.json()["id"].as_str().expect("run id").to_string()
    }

    /// Waits until run `id` has ended and returns it.
    pub fn wait_ended(&self, id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = self.get(&format!("/api/runs/{id}")).json();
            if run["status"] == "ended" {
                return run;
            }
            assert!(Instant::now() < deadline, "run {id} did not end: {run}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = child.wait();
        }
    }
}
