//! A real HTTP receiver that notes when each request arrived: a threaded server on
//! 127.0.0.1:0 that reads each request (request line, headers, `Content-Length` body), stamps it
//! with the `Instant` its body was read in full, and answers with the next scripted reply
//! (status and headers; the last one repeats). For timing checks (`Retry-After` honoured);
//! `notify_http.rs` is the receiver for everything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One scripted answer: a status and extra headers, with an empty body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn new(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A request as received, with when its body was read in full.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub at: Instant,
    pub path: String,
    pub body: Vec<u8>,
}

pub struct StampedReceiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Stamped>>>,
    stop: Arc<AtomicBool>,
}

impl StampedReceiver {
    /// Starts answering with `answers`, in order; the last one repeats.
    pub fn start(answers: Vec<Answer>) -> StampedReceiver {
        assert!(!answers.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        {
            let (got, stop) = (got.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let got = got.clone();
                    let answers = answers.clone();
                    let served = served.clone();
                    thread::spawn(move || serve(stream, &answers, &served, &got));
                }
            });
        }
        StampedReceiver { addr, got, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Stamped> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for StampedReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve(stream: TcpStream, answers: &[Answer], served: &AtomicUsize, got: &Mutex<Vec<Stamped>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the drop's wake-up, or a client that gave up
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let answer = {
        // Counted and recorded under one lock, so the n-th request recorded gets the n-th answer.
        let mut got = got.lock().unwrap();
        got.push(Stamped {
            at: Instant::now(),
            path,
            body,
        });
        let n = served.fetch_add(1, Ordering::SeqCst);
        answers[n.min(answers.len() - 1)].clone()
    };
    let mut text = format!(
        "HTTP/1.1 {} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n",
        answer.status
    );
    for (name, value) in &answer.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}
