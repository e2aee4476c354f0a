//! `comment`: a fediverse reply under one of our posts (or under another comment), sanitized.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub object_url: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub in_reply_to_url: String,
    pub author_id: i64,
    #[sea_orm(column_type = "Text")]
    pub content_html: String,
    pub summary: Option<String>,
    pub sensitive: bool,
    pub language: Option<String>,
    pub url: Option<String>,
    pub published_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    pub state: String,
    pub depth: i32,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";
pub const HIDDEN: &str = "hidden";
pub const DELETED: &str = "deleted";
