//! `notification`: something the members should see (a reply, a mention, a like, a boost, a follow).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub post_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub object_url: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A reply stored as a comment.
pub const REPLY: &str = "reply";
/// A post mentioning the collective that is not a reply to one of ours.
pub const MENTION: &str = "mention";
/// A new follower of the collective.
pub const FOLLOW: &str = "follow";
// Likes and boosts use the reaction kinds: `reaction::LIKE` and `reaction::ANNOUNCE`.
