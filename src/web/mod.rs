//! The public website: server-rendered pages (askama, auto-escaped), feeds, static assets and
//! health. Pages share one layout (`templates/base.html`) whose data is [`chrome::Chrome`], and
//! show posts through [`view::PostView`]; each page loads its posts as bundles, so it renders in
//! a fixed number of queries whatever the number of posts.

pub mod cached;
pub mod chrome;
pub mod feed;
pub mod home;
pub mod listing;
pub mod post;
pub mod profile;
pub mod thread;
pub mod view;

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{db, state::AppState};

pub use chrome::RememberAcceptLanguage;

const STYLESHEET: &str = include_str!("../../static/tribune.css");

/// Pages may load their own stylesheet and images (and remote images, such as an avatar kept on
/// a CDN); nothing else, and no script at all.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of a page that loads images only from this server and `image_sources` (origins
/// or schemes, such as the remote avatars the admin chose to show).
fn content_security_policy_with_images(image_sources: &[String]) -> String {
    let mut img_src = String::from("'self'");
    for source in image_sources {
        img_src.push(' ');
        img_src.push_str(source);
    }
    format!(
        "default-src 'none'; style-src 'self'; img-src {img_src}; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/{at_username}", get(profile::by_handle))
        .route("/members/{username}", get(listing::member))
        .route("/tags/{key}", get(listing::tag))
        .route("/feed.atom", get(feed::atom))
        .route("/feed.rss", get(feed::rss))
        .route("/posts/{public_id}/comments.atom", get(feed::comments_atom))
        .route("/static/tribune.css", get(stylesheet))
        .route("/healthz", get(healthz))
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// 200 when the database answers, 503 otherwise (for load balancers and orchestrators).
async fn healthz(State(state): State<AppState>) -> Response {
    match db::ping(&state.db).await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    serde_json::json!({"status": "unavailable", "error": "database unreachable"}),
                ),
            )
                .into_response()
        }
    }
}

/// Renders an askama template into an HTML response.
pub fn render(template: &impl askama::Template) -> crate::error::AppResult<Response> {
    let html = template
        .render()
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    let mut response = axum::response::Html(html).into_response();
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

/// Renders a page of the public site: HTML varying by `Accept` (negotiated URLs) and
/// `Accept-Language` (the interface language), under a strict content security policy.
pub fn render_page(
    status: StatusCode,
    template: &impl askama::Template,
) -> crate::error::AppResult<Response> {
    let mut response = render(template)?;
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Language"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    Ok(response)
}

/// [`render_page`] for a page whose only images are its own and those of `image_sources`
/// (a post's page: no remote image unless the admin chose to show remote avatars).
pub fn render_page_with_images(
    status: StatusCode,
    template: &impl askama::Template,
    image_sources: &[String],
) -> crate::error::AppResult<Response> {
    let mut response = render_page(status, template)?;
    let policy = HeaderValue::from_str(&content_security_policy_with_images(image_sources))
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("policy: {e}")))?;
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy);
    Ok(response)
}

/// A short page with a heading and a sentence (not found, gone).
#[derive(askama::Template)]
#[template(path = "site/message.html")]
struct MessagePage {
    chrome: chrome::Chrome,
    heading: String,
    text: String,
}

/// A localized message page with `status`; `key` names `site.KEY.title` and `site.KEY.text`.
pub fn message_page(state: &AppState, status: StatusCode, key: &str) -> Response {
    let chrome = chrome::Chrome::new(state);
    let page = MessagePage {
        heading: chrome.fmt(&format!("site.{key}.title"), &[]),
        text: chrome.fmt(&format!("site.{key}.text"), &[]),
        chrome,
    };
    render_page(status, &page).unwrap_or_else(|err| {
        // Rendering a fixed template cannot really fail; answer with the bare status if it does.
        tracing::error!(error = %err, "message page");
        status.into_response()
    })
}

/// The HTML 404 of the site's own pages (unknown member, tag without posts, page past the end).
pub fn not_found(state: &AppState) -> Response {
    message_page(state, StatusCode::NOT_FOUND, "not_found")
}
