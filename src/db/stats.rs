//! Instance-wide counts (NodeInfo usage).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait};

use super::entity::local_actor::Entity as LocalActor;
use crate::federation::nodeinfo::Usage;

/// Local accounts and posts. Posts do not exist yet (the publishing issue adds them).
pub async fn usage(db: &impl ConnectionTrait) -> Result<Usage, DbErr> {
    let users = LocalActor::find().count(db).await?;
    Ok(Usage {
        users,
        local_posts: 0,
    })
}
