//! The home page: who the collective is, the handle to follow, pinned posts, then every
//! published post, newest first, in pages (`?page=N`).

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{
    chrome::Chrome,
    view::{Pager, PostView, one_line, views},
};
use crate::{db, domain::text::plain_text_to_html, error::AppResult, state::AppState};

/// `?page=N` of a paged list, from 1.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub page: Option<u64>,
}

impl PageQuery {
    pub fn number(&self) -> u64 {
        self.page.unwrap_or(1).max(1)
    }
}

#[derive(Template)]
#[template(path = "site/home.html")]
struct HomePage {
    chrome: Chrome,
    canonical: String,
    actor_url: String,
    /// Escaped by `plain_text_to_html`.
    summary_html: String,
    summary_text: String,
    handle: String,
    pinned: Vec<PostView>,
    posts: Vec<PostView>,
    pager: Pager,
}

/// `/`: pinned posts (first page only) and the published posts of the page. Five queries:
/// the count, then the page's posts and the pinned posts with their bundles.
pub async fn home(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> AppResult<Response> {
    let page = query.number();
    let per_page = state.settings.publishing.page_size;
    let total = db::post::count_published(&state.db).await?;
    let home_url = state.urls.base().to_string();
    let pager = Pager::new(&home_url, page, per_page, total);
    if page > pager.last {
        return Ok(super::not_found(&state));
    }
    let chrome = Chrome::new(&state);
    let locale = chrome.t.locale;
    let bundles = db::post::published_page(&state.db, page - 1, per_page).await?;
    let pinned = if page == 1 {
        db::post::pinned(&state.db).await?
    } else {
        Vec::new()
    };
    // On the first page, pinned posts are shown above the list, not twice.
    let listed: Vec<_> = bundles
        .into_iter()
        .filter(|b| !pinned.iter().any(|p| p.post.id == b.post.id))
        .collect();
    let summary = &state.settings.collective.summary;
    let username = &state.collective.username;
    super::render_page(
        StatusCode::OK,
        &HomePage {
            canonical: if page == 1 {
                home_url.clone()
            } else {
                format!("{home_url}?page={page}")
            },
            actor_url: state.urls.actor(username).to_string(),
            summary_html: plain_text_to_html(summary),
            summary_text: one_line(summary),
            handle: format!("@{username}@{}", state.settings.domain()),
            pinned: views(&pinned, &state.urls, locale, 3),
            posts: views(&listed, &state.urls, locale, 3),
            pager,
            chrome,
        },
    )
}
