//! Members: adding, changing and removing accounts, and checking passwords (argon2id).

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::{
    db::entity::{member, post},
    domain::{
        handle::validate_username,
        member::{Role, validate_password},
    },
};

/// Why a member operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("username: {0}")]
    InvalidUsername(String),
    #[error("username: {0:?} is already taken")]
    UsernameTaken(String),
    #[error("password: {0}")]
    InvalidPassword(String),
    #[error("display name: at most 100 characters")]
    DisplayNameTooLong,
    #[error("no member named {0:?}")]
    NotFound(String),
    #[error("{0:?} is the last active admin: make another admin first")]
    LastAdmin(String),
    #[error("{0:?} has written posts: disable the account instead of removing it")]
    HasPosts(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id and a random salt (PHC string format). CPU-heavy: call from
/// a blocking context.
pub fn hash_password(password: &str) -> Result<String, MemberError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| MemberError::Hash(e.to_string()))
}

/// Checks a password against a stored hash, in constant time. CPU-heavy: call from a blocking
/// context.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

async fn hash_off_thread(password: String) -> Result<String, MemberError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| MemberError::Hash(e.to_string()))?
}

pub async fn find(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<member::Model>, MemberError> {
    Ok(member::Entity::find()
        .filter(member::Column::Username.eq(username))
        .one(db)
        .await?)
}

pub async fn find_by_id(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<member::Model>, MemberError> {
    Ok(member::Entity::find_by_id(id).one(db).await?)
}

async fn require(db: &DatabaseConnection, username: &str) -> Result<member::Model, MemberError> {
    find(db, username)
        .await?
        .ok_or_else(|| MemberError::NotFound(username.to_string()))
}

/// All members, by username.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<member::Model>, MemberError> {
    Ok(member::Entity::find()
        .order_by_asc(member::Column::Username)
        .all(db)
        .await?)
}

/// Adds a member. The username follows the same rules as handles, since a member may get a
/// fediverse actor of their own; it must not clash with the collective's.
pub async fn add(
    db: &DatabaseConnection,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
    reserved: &[&str],
) -> Result<member::Model, MemberError> {
    validate_username(username).map_err(MemberError::InvalidUsername)?;
    validate_password(password).map_err(MemberError::InvalidPassword)?;
    let display_name = display_name.trim();
    if display_name.chars().count() > 100 {
        return Err(MemberError::DisplayNameTooLong);
    }
    if reserved.contains(&username) || find(db, username).await?.is_some() {
        return Err(MemberError::UsernameTaken(username.to_string()));
    }
    let password_hash = hash_off_thread(password.to_string()).await?;
    let row = member::ActiveModel {
        username: Set(username.to_string()),
        display_name: Set(if display_name.is_empty() {
            username.to_string()
        } else {
            display_name.to_string()
        }),
        password_hash: Set(password_hash),
        role: Set(role.as_str().to_string()),
        locale: Set(String::new()),
        disabled: Set(false),
        local_actor_id: Set(None),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            MemberError::UsernameTaken(username.to_string())
        }
        _ => MemberError::Database(e),
    })
}

/// Replaces a member's password and ends their sessions everywhere.
pub async fn set_password(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
) -> Result<(), MemberError> {
    validate_password(password).map_err(MemberError::InvalidPassword)?;
    let member = require(db, username).await?;
    let password_hash = hash_off_thread(password.to_string()).await?;
    let mut active: member::ActiveModel = member.clone().into();
    active.password_hash = Set(password_hash);
    active.update(db).await?;
    super::session::end_all(db, member.id).await?;
    Ok(())
}

/// Active admins other than `except`.
async fn other_active_admins(db: &DatabaseConnection, except: i64) -> Result<u64, MemberError> {
    Ok(member::Entity::find()
        .filter(member::Column::Role.eq(Role::Admin.as_str()))
        .filter(member::Column::Disabled.eq(false))
        .filter(member::Column::Id.ne(except))
        .count(db)
        .await?)
}

/// Changes a member's role; the last active admin cannot lose the role.
pub async fn set_role(
    db: &DatabaseConnection,
    username: &str,
    role: Role,
) -> Result<(), MemberError> {
    let member = require(db, username).await?;
    if member.role == Role::Admin.as_str()
        && role != Role::Admin
        && other_active_admins(db, member.id).await? == 0
    {
        return Err(MemberError::LastAdmin(username.to_string()));
    }
    let mut active: member::ActiveModel = member.into();
    active.role = Set(role.as_str().to_string());
    active.update(db).await?;
    Ok(())
}

/// Disables or re-enables a member; disabling ends their sessions.
pub async fn set_disabled(
    db: &DatabaseConnection,
    username: &str,
    disabled: bool,
) -> Result<(), MemberError> {
    let member = require(db, username).await?;
    if disabled
        && member.role == Role::Admin.as_str()
        && other_active_admins(db, member.id).await? == 0
    {
        return Err(MemberError::LastAdmin(username.to_string()));
    }
    let id = member.id;
    let mut active: member::ActiveModel = member.into();
    active.disabled = Set(disabled);
    active.update(db).await?;
    if disabled {
        super::session::end_all(db, id).await?;
    }
    Ok(())
}

/// Sets the member's interface language ("" follows the browser).
pub async fn set_locale(
    db: &DatabaseConnection,
    member_id: i64,
    locale: &str,
) -> Result<(), MemberError> {
    let member = member::Entity::find_by_id(member_id)
        .one(db)
        .await?
        .ok_or_else(|| MemberError::NotFound(member_id.to_string()))?;
    let mut active: member::ActiveModel = member.into();
    active.locale = Set(locale.to_string());
    active.update(db).await?;
    Ok(())
}

/// Removes a member who has written nothing (authorship is part of what was published).
pub async fn remove(db: &DatabaseConnection, username: &str) -> Result<(), MemberError> {
    let member = require(db, username).await?;
    if member.role == Role::Admin.as_str() && other_active_admins(db, member.id).await? == 0 {
        return Err(MemberError::LastAdmin(username.to_string()));
    }
    let posts = post::Entity::find()
        .filter(post::Column::AuthorId.eq(member.id))
        .count(db)
        .await?;
    if posts > 0 {
        return Err(MemberError::HasPosts(username.to_string()));
    }
    member::Entity::delete_by_id(member.id).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }
}
