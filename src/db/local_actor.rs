//! Queries on local actors: find one, or store it with its key pair exactly once.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};

use super::entity::local_actor::{self, Entity as LocalActor, Model};

/// The actor with this username, if it exists.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<Model>, DbErr> {
    LocalActor::find()
        .filter(local_actor::Column::Username.eq(username))
        .one(db)
        .await
}

/// Stores a new actor with its key pair unless one with that username exists already.
/// Safe when several processes start at once: the unique username turns every insert but the
/// first into a no-op, so a stored key is never replaced. Returns the stored row.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    username: &str,
    public_key_pem: String,
    private_key_pem: String,
) -> Result<Model, DbErr> {
    let row = local_actor::ActiveModel {
        username: Set(username.to_string()),
        public_key_pem: Set(public_key_pem),
        private_key_pem: Set(private_key_pem),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    LocalActor::insert(row)
        .on_conflict(
            OnConflict::column(local_actor::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    find_by_username(db, username)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("local actor {username} after insert")))
}
