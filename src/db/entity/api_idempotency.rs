//! `api_idempotency`: an `Idempotency-Key` seen on `POST /api/v1/statuses`, per token.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_idempotency")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub token_id: i64,
    pub key: String,
    pub post_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
