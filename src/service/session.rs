//! Login sessions stored in the database (they survive restarts), and failed-login throttling.
//!
//! The cookie carries a random 256-bit token; the table stores only its SHA-256, so a leaked
//! database cannot be replayed as cookies. Each session has its own CSRF token.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, sea_query::OnConflict,
};
use sha2::{Digest, Sha256};

use crate::db::entity::{login_throttle, member, session};

/// How long a session lasts without logging in again.
pub const SESSION_DAYS: i64 = 30;
/// Failed logins allowed per account, and per client address, within [`THROTTLE_WINDOW_MINUTES`].
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i32 = 20;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;

/// A fresh random token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 (hex) of a secret token: what the database stores instead of it.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A session that was just opened: the cookie value to hand to the browser.
pub struct Opened {
    pub token: String,
    pub csrf_token: String,
}

/// Opens a new session for `member_id` (a new id every login: no fixation).
pub async fn open(db: &DatabaseConnection, member_id: i64) -> Result<Opened, DbErr> {
    let token = random_token();
    let csrf_token = random_token();
    let now = Utc::now();
    session::ActiveModel {
        id: Set(token_hash(&token)),
        member_id: Set(member_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(SESSION_DAYS)),
    }
    .insert(db)
    .await?;
    Ok(Opened { token, csrf_token })
}

/// The live session and its (enabled) member for a cookie token.
pub async fn lookup(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<(session::Model, member::Model)>, DbErr> {
    let Some(found) = session::Entity::find_by_id(token_hash(token))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if found.expires_at <= Utc::now() {
        session::Entity::delete_by_id(found.id).exec(db).await?;
        return Ok(None);
    }
    let member = member::Entity::find_by_id(found.member_id).one(db).await?;
    Ok(member.filter(|m| !m.disabled).map(|m| (found, m)))
}

/// Ends one session (logout).
pub async fn end(db: &DatabaseConnection, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(token_hash(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a member (password change, account disabled).
pub async fn end_all(db: &impl ConnectionTrait, member_id: i64) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The throttle keys of a login attempt.
pub fn throttle_keys(username: &str, address: &str) -> [(String, i32); 2] {
    [
        (
            format!("account:{}", username.to_lowercase()),
            MAX_FAILURES_PER_ACCOUNT,
        ),
        (format!("address:{address}"), MAX_FAILURES_PER_ADDRESS),
    ]
}

/// Whether any key has used up its failures in the current window.
pub async fn is_throttled(db: &DatabaseConnection, keys: &[(String, i32)]) -> Result<bool, DbErr> {
    let window_start = Utc::now() - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    for (key, max) in keys {
        if let Some(row) = login_throttle::Entity::find_by_id(key.clone())
            .one(db)
            .await?
            && row.window_started_at > window_start
            && row.failures >= *max
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Counts a failed attempt against every key, starting a new window where the old one ended.
pub async fn record_failure(db: &DatabaseConnection, keys: &[(String, i32)]) -> Result<(), DbErr> {
    let now = Utc::now();
    let window_start = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    for (key, _) in keys {
        match login_throttle::Entity::find_by_id(key.clone())
            .one(db)
            .await?
        {
            Some(row) if row.window_started_at > window_start => {
                let failures = row.failures + 1;
                let mut active: login_throttle::ActiveModel = row.into();
                active.failures = Set(failures);
                active.update(db).await?;
            }
            _ => {
                login_throttle::Entity::insert(login_throttle::ActiveModel {
                    key: Set(key.clone()),
                    failures: Set(1),
                    window_started_at: Set(now),
                })
                .on_conflict(
                    OnConflict::column(login_throttle::Column::Key)
                        .update_columns([
                            login_throttle::Column::Failures,
                            login_throttle::Column::WindowStartedAt,
                        ])
                        .to_owned(),
                )
                .exec(db)
                .await?;
            }
        }
    }
    Ok(())
}

/// Forgets the failures of an account after a successful login.
pub async fn clear_failures(db: &DatabaseConnection, username: &str) -> Result<(), DbErr> {
    login_throttle::Entity::delete_by_id(format!("account:{}", username.to_lowercase()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_hide_them() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(!token_hash(&a).contains(&a));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
    }
}
