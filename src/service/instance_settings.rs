//! Instance settings changed from the admin panel: the reply policy and allowlist mode. A value
//! saved in the `instance_setting` table overrides the configuration file's; without one, the
//! configuration applies.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TransactionTrait, sea_query::OnConflict,
};

use crate::{
    config::{ReplyPolicy, Settings},
    db::entity::instance_setting::{self, ALLOWLIST_MODE, REPLIES},
    state::AppState,
};

/// The moderation settings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moderation {
    pub replies: ReplyPolicy,
    pub allowlist_mode: bool,
}

async fn stored(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    Ok(instance_setting::Entity::find()
        .filter(instance_setting::Column::Key.eq(key))
        .one(db)
        .await?
        .map(|row| row.value))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The reply policy in force: the panel's choice, else the configuration's.
pub async fn reply_policy(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> Result<ReplyPolicy, DbErr> {
    Ok(stored(db, REPLIES)
        .await?
        .as_deref()
        .and_then(ReplyPolicy::parse)
        .unwrap_or(settings.moderation.replies))
}

/// Whether allowlist mode is on: the panel's choice, else the configuration's.
pub async fn allowlist_mode(db: &impl ConnectionTrait, settings: &Settings) -> Result<bool, DbErr> {
    Ok(stored(db, ALLOWLIST_MODE)
        .await?
        .as_deref()
        .and_then(parse_bool)
        .unwrap_or(settings.moderation.allowlist_mode))
}

/// Both moderation settings in force, in one query.
pub async fn moderation(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> Result<Moderation, DbErr> {
    let rows = instance_setting::Entity::find()
        .filter(instance_setting::Column::Key.is_in([REPLIES, ALLOWLIST_MODE]))
        .all(db)
        .await?;
    let saved = |key: &str| {
        rows.iter()
            .find(|row| row.key == key)
            .map(|row| row.value.as_str())
    };
    Ok(Moderation {
        replies: saved(REPLIES)
            .and_then(ReplyPolicy::parse)
            .unwrap_or(settings.moderation.replies),
        allowlist_mode: saved(ALLOWLIST_MODE)
            .and_then(parse_bool)
            .unwrap_or(settings.moderation.allowlist_mode),
    })
}

/// Saves the moderation settings chosen in the panel; they apply to the next activity received.
pub async fn save_moderation(state: &AppState, chosen: Moderation) -> Result<(), DbErr> {
    let txn = state.db.begin().await?;
    let allowlist = if chosen.allowlist_mode {
        "true"
    } else {
        "false"
    };
    for (key, value) in [
        (REPLIES, chosen.replies.as_str()),
        (ALLOWLIST_MODE, allowlist),
    ] {
        instance_setting::Entity::insert(instance_setting::ActiveModel {
            key: Set(key.to_string()),
            value: Set(value.to_string()),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(instance_setting::Column::Key)
                .update_columns([
                    instance_setting::Column::Value,
                    instance_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(
        replies = chosen.replies.as_str(),
        allowlist_mode = chosen.allowlist_mode,
        "moderation settings changed from the admin panel"
    );
    Ok(())
}
