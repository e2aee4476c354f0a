//! Members (accounts of the admin panel), their sessions and login throttling; posts, their tags
//! and mentions; and the activities Tribune emits (the transactional outbox).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Member::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Member::Id))
                    .col(string_len_uniq(Member::Username, 64))
                    .col(string_len(Member::DisplayName, 100))
                    .col(string_len(Member::PasswordHash, 255))
                    // admin | editor | author
                    .col(string_len(Member::Role, 16))
                    // fr | en; empty means "follow the browser / instance default"
                    .col(string_len(Member::Locale, 8))
                    .col(boolean(Member::Disabled))
                    // The member's own Person actor when publishing.member_actors is on.
                    .col(big_integer_null(Member::LocalActorId))
                    .col(timestamp_with_time_zone(Member::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Member::Table, Member::LocalActorId)
                            .to(LocalActor::Table, LocalActor::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .if_not_exists()
                    // SHA-256 of the cookie's token, hex: a leaked table cannot be replayed.
                    .col(string_len(Session::Id, 64).primary_key())
                    .col(big_integer(Session::MemberId))
                    .col(string_len(Session::CsrfToken, 64))
                    .col(timestamp_with_time_zone(Session::CreatedAt))
                    .col(timestamp_with_time_zone(Session::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Session::Table, Session::MemberId)
                            .to(Member::Table, Member::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .if_not_exists()
                    // "account:<username>" or "address:<ip>"
                    .col(string_len(LoginThrottle::Key, 128).primary_key())
                    .col(integer(LoginThrottle::Failures))
                    .col(timestamp_with_time_zone(LoginThrottle::WindowStartedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Post::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Post::Id))
                    // Random, unguessable, part of the post's permanent URL.
                    .col(string_len_uniq(Post::PublicId, 32))
                    .col(big_integer(Post::AuthorId))
                    .col(string_len_null(Post::Title, 200))
                    .col(text_null(Post::Summary))
                    .col(string_len_null(Post::ContentWarning, 500))
                    .col(string_len(Post::Language, 8))
                    .col(text(Post::BodyMarkdown))
                    // Rendered and sanitized from the Markdown at every save.
                    .col(text(Post::BodyHtml))
                    // draft | review | scheduled | published | deleted
                    .col(string_len(Post::Status, 16))
                    .col(timestamp_with_time_zone_null(Post::ScheduledAt))
                    .col(timestamp_with_time_zone_null(Post::PublishedAt))
                    // Last edit after publication (the AS2 `updated`).
                    .col(timestamp_with_time_zone_null(Post::EditedAt))
                    .col(timestamp_with_time_zone_null(Post::DeletedAt))
                    .col(timestamp_with_time_zone_null(Post::PinnedAt))
                    // Optimistic concurrency: a save names the version it edited.
                    .col(integer(Post::Version))
                    .col(timestamp_with_time_zone(Post::CreatedAt))
                    .col(timestamp_with_time_zone(Post::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Post::Table, Post::AuthorId)
                            .to(Member::Table, Member::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_status_published_at")
                    .table(Post::Table)
                    .col(Post::Status)
                    .col(Post::PublishedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostTag::Table)
                    .if_not_exists()
                    .col(big_integer(PostTag::PostId))
                    // Lowercased, for lookups and URLs.
                    .col(string_len(PostTag::Tag, 100))
                    // As the author wrote it, for display.
                    .col(string_len(PostTag::Display, 100))
                    .primary_key(Index::create().col(PostTag::PostId).col(PostTag::Tag))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PostTag::Table, PostTag::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_tag_tag")
                    .table(PostTag::Table)
                    .col(PostTag::Tag)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostMention::Table)
                    .if_not_exists()
                    .col(big_integer(PostMention::PostId))
                    // user@host, lowercased
                    .col(string_len(PostMention::Handle, 300))
                    .col(string_len(PostMention::ActorUrl, 2048))
                    .col(string_len(PostMention::ProfileUrl, 2048))
                    .primary_key(
                        Index::create()
                            .col(PostMention::PostId)
                            .col(PostMention::Handle),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PostMention::Table, PostMention::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Activity::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Activity::Id))
                    // The activity's permanent id (a URL under base_url).
                    .col(string_len_uniq(Activity::ActivityUrl, 2048))
                    // Create | Update | Delete | Announce | Accept | Reject | …
                    .col(string_len(Activity::Kind, 32))
                    .col(big_integer(Activity::ActorId))
                    .col(string_len(Activity::ObjectUrl, 2048))
                    .col(big_integer_null(Activity::PostId))
                    // The serialized activity, stored once, sent to every inbox as is.
                    .col(text(Activity::Payload))
                    .col(timestamp_with_time_zone(Activity::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activity::Table, Activity::ActorId)
                            .to(LocalActor::Table, LocalActor::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("activity_post_id")
                    .table(Activity::Table)
                    .col(Activity::PostId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Activity::Table.into_iden(),
            PostMention::Table.into_iden(),
            PostTag::Table.into_iden(),
            Post::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            Session::Table.into_iden(),
            Member::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LocalActor {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Member {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Role,
    Locale,
    Disabled,
    LocalActorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    MemberId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
}

#[derive(DeriveIden)]
enum Post {
    Table,
    Id,
    PublicId,
    AuthorId,
    Title,
    Summary,
    ContentWarning,
    Language,
    BodyMarkdown,
    BodyHtml,
    Status,
    ScheduledAt,
    PublishedAt,
    EditedAt,
    DeletedAt,
    PinnedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PostTag {
    Table,
    PostId,
    Tag,
    Display,
}

#[derive(DeriveIden)]
enum PostMention {
    Table,
    PostId,
    Handle,
    ActorUrl,
    ProfileUrl,
}

// `Activity::ActivityUrl` is the column's name (`activity_url`); the prefix is not redundant.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Activity {
    Table,
    Id,
    ActivityUrl,
    Kind,
    ActorId,
    ObjectUrl,
    PostId,
    Payload,
    CreatedAt,
}
