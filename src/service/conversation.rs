//! Conversations coming home: replies stored as comments (threads included), likes and boosts
//! counted once per actor, edits and deletions honoured only from their authors, notifications
//! for the members. Called by the inbox once a request is verified.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait, sea_query::Expr,
};
use serde_json::Value;
use url::Url;

use crate::{
    config::ReplyPolicy,
    db::{
        self,
        entity::{
            comment::{self, APPROVED, DELETED, PENDING},
            follower, notification, post, reaction, remote_actor,
        },
    },
    domain::{activity_json as aj, post::Status, sanitize},
    federation::remote_actor::{self as remote, FetchContext},
    state::AppState,
};

/// The object types stored as comments.
const REPLY_TYPES: [&str; 4] = ["Note", "Article", "Page", "Question"];
/// Most `tag` entries looked at (a reply with thousands of mentions is not worth more).
const MAX_TAGS: usize = 100;

/// Why an activity is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn forbidden(why: &str) -> Refused {
    Refused::Forbidden(why.to_string())
}

/// The public id of our post this URL names (`/posts/{id}` on our host), if it names one.
pub fn local_post_id<'u>(state: &AppState, url: &'u Url) -> Option<&'u str> {
    if !aj::same_host(url, state.urls.base()) {
        return None;
    }
    url.path()
        .strip_prefix("/posts/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// Our published post with this URL, if any.
async fn local_post(state: &AppState, url: &Url) -> Result<Option<post::Model>, DbErr> {
    let Some(public_id) = local_post_id(state, url) else {
        return Ok(None);
    };
    Ok(db::post::find_by_public_id(&state.db, public_id)
        .await?
        .filter(|p| p.status == Status::Published.as_str()))
}

async fn stored_comment(state: &AppState, url: &Url) -> Result<Option<comment::Model>, DbErr> {
    comment::Entity::find()
        .filter(comment::Column::ObjectUrl.eq(url.as_str()))
        .one(&state.db)
        .await
}

/// Whether the object mentions the collective.
fn mentions_collective(state: &AppState, object: &Value) -> bool {
    let ours = state.urls.actor(&state.collective.username);
    aj::one_or_many(object.get("tag"))
        .into_iter()
        .take(MAX_TAGS)
        .filter(|t| aj::str_field(t, "type") == Some("Mention"))
        .filter_map(|t| aj::url_field(t, "href"))
        .any(|href| href == ours)
}

async fn notify(
    state: &AppState,
    kind: &str,
    actor_id: Option<i64>,
    post_id: Option<i64>,
    comment_id: Option<i64>,
    object_url: Option<&Url>,
) -> Result<(), DbErr> {
    notification::Entity::insert(notification::ActiveModel {
        kind: Set(kind.to_string()),
        actor_id: Set(actor_id),
        post_id: Set(post_id),
        comment_id: Set(comment_id),
        object_url: Set(object_url.map(Url::to_string)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(&state.db)
    .await?;
    Ok(())
}

/// `Create` of a Note (or Article, Page, Question). The object must be the actor's own, on
/// its host; only replies within one of our threads are stored, mentions become notifications.
pub async fn receive_create(
    state: &AppState,
    context: &FetchContext,
    doc: &Value,
    actor: &remote_actor::Model,
) -> Result<(), Refused> {
    let actor_url = Url::parse(&actor.actor_url).map_err(|_| forbidden("bad actor"))?;
    let object = match doc.get("object") {
        Some(Value::String(url)) => {
            let url = Url::parse(url).map_err(|_| forbidden("the object is not a URL"))?;
            if !aj::same_host(&url, &actor_url) {
                return Err(forbidden("the object is not on the actor's host"));
            }
            // Only a reference: fetch it from its origin.
            match state.federation.fetch(context, &url).await {
                Ok(fetched) => fetched,
                Err(_) => return Ok(()),
            }
        }
        Some(embedded @ Value::Object(_)) => embedded.clone(),
        _ => return Ok(()),
    };
    let Some(id) = checked_object(&object, &actor_url)? else {
        return Ok(());
    };
    let stored = store_reply(
        state,
        context,
        &object,
        actor,
        state.settings.moderation.max_reply_fetch_depth,
        &mut Vec::new(),
    )
    .await?;
    if stored.is_none() && mentions_collective(state, &object) {
        notify(
            state,
            notification::MENTION,
            Some(actor.id),
            None,
            None,
            Some(&id),
        )
        .await?;
    }
    Ok(())
}

/// The id of a created object Tribune may store, after the checks every one passes: a reply
/// type (others are ignored: `None`), its id and its author the sending actor's.
fn checked_object(object: &Value, actor_url: &Url) -> Result<Option<Url>, Refused> {
    let Some(kind) = aj::str_field(object, "type") else {
        return Ok(None);
    };
    if !REPLY_TYPES.contains(&kind) {
        return Ok(None);
    }
    let id = aj::id_of(object).ok_or_else(|| forbidden("the object has no id"))?;
    if !aj::same_host(&id, actor_url) {
        return Err(forbidden("the object's id is not on the actor's host"));
    }
    if aj::url_field(object, "attributedTo").is_some_and(|author| &author != actor_url) {
        return Err(forbidden(
            "the object is attributed to someone else than the actor",
        ));
    }
    Ok(Some(id))
}

/// A reply as it will be stored, read from its object and sanitized, before its place in a
/// thread (post, parent, depth) and its moderation state are known.
#[derive(Debug, Clone)]
pub struct ReplyDraft {
    pub object_url: Url,
    pub in_reply_to: Url,
    pub content_html: String,
    pub summary: Option<String>,
    pub sensitive: bool,
    pub language: Option<String>,
    pub url: Url,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

impl ReplyDraft {
    /// Reads `object` (whose id is `id`, answering `in_reply_to`); sanitizes its content once.
    fn read(object: &Value, id: Url, in_reply_to: Url) -> ReplyDraft {
        let content = aj::str_field(object, "content")
            .map(str::to_string)
            .or_else(|| {
                object
                    .get("contentMap")
                    .and_then(|m| m.as_object())
                    .and_then(|m| m.values().find_map(|v| v.as_str().map(str::to_string)))
            })
            .unwrap_or_default();
        let language = object
            .get("contentMap")
            .and_then(|m| m.as_object())
            .and_then(|m| m.keys().next().cloned())
            .map(|l| l.chars().take(16).collect());
        let summary = aj::str_field(object, "summary")
            .map(|s| sanitize::remote_text(s, 500))
            .filter(|s| !s.is_empty());
        let sensitive = object
            .get("sensitive")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || summary.is_some();
        let url = aj::url_field(object, "url")
            .filter(|u| aj::same_host(u, &id))
            .unwrap_or_else(|| id.clone());
        ReplyDraft {
            content_html: sanitize::remote_html(&content),
            summary,
            sensitive,
            language,
            url,
            published: parse_time(aj::str_field(object, "published")).unwrap_or_else(Utc::now),
            updated: parse_time(aj::str_field(object, "updated")),
            object_url: id,
            in_reply_to,
        }
    }

    /// The row, once the thread and the moderation state are known.
    pub fn row(
        &self,
        author_id: i64,
        place: ThreadPlace,
        state_of_comment: &str,
    ) -> comment::ActiveModel {
        comment::ActiveModel {
            object_url: Set(self.object_url.to_string()),
            post_id: Set(place.post_id),
            parent_id: Set(place.parent_id),
            in_reply_to_url: Set(self.in_reply_to.to_string()),
            author_id: Set(author_id),
            content_html: Set(self.content_html.clone()),
            summary: Set(self.summary.clone()),
            sensitive: Set(self.sensitive),
            language: Set(self.language.clone()),
            url: Set(Some(self.url.to_string())),
            published_at: Set(self.published),
            updated_at: Set(self.updated),
            state: Set(state_of_comment.to_string()),
            depth: Set(place.depth),
            received_at: Set(Utc::now()),
            ..Default::default()
        }
    }
}

/// Where a reply hangs: under one of our posts, directly (`parent_id` none, depth 1) or under
/// a stored comment.
#[derive(Debug, Clone, Copy)]
pub struct ThreadPlace {
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub depth: i32,
}

impl ThreadPlace {
    pub fn under_post(post_id: i64) -> ThreadPlace {
        ThreadPlace {
            post_id,
            parent_id: None,
            depth: 1,
        }
    }

    pub fn under_comment(parent: &comment::Model) -> ThreadPlace {
        ThreadPlace {
            post_id: parent.post_id,
            parent_id: Some(parent.id),
            depth: parent.depth.saturating_add(1),
        }
    }
}

/// The reply a `Create` carries when it is the everyday case that can be stored without
/// fetching anything: an embedded, public reply of the actor's own, checked like any other.
/// `None` for everything else (a reference to fetch, a mention, a refusal), which
/// [`receive_create`] handles and answers.
pub fn plain_reply(doc: &Value, actor_url: &Url) -> Option<ReplyDraft> {
    let object = doc.get("object").filter(|o| o.is_object())?;
    let id = checked_object(object, actor_url).ok()??;
    if !aj::is_public(object) {
        return None;
    }
    let parent = aj::url_field(object, "inReplyTo").filter(|p| *p != id)?;
    Some(ReplyDraft::read(object, id, parent))
}

/// Stores `object` (by `author`) as a comment if it answers one of our posts or a stored
/// comment, fetching up to `budget` unknown ancestors. Returns the stored comment.
fn store_reply<'a>(
    state: &'a AppState,
    context: &'a FetchContext,
    object: &'a Value,
    author: &'a remote_actor::Model,
    budget: u32,
    visited: &'a mut Vec<Url>,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<comment::Model>, Refused>> + Send + 'a>,
> {
    Box::pin(async move {
        let Some(id) = aj::id_of(object) else {
            return Ok(None);
        };
        // Only what its author made public (the public collection in `to` or `cc`, in any
        // spelling) becomes a comment: comments are republished to everyone (replies
        // collection, site), and Mastodon, Pleroma, Misskey and GoToSocial deliver followers-only
        // and direct replies to the replied-to actor's inbox like any other (see
        // tests/fixtures/mastodon/note_direct.json).
        if !aj::is_public(object) {
            return Ok(None);
        }
        if let Some(existing) = stored_comment(state, &id).await? {
            return Ok(Some(existing));
        }
        let Some(parent_url) = aj::url_field(object, "inReplyTo") else {
            return Ok(None);
        };
        if parent_url == id || visited.contains(&parent_url) {
            return Ok(None); // an inReplyTo loop
        }
        visited.push(id.clone());
        let place = if let Some(post) = local_post(state, &parent_url).await? {
            ThreadPlace::under_post(post.id)
        } else if let Some(parent) = stored_comment(state, &parent_url).await? {
            ThreadPlace::under_comment(&parent)
        } else if budget > 0 && !aj::same_host(&parent_url, state.urls.base()) {
            // An unknown ancestor: fetch it from its origin, with its author, and see whether
            // the chain reaches one of our posts.
            let Ok(parent) = state.federation.fetch(context, &parent_url).await else {
                return Ok(None);
            };
            let Some(parent_author) = aj::url_field(&parent, "attributedTo") else {
                return Ok(None);
            };
            if !aj::same_host(&parent_author, &parent_url) {
                return Ok(None);
            }
            let Ok(parent_actor) = remote::get(state, context, &parent_author, false).await else {
                return Ok(None);
            };
            match store_reply(state, context, &parent, &parent_actor, budget - 1, visited).await? {
                Some(parent) => ThreadPlace::under_comment(&parent),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let draft = ReplyDraft::read(object, id.clone(), parent_url);
        let state_of_comment = initial_state(state, author).await?;
        let row = draft.row(author.id, place, state_of_comment);
        comment::Entity::insert(row)
            .on_conflict_do_nothing_on([comment::Column::ObjectUrl])
            .exec(&state.db)
            .await?;
        let stored = stored_comment(state, &id).await?;
        if let Some(c) = &stored {
            notify(
                state,
                notification::REPLY,
                Some(author.id),
                Some(c.post_id),
                Some(c.id),
                Some(&id),
            )
            .await?;
        }
        Ok(stored)
    })
}

fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    value
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Approved at once or held, by the moderation policy in force (the admin panel's choice, else
/// the configuration's): `trusted` lets followers and authors approved before through.
async fn initial_state(
    state: &AppState,
    author: &remote_actor::Model,
) -> Result<&'static str, DbErr> {
    let policy = super::instance_settings::reply_policy(&state.db, &state.settings).await?;
    let trusted = policy == ReplyPolicy::Trusted && {
        let follows = follower::Entity::find()
            .filter(follower::Column::ActorUrl.eq(&author.actor_url))
            .filter(follower::Column::State.eq(follower::STATE_ACCEPTED))
            .count(&state.db)
            .await?
            > 0;
        follows
            || comment::Entity::find()
                .filter(comment::Column::AuthorId.eq(author.id))
                .filter(comment::Column::State.eq(APPROVED))
                .count(&state.db)
                .await?
                > 0
    };
    Ok(state_under(policy, trusted))
}

/// A new reply's state under `policy`; `trusted`: its author follows us or was approved before.
pub fn state_under(policy: ReplyPolicy, trusted: bool) -> &'static str {
    match policy {
        ReplyPolicy::Open => APPROVED,
        ReplyPolicy::Review => PENDING,
        ReplyPolicy::Trusted if trusted => APPROVED,
        ReplyPolicy::Trusted => PENDING,
    }
}

/// `Like` or `Announce` of one of our published posts, counted once per actor. Reactions to
/// anything else are ignored.
pub async fn receive_reaction(
    state: &AppState,
    doc: &Value,
    kind: &str,
    actor: &remote_actor::Model,
) -> Result<(), Refused> {
    let Some(object) = aj::url_field(doc, "object") else {
        return Ok(());
    };
    let Some(post) = local_post(state, &object).await? else {
        return Ok(());
    };
    let activity = aj::id_of(doc).map(|u| u.to_string()).unwrap_or_default();
    let inserted = reaction::Entity::insert(reaction::ActiveModel {
        kind: Set(kind.to_string()),
        post_id: Set(post.id),
        actor_id: Set(actor.id),
        activity_url: Set(activity),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        reaction::Column::Kind,
        reaction::Column::PostId,
        reaction::Column::ActorId,
    ])
    .exec(&state.db)
    .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        notify(
            state,
            kind,
            Some(actor.id),
            Some(post.id),
            None,
            Some(&object),
        )
        .await?;
    }
    Ok(())
}

/// `Undo` of a `Like` or an `Announce`: removes the actor's reaction, by the undone activity's
/// id or, when the activity is embedded, by what it was about.
pub async fn undo_reaction(
    state: &AppState,
    inner: &Value,
    kind: &str,
    actor: &remote_actor::Model,
) -> Result<(), Refused> {
    let mut condition = Condition::any();
    if let Some(id) = aj::link_href(inner) {
        condition = condition.add(reaction::Column::ActivityUrl.eq(id.as_str()));
    }
    if let Some(object) = aj::url_field(inner, "object")
        && let Some(post) = local_post(state, &object).await?
    {
        condition = condition.add(reaction::Column::PostId.eq(post.id));
    }
    reaction::Entity::delete_many()
        .filter(reaction::Column::ActorId.eq(actor.id))
        .filter(reaction::Column::Kind.eq(kind))
        .filter(condition)
        .exec(&state.db)
        .await?;
    Ok(())
}

/// `Update`: of a stored comment by its author (applied only if newer), or of the actor itself
/// (profile and key fetched again from its origin, never taken from the activity).
pub async fn receive_update(
    state: &AppState,
    context: &FetchContext,
    doc: &Value,
    actor: &remote_actor::Model,
) -> Result<(), Refused> {
    let actor_url = Url::parse(&actor.actor_url).map_err(|_| forbidden("bad actor"))?;
    let Some(object_id) = aj::url_field(doc, "object") else {
        return Ok(());
    };
    if object_id == actor_url {
        let _ = remote::get(state, context, &actor_url, true).await;
        return Ok(());
    }
    if !aj::same_host(&object_id, &actor_url) {
        return Err(forbidden(
            "an Update may only change the actor's own objects",
        ));
    }
    let Some(existing) = stored_comment(state, &object_id).await? else {
        return Ok(());
    };
    if existing.author_id != actor.id {
        return Err(forbidden("only the author of a reply can update it"));
    }
    let object = match doc.get("object") {
        Some(embedded @ Value::Object(_)) => embedded.clone(),
        _ => match state.federation.fetch(context, &object_id).await {
            Ok(fetched) => fetched,
            Err(_) => return Ok(()),
        },
    };
    let Some(updated) = parse_time(aj::str_field(&object, "updated")) else {
        return Ok(()); // Mastodon's rule: no `updated`, no update.
    };
    if existing.updated_at.unwrap_or(existing.published_at) >= updated {
        return Ok(());
    }
    let content = aj::str_field(&object, "content").unwrap_or_default();
    let summary = aj::str_field(&object, "summary")
        .map(|s| sanitize::remote_text(s, 500))
        .filter(|s| !s.is_empty());
    comment::Entity::update_many()
        .col_expr(
            comment::Column::ContentHtml,
            Expr::value(sanitize::remote_html(content)),
        )
        .col_expr(comment::Column::Summary, Expr::value(summary))
        .col_expr(comment::Column::UpdatedAt, Expr::value(Some(updated)))
        .filter(comment::Column::Id.eq(existing.id))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// `Delete`: of a stored comment by its author (a tombstone stays where replies hang from it),
/// or of the actor itself (everything of theirs goes).
pub async fn receive_delete(
    state: &AppState,
    doc: &Value,
    actor: &remote_actor::Model,
) -> Result<(), Refused> {
    let actor_url = Url::parse(&actor.actor_url).map_err(|_| forbidden("bad actor"))?;
    let Some(object_id) = aj::url_field(doc, "object") else {
        return Ok(());
    };
    if object_id == actor_url {
        return forget_actor(state, actor).await;
    }
    let Some(existing) = stored_comment(state, &object_id).await? else {
        return Ok(());
    };
    if existing.author_id != actor.id {
        return Err(forbidden("only the author of a reply can delete it"));
    }
    delete_comment(state, &existing).await?;
    Ok(())
}

/// Removes a comment, leaving a tombstone if other comments answer it.
pub async fn delete_comment(state: &AppState, existing: &comment::Model) -> Result<(), DbErr> {
    let children = comment::Entity::find()
        .filter(comment::Column::ParentId.eq(existing.id))
        .count(&state.db)
        .await?;
    if children > 0 {
        comment::Entity::update_many()
            .col_expr(comment::Column::State, Expr::value(DELETED))
            .col_expr(comment::Column::ContentHtml, Expr::value(String::new()))
            .col_expr(comment::Column::Summary, Expr::value(None::<String>))
            .filter(comment::Column::Id.eq(existing.id))
            .exec(&state.db)
            .await?;
    } else {
        comment::Entity::delete_by_id(existing.id)
            .exec(&state.db)
            .await?;
    }
    Ok(())
}

/// A deleted account: its comments, reactions, follow and cached profile go.
async fn forget_actor(state: &AppState, actor: &remote_actor::Model) -> Result<(), Refused> {
    let txn = state.db.begin().await?;
    // Comments that others answered stay as tombstones; the rest go with the actor row.
    let answered: Vec<i64> = comment::Entity::find()
        .filter(comment::Column::AuthorId.eq(actor.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    comment::Entity::update_many()
        .col_expr(comment::Column::ParentId, Expr::value(None::<i64>))
        .filter(comment::Column::ParentId.is_in(answered))
        .exec(&txn)
        .await?;
    follower::Entity::delete_many()
        .filter(follower::Column::ActorUrl.eq(&actor.actor_url))
        .exec(&txn)
        .await?;
    remote_actor::Entity::delete_by_id(actor.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.recent_actors.forget(&actor.actor_url);
    tracing::info!(actor = %actor.actor_url, "remote account deleted: its replies, reactions and follow removed");
    Ok(())
}
