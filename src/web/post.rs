//! The public page of a post, and the page left where a deleted post was. Both are called by
//! `federation::post_routes` for the HTML side of a post's negotiated URL, after it has checked
//! that the post is public.

use askama::Template;
use axum::{http::StatusCode, response::Response};

use super::{
    chrome::Chrome,
    view::{PostView, truncate_words},
};
use crate::{db::post::PostBundle, error::AppResult, state::AppState};

#[derive(Template)]
#[template(path = "site/post.html")]
struct PostPage {
    chrome: Chrome,
    post: PostView,
    /// The hidden `<h1>` of an untitled post ("Post by Name").
    untitled_heading: String,
    /// For `og:description` and `description`: the lede, or the warning itself when there is
    /// one (a link preview must not show what the warning hides).
    description: String,
    /// The collective's handle (`@collectif@domain`), for `fediverse:creator`.
    creator: String,
}

/// Renders a published post.
pub async fn page(state: &AppState, bundle: &PostBundle) -> AppResult<Response> {
    let chrome = Chrome::new(state);
    let post = PostView::new(bundle, &state.urls, chrome.t.locale, 1);
    let description = match &post.content_warning {
        Some(cw) => chrome.fmt("site.post.cw_description", &[("warning", cw)]),
        None => truncate_words(&post.lede, 200),
    };
    super::render_page(
        StatusCode::OK,
        &PostPage {
            untitled_heading: chrome
                .fmt("site.post.untitled_heading", &[("name", &post.author_name)]),
            description,
            creator: format!("@{}@{}", state.collective.username, state.settings.domain()),
            post,
            chrome,
        },
    )
}

/// The page of a deleted post: 410 Gone.
pub async fn gone_page(state: &AppState) -> Response {
    super::message_page(state, StatusCode::GONE, "gone")
}
