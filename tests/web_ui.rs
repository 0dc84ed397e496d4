//! The web UI (`interfaces.md` §2): its pages and files over plain HTTP (headers, caching,
//! compression, deep links), and end to end in headless Chromium (Debian's `chromium`) driven
//! by Playwright (`tests/web/e2e.py`) against the real daemon: login, the overview, "Run now"
//! and its live log, a deep link, the bell, a stop, a 100,000-line log, and the daemon
//! restarted under the page. Screenshots of a failing check land in
//! `target/web-ui-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/oracle.rs"]
mod oracle;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use daemon::{agent, Daemon};

const WEB_CONFIG: &str = r#"
[tasks.hello]
run = "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done; echo to stderr >&2; printf '\\033[31min red\\033[0m\\n'"
description = "says hello"
cron = "0 3 * * *"

[tasks.fails]
run = "echo about to fail; exit 3"

[tasks.sleeper]
run = "echo sleeping; sleep 60"
timeout = "2m"
retry_attempts = 2
retry_delay = "10s"

[tasks.many]
run = "seq 1 100000"

[tasks.noapi]
run = "true"
cron = "0 4 * * *"
api_trigger = false

[tasks.hooked]
run = "echo deployed"

[tasks.hooked.webhook]
provider = "github"
secret = "a-webhook-secret-for-the-web-ui"

[tasks.build-a]
run = "echo building a; sleep 2"

[tasks.build-b]
run = "echo building b; sleep 2"

[tasks.migrate]
run = "echo migrating"

[tasks.check]
run = "echo checked"

[pipelines.deploy]
steps = [{ parallel = ["build-a", "build-b"] }, "migrate", "verify"]

[pipelines.verify]
steps = ["check"]

[services.keeper]
run = "sleep 600"
instances = 2
"#;

/// A response's status, the headers named, and its body.
fn fetch(url: &str, gzip: bool) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut request = agent().get(url);
    request = request.header("Accept-Encoding", if gzip { "gzip" } else { "identity" });
    let mut r = request.call().expect("HTTP exchange");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().unwrap_or_default();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn pages_and_files_are_served_with_their_header_policy() {
    let d = Daemon::start(WEB_CONFIG);
    let run = d.trigger("fails");
    d.wait_ended(&run);
    // Every page of the UI, a deep link included, answers the shell without a token.
    let mut shell = String::new();
    for path in [
        "/".to_string(),
        "/login".into(),
        "/runs".into(),
        "/runs?task=fails&status=failed".into(),
        format!("/runs/{run}"),
        "/tasks/hello".into(),
    ] {
        let (status, headers, body) = fetch(&d.url(&path), false);
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        let csp = header(&headers, "content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header(&headers, "x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"));
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-cache"),
            "{path}"
        );
        shell = String::from_utf8(body).unwrap();
    }
    assert!(
        !shell.contains("<script>") && !shell.contains(" style="),
        "no inline script or style"
    );
    // The assets it names: fingerprinted, cached for a year, compressed when asked.
    let assets: Vec<String> = shell
        .split('"')
        .filter(|s| s.starts_with("/ui/"))
        .map(str::to_string)
        .collect();
    assert!(assets.iter().any(|a| a.ends_with("/app.js")), "{assets:?}");
    assert!(assets.iter().any(|a| a.ends_with("/app.css")), "{assets:?}");
    let mut total = 0;
    for asset in &assets {
        let (status, headers, plain) = fetch(&d.url(asset), false);
        assert_eq!(status, 200, "{asset}");
        assert_eq!(
            header(&headers, "cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{asset}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&headers, "content-encoding"), None);
        let (_, headers, compressed) = fetch(&d.url(asset), true);
        assert_eq!(
            header(&headers, "content-encoding"),
            Some("gzip"),
            "{asset}"
        );
        assert!(header(&headers, "vary").is_some_and(|v| v.contains("accept-encoding")));
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(compressed.as_slice()),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, plain, "{asset}");
        total += plain.len();
    }
    assert!(total > 0);
    // A module the entry imports is served beside it.
    let app = assets.iter().find(|a| a.ends_with("/app.js")).unwrap();
    let (status, headers, _) = fetch(&d.url(&app.replace("app.js", "log.js")), true);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    // Another build's file, or no file: 404, never cached.
    for missing in [
        "/ui/000000000000/app.js".to_string(),
        app.replace("app.js", "nope.js"),
    ] {
        let (status, headers, body) = fetch(&d.url(&missing), true);
        assert_eq!(status, 404, "{missing}");
        assert_eq!(header(&headers, "cache-control"), Some("no-store"));
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("web UI"));
    }
}

/// Where a failing browser check leaves its screenshots.
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("web-ui-screenshots")
}

/// Whether the browser and its driver are installed; when not, the test fails unless
/// `RUNWISP_SKIP_ORACLES=1` (as for the other Python-driven tests).
fn browser_ready() -> bool {
    if !Path::new("/usr/bin/chromium").exists() {
        assert_eq!(
            std::env::var("RUNWISP_SKIP_ORACLES").as_deref(),
            Ok("1"),
            "the web UI tests need Debian's chromium: apt-get install chromium \
             (or set RUNWISP_SKIP_ORACLES=1 to skip them)"
        );
        return false;
    }
    oracle::python_has("playwright")
}

/// Restarts the daemon on the same port and data directory.
fn stop(d: &mut Daemon) {
    let mut old = d.child.take().expect("a running daemon");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    old.wait().unwrap();
}

fn start_again(d: &mut Daemon) {
    let mut child = d
        .project
        .command(&["--headless", "--port", &d.port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("restart the daemon");
    d.project.wait_booted(&mut child);
    d.child = Some(child);
    d.token = d
        .login(&d.password.clone())
        .expect("login after the restart");
}

#[test]
fn the_web_ui_end_to_end_in_chromium() {
    if !browser_ready() {
        return;
    }
    let mut d = Daemon::start(WEB_CONFIG);
    let shots = screenshots_dir();
    let resume = d.project.path().join("resume");
    let mut browser = Command::new("python3")
        .arg(format!("{}/tests/web/e2e.py", env!("CARGO_MANIFEST_DIR")))
        .args(["--url", &d.url("")])
        .args(["--password", &d.password])
        .arg("--shots")
        .arg(&shots)
        .arg("--pause")
        .arg(&resume)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let stdout = BufReader::new(browser.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        eprintln!("e2e: {line}");
        if line == "pause" {
            // The page is open on a task: take the daemon away until the page says so...
            stop(&mut d);
        }
        if line == "down" {
            // ...then bring it back and start a run while the page reconnects.
            start_again(&mut d);
            d.trigger("hello");
            std::fs::write(&resume, "").unwrap();
        }
        seen.push(line);
    }
    let status = browser.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut browser.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        status.success(),
        "the browser checks failed (screenshots in {}):\n{}\n{stderr}",
        shots.display(),
        seen.join("\n")
    );
    for check in [
        "login_refused_then_lands_on_the_page_asked_for",
        "overview_lists_the_tasks",
        "run_now_from_the_task_page_shows_the_log_live",
        "a_deep_link_loads_directly",
        "a_webhook_run_names_its_delivery",
        "a_failure_raises_the_bell_count",
        "the_runs_page_is_live_and_keyboard_usable_at_360px",
        "filtered_runs_are_a_link",
        "a_refusal_is_one_sentence",
        "stop_a_running_run",
        "a_100000_line_log_scrolls_to_the_end",
        "a_task_lists_its_next_firings_and_a_service_its_replicas",
        "a_pipeline_run_shows_its_tree_live",
        "the_fallback_sha256_agrees_with_hashlib",
        "eight_tabs_stay_live",
        "the_daemon_restarts_and_the_page_recovers",
    ] {
        assert!(
            seen.iter().any(|l| l == &format!("ok {check}")),
            "{check} did not pass: {seen:#?}"
        );
    }
    // The run the page started is recorded as started from the web.
    let web_run = seen
        .iter()
        .find_map(|l| l.strip_prefix("fact web_run "))
        .expect("the run started from the page");
    let run = d.get(&format!("/api/runs/{web_run}")).json();
    assert_eq!(run["triggered_by"], "web", "{run}");
    assert_eq!(run["task_name"], "hello", "{run}");
    // The pipeline the page started, as the API draws it.
    let pipeline_run = seen
        .iter()
        .find_map(|l| l.strip_prefix("fact pipeline_run "))
        .expect("the pipeline run started from the page");
    let tree = d.get(&format!("/api/runs/{pipeline_run}/tree")).json();
    assert_eq!(tree["run"]["triggered_by"], "web", "{tree}");
    assert_eq!(tree["run"]["end_reason"], "success", "{tree}");
    // The stopped run was stopped, through the page.
    let stopped = d.get("/api/runs?task=sleeper").json();
    assert_eq!(stopped["runs"][0]["end_reason"], "stopped", "{stopped}");
}
