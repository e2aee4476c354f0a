//! Mastodon's paging: `max_id`, `since_id`, `min_id`, `limit` in, a `Link` header out
//! (`rel="next"` to older items, `rel="prev"` to newer ones).

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;

use crate::db::api::Page;

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct PageParams {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<String>,
}

/// Ids are numeric with an optional one-letter prefix (`c12`); the number is what orders.
fn number(id: &Option<String>) -> Option<i64> {
    let id = id.as_deref()?.trim();
    id.trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()
}

impl PageParams {
    /// The page asked for; `limit` defaults to `default` and is capped at `max`.
    pub fn page(&self, default: u64, max: u64) -> Page {
        let limit = self
            .limit
            .as_deref()
            .and_then(|l| l.parse::<u64>().ok())
            .unwrap_or(default)
            .clamp(1, max);
        Page {
            max_id: number(&self.max_id),
            since_id: number(&self.since_id),
            min_id: number(&self.min_id),
            limit,
        }
    }
}

/// A JSON list with its `Link` header; `ids` are the numeric ids of the items, newest first.
pub fn linked(base: &url::Url, path: &str, items: Vec<Value>, ids: &[i64], limit: u64) -> Response {
    let mut links = Vec::new();
    if let (Some(newest), Some(oldest)) = (ids.first(), ids.last()) {
        let mut next = base.clone();
        next.set_path(path);
        next.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("max_id", &oldest.to_string());
        let mut prev = base.clone();
        prev.set_path(path);
        prev.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("min_id", &newest.to_string());
        links.push(format!("<{next}>; rel=\"next\""));
        links.push(format!("<{prev}>; rel=\"prev\""));
    }
    let mut response = Json(Value::Array(items)).into_response();
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}
