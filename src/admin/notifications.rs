//! Notifications (editors and admins): what happened around the collective on the fediverse —
//! mentions that are not replies, replies, likes, boosts and new followers — newest first, with
//! who did it and on which post.

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
    views::{self, Chrome},
};
use crate::{
    db::{
        self,
        entity::{notification, reaction},
        notification::NotificationEntry,
    },
    i18n::Catalog,
    state::AppState,
};

/// Notifications per page.
const PER_PAGE: u64 = 50;

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct NotificationsPage {
    t: Catalog,
    chrome: Chrome,
    rows: Vec<NotificationRow>,
    page: u64,
    pages: u64,
    previous_url: Option<String>,
    next_url: Option<String>,
}

struct NotificationRow {
    kind: String,
    /// "replied to", "liked"… in the member's language.
    what: String,
    actor_name: String,
    handle: Option<String>,
    actor_link: Option<String>,
    post_title: Option<String>,
    post_url: Option<String>,
    /// The reply or mention itself, on its server.
    object_link: Option<String>,
    /// For a reply still stored: its place in the moderation queue.
    queue_link: Option<String>,
    when: String,
}

impl NotificationRow {
    fn of(state: &AppState, t: Catalog, entry: &NotificationEntry) -> NotificationRow {
        let n = &entry.notification;
        let known = [
            notification::REPLY,
            notification::MENTION,
            notification::FOLLOW,
            reaction::LIKE,
            reaction::ANNOUNCE,
        ];
        let kind = if known.contains(&n.kind.as_str()) {
            n.kind.as_str()
        } else {
            "other"
        };
        let object_link = match kind {
            notification::REPLY | notification::MENTION => {
                n.object_url.as_deref().and_then(views::web_link)
            }
            _ => None,
        };
        NotificationRow {
            kind: kind.to_string(),
            what: t
                .get(&format!("admin.notifications.kind_{kind}"))
                .to_string(),
            actor_name: entry
                .actor
                .as_ref()
                .map(views::actor_name)
                .unwrap_or_else(|| t.get("admin.notifications.someone").to_string()),
            handle: entry.actor.as_ref().map(views::handle_of),
            actor_link: entry.actor.as_ref().and_then(views::actor_link),
            post_title: entry.post.as_ref().map(views::post_title),
            post_url: entry.post.as_ref().map(|p| views::post_link(state, p)),
            object_link,
            queue_link: entry
                .comment
                .as_ref()
                .map(|c| format!("/admin/comments?state={}#comment-{}", c.state, c.id)),
            when: views::when(n.created_at),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: Option<u64>,
}

/// GET /admin/notifications.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let t = me.t();
    let total = db::notification::count(&state.db).await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let entries = db::notification::latest(&state.db, (page - 1) * PER_PAGE, PER_PAGE).await?;
    let page_url = |n: u64| format!("/admin/notifications?page={n}");
    let view = NotificationsPage {
        t,
        chrome: Chrome::of(&me, "notifications"),
        rows: entries
            .iter()
            .map(|e| NotificationRow::of(&state, t, e))
            .collect(),
        page,
        pages,
        previous_url: (page > 1).then(|| page_url(page - 1)),
        next_url: (page < pages).then(|| page_url(page + 1)),
    };
    views::html(StatusCode::OK, &view)
}
