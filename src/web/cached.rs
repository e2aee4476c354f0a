//! Public responses served again, byte for byte, while nothing was committed to the database
//! since they were computed (`db::cache`, `db::version`): a post read as JSON or as a page
//! costs seven or eight queries, a cached one costs reading the database's version.

use std::future::Future;

use axum::{
    body::Body,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use bytes::Bytes;

use crate::{
    db::cache::FreshCache,
    error::{AppError, AppResult},
    state::AppState,
};

/// A response as kept: status, the headers its route set, and the body.
#[derive(Clone)]
pub struct CachedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Responses by key (route, representation, language).
pub type ResponseCache = FreshCache<CachedResponse>;

/// Enough for the posts people are reading, in two representations and two languages. With
/// [`LARGEST`], the cache never holds more than 16 MB (a page is typically 10–20 KB).
pub const CAPACITY: usize = 256;
/// A larger body (a page with hundreds of replies) is served but not kept.
const LARGEST: usize = 64 * 1024;

impl CachedResponse {
    fn to_response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// The response of `key`: from the cache while the database is unchanged since it was
/// computed, else from `compute` (kept when it is a 200 or a 410 and not too large).
pub async fn respond<F, Fut>(state: &AppState, key: String, compute: F) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<Response>>,
{
    // Read before computing: a commit that lands while computing makes the entry stale.
    let Some(version) = state.data_version.current().await else {
        return compute().await;
    };
    if let Some(hit) = state.responses.get(&key, &version) {
        return Ok(hit.to_response());
    }
    let response = compute().await?;
    if !matches!(response.status(), StatusCode::OK | StatusCode::GONE) {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading a response to cache it: {e}")))?;
    let kept = CachedResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    if kept.body.len() <= LARGEST {
        state.responses.put(key, kept.clone(), version);
    }
    Ok(kept.to_response())
}
