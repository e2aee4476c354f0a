//! Reads of the Mastodon client API: statuses paged by id (`max_id`, `since_id`, `min_id`),
//! notifications with their accounts, comments and posts, and a post's revisions — each in a
//! fixed number of queries.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::{
    comment::{CommentWithAuthor, with_authors},
    entity::{comment, notification, post, post_revision, remote_actor},
    post::{PostBundle, bundle},
};
use crate::domain::post::Status;

/// A page request by id, as Mastodon pages: newest first below `max_id` and above `since_id`,
/// or, with `min_id`, the oldest ones just above it (returned newest first too).
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: u64,
}

fn paged<E: EntityTrait>(
    mut query: Select<E>,
    id: impl ColumnTrait + Copy,
    page: Page,
) -> Select<E> {
    if let Some(max) = page.max_id {
        query = query.filter(id.lt(max));
    }
    if let Some(since) = page.since_id {
        query = query.filter(id.gt(since));
    }
    if let Some(min) = page.min_id {
        query.filter(id.gt(min)).order_by_asc(id).limit(page.limit)
    } else {
        query.order_by_desc(id).limit(page.limit)
    }
}

/// Published posts, newest first; only `author_id`'s when given.
pub async fn published_statuses(
    db: &impl ConnectionTrait,
    author_id: Option<i64>,
    page: Page,
) -> Result<Vec<PostBundle>, DbErr> {
    let mut query =
        post::Entity::find().filter(post::Column::Status.eq(Status::Published.as_str()));
    if let Some(author) = author_id {
        query = query.filter(post::Column::AuthorId.eq(author));
    }
    let mut posts = paged(query, post::Column::Id, page).all(db).await?;
    posts.sort_by_key(|p| std::cmp::Reverse(p.id));
    bundle(db, posts).await
}

/// A published post by its numeric id, as a bundle.
pub async fn published_status(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<PostBundle>, DbErr> {
    let found = post::Entity::find_by_id(id)
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .one(db)
        .await?;
    match found {
        Some(post) => Ok(bundle(db, vec![post]).await?.pop()),
        None => Ok(None),
    }
}

/// A post's earlier contents, oldest first.
pub async fn revisions(
    db: &impl ConnectionTrait,
    post_id: i64,
) -> Result<Vec<post_revision::Model>, DbErr> {
    post_revision::Entity::find()
        .filter(post_revision::Column::PostId.eq(post_id))
        .order_by_asc(post_revision::Column::Id)
        .all(db)
        .await
}

/// The approved replies of a post (all depths), oldest first, with their authors.
pub async fn approved_replies(
    db: &impl ConnectionTrait,
    post_id: i64,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    let comments = comment::Entity::find()
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::State.eq(comment::APPROVED))
        .order_by_asc(comment::Column::PublishedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    with_authors(db, comments).await
}

/// A notification with what it refers to.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub notification: notification::Model,
    pub actor: Option<remote_actor::Model>,
    pub post: Option<PostBundle>,
    /// Only approved comments are shown.
    pub comment: Option<CommentWithAuthor>,
}

/// A page of notifications, newest first. Four to eight queries whatever the page size.
pub async fn notifications(
    db: &impl ConnectionTrait,
    page: Page,
    kinds: &[String],
) -> Result<Vec<NotificationView>, DbErr> {
    let mut query = notification::Entity::find();
    if !kinds.is_empty() {
        query = query.filter(notification::Column::Kind.is_in(kinds.iter().map(String::as_str)));
    }
    let mut rows = paged(query, notification::Column::Id, page).all(db).await?;
    rows.sort_by_key(|n| std::cmp::Reverse(n.id));
    let actors: HashMap<i64, remote_actor::Model> = remote_actor::Entity::find()
        .filter(remote_actor::Column::Id.is_in(rows.iter().filter_map(|n| n.actor_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let posts = post::Entity::find()
        .filter(post::Column::Id.is_in(rows.iter().filter_map(|n| n.post_id)))
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .all(db)
        .await?;
    let posts: HashMap<i64, PostBundle> = bundle(db, posts)
        .await?
        .into_iter()
        .map(|b| (b.post.id, b))
        .collect();
    let comments = comment::Entity::find()
        .filter(comment::Column::Id.is_in(rows.iter().filter_map(|n| n.comment_id)))
        .filter(comment::Column::State.eq(comment::APPROVED))
        .all(db)
        .await?;
    let comments: HashMap<i64, CommentWithAuthor> = with_authors(db, comments)
        .await?
        .into_iter()
        .map(|c| (c.comment.id, c))
        .collect();
    Ok(rows
        .into_iter()
        .map(|n| NotificationView {
            actor: n.actor_id.and_then(|id| actors.get(&id).cloned()),
            post: n.post_id.and_then(|id| posts.get(&id).cloned()),
            comment: n.comment_id.and_then(|id| comments.get(&id).cloned()),
            notification: n,
        })
        .collect())
}

/// A remote actor by id.
pub async fn remote_account(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<remote_actor::Model>, DbErr> {
    remote_actor::Entity::find_by_id(id).one(db).await
}

/// Approved replies of each post (all depths). One query.
pub async fn reply_counts(
    db: &impl ConnectionTrait,
    post_ids: &[i64],
) -> Result<HashMap<i64, u64>, DbErr> {
    let rows: Vec<(i64, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::PostId)
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::PostId.is_in(post_ids.iter().copied()))
        .filter(comment::Column::State.eq(comment::APPROVED))
        .group_by(comment::Column::PostId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(post, n)| (post, u64::try_from(n).unwrap_or(0)))
        .collect())
}
