//! Followers: a `Follow` is accepted at once (or waits for an admin when the collective approves
//! followers by hand), `Undo{Follow}` ends it; admins approve, reject or remove followers. Every
//! `Accept`/`Reject` is queued in the transaction of the change.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use url::Url;

use super::outbox::{self, Emitted, Recipients};
use crate::{
    db::entity::{
        follower::{self, STATE_ACCEPTED, STATE_PENDING},
        local_actor, remote_actor,
    },
    federation::objects::object_context,
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("no such follower")]
    NotFound,
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn inbox_of(actor: &remote_actor::Model) -> Option<Url> {
    Url::parse(&actor.inbox_url).ok()
}

/// Queues an `Accept` or `Reject`, by the followed local actor, of a follow for the follower,
/// in `txn`.
async fn answer(
    state: &AppState,
    txn: &impl sea_orm::ConnectionTrait,
    followed: &local_actor::Model,
    kind: &str,
    follow_id: &str,
    follower_actor: &str,
    inbox: Url,
) -> Result<(), DbErr> {
    let collective = state.urls.actor(&followed.username);
    let id = state.urls.activity(&outbox::new_activity_id());
    let now = Utc::now();
    let payload = json!({
        "@context": object_context(),
        "id": id,
        "type": kind,
        "actor": collective,
        "to": [follower_actor],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower_actor,
            "object": collective,
        },
    });
    outbox::emit(
        txn,
        Emitted {
            id: &id,
            kind,
            actor_id: followed.id,
            object: &collective,
            post_id: None,
            payload: &payload,
            at: now,
            to: Recipients::Inboxes(vec![inbox]),
        },
    )
    .await?;
    Ok(())
}

/// A `Follow` of a local actor (the collective, or a member's actor) from `actor`. Following
/// again (e.g. after the follower's server lost our Accept) answers again rather than failing.
/// Only the collective may approve followers by hand.
pub async fn receive_follow(
    state: &AppState,
    followed: &local_actor::Model,
    actor: &remote_actor::Model,
    follow_id: &str,
) -> Result<(), DbErr> {
    let Some(inbox) = inbox_of(actor) else {
        return Ok(());
    };
    let manual =
        followed.id == state.collective.id && state.settings.collective.manually_approves_followers;
    let txn = state.db.begin().await?;
    let existing = follower::Entity::find()
        .filter(follower::Column::LocalActorId.eq(followed.id))
        .filter(follower::Column::ActorUrl.eq(&actor.actor_url))
        .one(&txn)
        .await?;
    let accepted = match existing {
        Some(row) => {
            let accepted = row.state == STATE_ACCEPTED || !manual;
            let mut active: follower::ActiveModel = row.into();
            active.follow_activity_url = Set(Some(follow_id.to_string()));
            active.inbox_url = Set(actor.inbox_url.clone());
            active.shared_inbox_url = Set(actor.shared_inbox_url.clone());
            active.state = Set(if accepted {
                STATE_ACCEPTED
            } else {
                STATE_PENDING
            }
            .to_string());
            active.update(&txn).await?;
            accepted
        }
        None => {
            follower::ActiveModel {
                local_actor_id: Set(followed.id),
                actor_url: Set(actor.actor_url.clone()),
                inbox_url: Set(actor.inbox_url.clone()),
                shared_inbox_url: Set(actor.shared_inbox_url.clone()),
                state: Set(if manual {
                    STATE_PENDING
                } else {
                    STATE_ACCEPTED
                }
                .to_string()),
                follow_activity_url: Set(Some(follow_id.to_string())),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            if followed.id == state.collective.id {
                // A new follower of the collective is news for the members (their apps show it).
                crate::db::entity::notification::ActiveModel {
                    kind: Set("follow".into()),
                    actor_id: Set(Some(actor.id)),
                    post_id: Set(None),
                    comment_id: Set(None),
                    object_url: Set(Some(follow_id.to_string())),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
            !manual
        }
    };
    if accepted {
        answer(
            state,
            &txn,
            followed,
            "Accept",
            follow_id,
            &actor.actor_url,
            inbox,
        )
        .await?;
    }
    txn.commit().await?;
    if accepted {
        state.wake_delivery();
    }
    tracing::info!(follower = %actor.actor_url, accepted, "follow received");
    Ok(())
}

/// `Undo{Follow}` from `actor`: only the follower can end their own follow.
pub async fn receive_undo_follow(
    state: &AppState,
    followed_id: i64,
    actor: &str,
) -> Result<(), DbErr> {
    follower::Entity::delete_many()
        .filter(follower::Column::LocalActorId.eq(followed_id))
        .filter(follower::Column::ActorUrl.eq(actor))
        .exec(&state.db)
        .await?;
    tracing::info!(follower = %actor, "unfollowed");
    Ok(())
}

/// The local actor a follower row follows.
async fn followed_by(
    db: &DatabaseConnection,
    state: &AppState,
    id: i64,
) -> Result<local_actor::Model, DbErr> {
    if id == state.collective.id {
        return Ok(state.collective.clone());
    }
    local_actor::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("local actor {id}")))
}

async fn find(db: &DatabaseConnection, id: i64) -> Result<follower::Model, FollowError> {
    follower::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(FollowError::NotFound)
}

/// An admin accepts a pending follow request: `Accept` sent.
pub async fn approve(state: &AppState, id: i64) -> Result<(), FollowError> {
    let row = find(&state.db, id).await?;
    if row.state != STATE_PENDING {
        return Ok(());
    }
    let inbox = Url::parse(&row.inbox_url).map_err(|_| FollowError::NotFound)?;
    let follow_id = row.follow_activity_url.clone().unwrap_or_default();
    let txn = state.db.begin().await?;
    let actor_url = row.actor_url.clone();
    let local_actor_id = row.local_actor_id;
    let mut active: follower::ActiveModel = row.into();
    active.state = Set(STATE_ACCEPTED.to_string());
    active.update(&txn).await?;
    let followed = followed_by(&state.db, state, local_actor_id).await?;
    answer(
        state, &txn, &followed, "Accept", &follow_id, &actor_url, inbox,
    )
    .await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// An admin rejects a request or removes a follower: the row goes and a `Reject` tells their
/// server to drop the follow.
pub async fn reject(state: &AppState, id: i64) -> Result<(), FollowError> {
    let row = find(&state.db, id).await?;
    let inbox = Url::parse(&row.inbox_url).map_err(|_| FollowError::NotFound)?;
    let follow_id = row.follow_activity_url.clone().unwrap_or_default();
    let txn = state.db.begin().await?;
    follower::Entity::delete_by_id(row.id).exec(&txn).await?;
    let followed = followed_by(&state.db, state, row.local_actor_id).await?;
    answer(
        state,
        &txn,
        &followed,
        "Reject",
        &follow_id,
        &row.actor_url,
        inbox,
    )
    .await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(())
}

/// Followers (accepted, or pending requests), oldest first.
pub async fn list(state: &AppState, pending: bool) -> Result<Vec<follower::Model>, DbErr> {
    follower::Entity::find()
        .filter(follower::Column::LocalActorId.eq(state.collective.id))
        .filter(follower::Column::State.eq(if pending {
            STATE_PENDING
        } else {
            STATE_ACCEPTED
        }))
        .order_by_asc(follower::Column::CreatedAt)
        .all(&state.db)
        .await
}
