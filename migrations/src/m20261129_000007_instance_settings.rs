//! Instance settings changed from the admin panel (the reply policy, allowlist mode): a small
//! key/value table whose values override the configuration file's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InstanceSetting::Table)
                    .if_not_exists()
                    // `moderation.replies`, `moderation.allowlist_mode`…
                    .col(string_len(InstanceSetting::Key, 64).primary_key())
                    .col(string_len(InstanceSetting::Value, 2048))
                    .col(timestamp_with_time_zone(InstanceSetting::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InstanceSetting::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum InstanceSetting {
    Table,
    Key,
    Value,
    UpdatedAt,
}
