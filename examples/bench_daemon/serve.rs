//! The least an HTTP trigger server that keeps a durable record pays, with nothing else: the
//! floor under runwisp's trigger throughput driven by the same `wrk` on the same CPUs
//! (`bench/trigger.sh`), where `xargs -P 4` has neither a client nor HTTP to pay for.
//!
//! Listens on 127.0.0.1:PORT, one thread per connection. Every request (any method and path,
//! its body read and ignored) gets the next run id; the run's row is made durable (as a
//! trigger's is, before its process starts: `recorder::create`), the answer `201` with
//! `{"id":"N"}` is sent, and the run is queued to PARALLEL threads that run it as the runner
//! does (`recorder::execute`: `/bin/sh -c COMMAND` in PARENT with `RUNWISP_RUN_ID`, output read,
//! reaped, its end committed while the next runs). Prints `listening=PORT` once bound and runs
//! until it is killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::recorder::{self, Request};

pub fn run(port: u16, parent: &Path, parallel: u32, command: &str) -> anyhow::Result<()> {
    let (_dir, records, _committer) = recorder::committer(parent)?;
    let (queue, queued) = channel::<u32>();
    let queued = Arc::new(Mutex::new(queued));
    for _ in 0..parallel.max(1) {
        let (records, queued) = (records.clone(), queued.clone());
        let (parent, command) = (parent.to_path_buf(), command.to_string());
        std::thread::spawn(move || execute_queued(&queued, &parent, &command, &records));
    }
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("listening={}", listener.local_addr()?.port());
    let next = Arc::new(AtomicU32::new(0));
    for stream in listener.incoming() {
        let stream = stream?;
        let (records, queue, next) = (records.clone(), queue.clone(), next.clone());
        std::thread::spawn(move || {
            if let Err(e) = answer(stream, &records, &queue, &next) {
                eprintln!("bench_daemon serve: {e}");
            }
        });
    }
    Ok(())
}

fn execute_queued(
    queued: &Mutex<Receiver<u32>>,
    parent: &Path,
    command: &str,
    records: &Sender<Request>,
) {
    loop {
        // A worker that panicked while it held the queue left the lock poisoned, not the
        // queue: the others go on taking runs from it instead of ending one by one unseen.
        let next = queued.lock().unwrap_or_else(|p| p.into_inner()).recv();
        // Only once every sender is gone, when the server itself ends.
        let Ok(id) = next else { return };
        if let Err(e) = recorder::execute(id, parent, command, false, records) {
            eprintln!("bench_daemon serve: run {id}: {e}");
        }
    }
}

/// Answers the requests of one connection until the client closes it.
fn answer(
    stream: TcpStream,
    records: &Sender<Request>,
    queue: &Sender<u32>,
    next: &AtomicU32,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    loop {
        // The request line and the headers, up to the empty line.
        let mut length = 0usize;
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                }
            }
        }
        std::io::copy(&mut (&mut reader).take(length as u64), &mut std::io::sink())?;
        let id = next.fetch_add(1, Ordering::Relaxed);
        recorder::create(records, id)?;
        let body = format!("{{\"id\":\"{id}\"}}");
        write!(
            writer,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        queue.send(id)?;
    }
}
