//! The admin panel: members log in, write, review, schedule and publish posts; editors answer
//! follow requests, moderate replies, read notifications and watch delivery; admins manage
//! accounts, blocks and the instance's moderation settings. Server-rendered HTML that works
//! without JavaScript; `static/admin.js` only enhances it (live preview, counters). Handlers
//! parse → call a `service` → render a template from `views`; every state-changing form goes
//! through [`auth::Posted`], which checks the CSRF token before the handler runs.

mod account;
pub(crate) mod auth;
mod blocks;
mod comments;
mod dashboard;
mod delivery;
pub(crate) mod failure;
mod followers;
mod login;
mod members;
mod notifications;
mod post_actions;
mod post_form;
mod post_page;
mod posts;
mod preview;
mod settings;
mod tokens;
pub(crate) mod views;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

const STYLESHEET: &str = include_str!("../../static/admin.css");
const SCRIPT: &str = include_str!("../../static/admin.js");

/// What the browser may load on admin pages: only our own files, no inline scripts or styles,
/// no framing (clickjacking), forms only to ourselves.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every admin route. Pages are never cached (they show private drafts) and carry a strict CSP.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/admin", get(dashboard::page))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route("/admin/posts", get(posts::list))
        .route("/admin/posts/new", get(posts::new_form).post(posts::create))
        .route("/admin/posts/preview", post(preview::live_preview))
        .route(
            "/admin/posts/{public_id}/edit",
            get(posts::edit_form).post(posts::save),
        )
        .route("/admin/posts/{public_id}/pin", post(post_actions::pin))
        .route(
            "/admin/posts/{public_id}/delete",
            get(post_actions::confirm_delete).post(post_actions::delete),
        )
        .route("/admin/members", get(members::page).post(members::add))
        .route("/admin/members/{username}/role", post(members::set_role))
        .route(
            "/admin/members/{username}/access",
            post(members::set_access),
        )
        .route("/admin/followers", get(followers::page))
        .route("/admin/followers/{id}/approve", post(followers::approve))
        .route("/admin/followers/{id}/reject", post(followers::reject))
        .route(
            "/admin/followers/{id}/remove",
            get(followers::confirm_remove).post(followers::remove),
        )
        .route("/admin/comments", get(comments::page))
        .route("/admin/comments/{id}/{action}", post(comments::act))
        .route("/admin/notifications", get(notifications::page))
        .route("/admin/blocks", get(blocks::page).post(blocks::add))
        .route("/admin/blocks/{id}/remove", post(blocks::remove))
        .route("/admin/settings", get(settings::page).post(settings::save))
        .route("/admin/delivery", get(delivery::page))
        .route("/admin/delivery/retry", post(delivery::retry))
        .route("/admin/account", get(account::page))
        .route("/admin/tokens", get(tokens::page))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/admin/account/password", post(account::change_password))
        .route("/admin/account/language", post(account::set_language))
        .layer(header_layer(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(header_layer(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(header_layer(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(header_layer(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    pages
        .route("/static/admin.css", get(stylesheet))
        .route("/static/admin.js", get(script))
}

fn header_layer(name: HeaderName, value: HeaderValue) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, value)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

async fn stylesheet() -> Response {
    asset(STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}
