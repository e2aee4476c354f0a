//! Queries on posts, loading what a page or an object needs in a fixed number of queries
//! (posts, then their authors, tags and mentions in one query each — never one per post).

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::entity::{member, post, post_mention, post_tag};
use crate::domain::post::Status;

/// A post with everything needed to render it anywhere.
#[derive(Debug, Clone)]
pub struct PostBundle {
    pub post: post::Model,
    pub author: member::Model,
    pub tags: Vec<post_tag::Model>,
    pub mentions: Vec<post_mention::Model>,
}

impl PostBundle {
    pub fn status(&self) -> Status {
        Status::parse(&self.post.status).unwrap_or(Status::Draft)
    }
}

pub async fn find_by_public_id(
    db: &impl ConnectionTrait,
    public_id: &str,
) -> Result<Option<post::Model>, DbErr> {
    post::Entity::find()
        .filter(post::Column::PublicId.eq(public_id))
        .one(db)
        .await
}

/// Completes posts into bundles with three more queries, whatever their number.
pub async fn bundle(
    db: &impl ConnectionTrait,
    posts: Vec<post::Model>,
) -> Result<Vec<PostBundle>, DbErr> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let author_ids: Vec<i64> = posts.iter().map(|p| p.author_id).collect();
    let authors: HashMap<i64, member::Model> = member::Entity::find()
        .filter(member::Column::Id.is_in(author_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut tags: HashMap<i64, Vec<post_tag::Model>> = HashMap::new();
    for tag in post_tag::Entity::find()
        .filter(post_tag::Column::PostId.is_in(ids.clone()))
        .order_by_asc(post_tag::Column::Tag)
        .all(db)
        .await?
    {
        tags.entry(tag.post_id).or_default().push(tag);
    }
    let mut mentions: HashMap<i64, Vec<post_mention::Model>> = HashMap::new();
    for mention in post_mention::Entity::find()
        .filter(post_mention::Column::PostId.is_in(ids))
        .all(db)
        .await?
    {
        mentions.entry(mention.post_id).or_default().push(mention);
    }
    posts
        .into_iter()
        .map(|post| {
            let author = authors
                .get(&post.author_id)
                .cloned()
                .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", post.id)))?;
            Ok(PostBundle {
                tags: tags.remove(&post.id).unwrap_or_default(),
                mentions: mentions.remove(&post.id).unwrap_or_default(),
                author,
                post,
            })
        })
        .collect()
}

/// One post as a bundle.
pub async fn bundle_one(
    db: &impl ConnectionTrait,
    public_id: &str,
) -> Result<Option<PostBundle>, DbErr> {
    match find_by_public_id(db, public_id).await? {
        Some(post) => Ok(bundle(db, vec![post]).await?.pop()),
        None => Ok(None),
    }
}

/// A page of published posts, newest first. `page` starts at 0.
pub async fn published_page(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<Vec<PostBundle>, DbErr> {
    let posts = post::Entity::find()
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    bundle(db, posts).await
}

pub async fn count_published(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    post::Entity::find()
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .count(db)
        .await
}

/// Published posts by one member, newest first.
pub async fn published_by_author(
    db: &impl ConnectionTrait,
    author_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Vec<PostBundle>, DbErr> {
    let posts = post::Entity::find()
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .filter(post::Column::AuthorId.eq(author_id))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    bundle(db, posts).await
}

/// Published posts carrying a tag (by key), newest first.
pub async fn published_with_tag(
    db: &impl ConnectionTrait,
    tag_key: &str,
    page: u64,
    per_page: u64,
) -> Result<Vec<PostBundle>, DbErr> {
    let ids: Vec<i64> = post_tag::Entity::find()
        .filter(post_tag::Column::Tag.eq(tag_key))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.post_id)
        .collect();
    let posts = post::Entity::find()
        .filter(post::Column::Id.is_in(ids))
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    bundle(db, posts).await
}

/// How many published posts one member has (to page their list).
pub async fn count_published_by_author(
    db: &impl ConnectionTrait,
    author_id: i64,
) -> Result<u64, DbErr> {
    post::Entity::find()
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .filter(post::Column::AuthorId.eq(author_id))
        .count(db)
        .await
}

/// How many published posts carry a tag (by key).
pub async fn count_published_with_tag(
    db: &impl ConnectionTrait,
    tag_key: &str,
) -> Result<u64, DbErr> {
    post::Entity::find()
        .filter(
            post::Column::Id.in_subquery(
                post_tag::Entity::find()
                    .select_only()
                    .column(post_tag::Column::PostId)
                    .filter(post_tag::Column::Tag.eq(tag_key))
                    .into_query(),
            ),
        )
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .count(db)
        .await
}

/// Pinned published posts, most recently pinned first.
pub async fn pinned(db: &impl ConnectionTrait) -> Result<Vec<PostBundle>, DbErr> {
    let posts = post::Entity::find()
        .filter(post::Column::Status.eq(Status::Published.as_str()))
        .filter(post::Column::PinnedAt.is_not_null())
        .order_by_desc(post::Column::PinnedAt)
        .all(db)
        .await?;
    bundle(db, posts).await
}

/// Posts in the given statuses (the admin list), most recently changed first.
pub async fn with_statuses(
    db: &impl ConnectionTrait,
    statuses: &[Status],
    author_id: Option<i64>,
    limit: u64,
) -> Result<Vec<PostBundle>, DbErr> {
    let mut query = post::Entity::find()
        .filter(post::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .order_by_desc(post::Column::UpdatedAt)
        .limit(limit);
    if let Some(author) = author_id {
        query = query.filter(post::Column::AuthorId.eq(author));
    }
    bundle(db, query.all(db).await?).await
}

pub async fn count_with_status(db: &impl ConnectionTrait, status: Status) -> Result<u64, DbErr> {
    post::Entity::find()
        .filter(post::Column::Status.eq(status.as_str()))
        .count(db)
        .await
}
