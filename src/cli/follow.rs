//! Following a run through a daemon: print its log as it arrives (stdout lines to stdout,
//! stderr and runwisp's own lines to stderr) and return how it ended. A viewer (`logs -f`,
//! `run-task --wait`) never stops what it watches: Ctrl-C or SIGTERM just ends it. Only `exec`,
//! which runs the task in the foreground, asks the daemon to stop the run on Ctrl-C and keeps
//! following until it has.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::api::{LogLine, LogStream};
use crate::client::{Client, ClientError, RunView};
use crate::engine::model::EndReason;

fn print_line(event: &crate::client::SseEvent) {
    if event.name != "line" {
        return;
    }
    let Ok(line) = serde_json::from_str::<LogLine>(&event.data) else {
        return;
    };
    let text = line.text;
    // A closed terminal must not stop the following, so write errors are ignored.
    let _ = match line.stream {
        LogStream::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
        LogStream::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
        LogStream::System => writeln!(std::io::stderr().lock(), "runwisp: {text}"),
    };
}

/// What Ctrl-C does while following.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCtrlC {
    /// `exec`: the run is ours, stop it and follow until it has stopped.
    StopRun,
    /// A viewer: leave the run alone and just go.
    Leave,
}

/// Stops the run on Ctrl-C (SIGINT) or SIGTERM, once.
fn stop_on_signal(client: &Client, run_id: &str) {
    let (client, run_id) = (client.clone(), run_id.to_string());
    let asked = Arc::new(AtomicBool::new(false));
    let spawned = std::thread::Builder::new()
        .name("runwisp-signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    return;
                };
                tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            });
            if !asked.swap(true, Ordering::SeqCst) {
                say!("runwisp: stopping run {run_id}");
                match client.stop_run(&run_id) {
                    // A scoped token may start a run but not stop it: leave it running and go,
                    // rather than follow a run Ctrl-C can no longer end.
                    Err(e) if e.status() == Some(403) => {
                        say!("runwisp: {e}; run {run_id} keeps running");
                        std::process::exit(130);
                    }
                    Err(e) => say!("runwisp: {e}"),
                    Ok(()) => {}
                }
            }
        });
    if let Err(e) = spawned {
        say!("runwisp: cannot listen for Ctrl-C: {e}");
    }
}

/// Follows `run` to its end, printing its log from line `from`.
pub fn follow(
    client: &Client,
    run: &RunView,
    from: i64,
    on_ctrl_c: OnCtrlC,
) -> Result<RunView, ClientError> {
    if on_ctrl_c == OnCtrlC::StopRun {
        stop_on_signal(client, &run.id);
    }
    client.follow_log(&run.id, from, print_line)
}

/// Follows a just-triggered run to its end, reports how it ended when that was not a success,
/// and returns the exit code to leave with. A run that already ended by the time the trigger
/// was answered (a quick command on a busy host) is followed too: its stream replays the whole
/// log, then says how it ended, so its output is never lost.
pub fn to_end(client: &Client, run: &RunView, on_ctrl_c: OnCtrlC) -> Result<i32, ClientError> {
    let ended = follow(client, run, 1, on_ctrl_c)?;
    report(&ended);
    Ok(exit_code(&ended))
}

/// The exit code for a finished run: its own, or 1 when it never produced one.
pub fn exit_code(run: &RunView) -> i32 {
    match run.exit_code {
        Some(code) if code >= 0 => code,
        _ => 1,
    }
}

/// Prints a one-line summary when a run did not succeed.
pub fn report(run: &RunView) {
    if run.end_reason == Some(EndReason::Success) {
        return;
    }
    let reason = run.end_reason.map_or("unknown", EndReason::as_str);
    let code = run.exit_code.map_or("none".to_string(), |c| c.to_string());
    match &run.message {
        Some(m) => say!(
            "runwisp: run {} of task {} ended {reason} (exit code {code}): {m}",
            run.id,
            run.task_name
        ),
        None => say!(
            "runwisp: run {} of task {} ended {reason} (exit code {code})",
            run.id,
            run.task_name
        ),
    }
}
