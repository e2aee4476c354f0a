//! Queries on followers.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::follower::{self, Entity as Follower, STATE_ACCEPTED};

/// How many accepted followers a local actor has.
pub async fn count_accepted(db: &impl ConnectionTrait, local_actor_id: i64) -> Result<u64, DbErr> {
    Follower::find()
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(STATE_ACCEPTED))
        .count(db)
        .await
}

/// One page of accepted followers' actor URLs, oldest first.
pub async fn accepted_page(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Vec<String>, DbErr> {
    follower::Entity::find()
        .select_only()
        .column(follower::Column::ActorUrl)
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(STATE_ACCEPTED))
        .order_by_asc(follower::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .into_tuple()
        .all(db)
        .await
}
