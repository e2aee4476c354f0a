//! Writing and publishing posts: drafts, review, publication (now or scheduled), edits, pins and
//! deletion. Each use-case checks the member's rights, validates, and writes the post together
//! with the activity it causes in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use super::outbox::{self, Emitted, Recipients};
use crate::{
    db::{
        self,
        entity::{member, post, post_mention, post_revision, post_tag},
        post::PostBundle,
    },
    domain::{
        markdown::{self, Links},
        member::Role,
        post::{Invalid, PostInput, Status, validate, validate_schedule},
    },
    federation::objects::{self, Counts},
    state::AppState,
};

/// Why a post operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("the post has problems: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Invalid>),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no such post")]
    NotFound,
    #[error(
        "this post was changed by someone else since you opened it: reload it, then apply your changes again"
    )]
    Conflict,
    #[error("not possible while the post is {0}")]
    WrongStatus(Status),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

impl From<Vec<Invalid>> for PostError {
    fn from(errors: Vec<Invalid>) -> Self {
        PostError::Invalid(errors)
    }
}

fn role_of(member: &member::Model) -> Role {
    Role::parse(&member.role).unwrap_or(Role::Author)
}

fn status_of(post: &post::Model) -> Status {
    Status::parse(&post.status).unwrap_or(Status::Draft)
}

/// The HTML and references of a body, mentions resolved by WebFinger (before any transaction:
/// the network is slow and may fail; an unresolved mention simply stays text).
struct Rendered {
    html: String,
    tags: Vec<(String, String)>,
    mentions: Vec<(String, String, String)>,
}

async fn render(state: &AppState, input: &PostInput) -> Rendered {
    let refs = markdown::extract(&input.body_markdown);
    let mut resolved = BTreeMap::new();
    let mut mentions = Vec::new();
    for handle in refs.mentions.iter().take(50) {
        match state.fetcher.resolve_handle(handle).await {
            Ok(found) => {
                resolved.insert(handle.clone(), found.profile.to_string());
                mentions.push((
                    handle.clone(),
                    found.actor.to_string(),
                    found.profile.to_string(),
                ));
            }
            Err(err) => {
                tracing::info!(mention = %handle, error = %err, "mention not resolved; left as text")
            }
        }
    }
    let urls = &state.urls;
    let tag_url = |key: &str| urls.tag(key).to_string();
    let html = markdown::render(
        &input.body_markdown,
        &Links {
            tag_url: &tag_url,
            mentions: &resolved,
        },
    );
    let mut tags: Vec<(String, String)> = refs
        .hashtags
        .into_iter()
        .map(|h| (h.key, h.display))
        .collect();
    for extra in &input.tags {
        let key = extra.to_lowercase();
        if !tags.iter().any(|(k, _)| *k == key) {
            tags.push((key, extra.clone()));
        }
    }
    Rendered {
        html,
        tags,
        mentions,
    }
}

async fn replace_references(
    txn: &DatabaseTransaction,
    post_id: i64,
    rendered: &Rendered,
) -> Result<(), sea_orm::DbErr> {
    post_tag::Entity::delete_many()
        .filter(post_tag::Column::PostId.eq(post_id))
        .exec(txn)
        .await?;
    post_mention::Entity::delete_many()
        .filter(post_mention::Column::PostId.eq(post_id))
        .exec(txn)
        .await?;
    if !rendered.tags.is_empty() {
        post_tag::Entity::insert_many(rendered.tags.iter().map(|(key, display)| {
            post_tag::ActiveModel {
                post_id: Set(post_id),
                tag: Set(key.clone()),
                display: Set(display.clone()),
            }
        }))
        .exec(txn)
        .await?;
    }
    if !rendered.mentions.is_empty() {
        post_mention::Entity::insert_many(rendered.mentions.iter().map(
            |(handle, actor, profile)| post_mention::ActiveModel {
                post_id: Set(post_id),
                handle: Set(handle.clone()),
                actor_url: Set(actor.clone()),
                profile_url: Set(profile.clone()),
            },
        ))
        .exec(txn)
        .await?;
    }
    Ok(())
}

/// A random, unguessable public id for a new post.
fn new_public_id() -> String {
    outbox::new_activity_id()
        .to_lowercase()
        .chars()
        .take(16)
        .collect()
}

/// Creates a draft by `author`.
pub async fn create(
    state: &AppState,
    author: &member::Model,
    input: PostInput,
) -> Result<post::Model, PostError> {
    let input = validate(input)?;
    let rendered = render(state, &input).await;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let row = post::ActiveModel {
        public_id: Set(new_public_id()),
        author_id: Set(author.id),
        title: Set(input.title),
        summary: Set(input.summary),
        content_warning: Set(input.content_warning),
        language: Set(input.language),
        body_markdown: Set(input.body_markdown),
        body_html: Set(rendered.html.clone()),
        status: Set(Status::Draft.as_str().into()),
        scheduled_at: Set(None),
        published_at: Set(None),
        edited_at: Set(None),
        deleted_at: Set(None),
        pinned_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    replace_references(&txn, row.id, &rendered).await?;
    txn.commit().await?;
    Ok(row)
}

async fn load(state: &AppState, public_id: &str) -> Result<post::Model, PostError> {
    db::post::find_by_public_id(&state.db, public_id)
        .await?
        .ok_or(PostError::NotFound)
}

/// Saves new content. `expected_version` is the version the editor opened: if someone saved in
/// between, the save is refused instead of silently overwriting their work. Editing a published
/// post stamps `updated` and emits an `Update`.
pub async fn update(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
    expected_version: i32,
    input: PostInput,
) -> Result<post::Model, PostError> {
    let current = load(state, public_id).await?;
    let status = status_of(&current);
    let role = role_of(who);
    match status {
        Status::Deleted => return Err(PostError::WrongStatus(status)),
        Status::Draft | Status::Review if current.author_id == who.id || role.can_publish() => {}
        Status::Scheduled | Status::Published if role.can_publish() => {}
        _ => {
            return Err(PostError::Forbidden(
                "only editors and admins can edit a post once it is scheduled or published, or someone else's post",
            ));
        }
    }
    let input = validate(input)?;
    let rendered = render(state, &input).await;
    let now = Utc::now();
    let published = status == Status::Published;
    let mentioned = if published {
        inboxes_of(
            state,
            rendered
                .mentions
                .iter()
                .map(|(_, actor, _)| actor.clone())
                .collect(),
        )
        .await
    } else {
        Vec::new()
    };
    let txn = state.db.begin().await?;
    let mut update = post::Entity::update_many()
        .col_expr(post::Column::Title, Expr::value(input.title))
        .col_expr(post::Column::Summary, Expr::value(input.summary))
        .col_expr(
            post::Column::ContentWarning,
            Expr::value(input.content_warning),
        )
        .col_expr(post::Column::Language, Expr::value(input.language))
        .col_expr(post::Column::BodyMarkdown, Expr::value(input.body_markdown))
        .col_expr(post::Column::BodyHtml, Expr::value(rendered.html.clone()))
        .col_expr(post::Column::Version, Expr::value(expected_version + 1))
        .col_expr(post::Column::UpdatedAt, Expr::value(now));
    if published {
        update = update.col_expr(post::Column::EditedAt, Expr::value(Some(now)));
    }
    let result = update
        .filter(post::Column::Id.eq(current.id))
        .filter(post::Column::Version.eq(expected_version))
        .filter(post::Column::Status.eq(status.as_str()))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(PostError::Conflict);
    }
    replace_references(&txn, current.id, &rendered).await?;
    if published {
        // What readers saw until now becomes a revision (the status's edit history).
        post_revision::ActiveModel {
            post_id: Set(current.id),
            title: Set(current.title.clone()),
            content_warning: Set(current.content_warning.clone()),
            language: Set(current.language.clone()),
            body_markdown: Set(current.body_markdown.clone()),
            body_html: Set(current.body_html.clone()),
            created_at: Set(current
                .edited_at
                .or(current.published_at)
                .unwrap_or(current.created_at)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let bundle = bundle_in(&txn, public_id).await?;
        let id = state.urls.activity(&outbox::new_activity_id());
        emit_for(state, &txn, &bundle, "Update", &id, now, mentioned).await?;
    }
    let saved = bundle_in(&txn, public_id).await?.post;
    txn.commit().await?;
    if published {
        state.wake_delivery();
    }
    Ok(saved)
}

async fn bundle_in(txn: &DatabaseTransaction, public_id: &str) -> Result<PostBundle, PostError> {
    db::post::bundle_one(txn, public_id)
        .await?
        .ok_or(PostError::NotFound)
}

/// The object as it federates now (counts of replies, likes and boosts as given).
pub fn object_with_counts(
    state: &AppState,
    bundle: &PostBundle,
    counts: Counts,
) -> serde_json::Value {
    let (_, actor, followers) = attribution(state, bundle);
    objects::post_object(bundle, &state.urls, &actor, &followers, counts)
}

/// The object as activities carry it (counts are not part of what they announce).
pub fn object_of(state: &AppState, bundle: &PostBundle) -> serde_json::Value {
    object_with_counts(state, bundle, Counts::default())
}

/// Who a post is attributed to: the author's own actor when `publishing.member_actors` is on
/// and the author has one, else the collective. Returns (actor id, actor URL, followers URL).
pub fn attribution(state: &AppState, bundle: &PostBundle) -> (i64, url::Url, url::Url) {
    let author = &bundle.author;
    match author.local_actor_id {
        Some(actor_id) if state.settings.publishing.member_actors => (
            actor_id,
            state.urls.actor(&author.username),
            state.urls.followers(&author.username),
        ),
        _ => (
            state.collective.id,
            state.urls.actor(&state.collective.username),
            state.urls.followers(&state.collective.username),
        ),
    }
}

/// Records `kind` (Create, Update, Delete) of the post and queues it for the followers. When
/// the post is a member's, the member's actor sends it (to its own followers and to the
/// collective's) and, on Create, the collective announces it to its followers — the FEP-1b12
/// way a group shares its members' posts.
async fn emit_for(
    state: &AppState,
    txn: &DatabaseTransaction,
    bundle: &PostBundle,
    kind: &str,
    id: &url::Url,
    at: DateTime<Utc>,
    mentioned: Vec<url::Url>,
) -> Result<(), PostError> {
    let (actor_id, actor, _) = attribution(state, bundle);
    let by_member = actor_id != state.collective.id;
    let object_url = state.urls.post(&bundle.post.public_id);
    let object = match kind {
        "Delete" => objects::tombstone(&object_url, objects::object_type(bundle), at),
        _ => object_of(state, bundle),
    };
    let mut payload = objects::activity(kind, id, &actor, object, at);
    if kind == "Delete"
        && let Some(map) = payload.as_object_mut()
    {
        // A Tombstone has no addressing of its own; address the Delete like the post was.
        let addressed = object_of(state, bundle);
        map.insert("to".into(), addressed["to"].clone());
        map.insert("cc".into(), addressed["cc"].clone());
    }
    // A member's edits and deletions also reach those who saw the post through the collective.
    let also_followers_of = (by_member && kind != "Create").then_some(state.collective.id);
    outbox::emit(
        txn,
        Emitted {
            id,
            kind,
            actor_id,
            object: &object_url,
            post_id: Some(bundle.post.id),
            payload: &payload,
            at,
            to: Recipients::Followers {
                also_followers_of,
                and: mentioned,
            },
        },
    )
    .await?;
    if by_member && kind == "Create" {
        let announce_id = state.urls.post_announce(&bundle.post.public_id);
        let announce = announce_of(state, bundle, at);
        outbox::emit(
            txn,
            Emitted {
                id: &announce_id,
                kind: "Announce",
                actor_id: state.collective.id,
                object: &object_url,
                post_id: Some(bundle.post.id),
                payload: &announce,
                at,
                to: Recipients::Followers {
                    also_followers_of: None,
                    and: Vec::new(),
                },
            },
        )
        .await?;
    }
    Ok(())
}

/// The collective's `Announce` of a member's post.
pub fn announce_of(state: &AppState, bundle: &PostBundle, at: DateTime<Utc>) -> serde_json::Value {
    let collective = &state.collective.username;
    serde_json::json!({
        "@context": objects::object_context(),
        "id": state.urls.post_announce(&bundle.post.public_id),
        "type": "Announce",
        "actor": state.urls.actor(collective),
        "published": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "to": [objects::PUBLIC],
        "cc": [state.urls.followers(collective), attribution(state, bundle).1],
        "object": state.urls.post(&bundle.post.public_id),
    })
}

/// The inboxes of the accounts a post mentions (fetched before any transaction: the network is
/// slow; an account that cannot be fetched is simply not delivered to).
async fn mention_inboxes(state: &AppState, post_id: i64) -> Result<Vec<url::Url>, PostError> {
    let actors: Vec<String> = post_mention::Entity::find()
        .filter(post_mention::Column::PostId.eq(post_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.actor_url)
        .collect();
    Ok(inboxes_of(state, actors).await)
}

/// The inboxes (shared preferred) of remote actors, fetched or cached.
async fn inboxes_of(state: &AppState, actors: Vec<String>) -> Vec<url::Url> {
    let context = state.federation.context();
    let mut inboxes = Vec::new();
    for actor in actors {
        let Ok(actor_url) = url::Url::parse(&actor) else {
            continue;
        };
        match crate::federation::remote_actor::get(state, &context, &actor_url, false).await {
            Ok(actor) => {
                let inbox = actor
                    .shared_inbox_url
                    .as_deref()
                    .unwrap_or(&actor.inbox_url);
                if let Ok(inbox) = url::Url::parse(inbox) {
                    inboxes.push(inbox);
                }
            }
            Err(err) => {
                tracing::info!(mention = %actor_url, error = %err, "mentioned account not reachable")
            }
        }
    }
    inboxes
}

/// Gives the author an actor of their own (key pair generated once) when member actors are on.
async fn ensure_member_actor(state: &AppState, author_id: i64) -> Result<(), PostError> {
    if !state.settings.publishing.member_actors {
        return Ok(());
    }
    let Some(author) = member::Entity::find_by_id(author_id).one(&state.db).await? else {
        return Ok(());
    };
    if author.local_actor_id.is_some() {
        return Ok(());
    }
    let actor = super::actor::ensure_local_actor(&state.db, &author.username)
        .await
        .map_err(|e| PostError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
    let mut active: member::ActiveModel = author.into();
    active.local_actor_id = Set(Some(actor.id));
    active.update(&state.db).await?;
    Ok(())
}

/// Moves a draft to review (its author, or an editor).
pub async fn submit_for_review(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
) -> Result<(), PostError> {
    let current = load(state, public_id).await?;
    if current.author_id != who.id && !role_of(who).can_publish() {
        return Err(PostError::Forbidden(
            "only the author can submit this draft",
        ));
    }
    transition(state, &current, &[Status::Draft], Status::Review, None).await
}

/// Sends a post back to draft (an editor declining it, or its author taking it back).
pub async fn back_to_draft(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
) -> Result<(), PostError> {
    let current = load(state, public_id).await?;
    let allowed = match status_of(&current) {
        Status::Review => current.author_id == who.id || role_of(who).can_publish(),
        Status::Scheduled => role_of(who).can_publish(),
        _ => false,
    };
    if !allowed {
        return Err(PostError::Forbidden(
            "you cannot send this post back to draft",
        ));
    }
    transition(
        state,
        &current,
        &[Status::Review, Status::Scheduled],
        Status::Draft,
        None,
    )
    .await
}

/// A status change guarded by the expected current status (safe against concurrent changes).
async fn transition(
    state: &AppState,
    current: &post::Model,
    from: &[Status],
    to: Status,
    scheduled_at: Option<DateTime<Utc>>,
) -> Result<(), PostError> {
    let status = status_of(current);
    if !from.contains(&status) {
        return Err(PostError::WrongStatus(status));
    }
    let result = post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(to.as_str()))
        .col_expr(post::Column::ScheduledAt, Expr::value(scheduled_at))
        .col_expr(
            post::Column::Version,
            Expr::col(post::Column::Version).add(1),
        )
        .col_expr(post::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(post::Column::Id.eq(current.id))
        .filter(post::Column::Status.eq(status.as_str()))
        .exec(&state.db)
        .await?;
    if result.rows_affected != 1 {
        return Err(PostError::Conflict);
    }
    Ok(())
}

fn require_publisher(who: &member::Model) -> Result<(), PostError> {
    if role_of(who).can_publish() {
        Ok(())
    } else {
        Err(PostError::Forbidden(
            "only editors and admins can publish; submit your post for review instead",
        ))
    }
}

/// Publishes now (editors and admins): the post gets its `published` date and a `Create`.
pub async fn publish_now(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
) -> Result<post::Model, PostError> {
    require_publisher(who)?;
    let current = load(state, public_id).await?;
    let status = status_of(&current);
    if !matches!(status, Status::Draft | Status::Review | Status::Scheduled) {
        return Err(PostError::WrongStatus(status));
    }
    publish(state, &current, status, Utc::now()).await?;
    load(state, public_id).await
}

/// Marks the post published and emits its `Create`, in one transaction. Returns false when
/// another process (or click) got there first.
async fn publish(
    state: &AppState,
    current: &post::Model,
    from: Status,
    at: DateTime<Utc>,
) -> Result<bool, PostError> {
    ensure_member_actor(state, current.author_id).await?;
    let mentioned = mention_inboxes(state, current.id).await?;
    let txn = state.db.begin().await?;
    let result = post::Entity::update_many()
        .col_expr(
            post::Column::Status,
            Expr::value(Status::Published.as_str()),
        )
        .col_expr(post::Column::PublishedAt, Expr::value(Some(at)))
        .col_expr(
            post::Column::ScheduledAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            post::Column::Version,
            Expr::col(post::Column::Version).add(1),
        )
        .col_expr(post::Column::UpdatedAt, Expr::value(at))
        .filter(post::Column::Id.eq(current.id))
        .filter(post::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    let bundle = bundle_in(&txn, &current.public_id).await?;
    let id = state.urls.post_create(&current.public_id);
    emit_for(state, &txn, &bundle, "Create", &id, at, mentioned).await?;
    txn.commit().await?;
    state.wake_delivery();
    tracing::info!(post = %current.public_id, "published");
    Ok(true)
}

/// Schedules publication at `at` (editors and admins).
pub async fn schedule(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
    at: DateTime<Utc>,
) -> Result<(), PostError> {
    require_publisher(who)?;
    validate_schedule(at, Utc::now()).map_err(|e| PostError::Invalid(vec![e]))?;
    let current = load(state, public_id).await?;
    transition(
        state,
        &current,
        &[Status::Draft, Status::Review, Status::Scheduled],
        Status::Scheduled,
        Some(at),
    )
    .await
}

/// Publishes every scheduled post that is due. Safe with several processes: each post is
/// claimed by a guarded status change, so exactly one of them publishes it.
pub async fn publish_due(state: &AppState, now: DateTime<Utc>) -> Result<u64, PostError> {
    let due = post::Entity::find()
        .filter(post::Column::Status.eq(Status::Scheduled.as_str()))
        .filter(post::Column::ScheduledAt.lte(now))
        .all(&state.db)
        .await?;
    let mut published = 0;
    for post in due {
        if publish(state, &post, Status::Scheduled, now).await? {
            published += 1;
        }
    }
    Ok(published)
}

/// Deletes a post. A draft or a post in review is simply removed (it never left the house); a
/// published post becomes a Tombstone and a `Delete` goes out.
pub async fn delete(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
) -> Result<(), PostError> {
    let current = load(state, public_id).await?;
    let status = status_of(&current);
    let role = role_of(who);
    match status {
        Status::Deleted => Err(PostError::WrongStatus(status)),
        Status::Draft | Status::Review if current.author_id == who.id || role.can_publish() => {
            post::Entity::delete_by_id(current.id)
                .exec(&state.db)
                .await?;
            Ok(())
        }
        Status::Scheduled if role.can_publish() => {
            post::Entity::delete_by_id(current.id)
                .exec(&state.db)
                .await?;
            Ok(())
        }
        Status::Published if role.can_publish() => {
            let now = Utc::now();
            let mentioned = mention_inboxes(state, current.id).await?;
            let txn = state.db.begin().await?;
            let bundle = bundle_in(&txn, public_id).await?;
            let result = post::Entity::update_many()
                .col_expr(post::Column::Status, Expr::value(Status::Deleted.as_str()))
                .col_expr(post::Column::DeletedAt, Expr::value(Some(now)))
                .col_expr(post::Column::PinnedAt, Expr::value(None::<DateTime<Utc>>))
                .col_expr(
                    post::Column::Version,
                    Expr::col(post::Column::Version).add(1),
                )
                .col_expr(post::Column::UpdatedAt, Expr::value(now))
                .filter(post::Column::Id.eq(current.id))
                .filter(post::Column::Status.eq(Status::Published.as_str()))
                .exec(&txn)
                .await?;
            if result.rows_affected != 1 {
                return Err(PostError::Conflict);
            }
            let id = state.urls.activity(&outbox::new_activity_id());
            emit_for(state, &txn, &bundle, "Delete", &id, now, mentioned).await?;
            txn.commit().await?;
            state.wake_delivery();
            Ok(())
        }
        _ => Err(PostError::Forbidden(
            "only editors and admins can delete this post",
        )),
    }
}

/// Pins or unpins a published post (the `featured` collection).
pub async fn set_pinned(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
    pinned: bool,
) -> Result<(), PostError> {
    require_publisher(who)?;
    let current = load(state, public_id).await?;
    let status = status_of(&current);
    if status != Status::Published {
        return Err(PostError::WrongStatus(status));
    }
    let mut active: post::ActiveModel = current.into();
    active.pinned_at = Set(pinned.then(Utc::now));
    active.update(&state.db).await?;
    Ok(())
}

/// Runs [`publish_due`] now and then every `interval`, until the process stops.
pub async fn run_scheduler(state: AppState, interval: std::time::Duration) {
    loop {
        match publish_due(&state, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "published scheduled posts"),
            Err(err) => tracing::error!(error = %err, "scheduled publication failed; will retry"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Loads a post with a check that `who` may see it in the admin panel.
pub async fn for_editing(
    state: &AppState,
    who: &member::Model,
    public_id: &str,
) -> Result<PostBundle, PostError> {
    let bundle = db::post::bundle_one(&state.db, public_id)
        .await?
        .ok_or(PostError::NotFound)?;
    if bundle.post.author_id != who.id && !role_of(who).can_publish() {
        return Err(PostError::NotFound);
    }
    Ok(bundle)
}

/// Validates and renders a post exactly as saving would, but saves nothing: the preview shows
/// what publishing will send. `author` is the member credited (the post's author when editing).
/// The bundle is not a stored row: its ids are 0 and its public id is `preview`.
pub async fn preview(
    state: &AppState,
    author: &member::Model,
    input: PostInput,
) -> Result<PostBundle, Vec<Invalid>> {
    let input = validate(input)?;
    let rendered = render(state, &input).await;
    let now = Utc::now();
    let post = post::Model {
        id: 0,
        public_id: "preview".into(),
        author_id: author.id,
        title: input.title,
        summary: input.summary,
        content_warning: input.content_warning,
        language: input.language,
        body_markdown: input.body_markdown,
        body_html: rendered.html,
        status: Status::Draft.as_str().into(),
        scheduled_at: None,
        published_at: None,
        edited_at: None,
        deleted_at: None,
        pinned_at: None,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    let tags = rendered
        .tags
        .into_iter()
        .map(|(tag, display)| post_tag::Model {
            post_id: 0,
            tag,
            display,
        })
        .collect();
    let mentions = rendered
        .mentions
        .into_iter()
        .map(|(handle, actor_url, profile_url)| post_mention::Model {
            post_id: 0,
            handle,
            actor_url,
            profile_url,
        })
        .collect();
    Ok(PostBundle {
        post,
        author: author.clone(),
        tags,
        mentions,
    })
}
