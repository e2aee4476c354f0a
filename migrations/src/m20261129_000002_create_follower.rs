//! Remote actors following a local actor, with the inboxes deliveries go to.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Follower::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Follower::Id))
                    .col(big_integer(Follower::LocalActorId))
                    // The follower's actor id (a URL); with the local actor, unique.
                    .col(string_len(Follower::ActorUrl, 2048))
                    .col(string_len(Follower::InboxUrl, 2048))
                    .col(string_len_null(Follower::SharedInboxUrl, 2048))
                    // `pending` while awaiting approval, `accepted` once it receives posts.
                    .col(string_len(Follower::State, 16))
                    // The id of their Follow activity, echoed in our Accept/Reject.
                    .col(string_len_null(Follower::FollowActivityUrl, 2048))
                    .col(timestamp_with_time_zone(Follower::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Follower::Table, Follower::LocalActorId)
                            .to(LocalActor::Table, LocalActor::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("follower_local_actor_actor_url")
                    .table(Follower::Table)
                    .col(Follower::LocalActorId)
                    .col(Follower::ActorUrl)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Follower::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Follower {
    Table,
    Id,
    LocalActorId,
    ActorUrl,
    InboxUrl,
    SharedInboxUrl,
    State,
    FollowActivityUrl,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LocalActor {
    Table,
    Id,
}
