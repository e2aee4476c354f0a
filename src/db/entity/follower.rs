//! `follower`: a remote actor following one of our local actors.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follower")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub local_actor_id: i64,
    pub actor_url: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub state: String,
    pub follow_activity_url: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The follow is waiting for an admin's decision.
pub const STATE_PENDING: &str = "pending";
/// The follow was accepted: the follower receives posts.
pub const STATE_ACCEPTED: &str = "accepted";
