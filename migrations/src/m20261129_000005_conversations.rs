//! Conversations: replies stored as comments under posts, likes and boosts, notifications for
//! members, and blocks (actors and instances) with an optional allowlist of instances.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comment::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Comment::Id))
                    // The remote object's id.
                    .col(string_len_uniq(Comment::ObjectUrl, 2048))
                    .col(big_integer(Comment::PostId))
                    .col(big_integer_null(Comment::ParentId))
                    .col(string_len(Comment::InReplyToUrl, 2048))
                    .col(big_integer(Comment::AuthorId))
                    // Sanitized once, before storage.
                    .col(text(Comment::ContentHtml))
                    .col(string_len_null(Comment::Summary, 500))
                    .col(boolean(Comment::Sensitive))
                    .col(string_len_null(Comment::Language, 16))
                    .col(string_len_null(Comment::Url, 2048))
                    .col(timestamp_with_time_zone(Comment::PublishedAt))
                    .col(timestamp_with_time_zone_null(Comment::UpdatedAt))
                    // pending | approved | rejected | hidden | deleted
                    .col(string_len(Comment::State, 16))
                    .col(integer(Comment::Depth))
                    .col(timestamp_with_time_zone(Comment::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::AuthorId)
                            .to(RemoteActor::Table, RemoteActor::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comment_post_state")
                    .table(Comment::Table)
                    .col(Comment::PostId)
                    .col(Comment::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comment_author")
                    .table(Comment::Table)
                    .col(Comment::AuthorId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reaction::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Reaction::Id))
                    // like | announce
                    .col(string_len(Reaction::Kind, 16))
                    .col(big_integer(Reaction::PostId))
                    .col(big_integer(Reaction::ActorId))
                    .col(string_len(Reaction::ActivityUrl, 2048))
                    .col(timestamp_with_time_zone(Reaction::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reaction::Table, Reaction::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reaction::Table, Reaction::ActorId)
                            .to(RemoteActor::Table, RemoteActor::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reaction_once_per_actor")
                    .table(Reaction::Table)
                    .col(Reaction::Kind)
                    .col(Reaction::PostId)
                    .col(Reaction::ActorId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notification::Id))
                    // reply | mention | like | announce | follow
                    .col(string_len(Notification::Kind, 16))
                    .col(big_integer_null(Notification::ActorId))
                    .col(big_integer_null(Notification::PostId))
                    .col(big_integer_null(Notification::CommentId))
                    .col(string_len_null(Notification::ObjectUrl, 2048))
                    .col(timestamp_with_time_zone(Notification::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::ActorId)
                            .to(RemoteActor::Table, RemoteActor::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::CommentId)
                            .to(Comment::Table, Comment::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Block::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Block::Id))
                    // actor | domain | allow (an instance allowed in allowlist mode)
                    .col(string_len(Block::Kind, 16))
                    // An actor URL, or a host name.
                    .col(string_len(Block::Target, 2048))
                    .col(string_len_null(Block::Reason, 500))
                    .col(timestamp_with_time_zone(Block::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("block_kind_target")
                    .table(Block::Table)
                    .col(Block::Kind)
                    .col(Block::Target)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Block::Table.into_iden(),
            Notification::Table.into_iden(),
            Reaction::Table.into_iden(),
            Comment::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Post {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RemoteActor {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
    ObjectUrl,
    PostId,
    ParentId,
    InReplyToUrl,
    AuthorId,
    ContentHtml,
    Summary,
    Sensitive,
    Language,
    Url,
    PublishedAt,
    UpdatedAt,
    State,
    Depth,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Reaction {
    Table,
    Id,
    Kind,
    PostId,
    ActorId,
    ActivityUrl,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    Kind,
    ActorId,
    PostId,
    CommentId,
    ObjectUrl,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Block {
    Table,
    Id,
    Kind,
    Target,
    Reason,
    CreatedAt,
}
