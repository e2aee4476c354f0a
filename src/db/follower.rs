//! Queries on followers.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use super::entity::follower::{self, Entity as Follower, STATE_ACCEPTED};

/// How many accepted followers a local actor has.
pub async fn count_accepted(db: &impl ConnectionTrait, local_actor_id: i64) -> Result<u64, DbErr> {
    Follower::find()
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(STATE_ACCEPTED))
        .count(db)
        .await
}
