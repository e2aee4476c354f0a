//! The public page of a post, and the page left where a deleted post was. Both are called by
//! `federation::post_routes` for the HTML side of a post's negotiated URL, after it has checked
//! that the post is public. The page shows the conversation under the post (`web::thread`) and
//! links the feed of its replies.

use askama::Template;
use axum::{http::StatusCode, response::Response};

use super::{
    chrome::Chrome,
    thread::{BOOSTERS_SHOWN, ConversationView, REMOTE_REL, ThreadEvent},
    view::{PostView, truncate_words},
};
use crate::{db, db::post::PostBundle, error::AppResult, state::AppState};

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
    conversation: ConversationView,
    /// The Atom feed of the replies, and its title.
    comments_feed_url: String,
    comments_feed_title: String,
    remote_rel: &'static str,
}

/// Renders a published post with its conversation, in a fixed number of queries: the bundle
/// (four, loaded by the caller) and the conversation (four), whatever the number of replies.
pub async fn page(state: &AppState, bundle: &PostBundle) -> AppResult<Response> {
    let chrome = Chrome::new(state);
    let post = PostView::new(bundle, &state.urls, chrome.t.locale, 1);
    let description = match &post.content_warning {
        Some(cw) => chrome.fmt("site.post.cw_description", &[("warning", cw)]),
        None => truncate_words(&post.lede, 200),
    };
    let conversation = db::comment::conversation(&state.db, bundle.post.id, BOOSTERS_SHOWN).await?;
    let conversation = ConversationView::new(
        &conversation,
        &chrome,
        state.settings.moderation.show_remote_avatars,
    );
    let image_sources = conversation.image_sources.clone();
    super::render_page_with_images(
        StatusCode::OK,
        &PostPage {
            untitled_heading: chrome
                .fmt("site.post.untitled_heading", &[("name", &post.author_name)]),
            description,
            creator: format!("@{}@{}", state.collective.username, state.settings.domain()),
            comments_feed_url: state
                .urls
                .post_comments_feed(&bundle.post.public_id)
                .to_string(),
            comments_feed_title: chrome.fmt("site.thread.feed_title", &[("title", &post.heading)]),
            remote_rel: REMOTE_REL,
            conversation,
            post,
            chrome,
        },
        &image_sources,
    )
}

/// The page of a deleted post: 410 Gone.
pub async fn gone_page(state: &AppState) -> Response {
    super::message_page(state, StatusCode::GONE, "gone")
}
