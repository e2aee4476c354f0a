//! `instance_setting`: a setting changed from the admin panel, overriding the configuration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_setting")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub value: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The reply policy: `open`, `trusted` or `review`.
pub const REPLIES: &str = "moderation.replies";
/// Allowlist mode: `true` or `false`.
pub const ALLOWLIST_MODE: &str = "moderation.allowlist_mode";
