//! Mastodon's JSON entities (Account, Status, Context, Notification, Application, Token,
//! Instance), built from Tribune's rows in one place.
//!
//! How ids map (documented in README and ARCHITECTURE):
//! - statuses: a post's numeric database id (`"42"`), so `max_id`/`since_id` page in publication
//!   order; a reply from the fediverse (a comment) is `"c" + comment id`;
//! - accounts: the collective is `"collective"` (every post is its status), a member is their
//!   numeric member id (`"3"`), a remote account is `"r" + remote actor id`.
//! - A status's `account` is the collective, or its author's own account when
//!   `publishing.member_actors` is on and the author has an actor.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::{
    db::{
        comment::CommentWithAuthor,
        entity::{member, post_revision, remote_actor},
        post::PostBundle,
    },
    domain::text::plain_text_to_html,
    service::post as posts,
    state::AppState,
};

/// The account id of the collective.
pub const COLLECTIVE_ID: &str = "collective";

pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Counts shown on an account.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccountCounts {
    pub statuses: u64,
    pub followers: u64,
}

fn avatar(state: &AppState) -> String {
    state
        .settings
        .resolve_media_url(&state.settings.collective.icon_url)
        .map(|u| u.to_string())
        .unwrap_or_default()
}

fn header_image(state: &AppState) -> String {
    state
        .settings
        .resolve_media_url(&state.settings.collective.image_url)
        .map(|u| u.to_string())
        .unwrap_or_default()
}

/// The collective as an Account.
pub fn collective_account(state: &AppState, counts: AccountCounts) -> Value {
    let settings = &state.settings.collective;
    let username = &state.collective.username;
    json!({
        "id": COLLECTIVE_ID,
        "username": username,
        "acct": username,
        "display_name": settings.name,
        "locked": settings.manually_approves_followers,
        "bot": false,
        "discoverable": settings.discoverable,
        "indexable": settings.indexable,
        "group": settings.actor_type == crate::config::ActorType::Group,
        "created_at": time(state.collective.created_at),
        "note": plain_text_to_html(&settings.summary),
        "url": state.urls.profile(username),
        "uri": state.urls.actor(username),
        "avatar": avatar(state),
        "avatar_static": avatar(state),
        "header": header_image(state),
        "header_static": header_image(state),
        "followers_count": counts.followers,
        "following_count": 0,
        "statuses_count": counts.statuses,
        "last_status_at": null,
        "emojis": [],
        "fields": [],
    })
}

/// A member as an Account.
pub fn member_account(state: &AppState, member: &member::Model, counts: AccountCounts) -> Value {
    let own_actor = state.settings.publishing.member_actors && member.local_actor_id.is_some();
    let uri = if own_actor {
        state.urls.actor(&member.username)
    } else {
        state.urls.member(&member.username)
    };
    json!({
        "id": member.id.to_string(),
        "username": member.username,
        "acct": member.username,
        "display_name": member.display_name,
        "locked": false,
        "bot": false,
        "discoverable": state.settings.collective.discoverable,
        "group": false,
        "created_at": time(member.created_at),
        "note": plain_text_to_html(&format!("{} — {}", member.display_name, state.settings.collective.name)),
        "url": state.urls.member(&member.username),
        "uri": uri,
        "avatar": avatar(state),
        "avatar_static": avatar(state),
        "header": header_image(state),
        "header_static": header_image(state),
        "followers_count": counts.followers,
        "following_count": 0,
        "statuses_count": counts.statuses,
        "last_status_at": null,
        "emojis": [],
        "fields": [],
    })
}

/// The logged-in member with `source` (what `verify_credentials` returns).
pub fn credential_account(
    state: &AppState,
    member: &member::Model,
    counts: AccountCounts,
) -> Value {
    let mut account = member_account(state, member, counts);
    if let Some(map) = account.as_object_mut() {
        map.insert(
            "source".into(),
            json!({
                "privacy": "public",
                "sensitive": false,
                "language": member.locale,
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }),
        );
        map.insert(
            "role".into(),
            json!({ "id": "0", "name": member.role, "permissions": "0", "color": "", "highlighted": false }),
        );
    }
    account
}

/// A remote account (a reply's author, a follower, someone who liked…).
pub fn remote_account(actor: &remote_actor::Model) -> Value {
    let display = actor
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| actor.preferred_username.clone());
    let icon = actor.icon_url.clone().unwrap_or_default();
    json!({
        "id": format!("r{}", actor.id),
        "username": actor.preferred_username,
        "acct": format!("{}@{}", actor.preferred_username, actor.host),
        "display_name": display,
        "locked": false,
        "bot": matches!(actor.kind.as_str(), "Service" | "Application"),
        "group": actor.kind == "Group",
        "discoverable": null,
        "created_at": time(actor.fetched_at),
        "note": "",
        "url": actor.profile_url.clone().unwrap_or_else(|| actor.actor_url.clone()),
        "uri": actor.actor_url,
        "avatar": icon,
        "avatar_static": icon,
        "header": "",
        "header_static": "",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": null,
        "emojis": [],
        "fields": [],
    })
}

/// Counts of reactions of one post.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatusCounts {
    pub replies: u64,
    pub favourites: u64,
    pub reblogs: u64,
}

/// The account a post is attributed to.
pub fn author_account(state: &AppState, bundle: &PostBundle, collective: AccountCounts) -> Value {
    let (actor_id, _, _) = posts::attribution(state, bundle);
    if actor_id == state.collective.id {
        collective_account(state, collective)
    } else {
        member_account(state, &bundle.author, AccountCounts::default())
    }
}

/// A post as a Status. `with_source` adds `text` (the Markdown), as Mastodon does after a
/// deletion (for "delete and redraft").
pub fn status(
    state: &AppState,
    bundle: &PostBundle,
    counts: StatusCounts,
    account: Value,
    with_source: bool,
) -> Value {
    let post = &bundle.post;
    let object = posts::object_of(state, bundle);
    let url = state.urls.post(&post.public_id);
    let mut value = json!({
        "id": post.id.to_string(),
        "created_at": time(post.published_at.unwrap_or(post.created_at)),
        "edited_at": post.edited_at.map(time),
        "in_reply_to_id": null,
        "in_reply_to_account_id": null,
        "sensitive": post.content_warning.is_some(),
        "spoiler_text": post.content_warning.clone().unwrap_or_default(),
        "visibility": "public",
        "language": post.language,
        "uri": url,
        "url": url,
        "replies_count": counts.replies,
        "reblogs_count": counts.reblogs,
        "favourites_count": counts.favourites,
        "favourited": false,
        "reblogged": false,
        "muted": false,
        "bookmarked": false,
        "pinned": post.pinned_at.is_some(),
        "content": object.get("content").cloned().unwrap_or(Value::String(post.body_html.clone())),
        "reblog": null,
        "application": null,
        "account": account,
        "media_attachments": [],
        "mentions": bundle.mentions.iter().map(|m| json!({
            "id": m.actor_url,
            "username": m.handle.trim_start_matches('@').split('@').next().unwrap_or_default(),
            "acct": m.handle.trim_start_matches('@'),
            "url": m.profile_url,
        })).collect::<Vec<_>>(),
        "tags": bundle.tags.iter().map(|t| json!({
            "name": t.display,
            "url": state.urls.tag(&t.tag),
        })).collect::<Vec<_>>(),
        "emojis": [],
        "card": null,
        "poll": null,
        "filtered": [],
    });
    if with_source && let Some(map) = value.as_object_mut() {
        map.insert("text".into(), Value::String(post.body_markdown.clone()));
    }
    value
}

/// A reply from the fediverse as a Status of its remote author.
pub fn comment_status(
    reply: &CommentWithAuthor,
    post_id: i64,
    parent_account: Option<String>,
) -> Value {
    let c = &reply.comment;
    let in_reply_to = c
        .parent_id
        .map_or_else(|| post_id.to_string(), |p| format!("c{p}"));
    json!({
        "id": format!("c{}", c.id),
        "created_at": time(c.published_at),
        "edited_at": c.updated_at.map(time),
        "in_reply_to_id": in_reply_to,
        "in_reply_to_account_id": parent_account,
        "sensitive": c.sensitive || c.summary.is_some(),
        "spoiler_text": c.summary.clone().unwrap_or_default(),
        "visibility": "public",
        "language": c.language,
        "uri": c.object_url,
        "url": c.url.clone().unwrap_or_else(|| c.object_url.clone()),
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "favourited": false,
        "reblogged": false,
        "muted": false,
        "bookmarked": false,
        "content": c.content_html,
        "reblog": null,
        "application": null,
        "account": remote_account(&reply.author),
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": null,
        "poll": null,
        "filtered": [],
    })
}

/// The approved replies of a post as the descendants of its Context, each answering the post
/// or another reply (with that status's account).
pub fn descendants(
    state: &AppState,
    bundle: &PostBundle,
    replies: &[CommentWithAuthor],
) -> Vec<Value> {
    let post_account = author_account(state, bundle, AccountCounts::default())
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    replies
        .iter()
        .map(|reply| {
            let parent_account = match reply.comment.parent_id {
                Some(parent) => replies
                    .iter()
                    .find(|r| r.comment.id == parent)
                    .map(|r| format!("r{}", r.author.id)),
                None => post_account.clone(),
            };
            comment_status(reply, bundle.post.id, parent_account)
        })
        .collect()
}

/// A status's edit history (StatusEdit entities): the earlier versions, oldest first, then the
/// current one (`current` is the rendered status).
pub fn history(
    state: &AppState,
    bundle: &PostBundle,
    revisions: &[post_revision::Model],
    current: &Value,
) -> Vec<Value> {
    let account = current.get("account").cloned().unwrap_or(Value::Null);
    let edit = |content: Value, spoiler: Option<String>, at: DateTime<Utc>| {
        json!({
            "content": content,
            "spoiler_text": spoiler.clone().unwrap_or_default(),
            "sensitive": spoiler.is_some(),
            "created_at": time(at),
            "account": account,
            "poll": null,
            "media_attachments": [],
            "emojis": [],
        })
    };
    let mut versions: Vec<Value> = revisions
        .iter()
        .map(|rev| {
            // Rendered as it federated then: the same object builder, over the old content.
            let mut old = bundle.clone();
            old.post.content_warning = rev.content_warning.clone();
            old.post.title = rev.title.clone();
            old.post.body_html = rev.body_html.clone();
            old.post.body_markdown = rev.body_markdown.clone();
            let content = posts::object_of(state, &old)
                .get("content")
                .cloned()
                .unwrap_or_else(|| Value::String(rev.body_html.clone()));
            edit(content, rev.content_warning.clone(), rev.created_at)
        })
        .collect();
    let post = &bundle.post;
    versions.push(edit(
        current.get("content").cloned().unwrap_or(Value::Null),
        post.content_warning.clone(),
        post.edited_at
            .or(post.published_at)
            .unwrap_or(post.created_at),
    ));
    versions
}
