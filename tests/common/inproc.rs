//! A daemon started in this test process through the library's composition root
//! (`runwisp::daemon::start`), on a temporary data directory and a free loopback port;
//! stopped cleanly when dropped.

#![allow(dead_code)]

use std::sync::Arc;

use runwisp::daemon::{Daemon, Options};
use runwisp::engine::clock::SystemClock;
use runwisp::engine::config::load_str;
use runwisp::engine::datadir::DataDir;

pub struct InProcess {
    pub runtime: tokio::runtime::Runtime,
    daemon: Option<Daemon>,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl InProcess {
    pub fn start(config: &str) -> InProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runwisp.toml");
        std::fs::write(&path, config).expect("write config");
        let config = load_str("runwisp.toml", config, &path).expect("valid config");
        let data = DataDir::open(&dir.path().join("data")).expect("data dir");
        let lock = data.lock_exclusive().expect("lock");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let daemon = runtime
            .block_on(runwisp::daemon::start(Options {
                config,
                dir: data,
                lock,
                listener,
                clock: Arc::new(SystemClock),
                local_socket: true,
            }))
            .expect("the daemon starts");
        let url = format!("http://{}", daemon.listen());
        InProcess {
            runtime,
            daemon: Some(daemon),
            dir,
            url,
        }
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("a running daemon")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            self.runtime.block_on(daemon.stop());
        }
    }
}
