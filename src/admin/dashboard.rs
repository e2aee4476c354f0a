//! The dashboard (`/admin`): followers and follow requests, replies awaiting moderation, what
//! awaits review, what is scheduled, latest posts.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{
    auth::CurrentMember,
    failure::AdminError,
    views::{self, Chrome, PostRow},
};
use crate::{
    db::{self, entity::comment::PENDING},
    domain::post::Status,
    i18n::Catalog,
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    t: Catalog,
    chrome: Chrome,
    followers: u64,
    /// "N follow requests wait…", for editors and admins when there are some.
    pending_requests: Option<String>,
    /// "N replies await review…", for editors and admins when there are some.
    pending_replies: Option<String>,
    published: u64,
    can_publish: bool,
    awaiting: Vec<PostRow>,
    scheduled: Vec<PostRow>,
    latest: Vec<PostRow>,
    handle: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// GET /admin.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    let t = me.t();
    let can_publish = me.role.can_publish();
    // Editors see what everyone submitted; authors see only their own work in progress.
    let (mine, waiting) = if can_publish {
        (None, &[Status::Review][..])
    } else {
        (Some(me.member.id), &[Status::Draft, Status::Review][..])
    };
    let awaiting = db::post::with_statuses(&state.db, waiting, mine, 50).await?;
    let scheduled = db::post::with_statuses(&state.db, &[Status::Scheduled], mine, 50).await?;
    let latest = db::post::published_page(&state.db, 0, 5).await?;
    let pending = if can_publish {
        db::follower::count_pending(&state.db, state.collective.id).await?
    } else {
        0
    };
    let pending_requests = (pending > 0).then(|| {
        let key = if pending == 1 {
            "admin.dashboard.pending_request_one"
        } else {
            "admin.dashboard.pending_requests"
        };
        t.fmt(key, &[("count", &pending.to_string())])
    });
    let waiting_replies = if can_publish {
        db::comment::count_by_state(&state.db)
            .await?
            .get(PENDING)
            .copied()
            .unwrap_or(0)
    } else {
        0
    };
    let pending_replies = (waiting_replies > 0).then(|| {
        let key = if waiting_replies == 1 {
            "admin.dashboard.pending_reply_one"
        } else {
            "admin.dashboard.pending_replies"
        };
        t.fmt(key, &[("count", &waiting_replies.to_string())])
    });
    let page = DashboardPage {
        t,
        chrome: Chrome::of(&me, "dashboard").with_done(t, query.done.as_deref()),
        followers: db::follower::count_accepted(&state.db, state.collective.id).await?,
        pending_requests,
        pending_replies,
        published: db::post::count_published(&state.db).await?,
        can_publish,
        awaiting: PostRow::all(&state, t, &awaiting),
        scheduled: PostRow::all(&state, t, &scheduled),
        latest: PostRow::all(&state, t, &latest),
        handle: format!("@{}@{}", state.collective.username, state.settings.domain()),
    };
    views::html(StatusCode::OK, &page)
}
