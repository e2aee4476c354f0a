//! `received_activity`: ids of activities already processed, so a redelivery has no effect.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "received_activity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub activity_url: String,
    pub kind: String,
    pub actor_url: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
