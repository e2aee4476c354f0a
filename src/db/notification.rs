//! Reading notifications: the latest, newest first, with their actors, posts and comments —
//! in a fixed number of queries, whatever the page size.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::{comment, notification, post, remote_actor};

/// A notification with what it is about (each may be gone: a removed comment, a deleted post).
#[derive(Debug, Clone)]
pub struct NotificationEntry {
    pub notification: notification::Model,
    pub actor: Option<remote_actor::Model>,
    pub post: Option<post::Model>,
    pub comment: Option<comment::Model>,
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    notification::Entity::find().count(db).await
}

/// A page of notifications, newest first. Four queries.
pub async fn latest(
    db: &impl ConnectionTrait,
    offset: u64,
    limit: u64,
) -> Result<Vec<NotificationEntry>, DbErr> {
    let rows = notification::Entity::find()
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let actor_ids: Vec<i64> = rows.iter().filter_map(|n| n.actor_id).collect();
    let post_ids: Vec<i64> = rows.iter().filter_map(|n| n.post_id).collect();
    let comment_ids: Vec<i64> = rows.iter().filter_map(|n| n.comment_id).collect();
    let actors: HashMap<i64, remote_actor::Model> = remote_actor::Entity::find()
        .filter(remote_actor::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let posts: HashMap<i64, post::Model> = post::Entity::find()
        .filter(post::Column::Id.is_in(post_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let comments: HashMap<i64, comment::Model> = comment::Entity::find()
        .filter(comment::Column::Id.is_in(comment_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(rows
        .into_iter()
        .map(|n| NotificationEntry {
            actor: n.actor_id.and_then(|id| actors.get(&id).cloned()),
            post: n.post_id.and_then(|id| posts.get(&id).cloned()),
            comment: n.comment_id.and_then(|id| comments.get(&id).cloned()),
            notification: n,
        })
        .collect())
}
