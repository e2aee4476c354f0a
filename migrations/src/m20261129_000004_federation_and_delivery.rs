//! What federation needs: remote actors (cached), activities already received (dedup), the
//! durable delivery queue, and the state of each remote host.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RemoteActor::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RemoteActor::Id))
                    .col(string_len_uniq(RemoteActor::ActorUrl, 2048))
                    .col(string_len(RemoteActor::Kind, 32))
                    .col(string_len(RemoteActor::Host, 255))
                    .col(string_len(RemoteActor::PreferredUsername, 255))
                    .col(string_len_null(RemoteActor::Name, 500))
                    .col(string_len(RemoteActor::InboxUrl, 2048))
                    .col(string_len_null(RemoteActor::SharedInboxUrl, 2048))
                    .col(string_len_null(RemoteActor::ProfileUrl, 2048))
                    .col(string_len_null(RemoteActor::IconUrl, 2048))
                    .col(string_len(RemoteActor::KeyId, 2048))
                    .col(text(RemoteActor::PublicKeyPem))
                    .col(timestamp_with_time_zone(RemoteActor::FetchedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReceivedActivity::Table)
                    .if_not_exists()
                    .col(string_len(ReceivedActivity::ActivityUrl, 2048).primary_key())
                    .col(string_len(ReceivedActivity::Kind, 32))
                    .col(string_len(ReceivedActivity::ActorUrl, 2048))
                    .col(timestamp_with_time_zone(ReceivedActivity::ReceivedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Delivery::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Delivery::Id))
                    .col(big_integer(Delivery::ActivityId))
                    .col(string_len(Delivery::InboxUrl, 2048))
                    .col(string_len(Delivery::Host, 255))
                    // pending | delivered | failed | parked
                    .col(string_len(Delivery::State, 16))
                    .col(integer(Delivery::Attempts))
                    .col(timestamp_with_time_zone(Delivery::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Delivery::LeaseUntil))
                    .col(string_len_null(Delivery::LeasedBy, 64))
                    .col(integer_null(Delivery::LastStatus))
                    .col(string_len_null(Delivery::LastError, 500))
                    .col(timestamp_with_time_zone(Delivery::CreatedAt))
                    .col(timestamp_with_time_zone_null(Delivery::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Delivery::Table, Delivery::ActivityId)
                            .to(Activity::Table, Activity::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("delivery_activity_inbox")
                    .table(Delivery::Table)
                    .col(Delivery::ActivityId)
                    .col(Delivery::InboxUrl)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("delivery_due")
                    .table(Delivery::Table)
                    .col(Delivery::State)
                    .col(Delivery::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("delivery_host_state")
                    .table(Delivery::Table)
                    .col(Delivery::Host)
                    .col(Delivery::State)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RemoteHost::Table)
                    .if_not_exists()
                    .col(string_len(RemoteHost::Host, 255).primary_key())
                    // reachable | unreachable
                    .col(string_len(RemoteHost::State, 16))
                    .col(integer(RemoteHost::ConsecutiveFailures))
                    .col(timestamp_with_time_zone_null(RemoteHost::FailingSince))
                    .col(timestamp_with_time_zone_null(RemoteHost::LastSuccessAt))
                    .col(timestamp_with_time_zone_null(RemoteHost::LastFailureAt))
                    .col(string_len_null(RemoteHost::LastError, 500))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RemoteHost::Table.into_iden(),
            Delivery::Table.into_iden(),
            ReceivedActivity::Table.into_iden(),
            RemoteActor::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum RemoteActor {
    Table,
    Id,
    ActorUrl,
    Kind,
    Host,
    PreferredUsername,
    Name,
    InboxUrl,
    SharedInboxUrl,
    ProfileUrl,
    IconUrl,
    KeyId,
    PublicKeyPem,
    FetchedAt,
}

#[derive(DeriveIden)]
enum ReceivedActivity {
    Table,
    ActivityUrl,
    Kind,
    ActorUrl,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Delivery {
    Table,
    Id,
    ActivityId,
    InboxUrl,
    Host,
    State,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeasedBy,
    LastStatus,
    LastError,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Activity {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RemoteHost {
    Table,
    Host,
    State,
    ConsecutiveFailures,
    FailingSince,
    LastSuccessAt,
    LastFailureAt,
    LastError,
}
