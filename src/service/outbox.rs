//! The transactional outbox: every activity Tribune emits is stored here, inside the transaction
//! of the change that causes it. Committed means it exists (and, with the delivery engine,
//! will be delivered); rolled back means it never existed.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::Value;
use url::Url;

use crate::db::entity::activity;

/// An activity ready to be recorded.
pub struct Emitted<'a> {
    pub id: &'a Url,
    pub kind: &'a str,
    pub actor_id: i64,
    pub object: &'a Url,
    pub post_id: Option<i64>,
    pub payload: &'a Value,
    pub at: DateTime<Utc>,
}

/// Records the activity; call it with the transaction of the change.
pub async fn emit(
    txn: &impl ConnectionTrait,
    emitted: Emitted<'_>,
) -> Result<activity::Model, DbErr> {
    activity::ActiveModel {
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
    .await
}

/// A fresh random id for an activity URL.
pub fn new_activity_id() -> String {
    crate::service::session::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(22)
        .collect()
}
