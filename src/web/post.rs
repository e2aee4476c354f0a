//! The public page of a post.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{db::post::PostBundle, error::AppResult, state::AppState};

#[derive(Template)]
#[template(path = "site/post.html")]
struct PostPage<'a> {
    title: String,
    lang: &'a str,
    body_html: &'a str,
    author: &'a str,
}

/// Renders a published post.
pub async fn page(_state: &AppState, bundle: &PostBundle) -> AppResult<Response> {
    let post = &bundle.post;
    super::render(&PostPage {
        title: post.title.clone().unwrap_or_default(),
        lang: &post.language,
        body_html: &post.body_html,
        author: &bundle.author.display_name,
    })
}

/// The page of a deleted post: 410 Gone.
pub async fn gone_page(_state: &AppState) -> Response {
    (
        StatusCode::GONE,
        axum::response::Html("<!doctype html><title>410</title><p>Ce message a été supprimé.</p>"),
    )
        .into_response()
}
