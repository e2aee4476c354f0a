//! The public website: server-rendered pages (askama, auto-escaped), static assets and health.

pub mod post;
pub mod profile;

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{db, state::AppState};

const STYLESHEET: &str = include_str!("../../static/tribune.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(profile::home))
        .route("/{at_username}", get(profile::by_handle))
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
