//! The Mastodon client API: members post from the apps they already use. OAuth 2 (apps,
//! consent, tokens), the instance, accounts, statuses, timelines and notifications, with
//! Mastodon's JSON shapes, paging and errors, and CORS for browser apps. Handlers are thin:
//! parse → `service` (writes) or `db` (reads) → `entities` (JSON).

pub mod accounts;
pub mod auth;
pub mod entities;
pub mod error;
pub mod instance;
pub mod oauth;
pub mod paging;
pub mod statuses;
pub mod timelines;

use axum::{
    Router,
    http::{HeaderName, Method, header},
    routing::{get, post},
};
use tower_http::cors::{Any, CorsLayer};

use crate::state::AppState;

/// Browser apps call the API from other origins with bearer tokens (no cookies): any origin.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::LINK])
}

/// The API and OAuth routes. The consent page (`GET|POST /oauth/authorize`) is HTML with the
/// admin panel's session; it gets no CORS (browsers navigate to it).
pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/api/v1/apps", post(oauth::register))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::server_metadata),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        // Mastodon (Rails) also answers with a trailing slash, and Mastodon.py uses it here.
        .route("/api/v1/instance/", get(instance::v1))
        .route("/api/v2/instance/", get(instance::v2))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route(
            "/api/v1/accounts/{id}/statuses",
            get(timelines::account_statuses),
        )
        .route("/api/v1/statuses", post(statuses::create))
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .put(statuses::edit)
                .delete(statuses::delete),
        )
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/notifications", get(timelines::notifications))
        .layer(cors());
    api.route(
        "/oauth/authorize",
        get(oauth::authorize_form).post(oauth::authorize_decide),
    )
}
