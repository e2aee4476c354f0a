//! Timelines (`home` and `public`: the collective's published posts), a member's statuses, and
//! notifications (replies, mentions, likes, boosts and follows received by the collective).

use axum::{
    extract::{Path, Query, State},
    response::Response,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::Authed,
    entities,
    error::ApiResult,
    paging::{PageParams, linked},
    statuses::render_many,
};
use crate::{db, state::AppState};

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 40;

async fn statuses_page(
    state: &AppState,
    path: &str,
    author: Option<i64>,
    params: &PageParams,
) -> ApiResult<Response> {
    let page = params.page(DEFAULT_LIMIT, MAX_LIMIT);
    let bundles = db::api::published_statuses(&state.db, author, page).await?;
    let ids: Vec<i64> = bundles.iter().map(|b| b.post.id).collect();
    let items = render_many(state, &bundles, false).await?;
    Ok(linked(state.urls.base(), path, items, &ids, page.limit))
}

/// GET /api/v1/timelines/home.
pub async fn home(
    State(state): State<AppState>,
    authed: Authed,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    authed.member("read:statuses")?;
    statuses_page(&state, "/api/v1/timelines/home", None, &params).await
}

/// GET /api/v1/timelines/public (no token needed).
pub async fn public(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    Authed::allow_optional(&authed, "read:statuses")?;
    statuses_page(&state, "/api/v1/timelines/public", None, &params).await
}

/// GET /api/v1/accounts/:id/statuses: all posts for the collective, a member's own for a member.
pub async fn account_statuses(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    Authed::allow_optional(&authed, "read:statuses")?;
    let path = format!("/api/v1/accounts/{id}/statuses");
    if id == entities::COLLECTIVE_ID {
        return statuses_page(&state, &path, None, &params).await;
    }
    let member = super::accounts::member_by_id(&state, &id).await?;
    statuses_page(&state, &path, Some(member.id), &params).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NotificationParams {
    #[serde(flatten)]
    page: PageParams,
}

/// Tribune's notification kinds as Mastodon's types.
fn mastodon_type(kind: &str) -> &'static str {
    match kind {
        "reply" | "mention" => "mention",
        "like" => "favourite",
        "announce" => "reblog",
        "follow" => "follow",
        _ => "mention",
    }
}

/// GET /api/v1/notifications.
pub async fn notifications(
    State(state): State<AppState>,
    authed: Authed,
    Query(params): Query<NotificationParams>,
) -> ApiResult<Response> {
    authed.member("read:notifications")?;
    let page = params.page.page(15, 30);
    let rows = db::api::notifications(&state.db, page, &[]).await?;
    let bundles: Vec<_> = rows.iter().filter_map(|n| n.post.clone()).collect();
    let rendered = render_many(&state, &bundles, false).await?;
    let by_post: std::collections::HashMap<i64, Value> =
        bundles.iter().map(|b| b.post.id).zip(rendered).collect();
    let ids: Vec<i64> = rows.iter().map(|n| n.notification.id).collect();
    let items: Vec<Value> = rows
        .iter()
        .filter_map(|n| {
            let account = n.actor.as_ref().map(entities::remote_account)?;
            let kind = mastodon_type(&n.notification.kind);
            let status = match (&n.comment, n.notification.post_id) {
                // A reply: the reply itself is the status that mentions us.
                (Some(reply), Some(post_id)) => Some(entities::comment_status(
                    reply,
                    post_id,
                    Some(entities::COLLECTIVE_ID.into()),
                )),
                _ => n
                    .post
                    .as_ref()
                    .and_then(|b| by_post.get(&b.post.id).cloned()),
            };
            if matches!(kind, "favourite" | "reblog") && status.is_none() {
                return None;
            }
            if n.notification.kind == "reply" && status.is_none() {
                // A reply not (or no longer) approved is not shown.
                return None;
            }
            Some(json!({
                "id": n.notification.id.to_string(),
                "type": kind,
                "created_at": entities::time(n.notification.created_at),
                "group_key": format!("ungrouped-{}", n.notification.id),
                "account": account,
                "status": status,
            }))
        })
        .collect();
    Ok(linked(
        state.urls.base(),
        "/api/v1/notifications",
        items,
        &ids,
        page.limit,
    ))
}
