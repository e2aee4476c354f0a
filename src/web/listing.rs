//! Lists of published posts by one member (`/members/{username}`) or under one hashtag
//! (`/tags/{key}`), newest first, in pages. Drafts and posts awaiting review or publication are
//! never listed: the queries only read published posts.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};

use super::{
    chrome::Chrome,
    home::PageQuery,
    view::{Pager, PostView, views},
};
use crate::{
    db,
    error::{AppError, AppResult},
    service,
    state::AppState,
};

#[derive(Template)]
#[template(path = "site/member.html")]
struct MemberPage {
    chrome: Chrome,
    canonical: String,
    display_name: String,
    subtitle: String,
    posts: Vec<PostView>,
    pager: Pager,
}

/// A member's published posts; 404 for unknown and disabled members.
pub async fn member(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
) -> AppResult<Response> {
    let found = service::member::find(&state.db, &username)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("member {username:?}: {e}")))?;
    let Some(member) = found.filter(|m| !m.disabled) else {
        return Ok(super::not_found(&state));
    };
    let page = query.number();
    let per_page = state.settings.publishing.page_size;
    let total = db::post::count_published_by_author(&state.db, member.id).await?;
    let canonical = state.urls.member(&member.username).to_string();
    let pager = Pager::new(&canonical, page, per_page, total);
    if page > pager.last {
        return Ok(super::not_found(&state));
    }
    let bundles = db::post::published_by_author(&state.db, member.id, page - 1, per_page).await?;
    let chrome = Chrome::new(&state);
    let subtitle = chrome.fmt(
        "site.member.subtitle",
        &[("collective", &state.settings.collective.name)],
    );
    super::render_page(
        StatusCode::OK,
        &MemberPage {
            posts: views(&bundles, &state.urls, chrome.t.locale, 3),
            display_name: member.display_name,
            subtitle,
            canonical,
            pager,
            chrome,
        },
    )
}

#[derive(Template)]
#[template(path = "site/tag.html")]
struct TagPage {
    chrome: Chrome,
    canonical: String,
    /// The tag as written in the newest post carrying it.
    display: String,
    subtitle: String,
    posts: Vec<PostView>,
    pager: Pager,
}

/// The published posts carrying a hashtag; 404 when none does. Keys are lowercase: the path
/// is percent-decoded by the router and lowercased here.
pub async fn tag(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<PageQuery>,
) -> AppResult<Response> {
    let key = key.to_lowercase();
    let page = query.number();
    let per_page = state.settings.publishing.page_size;
    let total = db::post::count_published_with_tag(&state.db, &key).await?;
    let canonical = state.urls.tag(&key).to_string();
    let pager = Pager::new(&canonical, page, per_page, total);
    if total == 0 || page > pager.last {
        return Ok(super::not_found(&state));
    }
    let bundles = db::post::published_with_tag(&state.db, &key, page - 1, per_page).await?;
    let display = bundles
        .iter()
        .flat_map(|b| &b.tags)
        .find(|t| t.tag == key)
        .map_or_else(|| key.clone(), |t| t.display.clone());
    let chrome = Chrome::new(&state);
    let count_key = if total == 1 {
        "site.tag.count_one"
    } else {
        "site.tag.count_many"
    };
    let subtitle = chrome.fmt(count_key, &[("count", &total.to_string())]);
    super::render_page(
        StatusCode::OK,
        &TagPage {
            posts: views(&bundles, &state.urls, chrome.t.locale, 3),
            display,
            subtitle,
            canonical,
            pager,
            chrome,
        },
    )
}
