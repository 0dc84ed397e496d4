//! The TUI's requests stay bounded whatever the event rate: the real `runwisp tui` in tmux,
//! attached with `--url` to a real daemon through a counting TCP proxy, while 200 tasks are
//! triggered at once. Every run event reaches the TUI on its one run stream; the lists are not
//! read again per event (before the coalescing, 200 tasks firing in a minute cost the daemon
//! about 1,800 requests from one TUI), yet the TUI ends up showing the last run's end.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/tmux.rs"]
mod tmux;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use daemon::Daemon;
use tmux::Tmux;

const TASKS: usize = 200;
/// How long the TUI is watched after the last trigger.
const SETTLE: Duration = Duration::from_secs(10);
/// The most requests the TUI may make from the burst's start to the end of `SETTLE`: a few
/// task-list reads a second at most, far below one per run event.
const LIMIT: usize = 60;

/// The request lines a TUI sent through the proxy, in order, with when they were seen.
type Seen = Arc<Mutex<Vec<(Instant, String)>>>;

/// Splits one connection's client-to-daemon bytes into HTTP/1.1 requests: a head up to the
/// blank line, then a body of `Content-Length` bytes (runwisp's client never sends chunked
/// bodies; one would be recorded, and the test fails on it).
#[derive(Default)]
struct Requests {
    buf: Vec<u8>,
    body_left: usize,
}

impl Requests {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut heads = Vec::new();
        loop {
            let skip = self.body_left.min(self.buf.len());
            self.buf.drain(..skip);
            self.body_left -= skip;
            if self.body_left > 0 {
                break;
            }
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 4);
            let mut lines = head.split("\r\n");
            let first = lines.next().unwrap_or_default().to_string();
            for line in lines {
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                if name.eq_ignore_ascii_case("content-length") {
                    self.body_left = value.trim().parse().unwrap_or(0);
                }
                if name.eq_ignore_ascii_case("transfer-encoding") {
                    heads.push(format!("CHUNKED BODY after {first}"));
                }
            }
            heads.push(first);
        }
        heads
    }
}

fn is_request(line: &str) -> bool {
    ["GET /", "POST /", "PUT /", "DELETE /", "PATCH /"]
        .iter()
        .any(|m| line.starts_with(m))
}

/// A loopback proxy to `upstream` that forwards bytes both ways and records every request
/// line its clients send. Its threads end with their connections (or with the test).
fn counting_proxy(upstream: u16) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(daemon) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (mut from_daemon, mut to_client) = (daemon.try_clone().unwrap(), client);
            let (mut from_client, mut to_daemon) = (to_client.try_clone().unwrap(), daemon);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_daemon, &mut to_client);
                let _ = to_client.shutdown(Shutdown::Both);
            });
            let log = log.clone();
            std::thread::spawn(move || {
                let mut requests = Requests::default();
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    let n = match from_client.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let now = Instant::now();
                    log.lock()
                        .unwrap()
                        .extend(requests.feed(&chunk[..n]).into_iter().map(|l| (now, l)));
                    if to_daemon.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_daemon.shutdown(Shutdown::Write);
            });
        }
    });
    (port, seen)
}

fn name(i: usize) -> String {
    format!("t{i:03}")
}

/// `METHOD /path` (query dropped) with how often it was asked, most asked first.
fn tally(lines: &[&str]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for line in lines {
        let route = line
            .split(' ')
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        match counts.iter_mut().find(|(r, _)| *r == route) {
            Some((_, n)) => *n += 1,
            None => counts.push((route, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(r, n)| format!("{r} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn the_tui_makes_a_bounded_number_of_requests_while_200_tasks_fire() {
    let config: String = (0..TASKS)
        .map(|i| format!("[tasks.{}]\nrun = \"true\"\n\n", name(i)))
        .collect();
    let d = Daemon::start(&config);
    let (proxy, seen) = counting_proxy(d.port);

    // `--url` is always TCP (never the local socket), so every request the TUI makes goes
    // through the proxy.
    let tmux = Tmux::start(
        "requests",
        d.project.path(),
        &format!(
            "env TZ=UTC RUNWISP_PASSWORD={} {} tui --url http://127.0.0.1:{proxy}",
            d.password,
            env!("CARGO_BIN_EXE_runwisp")
        ),
    );
    tmux.wait_for("● connected", Duration::from_secs(30));
    tmux.wait_for(
        &format!("{TASKS} tasks and services"),
        Duration::from_secs(10),
    );
    // Let the start-up reads finish, so the window below holds only what the burst causes.
    std::thread::sleep(Duration::from_secs(1));

    let before = seen.lock().unwrap().len();
    let burst = Instant::now();
    for i in 0..TASKS {
        d.trigger(&name(i));
    }
    let fired_in = burst.elapsed();
    let last = name(TASKS - 1);
    // Newest first on the home view: the last task's run, ended.
    let screen = tmux.wait_for_line(
        &format!("{last}'s run to show as ended"),
        Duration::from_secs(30),
        |line| line.contains(&last) && line.contains("success"),
    );
    let shown_in = burst.elapsed();
    std::thread::sleep(SETTLE.saturating_sub(burst.elapsed() - fired_in));
    let screen_after = tmux.screen();

    let seen = seen.lock().unwrap();
    let all: Vec<&str> = seen.iter().map(|(_, l)| l.as_str()).collect();
    assert!(
        all.iter().all(|l| is_request(l)),
        "the proxy saw something it cannot count: {all:?}"
    );
    let during: Vec<&str> = all[before..].to_vec();
    println!(
        "{TASKS} triggers in {fired_in:.2?}; the last run shown ended {shown_in:.2?} after the first trigger; \
         TUI requests: {} at start-up ({}), {} from the burst's start to {SETTLE:?} after its end ({})",
        before,
        tally(&all[..before]),
        during.len(),
        tally(&during),
    );
    assert!(
        during.len() <= LIMIT,
        "the TUI made {} requests while {TASKS} tasks fired (at most {LIMIT}): {}",
        during.len(),
        tally(&during)
    );
    // The runs did arrive: every one of them ran, and the screen still shows the last ended.
    assert!(
        screen_after
            .lines()
            .any(|l| l.contains(&last) && l.contains("success")),
        "{screen_after}"
    );
    assert!(screen.contains("Recent activity"), "{screen}");
    let page: runwisp::api::RunPage =
        serde_json::from_str(&d.get(&format!("/api/runs?limit={TASKS}")).text).unwrap();
    assert_eq!(page.runs.len(), TASKS, "every triggered task has a run");
    assert!(page.runs.iter().all(runwisp::api::RunObject::ended));
}
