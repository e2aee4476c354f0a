//! The accept loop. `axum::serve` has no header read timeout and no connection cap, so Tribune
//! drives hyper's HTTP/1.1 connections itself: a client that does not finish sending its
//! headers (or leaves a kept-alive connection idle) within `server.header_read_timeout_seconds`
//! is disconnected (no slowloris), a body must arrive within `server.body_read_timeout_seconds`
//! (`body_deadline`), at most `server.max_connections` connections are served at once (beyond
//! that, new ones wait in the kernel's accept queue), and on shutdown the listener closes, idle
//! connections are dropped and in-flight requests finish.
//!
//! HTTP/2 is not offered: it would add the `h2` stack for clients that, in practice, reach
//! Tribune through a reverse proxy speaking HTTP/1.1 to it.

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use super::body_deadline;
use crate::config::ServerSettings;

/// Serves `router` on `listener` until `shutdown` completes, then waits for the open
/// connections to finish their requests (the caller bounds that wait with its grace period).
/// Handlers can extract `ConnectInfo<SocketAddr>`, the TCP peer.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_read_timeout_seconds))
        .keep_alive(true);
    let body_timeout = Duration::from_secs(settings.body_read_timeout_seconds);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A free slot first, then a connection: beyond the cap, accepting waits.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // the semaphore is never closed
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let (request, timed_out) = body_deadline::limit(request, body_timeout);
            let router = router.clone();
            async move {
                let response = router
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {});
                Ok::<_, Infallible>(timed_out.or_408(response))
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // Timeouts, resets and malformed requests: the client's business, not an error.
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Accepting fails when a client gives up during the handshake (go on) or when the process
/// is out of file descriptors (wait a little, or the loop would spin).
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %err, "cannot accept connections; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
