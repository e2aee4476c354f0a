//! The transactional outbox: every activity Tribune emits is stored here with one delivery per
//! target inbox, inside the transaction of the change that causes it. Committed means it will be
//! delivered; rolled back means it never existed.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::Value;
use url::Url;

use crate::{db::entity::activity, delivery::queue};

/// Who an activity goes to.
pub enum Recipients {
    /// Every accepted follower of the sending actor and, when set, of `also_followers_of`
    /// (shared inboxes, deduplicated), plus the inboxes of `and`.
    Followers {
        also_followers_of: Option<i64>,
        and: Vec<Url>,
    },
    /// Exactly these inboxes.
    Inboxes(Vec<Url>),
}

/// An activity ready to be recorded.
pub struct Emitted<'a> {
    pub id: &'a Url,
    pub kind: &'a str,
    pub actor_id: i64,
    pub object: &'a Url,
    pub post_id: Option<i64>,
    pub payload: &'a Value,
    pub at: DateTime<Utc>,
    pub to: Recipients,
}

/// Records the activity and queues one delivery per target inbox; call it with the transaction
/// of the change. Wake the workers (`AppState::wake_delivery`) once that transaction commits.
pub async fn emit(
    txn: &impl ConnectionTrait,
    emitted: Emitted<'_>,
) -> Result<activity::Model, DbErr> {
    let row = activity::ActiveModel {
        activity_url: Set(emitted.id.to_string()),
        kind: Set(emitted.kind.to_string()),
        actor_id: Set(emitted.actor_id),
        object_url: Set(emitted.object.to_string()),
        post_id: Set(emitted.post_id),
        payload: Set(emitted.payload.to_string()),
        created_at: Set(emitted.at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    match emitted.to {
        Recipients::Followers {
            also_followers_of,
            and,
        } => {
            queue::enqueue(txn, row.id, and, emitted.at).await?;
            // The followers are read and queued inside the database: a fan-out to ten
            // thousand followers moves no row through the application. An inbox both actors'
            // followers share is queued once (the unique (activity, inbox) index).
            for actor in std::iter::once(emitted.actor_id).chain(also_followers_of) {
                queue::enqueue_followers(txn, row.id, actor, emitted.at).await?;
            }
        }
        Recipients::Inboxes(inboxes) => {
            queue::enqueue(txn, row.id, inboxes, emitted.at).await?;
        }
    }
    Ok(row)
}

/// A fresh random id for an activity URL.
pub fn new_activity_id() -> String {
    crate::service::session::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(22)
        .collect()
}
