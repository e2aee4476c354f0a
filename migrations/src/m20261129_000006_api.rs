//! The Mastodon client API: registered apps, authorization codes and access tokens (secrets
//! stored only as SHA-256 hashes), idempotency keys of status creation, and the revisions of
//! edited posts (a status's edit history).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthApp::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OauthApp::Id))
                    .col(string_len_uniq(OauthApp::ClientId, 64))
                    // SHA-256 (hex) of the client secret.
                    .col(string_len(OauthApp::ClientSecretHash, 64))
                    .col(string_len(OauthApp::Name, 200))
                    .col(string_len_null(OauthApp::Website, 2048))
                    // One URI a line.
                    .col(text(OauthApp::RedirectUris))
                    .col(string_len(OauthApp::Scopes, 500))
                    .col(timestamp_with_time_zone(OauthApp::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthCode::Table)
                    .if_not_exists()
                    // SHA-256 (hex) of the code.
                    .col(string_len(OauthCode::Id, 64).primary_key())
                    .col(big_integer(OauthCode::AppId))
                    .col(big_integer(OauthCode::MemberId))
                    .col(string_len(OauthCode::RedirectUri, 2048))
                    .col(string_len(OauthCode::Scopes, 500))
                    .col(string_len_null(OauthCode::CodeChallenge, 128))
                    .col(timestamp_with_time_zone(OauthCode::CreatedAt))
                    .col(timestamp_with_time_zone(OauthCode::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OauthCode::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthCode::Table, OauthCode::AppId)
                            .to(OauthApp::Table, OauthApp::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthCode::Table, OauthCode::MemberId)
                            .to(Member::Table, Member::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OauthToken::Id))
                    // SHA-256 (hex) of the bearer token.
                    .col(string_len_uniq(OauthToken::TokenHash, 64))
                    // None for tokens made with `tribune token create`.
                    .col(big_integer_null(OauthToken::AppId))
                    // None for client_credentials tokens (the app itself).
                    .col(big_integer_null(OauthToken::MemberId))
                    .col(string_len(OauthToken::Name, 200))
                    .col(string_len(OauthToken::Scopes, 500))
                    // The code it was exchanged for: a replayed code revokes it.
                    .col(string_len_null(OauthToken::CodeId, 64))
                    .col(timestamp_with_time_zone(OauthToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(OauthToken::LastUsedAt))
                    .col(timestamp_with_time_zone_null(OauthToken::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthToken::Table, OauthToken::AppId)
                            .to(OauthApp::Table, OauthApp::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthToken::Table, OauthToken::MemberId)
                            .to(Member::Table, Member::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiIdempotency::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiIdempotency::Id))
                    .col(big_integer(ApiIdempotency::TokenId))
                    .col(string_len(ApiIdempotency::Key, 200))
                    // Set once the status exists.
                    .col(big_integer_null(ApiIdempotency::PostId))
                    .col(timestamp_with_time_zone(ApiIdempotency::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiIdempotency::Table, ApiIdempotency::TokenId)
                            .to(OauthToken::Table, OauthToken::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_idempotency_token_key")
                    .table(ApiIdempotency::Table)
                    .col(ApiIdempotency::TokenId)
                    .col(ApiIdempotency::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PostRevision::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PostRevision::Id))
                    .col(big_integer(PostRevision::PostId))
                    .col(string_len_null(PostRevision::Title, 200))
                    .col(string_len_null(PostRevision::ContentWarning, 500))
                    .col(string_len(PostRevision::Language, 16))
                    .col(text(PostRevision::BodyMarkdown))
                    .col(text(PostRevision::BodyHtml))
                    // When this content became current (publication or an earlier edit).
                    .col(timestamp_with_time_zone(PostRevision::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PostRevision::Table, PostRevision::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_revision_post")
                    .table(PostRevision::Table)
                    .col(PostRevision::PostId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PostRevision::Table.into_iden(),
            ApiIdempotency::Table.into_iden(),
            OauthToken::Table.into_iden(),
            OauthCode::Table.into_iden(),
            OauthApp::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Member {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Post {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OauthApp {
    Table,
    Id,
    ClientId,
    ClientSecretHash,
    Name,
    Website,
    RedirectUris,
    Scopes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthCode {
    Table,
    Id,
    AppId,
    MemberId,
    RedirectUri,
    Scopes,
    CodeChallenge,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OauthToken {
    Table,
    Id,
    TokenHash,
    AppId,
    MemberId,
    Name,
    Scopes,
    CodeId,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiIdempotency {
    Table,
    Id,
    TokenId,
    Key,
    PostId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostRevision {
    Table,
    Id,
    PostId,
    Title,
    ContentWarning,
    Language,
    BodyMarkdown,
    BodyHtml,
    CreatedAt,
}
