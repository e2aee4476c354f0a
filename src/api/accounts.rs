//! Accounts: `verify_credentials` (the member, with `source`) and `GET /api/v1/accounts/:id`
//! (the collective, a member, or a remote account).

use axum::{
    Json,
    extract::{Path, State},
};
use sea_orm::EntityTrait;
use serde_json::Value;

use super::{
    auth::Authed,
    entities::{self, AccountCounts},
    error::{ApiError, ApiResult},
    statuses::collective_counts,
};
use crate::{
    db::{self, entity::member},
    state::AppState,
};

/// An enabled member by account id.
pub async fn member_by_id(state: &AppState, id: &str) -> ApiResult<member::Model> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    member::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|m| !m.disabled)
        .ok_or(ApiError::NotFound)
}

async fn member_counts(state: &AppState, member: &member::Model) -> ApiResult<AccountCounts> {
    Ok(AccountCounts {
        statuses: db::post::count_published_by_author(&state.db, member.id).await?,
        followers: match member.local_actor_id {
            Some(actor) if state.settings.publishing.member_actors => {
                db::follower::count_accepted(&state.db, actor).await?
            }
            _ => 0,
        },
    })
}

/// GET /api/v1/accounts/verify_credentials.
pub async fn verify_credentials(
    State(state): State<AppState>,
    authed: Authed,
) -> ApiResult<Json<Value>> {
    let member = authed.member("profile")?;
    let counts = member_counts(&state, member).await?;
    Ok(Json(entities::credential_account(&state, member, counts)))
}

/// GET /api/v1/accounts/:id.
pub async fn show(
    State(state): State<AppState>,
    authed: Option<Authed>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Authed::allow_optional(&authed, "read:accounts")?;
    if id == entities::COLLECTIVE_ID {
        return Ok(Json(entities::collective_account(
            &state,
            collective_counts(&state).await?,
        )));
    }
    if let Some(remote) = id.strip_prefix('r') {
        let remote: i64 = remote.parse().map_err(|_| ApiError::NotFound)?;
        let actor = db::api::remote_account(&state.db, remote)
            .await?
            .ok_or(ApiError::NotFound)?;
        return Ok(Json(entities::remote_account(&actor)));
    }
    let member = member_by_id(&state, &id).await?;
    let counts = member_counts(&state, &member).await?;
    Ok(Json(entities::member_account(&state, &member, counts)))
}
