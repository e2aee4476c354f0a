//! Reading conversations: the approved comments of a post with their authors, reaction counts
//! and boosters — each in a fixed number of queries, whatever the size of the thread.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, RelationDef,
    sea_query::{Query, SelectStatement},
};

use super::entity::{
    block,
    comment::{self, APPROVED, DELETED},
    post,
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
struct Blocked {
    actors: HashSet<String>,
    hosts: HashSet<String>,
}

impl Blocked {
    /// One query.
    async fn load(db: &impl ConnectionTrait) -> Result<Blocked, DbErr> {
        let mut blocked = Blocked {
            actors: HashSet::new(),
            hosts: HashSet::new(),
        };
        for rule in block::Entity::find().all(db).await? {
            match rule.kind.as_str() {
                block::ACTOR => {
                    blocked.actors.insert(rule.target);
                }
                block::DOMAIN => {
                    blocked.hosts.insert(rule.target);
                }
                _ => {}
            }
        }
        Ok(blocked)
    }

    fn hides(&self, actor: &remote_actor::Model) -> bool {
        self.actors.contains(&actor.actor_url) || self.hosts.contains(&actor.host)
    }

    /// Comments joined with their authors, those by blocked authors left out.
    fn keep(
        &self,
        rows: Vec<(comment::Model, Option<remote_actor::Model>)>,
    ) -> Vec<CommentWithAuthor> {
        rows.into_iter()
            .filter_map(|(comment, author)| {
                let author = author?;
                (!self.hides(&author)).then_some(CommentWithAuthor { comment, author })
            })
            .collect()
    }
}

/// `comment.author_id` → `remote_actor.id`, for joins.
fn comment_author() -> RelationDef {
    comment::Entity::belongs_to(remote_actor::Entity)
        .from(comment::Column::AuthorId)
        .to(remote_actor::Column::Id)
        .into()
}

/// `reaction.actor_id` → `remote_actor.id`, for joins.
fn reaction_actor() -> RelationDef {
    reaction::Entity::belongs_to(remote_actor::Entity)
        .from(reaction::Column::ActorId)
        .to(remote_actor::Column::Id)
        .into()
}

/// The comments of a post in `states` with their authors, oldest first, in one query (a join);
/// authors since blocked left out.
async fn comments_with_authors(
    db: &impl ConnectionTrait,
    post_id: i64,
    states: &[&str],
    blocked: &Blocked,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    let rows = comment::Entity::find()
        .select_also(remote_actor::Entity)
        .join(JoinType::InnerJoin, comment_author())
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::State.is_in(states.iter().copied()))
        .order_by_asc(comment::Column::PublishedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    Ok(blocked.keep(rows))
}

/// The public thread of a post: approved comments, and tombstones of deleted ones that others
/// answered, oldest first, with their authors; authors since blocked are left out.
/// Two queries.
pub async fn public_thread(
    db: &impl ConnectionTrait,
    post_id: i64,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    let blocked = Blocked::load(db).await?;
    comments_with_authors(db, post_id, &[APPROVED, DELETED], &blocked).await
}

/// Everything the public page of a post shows of its conversation.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// As [`public_thread`]: approved comments and tombstones, oldest first.
    pub comments: Vec<CommentWithAuthor>,
    pub likes: u64,
    pub boosts: u64,
    /// Who boosted, most recent first (at most the limit asked), blocked actors left out.
    pub boosters: Vec<remote_actor::Model>,
}

/// The conversation under a post, in four queries whatever its size: blocks, the thread with
/// its authors, reaction counts, and the latest `boosters_limit` boosters with their profiles.
pub async fn conversation(
    db: &impl ConnectionTrait,
    post_id: i64,
    boosters_limit: u64,
) -> Result<Conversation, DbErr> {
    let blocked = Blocked::load(db).await?;
    let comments = comments_with_authors(db, post_id, &[APPROVED, DELETED], &blocked).await?;
    let (likes, boosts) = reaction_counts(db, &[post_id])
        .await?
        .get(&post_id)
        .copied()
        .unwrap_or_default();
    let boosters = remote_actor::Entity::find()
        .join_rev(JoinType::InnerJoin, reaction_actor())
        .filter(reaction::Column::PostId.eq(post_id))
        .filter(reaction::Column::Kind.eq(ANNOUNCE))
        .order_by_desc(reaction::Column::CreatedAt)
        .order_by_desc(reaction::Column::Id)
        .limit(boosters_limit)
        .all(db)
        .await?
        .into_iter()
        .filter(|actor| !blocked.hides(actor))
        .collect();
    Ok(Conversation {
        comments,
        likes,
        boosts,
        boosters,
    })
}

/// The latest `limit` approved comments of a post with their authors, newest first (for its
/// comments feed). Two queries.
pub async fn latest_approved(
    db: &impl ConnectionTrait,
    post_id: i64,
    limit: u64,
) -> Result<Vec<CommentWithAuthor>, DbErr> {
    let blocked = Blocked::load(db).await?;
    let rows = comment::Entity::find()
        .select_also(remote_actor::Entity)
        .join(JoinType::InnerJoin, comment_author())
        .filter(comment::Column::PostId.eq(post_id))
        .filter(comment::Column::State.eq(APPROVED))
        .order_by_desc(comment::Column::PublishedAt)
        .order_by_desc(comment::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(blocked.keep(rows))
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
    let blocked = Blocked::load(db).await?;
    Ok(comments
        .into_iter()
        .filter_map(|comment| {
            let author = authors.get(&comment.author_id)?.clone();
            (!blocked.hides(&author)).then_some(CommentWithAuthor { comment, author })
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

/// One comment of the moderation queue: its author and the post it belongs to.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub comment: comment::Model,
    pub author: remote_actor::Model,
    pub post: post::Model,
}

/// The ids of remote actors neither blocked nor on a blocked instance: what they wrote is
/// moderated; what blocked ones wrote stays out of sight until the block is lifted.
fn unblocked_authors() -> SelectStatement {
    let targets = |kind: &str| {
        Query::select()
            .column(block::Column::Target)
            .from(block::Entity)
            .and_where(block::Column::Kind.eq(kind))
            .to_owned()
    };
    Query::select()
        .column(remote_actor::Column::Id)
        .from(remote_actor::Entity)
        .and_where(remote_actor::Column::ActorUrl.not_in_subquery(targets(block::ACTOR)))
        .and_where(remote_actor::Column::Host.not_in_subquery(targets(block::DOMAIN)))
        .to_owned()
}

/// How many comments are in each moderation state (blocked authors left out). One query.
pub async fn count_by_state(db: &impl ConnectionTrait) -> Result<HashMap<String, u64>, DbErr> {
    let rows: Vec<(String, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::State)
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::AuthorId.in_subquery(unblocked_authors()))
        .group_by(comment::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(state, n)| (state, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The comments in `state`, newest first, with their authors and posts (blocked authors left
/// out). Four queries.
pub async fn in_state(
    db: &impl ConnectionTrait,
    state: &str,
    offset: u64,
    limit: u64,
) -> Result<Vec<QueueEntry>, DbErr> {
    let comments = comment::Entity::find()
        .filter(comment::Column::State.eq(state))
        .filter(comment::Column::AuthorId.in_subquery(unblocked_authors()))
        .order_by_desc(comment::Column::ReceivedAt)
        .order_by_desc(comment::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let post_ids: HashSet<i64> = comments.iter().map(|c| c.post_id).collect();
    let posts: HashMap<i64, post::Model> = post::Entity::find()
        .filter(post::Column::Id.is_in(post_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(with_authors(db, comments)
        .await?
        .into_iter()
        .filter_map(|CommentWithAuthor { comment, author }| {
            let post = posts.get(&comment.post_id)?.clone();
            Some(QueueEntry {
                comment,
                author,
                post,
            })
        })
        .collect())
}

/// One comment with its author and post, whatever its state (for actions on it).
pub async fn entry(db: &impl ConnectionTrait, id: i64) -> Result<Option<QueueEntry>, DbErr> {
    let Some(comment) = comment::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let author = remote_actor::Entity::find_by_id(comment.author_id)
        .one(db)
        .await?;
    let post = post::Entity::find_by_id(comment.post_id).one(db).await?;
    Ok(author.zip(post).map(|(author, post)| QueueEntry {
        comment,
        author,
        post,
    }))
}
