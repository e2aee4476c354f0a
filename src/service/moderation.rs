//! Moderation: approving, rejecting, hiding and deleting comments; blocking actors and
//! instances (their activities refused, their comments hidden); the instance allowlist.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use url::Url;

use crate::{
    db::entity::{
        block::{self, ACTOR, ALLOW, DOMAIN},
        comment::{self, APPROVED, HIDDEN, PENDING, REJECTED},
        remote_actor,
    },
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error("no comment {0}")]
    NoComment(i64),
    #[error("{0:?} is neither an actor URL nor a host name")]
    BadTarget(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A moderation decision on a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// Off the public site, kept (editors can show it again by approving).
    Hide,
}

/// Applies a decision to a comment.
pub async fn decide(
    db: &DatabaseConnection,
    id: i64,
    decision: Decision,
) -> Result<(), ModerationError> {
    let state = match decision {
        Decision::Approve => APPROVED,
        Decision::Reject => REJECTED,
        Decision::Hide => HIDDEN,
    };
    let result = comment::Entity::update_many()
        .col_expr(comment::Column::State, Expr::value(state))
        .filter(comment::Column::Id.eq(id))
        .filter(comment::Column::State.ne(comment::DELETED))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(ModerationError::NoComment(id));
    }
    Ok(())
}

/// Deletes a comment from Tribune (not from its server).
pub async fn delete(state: &AppState, id: i64) -> Result<(), ModerationError> {
    let existing = comment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ModerationError::NoComment(id))?;
    super::conversation::delete_comment(state, &existing).await?;
    Ok(())
}

/// Comments awaiting review (or all), newest first.
pub async fn comments(
    db: &DatabaseConnection,
    pending_only: bool,
) -> Result<Vec<comment::Model>, DbErr> {
    let mut query = comment::Entity::find().order_by_desc(comment::Column::ReceivedAt);
    if pending_only {
        query = query.filter(comment::Column::State.eq(PENDING));
    }
    query.all(db).await
}

/// A block target: an actor URL, or a host name (lowercased, trailing dot removed — so
/// `Evil.Example.` and `evil.example` are one block).
pub fn normalize_target(target: &str) -> Result<(&'static str, String), ModerationError> {
    let target = target.trim();
    if target.starts_with("https://") || target.starts_with("http://") {
        let url = Url::parse(target).map_err(|_| ModerationError::BadTarget(target.to_string()))?;
        return Ok((ACTOR, url.to_string()));
    }
    let host = target.trim_end_matches('.').to_ascii_lowercase();
    let parsed =
        url::Host::parse(&host).map_err(|_| ModerationError::BadTarget(target.to_string()))?;
    if host.is_empty() || host.contains('/') {
        return Err(ModerationError::BadTarget(target.to_string()));
    }
    Ok((DOMAIN, parsed.to_string()))
}

/// Blocks an actor (URL) or an instance (host).
pub async fn block(
    db: &DatabaseConnection,
    target: &str,
    reason: Option<&str>,
) -> Result<String, ModerationError> {
    let (kind, target) = normalize_target(target)?;
    add_rule(db, kind, &target, reason).await?;
    Ok(target)
}

/// Allows an instance in allowlist mode.
pub async fn allow(db: &DatabaseConnection, host: &str) -> Result<String, ModerationError> {
    allow_because(db, host, None).await
}

/// Allows an instance in allowlist mode, noting why.
pub async fn allow_because(
    db: &DatabaseConnection,
    host: &str,
    reason: Option<&str>,
) -> Result<String, ModerationError> {
    let (kind, target) = normalize_target(host)?;
    if kind != DOMAIN {
        return Err(ModerationError::BadTarget(host.to_string()));
    }
    add_rule(db, ALLOW, &target, reason).await?;
    Ok(target)
}

/// Who wrote comment `id`.
async fn author_of(
    db: &DatabaseConnection,
    id: i64,
) -> Result<remote_actor::Model, ModerationError> {
    let existing = comment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ModerationError::NoComment(id))?;
    remote_actor::Entity::find_by_id(existing.author_id)
        .one(db)
        .await?
        .ok_or(ModerationError::NoComment(id))
}

/// Blocks the author of comment `id`: their activities are refused and everything they wrote
/// leaves the public site (hiding is applied when threads are read). Returns the actor URL.
pub async fn block_author_of(
    db: &DatabaseConnection,
    id: i64,
    reason: Option<&str>,
) -> Result<String, ModerationError> {
    let author = author_of(db, id).await?;
    block(db, &author.actor_url, reason).await
}

/// Blocks the instance of the author of comment `id` (its host name, whatever the port): every
/// actor there is refused and hidden. Returns the host.
pub async fn block_instance_of(
    db: &DatabaseConnection,
    id: i64,
    reason: Option<&str>,
) -> Result<String, ModerationError> {
    let author = author_of(db, id).await?;
    block(db, &author.host, reason).await
}

async fn add_rule(
    db: &DatabaseConnection,
    kind: &str,
    target: &str,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    block::Entity::insert(block::ActiveModel {
        kind: Set(kind.to_string()),
        target: Set(target.to_string()),
        reason: Set(reason.map(|r| r.chars().take(500).collect())),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([block::Column::Kind, block::Column::Target])
    .exec(db)
    .await?;
    Ok(())
}

/// Lifts a block or an allow rule. Returns whether one existed.
pub async fn unblock(db: &DatabaseConnection, target: &str) -> Result<bool, ModerationError> {
    let (_, target) = normalize_target(target)?;
    let result = block::Entity::delete_many()
        .filter(block::Column::Target.eq(target))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Lifts the rule `id` (a block or an allowed instance). Returns whether it existed.
pub async fn remove_rule(db: &DatabaseConnection, id: i64) -> Result<bool, ModerationError> {
    let result = block::Entity::delete_by_id(id).exec(db).await?;
    Ok(result.rows_affected > 0)
}

/// Every block and allowed instance, by kind then target.
pub async fn rules(db: &DatabaseConnection) -> Result<Vec<block::Model>, DbErr> {
    block::Entity::find()
        .order_by_asc(block::Column::Kind)
        .order_by_asc(block::Column::Target)
        .all(db)
        .await
}

/// Whether activities from `actor` must be refused: the actor or its instance is blocked, or
/// allowlist mode is in force (panel or configuration) and its instance is not allowed.
pub async fn refuses(state: &AppState, actor: &Url) -> Result<bool, DbErr> {
    let host = block_host(actor);
    let rules = block::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(block::Column::Target.eq(actor.as_str()))
                .add(block::Column::Target.eq(host.as_str())),
        )
        .all(&state.db)
        .await?;
    if let Some(decided) = decided_by_rules(&rules, actor.as_str(), &host) {
        return Ok(decided);
    }
    super::instance_settings::allowlist_mode(&state.db, &state.settings).await
}

/// An actor's host as instance rules name it: lower case, without a trailing dot.
pub fn block_host(actor: &Url) -> String {
    actor
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// What the rules among `rules` that name this actor or its host decide: refused (a block of
/// either wins), allowed (an allow rule of its instance), or nothing (`None`: allowlist mode
/// decides).
pub fn decided_by_rules(rules: &[block::Model], actor: &str, host: &str) -> Option<bool> {
    let about_it = || {
        rules
            .iter()
            .filter(|r| r.target == actor || r.target == host)
    };
    if about_it().any(|r| r.kind == ACTOR || r.kind == DOMAIN) {
        return Some(true);
    }
    if about_it().any(|r| r.kind == ALLOW) {
        return Some(false);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalised_so_one_block_covers_every_spelling() {
        assert_eq!(
            normalize_target("Evil.Example.").expect("ok"),
            (DOMAIN, "evil.example".to_string())
        );
        assert_eq!(
            normalize_target(" evil.example ").expect("ok"),
            (DOMAIN, "evil.example".to_string())
        );
        assert_eq!(
            normalize_target("https://evil.example/users/troll").expect("ok"),
            (ACTOR, "https://evil.example/users/troll".to_string())
        );
        assert!(normalize_target("evil example").is_err());
        assert!(normalize_target("").is_err());
    }
}
