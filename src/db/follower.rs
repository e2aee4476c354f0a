//! Queries on followers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Alias, Expr},
};
use url::Url;

use super::entity::{
    follower::{self, Entity as Follower, STATE_ACCEPTED, STATE_PENDING},
    remote_actor,
};

/// How many accepted followers a local actor has.
pub async fn count_accepted(db: &impl ConnectionTrait, local_actor_id: i64) -> Result<u64, DbErr> {
    count_in_state(db, local_actor_id, STATE_ACCEPTED).await
}

/// How many follow requests of a local actor wait for a decision.
pub async fn count_pending(db: &impl ConnectionTrait, local_actor_id: i64) -> Result<u64, DbErr> {
    count_in_state(db, local_actor_id, STATE_PENDING).await
}

async fn count_in_state(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
    state: &str,
) -> Result<u64, DbErr> {
    Follower::find()
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(state))
        .count(db)
        .await
}

/// One page of accepted followers' actor URLs, oldest first.
pub async fn accepted_page(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Vec<String>, DbErr> {
    follower::Entity::find()
        .select_only()
        .column(follower::Column::ActorUrl)
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(STATE_ACCEPTED))
        .order_by_asc(follower::Column::Id)
        .offset(page * per_page)
        .limit(per_page)
        .into_tuple()
        .all(db)
        .await
}

/// A follower as the admin panel lists it: the row, and what the cached actor (if any) says
/// about who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub actor_url: String,
    pub since: DateTime<Utc>,
    /// `preferredUsername` of the cached actor document.
    pub username: Option<String>,
    /// The actor's human profile page, if it gave one.
    pub profile_url: Option<String>,
}

impl Listed {
    /// `preferredUsername@host` when the actor is cached (with the port, if their server
    /// uses a non-default one), else its URL.
    pub fn handle(&self) -> String {
        match &self.username {
            Some(name) if !name.is_empty() => format!("{name}@{}", self.instance()),
            _ => self.actor_url.clone(),
        }
    }

    /// The follower's instance: the host (and non-default port) of their actor URL.
    pub fn instance(&self) -> String {
        instance_of(&self.actor_url)
    }
}

/// The host (with a non-default port) of an actor URL; the URL itself if it has none.
pub fn instance_of(actor_url: &str) -> String {
    match Url::parse(actor_url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{}:{port}", host.to_ascii_lowercase()),
            (Some(host), None) => host.to_ascii_lowercase(),
            _ => actor_url.to_string(),
        },
        Err(_) => actor_url.to_string(),
    }
}

type ListedTuple = (i64, String, DateTime<Utc>, Option<String>, Option<String>);

/// Followers of a local actor with what their cached actor says (a left join: an actor that
/// was never fetched still lists).
fn listed_query(local_actor_id: i64) -> sea_orm::Select<Follower> {
    let actor = Alias::new("ra");
    let relation = Follower::belongs_to(remote_actor::Entity)
        .from(follower::Column::ActorUrl)
        .to(remote_actor::Column::ActorUrl)
        .into();
    let cached = |column: remote_actor::Column| Expr::col((actor.clone(), column));
    Follower::find()
        .select_only()
        .column(follower::Column::Id)
        .column(follower::Column::ActorUrl)
        .column(follower::Column::CreatedAt)
        .column_as(
            cached(remote_actor::Column::PreferredUsername),
            "preferred_username",
        )
        .column_as(cached(remote_actor::Column::ProfileUrl), "profile_url")
        .join_as(JoinType::LeftJoin, relation, actor.clone())
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
}

fn to_listed((id, actor_url, since, username, profile_url): ListedTuple) -> Listed {
    Listed {
        id,
        actor_url,
        since,
        username,
        profile_url,
    }
}

/// Followers of a local actor in one state (`accepted` or `pending`) with their cached actors,
/// in one query: newest first for accepted followers, oldest first for requests (first come,
/// first answered).
pub async fn listed(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
    pending: bool,
    offset: u64,
    limit: u64,
) -> Result<Vec<Listed>, DbErr> {
    let (state, order) = if pending {
        (STATE_PENDING, Order::Asc)
    } else {
        (STATE_ACCEPTED, Order::Desc)
    };
    let rows: Vec<ListedTuple> = listed_query(local_actor_id)
        .filter(follower::Column::State.eq(state))
        .order_by(follower::Column::CreatedAt, order.clone())
        .order_by(follower::Column::Id, order)
        .offset(offset)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_listed).collect())
}

/// One follower (accepted or pending) of a local actor, as listed.
pub async fn listed_one(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
    id: i64,
) -> Result<Option<Listed>, DbErr> {
    let row: Option<ListedTuple> = listed_query(local_actor_id)
        .filter(follower::Column::Id.eq(id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map(to_listed))
}

/// Accepted followers per instance (the host of their actor URL), most followers first, then
/// by name. One query reading only the actor URLs: the host is not a column, and cutting URLs
/// apart in SQL differs between SQLite and PostgreSQL.
pub async fn accepted_by_instance(
    db: &impl ConnectionTrait,
    local_actor_id: i64,
) -> Result<Vec<(String, u64)>, DbErr> {
    let urls: Vec<String> = Follower::find()
        .select_only()
        .column(follower::Column::ActorUrl)
        .filter(follower::Column::LocalActorId.eq(local_actor_id))
        .filter(follower::Column::State.eq(STATE_ACCEPTED))
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for url in &urls {
        *counts.entry(instance_of(url)).or_default() += 1;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|(a_host, a), (b_host, b)| b.cmp(a).then_with(|| a_host.cmp(b_host)));
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(username: Option<&str>, actor_url: &str) -> Listed {
        Listed {
            id: 1,
            actor_url: actor_url.into(),
            since: Utc::now(),
            username: username.map(Into::into),
            profile_url: None,
        }
    }

    #[test]
    fn a_handle_needs_the_cached_actor_and_the_instance_keeps_its_port() {
        let url = "https://Social.Example:8443/users/alice";
        assert_eq!(
            listed(Some("alice"), "https://social.example/users/alice").handle(),
            "alice@social.example"
        );
        assert_eq!(
            listed(Some("alice"), url).handle(),
            "alice@social.example:8443"
        );
        assert_eq!(listed(None, url).handle(), url);
        assert_eq!(listed(None, url).instance(), "social.example:8443");
        assert_eq!(instance_of("https://a.example/u"), "a.example");
        assert_eq!(instance_of("not a url"), "not a url");
    }
}
