//! Instance-wide counts (NodeInfo usage).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait};

use super::entity::local_actor::Entity as LocalActor;

/// Counts reported as NodeInfo `usage`.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub users: u64,
    pub local_posts: u64,
}

/// Local accounts (the collective and, with member actors, members) and published posts.
pub async fn usage(db: &impl ConnectionTrait) -> Result<Usage, DbErr> {
    let users = LocalActor::find().count(db).await?;
    let local_posts = super::post::count_published(db).await?;
    Ok(Usage { users, local_posts })
}
