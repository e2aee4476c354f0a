//! `post_revision`: the content a published post had before an edit (its edit history).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_revision")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i64,
    pub title: Option<String>,
    pub content_warning: Option<String>,
    pub language: String,
    #[sea_orm(column_type = "Text")]
    pub body_markdown: String,
    #[sea_orm(column_type = "Text")]
    pub body_html: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
