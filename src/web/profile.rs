//! The collective's HTML profile: name, presentation, the handle to copy, follower count.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use super::{chrome::Chrome, view::one_line};
use crate::{
    db,
    domain::{negotiate::Representation, text::plain_text_to_html},
    error::{AppError, AppResult},
    federation::negotiate::Wants,
    state::AppState,
};

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    chrome: Chrome,
    /// Already-escaped HTML from `plain_text_to_html`.
    summary_html: String,
    summary_text: String,
    handle: String,
    actor_url: String,
    profile_url: String,
    followers: u64,
    icon_url: Option<String>,
}

/// Renders the profile page of the collective.
pub async fn page(state: &AppState) -> AppResult<Response> {
    let collective = &state.settings.collective;
    let username = &state.collective.username;
    let followers = db::follower::count_accepted(&state.db, state.collective.id).await?;
    let summary_html = plain_text_to_html(&collective.summary);
    super::render_page(
        StatusCode::OK,
        &ProfilePage {
            chrome: Chrome::new(state),
            summary_text: one_line(&collective.summary),
            summary_html,
            handle: format!("@{username}@{}", state.settings.domain()),
            actor_url: state.urls.actor(username).to_string(),
            profile_url: state.urls.profile(username).to_string(),
            followers,
            icon_url: state
                .settings
                .resolve_media_url(&collective.icon_url)
                .map(|u| u.to_string()),
        },
    )
}

/// `/@username`: the profile URL Mastodon users know; it negotiates like the actor id.
pub async fn by_handle(
    State(state): State<AppState>,
    Path(at_username): Path<String>,
    wants: Wants,
) -> AppResult<Response> {
    let Some(username) = at_username.strip_prefix('@') else {
        return Err(AppError::NotFound("no such page".into()));
    };
    if wants.0 == Representation::Html {
        if username != state.collective.username {
            return Err(AppError::NotFound(format!(
                "no actor named {username:?} here"
            )));
        }
        return page(&state).await;
    }
    crate::federation::routes::actor(State(state), Path(username.to_string()), wants).await
}
