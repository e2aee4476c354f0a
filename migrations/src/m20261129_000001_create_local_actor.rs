//! The actors this server speaks for (the collective, later its members) and their key pairs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LocalActor::Table)
                    .if_not_exists()
                    .col(big_pk_auto(LocalActor::Id))
                    // The handle part before the `@`: unique, never renamed (it is in every URL).
                    .col(string_len_uniq(LocalActor::Username, 64))
                    .col(text(LocalActor::PublicKeyPem))
                    .col(text(LocalActor::PrivateKeyPem))
                    .col(timestamp_with_time_zone(LocalActor::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LocalActor::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LocalActor {
    Table,
    Id,
    Username,
    PublicKeyPem,
    PrivateKeyPem,
    CreatedAt,
}
