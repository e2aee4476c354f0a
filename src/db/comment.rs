//! Reading conversations: the approved comments of a post with their authors, reaction counts
//! and boosters — each in a fixed number of queries, whatever the size of the thread.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::{
    block,
    comment::{self, APPROVED, DELETED},
    reaction::{self, ANNOUNCE, LIKE},
    remote_actor,
};

/// A comment with its author.
#[derive(Debug, Clone)]
pub struct CommentWithAuthor {
    pub comment: comment::Model,
    pub author: remote_actor::Model,
}

/// Blocked actors and hosts, to hide what they wrote.
async fn blocked(db: &impl ConnectionTrait) -> Result<(HashSet<String>, HashSet<String>), DbErr> {
    let mut actors = HashSet::new();
    let mut hosts = HashSet::new();
    for rule in block::Entity::find().all(db).await? {
        match rule.kind.as_str() {
            block::ACTOR => {
                actors.insert(rule.target);
            }
            block::DOMAIN => {
                hosts.insert(rule.target);
            }
            _ => {}
        }
    }
    Ok((actors, hosts))
}

/// The public thread of a post: approved comments, and tombstones of deleted ones that others
/// answered, oldest first, with their authors; authors since blocked are left out.
/// Three queries.
pub async fn public_thread(
    db: &impl ConnectionTrait,
    post_id: i64,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    let comments = comment::Entity::find()
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::State.is_in([APPROVED, DELETED]))
        .order_by_asc(comment::Column::PublishedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    with_authors(db, comments).await
}

/// Attaches authors (one query) and drops comments by blocked authors (one query).
pub async fn with_authors(
    db: &impl ConnectionTrait,
    comments: Vec<comment::Model>,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = comments.iter().map(|c| c.author_id).collect();
    let authors: HashMap<i64, remote_actor::Model> = remote_actor::Entity::find()
        .filter(remote_actor::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let (blocked_actors, blocked_hosts) = blocked(db).await?;
    Ok(comments
        .into_iter()
        .filter_map(|comment| {
            let author = authors.get(&comment.author_id)?.clone();
            let blocked =
                blocked_actors.contains(&author.actor_url) || blocked_hosts.contains(&author.host);
            (!blocked).then_some(CommentWithAuthor { comment, author })
        })
        .collect())
}

/// Likes and boosts of each post. One query.
pub async fn reaction_counts(
    db: &impl ConnectionTrait,
    post_ids: &[i64],
) -> Result<HashMap<i64, (u64, u64)>, DbErr> {
    let rows: Vec<(i64, String, i64)> = reaction::Entity::find()
        .select_only()
        .column(reaction::Column::PostId)
        .column(reaction::Column::Kind)
        .column_as(reaction::Column::Id.count(), "n")
        .filter(reaction::Column::PostId.is_in(post_ids.iter().copied()))
        .group_by(reaction::Column::PostId)
        .group_by(reaction::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<i64, (u64, u64)> = HashMap::new();
    for (post, kind, n) in rows {
        let entry = counts.entry(post).or_default();
        let n = u64::try_from(n).unwrap_or(0);
        match kind.as_str() {
            LIKE => entry.0 = n,
            ANNOUNCE => entry.1 = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// Who boosted a post, most recent first (at most `limit`). Two queries.
pub async fn boosters(
    db: &impl ConnectionTrait,
    post_id: i64,
    limit: u64,
) -> Result<Vec<remote_actor::Model>, DbErr> {
    let ids: Vec<i64> = reaction::Entity::find()
        .select_only()
        .column(reaction::Column::ActorId)
        .filter(reaction::Column::PostId.eq(post_id))
        .filter(reaction::Column::Kind.eq(ANNOUNCE))
        .order_by_desc(reaction::Column::CreatedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    remote_actor::Entity::find()
        .filter(remote_actor::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// Approved direct replies to a post, for its `replies` collection: object ids, oldest first.
pub async fn approved_reply_ids(
    db: &impl ConnectionTrait,
    post_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Vec<String>, DbErr> {
    comment::Entity::find()
        .select_only()
        .column(comment::Column::ObjectUrl)
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::ParentId.is_null())
        .filter(comment::Column::State.eq(APPROVED))
        .order_by_asc(comment::Column::PublishedAt)
        .order_by_asc(comment::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .into_tuple()
        .all(db)
        .await
}

pub async fn count_approved_replies(db: &impl ConnectionTrait, post_id: i64) -> Result<u64, DbErr> {
    comment::Entity::find()
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::ParentId.is_null())
        .filter(comment::Column::State.eq(APPROVED))
        .count(db)
        .await
}
