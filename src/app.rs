//! The composition root: from `Settings` to a running server — connect and migrate the
//! database, make sure the collective exists, build the router, serve until told to stop.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::http::{HeaderValue, header};
use axum::{Router, extract::DefaultBodyLimit, http::StatusCode, response::IntoResponse};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{
    admin,
    config::{ConfigError, Settings},
    db,
    error::AppError,
    federation::{self, client::FederationClient, fetch::Fetcher, http::OutgoingPolicy},
    server, service,
    state::AppState,
    web,
};

/// A server that is bound and ready to serve.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

/// Opens the database, applies migrations and loads (or creates) the collective's actor.
/// Failures name the configuration key at fault when there is one.
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    if settings.federation.allow_private_network {
        tracing::warn!(
            "federation.allow_private_network is ON: plain http and private/loopback addresses \
             are allowed for remote servers. Use this for development and tests only."
        );
    }
    let cannot_open = |e: sea_orm::DbErr| {
        ConfigError::new("database.url", format!("cannot open the database: {e}"))
    };
    let (db, db_queries) = db::connect_counted(&settings).await.map_err(cannot_open)?;
    db::migrate(&db).await?;
    let batch_db = db::connect_batch_writer(&settings, &db, &db_queries)
        .await
        .map_err(cannot_open)?;
    let collective = service::actor::ensure_local_actor(&db, &settings.collective.username).await?;
    // One policy, so one resolver and one cache of names for every outgoing client.
    let policy = OutgoingPolicy::new(settings.federation.allow_private_network);
    let fetcher = Fetcher::with_policy(policy.clone())?;
    let urls = crate::domain::urls::Urls::new(settings.instance.base_url.clone());
    let federation = FederationClient::with_policy(&settings, &urls, &collective, policy).await?;
    Ok(AppState::new(
        settings, db, batch_db, db_queries, collective, fetcher, federation,
    ))
}

/// See [`router`]: the headers every response carries unless its route set them.
fn with_security_headers(mut response: axum::response::Response) -> axum::response::Response {
    const HEADERS: [(header::HeaderName, &str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// How often old received-activity ids and finished deliveries are forgotten
/// (`service::housekeeping`): what it deletes is measured in days, so hourly is plenty.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(3600);

/// The largest request body outside the inbox (which has `federation.max_inbox_body_bytes`).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every route of the application, with the middleware shared by all of them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(federation::routes::router())
        .merge(federation::post_routes::router())
        .merge(federation::inbox::router(
            state.settings.federation.max_inbox_body_bytes,
        ))
        .merge(web::router())
        .merge(crate::ops::router())
        .merge(admin::router())
        .merge(crate::api::router())
        .fallback(not_found)
        .layer(web::RememberAcceptLanguage)
        // The cap of bodies read by axum's extractors (the login form) unless a route sets its
        // own (the inbox); the admin forms and the API read theirs with the same 2 MiB cap.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Who the client is, and its per-address rate limits, before anything else is done.
        .layer(axum::middleware::from_fn_with_state(
            server::rate_limit::Guard::from_settings(&state.settings),
            server::rate_limit::guard,
        ))
        // Headers every response carries unless a route set its own: no MIME sniffing, no
        // framing, referrers kept to our origin, and a deny-all Content-Security-Policy (pages
        // set a wider one of their own). One function on the response, no future of its own.
        .layer(tower::util::MapResponseLayer::new(with_security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        AppError::NotFound("no such page".into()),
    )
}

impl App {
    /// Prepares the state and binds `server.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let listen = settings.server.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| ConfigError::new("server.listen", format!("cannot bind {listen}: {e}")))?;
        Self::with_listener(settings, listener).await
    }

    /// Prepares the state and serves on an already-bound listener (tests bind port 0 first so
    /// that `base_url` can name the real port).
    pub async fn with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<App> {
        let state = prepare(settings).await?;
        // The server signs; the administration commands (which share `prepare`) do not, and
        // would only pay for seeding threads they never use.
        tokio::task::spawn_blocking(federation::http_signature::start_signing_threads).await?;
        Ok(App { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for at most
    /// `server.shutdown_grace_seconds`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_seconds);
        let addr = self.listener.local_addr()?;
        let router = router(self.state.clone());
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let limits = self.state.settings.server.clone();
        let stopping = async move {
            shutdown.await;
            let _ = stopping_tx.send(());
        };
        tracing::info!(%addr, base_url = %self.state.settings.instance.base_url, "Tribune is listening");
        let serving = tokio::spawn(async move {
            server::serve(self.listener, router, &limits, stopping).await;
            anyhow::Ok(())
        });
        let scheduler = tokio::spawn(service::post::run_scheduler(
            self.state.clone(),
            Duration::from_secs(self.state.settings.publishing.scheduler_interval_seconds),
        ));
        let housekeeping = tokio::spawn(service::housekeeping::run(
            self.state.clone(),
            HOUSEKEEPING_INTERVAL,
        ));
        let (stop_delivery, delivery_stopped) = tokio::sync::oneshot::channel::<()>();
        let delivery = self.state.settings.delivery.workers.then(|| {
            tokio::spawn(
                crate::delivery::worker::Worker::new(self.state.clone()).run(async move {
                    let _ = delivery_stopped.await;
                }),
            )
        });
        let _ = stopping_rx.await;
        tracing::info!("shutting down: finishing in-flight requests and deliveries");
        scheduler.abort();
        housekeeping.abort();
        let _ = stop_delivery.send(());
        match tokio::time::timeout(grace, serving).await {
            Ok(joined) => joined??,
            Err(_) => tracing::warn!(
                "in-flight requests still running after the grace period; stopping anyway"
            ),
        }
        if let Some(delivery) = delivery
            && tokio::time::timeout(grace, delivery).await.is_err()
        {
            tracing::warn!(
                "deliveries still in flight after the grace period; they will be retried"
            );
        }
        // Both pools: on SQLite the batch writers have their own (`db::connect_batch_writer`);
        // elsewhere it is the main pool, and closing a closed pool does nothing.
        self.state.db.clone().close().await?;
        self.state.batch_db.clone().close().await?;
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
