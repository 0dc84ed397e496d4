//! The REST API (`api.md`) on the daemon's listener: axum routes from one table
//! ([`routes::table`]), one file per resource, server-sent events, and the hygiene of §3 —
//! body and header caps, timeouts for slow clients, security headers, problem+json errors.
//! What a route's kinds put in front of it (token check, timeout, header policy) is decided by
//! the table; how every failure is answered, by [`errors`].
//!
//! Connections are served by hyper directly so a client that trickles its request headers is
//! cut off after [`HEADER_TIMEOUT`] (slowloris) and request heads over 64 KiB get 431. The
//! same router also answers on the local socket (`DATA/daemon.sock`, see [`local`]) without a
//! login; connections of both count against one cap. With `[daemon] tls_cert` the TCP listener
//! speaks TLS only (see [`tls`]).

mod auth;
mod errors;
mod extract;
mod hooks;
mod info;
pub mod local;
mod logs;
mod metrics;
mod notifications;
pub mod openapi;
pub mod routes;
mod runs;
pub mod scope;
mod streams;
mod tasks;
pub mod tls;
mod tokens;
pub mod ui;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;

use crate::engine::Engine;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY: usize = 1 << 20;
/// Request heads larger than this are refused with 431.
pub const MAX_HEAD: usize = 64 << 10;
/// A client must send its request head within this time.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A non-streaming request must be answered within this time.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub streams: streams::Slots,
    /// The notifiers a test message is being sent through (one test each at a time).
    pub tests: notifications::TestsInFlight,
    /// The address the daemon listens on, as shown by `/api/info`.
    pub listen: String,
    /// Rejected webhook signatures by address.
    pub hooks: hooks::Throttle,
}

/// The whole application: the route table behind its layers.
pub fn app(state: AppState) -> Router {
    router(state, routes::table())
}

/// The routes of `table`, each behind what its kinds ask for ([`routes::Route::endpoint`]),
/// then what applies to every request: the body cap, the panic catcher, problem+json for bare
/// error statuses, and the API's header policy for answers no route gave.
fn router(state: AppState, table: Vec<routes::Route>) -> Router {
    let mut router = Router::new();
    for route in table {
        let path = route.path;
        router = router.route(path, route.endpoint(&state));
    }
    router
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            errors::panicked,
        ))
        .layer(middleware::from_fn(errors::problemize))
        .layer(middleware::map_response(|mut response: Response| async {
            routes::apply_unrouted(&mut response);
            response
        }))
}

/// Whether `host` is a loopback address (or `localhost`).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The most connections served at once: half the open-files limit (the other half is kept
/// for runs, their logs and the database), between 16 and 4,096.
pub fn connection_cap() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024);
    usize::try_from(soft / 2).unwrap_or(4096).clamp(16, 4096)
}

/// A connection just accepted, on either listener.
enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    Local(tokio::net::UnixStream),
}

/// The next connection on the local socket; never, when there is none.
async fn accept_local(listener: Option<&tokio::net::UnixListener>) -> std::io::Result<Accepted> {
    match listener {
        Some(l) => l.accept().await.map(|(s, _)| Accepted::Local(s)),
        None => std::future::pending().await,
    }
}

/// Serves `engine` on `listener`, and on the local socket `local` when given, until `stop`
/// resolves; open connections are then closed. Past [`connection_cap`] open connections a new
/// one is closed at once (and logged, at most once a minute), so clients can never take the
/// descriptors runs need.
pub async fn serve(
    engine: Engine,
    listener: std::net::TcpListener,
    local: Option<std::os::unix::net::UnixListener>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listen = listener.local_addr()?.to_string();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let local = match local {
        Some(l) => {
            l.set_nonblocking(true)?;
            Some(tokio::net::UnixListener::from_std(l)?)
        }
        None => None,
    };
    // The files were checked when the configuration was loaded; failing now is a race.
    let tls = match engine.config().daemon.tls.clone() {
        Some(files) => Some(tls::Listener::start(files).map_err(std::io::Error::other)?),
        None => None,
    };
    let router = app(AppState {
        engine,
        streams: streams::Slots::default(),
        tests: notifications::TestsInFlight::default(),
        listen,
        hooks: hooks::Throttle::default(),
    });
    let mut connections = tokio::task::JoinSet::new();
    let cap = connection_cap();
    let mut last_refusal: Option<tokio::time::Instant> = None;
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted.map(|(s, peer)| Accepted::Tcp(s, peer)),
            accepted = accept_local(local.as_ref()) => accepted,
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: say so, wait, go on.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if connections.len() >= cap {
            let from = match &accepted {
                Accepted::Tcp(_, peer) => peer.to_string(),
                Accepted::Local(_) => "daemon.sock".to_string(),
            };
            drop(accepted);
            if last_refusal.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                tracing::warn!("{cap} connections are open, the most this daemon serves at once; refusing new ones (the last from {from}) until some close");
                last_refusal = Some(tokio::time::Instant::now());
            }
            continue;
        }
        let router = router.clone();
        match accepted {
            Accepted::Tcp(socket, peer) => {
                let _ = socket.set_nodelay(true);
                match &tls {
                    None => connections.spawn(serve_connection(socket, peer, None, router, false)),
                    Some((tls, _)) => {
                        let tls = tls.clone();
                        connections.spawn(async move {
                            if let Some(stream) = tls.handshake(socket, peer).await {
                                serve_connection(stream, peer, None, router, true).await;
                            }
                        })
                    }
                };
            }
            Accepted::Local(socket) => {
                // Refused peers are closed here, and logged by `admit`.
                if let Some(who) = local::admit(&socket) {
                    connections.spawn(serve_connection(
                        socket,
                        LOCAL_PEER_ADDR,
                        Some(who),
                        router,
                        false,
                    ));
                }
            }
        }
    }
    connections.abort_all();
    Ok(())
}

/// The address a local-socket peer goes by where an address is needed (per-peer stream slots,
/// logs): it is on this host.
const LOCAL_PEER_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Bytes of the request line and headers (hyper's own buffer limit is only approximate).
fn head_size<B>(req: &hyper::Request<B>) -> usize {
    let line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    line + req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
}

async fn serve_connection<S>(
    socket: S,
    peer: SocketAddr,
    local: Option<local::LocalPeer>,
    router: Router,
    over_tls: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if let Some(who) = local {
                req.extensions_mut().insert(who);
            }
            if over_tls {
                req.extensions_mut().insert(tls::OverTls);
            }
            let router = router.clone();
            async move {
                if head_size(&req) > MAX_HEAD {
                    let mut refused = errors::bare(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                    routes::apply_unrouted(&mut refused);
                    refused
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return Ok::<_, Infallible>(refused);
                }
                let req = req.map(Body::new);
                Ok::<_, Infallible>(
                    router
                        .oneshot(req)
                        .await
                        .unwrap_or_else(|never| match never {}),
                )
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD * 2);
    if let Err(e) = builder
        .serve_connection(TokioIo::new(socket), service)
        .await
    {
        tracing::debug!(peer = %peer, "connection ended: {e}");
    }
}
