//! `oauth_app`: an application registered through `POST /api/v1/apps` (secret stored hashed).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_app")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub client_id: String,
    pub client_secret_hash: String,
    pub name: String,
    pub website: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub redirect_uris: String,
    pub scopes: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
