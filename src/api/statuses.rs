//! Statuses: post (`POST /api/v1/statuses`, with `Idempotency-Key`), read, edit, delete,
//! context and edit history. Writes go through `service::status`, which publishes exactly as
//! the admin panel does.

use axum::{
    Json,
    extract::{Path, State},
    http::HeaderMap,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::{Authed, Input},
    entities::{self, AccountCounts, StatusCounts},
    error::{ApiError, ApiResult},
};
use crate::{
    db::{self, post::PostBundle},
    service::status::{self, NewStatus},
    state::AppState,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: Option<String>,
    spoiler_text: Option<String>,
    language: Option<String>,
    visibility: Option<String>,
    in_reply_to_id: Option<String>,
    scheduled_at: Option<String>,
    #[serde(rename = "media_ids[]")]
    media_ids_form: Option<String>,
    media_ids: Option<Value>,
    poll: Option<Value>,
}

impl StatusForm {
    /// The status, or Mastodon's 422 for what Tribune does not do from an app (rather than
    /// publishing something other than what was asked).
    fn into_new(self) -> ApiResult<NewStatus> {
        let refuse = |what: &str| {
            Err(ApiError::Unprocessable(format!(
                "Validation failed: {what} are not supported from apps; use Tribune's admin panel"
            )))
        };
        if self
            .in_reply_to_id
            .as_deref()
            .is_some_and(|r| !r.is_empty())
        {
            return refuse("Replies");
        }
        if self.scheduled_at.as_deref().is_some_and(|r| !r.is_empty()) {
            return refuse("Scheduled statuses");
        }
        let media = self.media_ids_form.is_some_and(|m| !m.is_empty())
            || self
                .media_ids
                .as_ref()
                .is_some_and(|m| m.as_array().is_none_or(|a| !a.is_empty()));
        if media {
            return refuse("Media attachments");
        }
        if self.poll.as_ref().is_some_and(|p| !p.is_null()) {
            return refuse("Polls");
        }
        Ok(NewStatus {
            text: self.status.unwrap_or_default(),
            spoiler_text: self.spoiler_text,
            language: self.language,
            visibility: self.visibility,
        })
    }
}

/// A status id of one of our posts (`"42"`); anything else is not found.
fn post_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>().map_err(|_| ApiError::NotFound)
}

/// Counts of the collective's account.
pub async fn collective_counts(state: &AppState) -> ApiResult<AccountCounts> {
    Ok(AccountCounts {
        statuses: db::post::count_published(&state.db).await?,
        followers: db::follower::count_accepted(&state.db, state.collective.id).await?,
    })
}

/// Statuses of several posts, with their counts (three queries).
pub async fn render_many(
    state: &AppState,
    bundles: &[PostBundle],
    with_source: bool,
) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = bundles.iter().map(|b| b.post.id).collect();
    let reactions = db::comment::reaction_counts(&state.db, &ids).await?;
    let replies = db::api::reply_counts(&state.db, &ids).await?;
    let collective = collective_counts(state).await?;
    Ok(bundles
        .iter()
        .map(|bundle| {
            let (favourites, reblogs) = reactions.get(&bundle.post.id).copied().unwrap_or_default();
            let counts = StatusCounts {
                replies: replies.get(&bundle.post.id).copied().unwrap_or_default(),
                favourites,
                reblogs,
            };
            let account = entities::author_account(state, bundle, collective);
            entities::status(state, bundle, counts, account, with_source)
        })
        .collect())
}

async fn render_one(state: &AppState, bundle: &PostBundle, with_source: bool) -> ApiResult<Value> {
    render_many(state, std::slice::from_ref(bundle), with_source)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

async fn load(state: &AppState, id: i64) -> ApiResult<PostBundle> {
    db::api::published_status(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// POST /api/v1/statuses.
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Input(form): Input<StatusForm>,
) -> ApiResult<Json<Value>> {
    let member = authed.member("write:statuses")?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let post = status::publish(&state, member, authed.token_id(), key, form.into_new()?).await?;
    Ok(Json(
        render_one(&state, &load(&state, post.id).await?, false).await?,
    ))
}

/// GET /api/v1/statuses/:id (public statuses need no token).
pub async fn show(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Authed::allow_optional(&authed, "read:statuses")?;
    let bundle = load(&state, post_id(&id)?).await?;
    Ok(Json(render_one(&state, &bundle, false).await?))
}

/// PUT /api/v1/statuses/:id.
pub async fn edit(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Input(form): Input<StatusForm>,
) -> ApiResult<Json<Value>> {
    let member = authed.member("write:statuses")?;
    let post = status::edit(&state, member, post_id(&id)?, form.into_new()?).await?;
    Ok(Json(
        render_one(&state, &load(&state, post.id).await?, false).await?,
    ))
}

/// DELETE /api/v1/statuses/:id: the status as it was, with its `text`.
pub async fn delete(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let member = authed.member("write:statuses")?;
    let bundle = load(&state, post_id(&id)?).await?;
    let rendered = render_one(&state, &bundle, true).await?;
    status::delete(&state, member, bundle.post.id).await?;
    Ok(Json(rendered))
}

/// GET /api/v1/statuses/:id/context: no ancestors (posts start conversations); the
/// descendants are the approved replies from the fediverse.
pub async fn context(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Authed::allow_optional(&authed, "read:statuses")?;
    let bundle = load(&state, post_id(&id)?).await?;
    let replies = db::api::approved_replies(&state.db, bundle.post.id).await?;
    let descendants = entities::descendants(&state, &bundle, &replies);
    Ok(Json(json!({ "ancestors": [], "descendants": descendants })))
}

/// GET /api/v1/statuses/:id/history: every version, oldest first, the current one last.
pub async fn history(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Authed::allow_optional(&authed, "read:statuses")?;
    let bundle = load(&state, post_id(&id)?).await?;
    let current = render_one(&state, &bundle, false).await?;
    let revisions = db::api::revisions(&state.db, bundle.post.id).await?;
    let versions = entities::history(&state, &bundle, &revisions, &current);
    Ok(Json(Value::Array(versions)))
}
