//! `remote_actor`: an actor of another server, as last fetched (profile, inboxes, key).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_actor")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub actor_url: String,
    pub kind: String,
    pub host: String,
    pub preferred_username: String,
    pub name: Option<String>,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub profile_url: Option<String>,
    pub icon_url: Option<String>,
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub public_key_pem: String,
    pub fetched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
