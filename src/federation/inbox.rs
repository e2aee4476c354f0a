//! The inboxes (the collective's and the shared one): verify before acting, cheapest checks
//! first, then apply the activity. Nothing unverified changes anything.
//!
//! Order: signature header form → signed headers → `Date` window → `Digest` of the exact body →
//! signed `Host` → JSON → origin (activity id on the actor's host, key on the actor's host) →
//! blocked? already seen? (for a like, boost or reply from an actor in memory, these two are
//! checked by the batch instead) → actor from memory, the database or fetched → key is the
//! actor's → RSA verification (refetching the actor once if it fails: keys rotate) → a like,
//! boost or plain reply stored in a batch (`service::intake`), anything else applied alone.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Path, Request, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::post,
};
use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use url::Url;

use super::{
    local, remote_actor,
    signature::{self, SignatureError},
};
use crate::{
    db::entity::{
        follower, local_actor, reaction, received_activity, remote_actor::Model as RemoteActor,
    },
    delivery::queue,
    domain::activity_json as aj,
    service::{
        self, conversation,
        intake::{Arrival, Outcome, What},
    },
    state::AppState,
};

pub fn router(max_body: usize) -> Router<AppState> {
    Router::new()
        .route("/inbox", post(shared_inbox))
        .route("/actors/{username}/inbox", post(actor_inbox))
        .layer(DefaultBodyLimit::max(max_body))
}

/// Why an incoming activity was refused; each maps to a status and a message for the sender.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("{0}")]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("internal error")]
    Internal(String),
}

impl From<sea_orm::DbErr> for InboxError {
    fn from(err: sea_orm::DbErr) -> Self {
        InboxError::Internal(err.to_string())
    }
}

impl IntoResponse for InboxError {
    fn into_response(self) -> Response {
        let status = match &self {
            InboxError::Signature(_) | InboxError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            InboxError::BadRequest(_) => StatusCode::BAD_REQUEST,
            InboxError::Forbidden(_) => StatusCode::FORBIDDEN,
            InboxError::NotFound(_) => StatusCode::NOT_FOUND,
            InboxError::Internal(cause) => {
                tracing::error!(error = %cause, "inbox failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

async fn shared_inbox(State(state): State<AppState>, request: Request) -> Response {
    answer(&state, request).await
}

async fn actor_inbox(
    State(state): State<AppState>,
    Path(username): Path<String>,
    request: Request,
) -> Response {
    if local::resolve(&state, &username).await.is_err() {
        return InboxError::NotFound(format!("no actor named {username:?} here")).into_response();
    }
    answer(&state, request).await
}

/// Reads the body under the route's `DefaultBodyLimit`, as the `Bytes` extractor reads it (a
/// 413 past it), and answers the activity. The request's head is kept, not copied: the
/// `HeaderMap` extractor clones every header, ~1.5 % of the inbox's CPU under load.
async fn answer(state: &AppState, request: Request) -> Response {
    let (mut head, body) = request.into_parts();
    let mut body_only = Request::new(body);
    // The body limit travels in the extensions; nothing after this reads them from the head.
    *body_only.extensions_mut() = std::mem::take(&mut head.extensions);
    match Bytes::from_request(body_only, state).await {
        Ok(body) => respond(receive(state, &head, &body).await),
        Err(refused) => refused.into_response(),
    }
}

fn respond(result: Result<(), InboxError>) -> Response {
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(err) => {
            tracing::info!(error = %err, "inbox refused an activity");
            err.into_response()
        }
    }
}

/// Verifies and applies one incoming activity.
pub async fn receive(state: &AppState, head: &Parts, body: &[u8]) -> Result<(), InboxError> {
    let (method, uri, headers) = (&head.method, &head.uri, &head.headers);
    // 1. Everything that costs nothing: no key fetched, no RSA yet.
    let params = signature::parse_params(headers)?;
    signature::check_covered(&params)?;
    let window = std::time::Duration::from_secs(
        u64::try_from(state.settings.federation.signature_window_seconds).unwrap_or(3600),
    );
    signature::check_date(headers, Utc::now(), window)?;
    signature::check_digest(headers, body)?;
    signature::check_host(headers, &state.settings.domain())?;

    // 2. The document and its origin.
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| InboxError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let id =
        aj::id_of(&doc).ok_or_else(|| InboxError::BadRequest("the activity has no id".into()))?;
    let kind = aj::str_field(&doc, "type")
        .ok_or_else(|| InboxError::BadRequest("the activity has no type".into()))?
        .to_string();
    let actor = aj::url_field(&doc, "actor")
        .ok_or_else(|| InboxError::BadRequest("the activity has no actor".into()))?;
    if !aj::same_host(&id, &actor) {
        return Err(InboxError::Forbidden(
            "the activity's id is not on its actor's host".into(),
        ));
    }
    if aj::same_host(&actor, state.urls.base()) {
        return Err(InboxError::Forbidden(
            "activities of local actors are not accepted from outside".into(),
        ));
    }
    // 3. A like, boost or reply from an actor seen lately goes to the batch writer, which
    //    checks blocks and redeliveries inside its transaction: nothing is fetched for it.
    //    Anything else is screened now — blocked actors and instances are refused before
    //    anything is fetched for them, and a redelivery gets the same answer, no second effect.
    let batchable = matches!(kind.as_str(), "Like" | "Announce" | "Create");
    let refresh_hours = state.settings.federation.actor_refresh_hours;
    let recent = batchable
        .then(|| state.recent_actors.get(&actor, refresh_hours))
        .flatten();
    let screened = recent.is_none();
    if screened && refused_or_seen(state, &actor, &id).await? {
        return Ok(());
    }

    let key_url = Url::parse(&params.key_id)
        .map_err(|_| SignatureError::Malformed("keyId is not a URL".into()))?;
    if !aj::same_host(&key_url, &actor) {
        return Err(InboxError::Unauthorized(
            "the signing key does not belong to the activity's actor".into(),
        ));
    }

    // 4. The actor and its key.
    let context = state.federation.context();
    let mut remote = match recent {
        Some(recent) => recent,
        None => match remote_actor::get(state, &context, &actor, false).await {
            Ok(remote) => Arc::new(remote),
            Err(err) => {
                // A deleted account announces its own deletion; its document is already gone.
                if kind == "Delete" && aj::url_field(&doc, "object").as_ref() == Some(&actor) {
                    return Ok(());
                }
                return Err(InboxError::Unauthorized(format!(
                    "cannot verify the signature: {err}"
                )));
            }
        },
    };
    if remote.key_id != params.key_id {
        remote = refetch(state, &context, &actor).await?;
        if remote.key_id != params.key_id {
            return Err(InboxError::Unauthorized(
                "the signing key is not the actor's key".into(),
            ));
        }
    }
    let path_and_query = uri
        .path_and_query()
        .map_or(uri.path(), |p| p.as_str())
        .to_string();
    // One RSA public-key operation with aws-lc (~15 µs measured, ~8× faster than the `rsa`
    // crate): cheaper than a hop to the blocking pool, so it runs on the async thread.
    let verified = |pem: &str| {
        let key = state.verifying_keys.key(pem)?;
        signature::verify(
            method,
            &path_and_query,
            headers,
            &params.headers,
            &key,
            window,
        )
    };
    if verified(&remote.public_key_pem).is_err() {
        // The key may have rotated since it was cached: fetch the actor again, once.
        let fresh = refetch(state, &context, &actor).await?;
        if fresh.public_key_pem == remote.public_key_pem {
            return Err(SignatureError::BadSignature.into());
        }
        verified(&fresh.public_key_pem)?;
        remote = fresh;
    }

    // 5. The everyday case, stored in a batch.
    if let Some(arrival) = arrival(state, &doc, &kind, &id, &actor, &remote) {
        match state.intake.submit(arrival).await {
            Outcome::Stored | Outcome::AlreadySeen => return Ok(()),
            Outcome::Blocked => return Err(blocked()),
            Outcome::Elsewhere => {}
            Outcome::Failed => {
                // The batch failed, perhaps on an actor row another process deleted: read
                // the actor again before applying the activity on its own.
                state.recent_actors.forget(actor.as_str());
                remote = Arc::new(
                    remote_actor::get(state, &context, &actor, false)
                        .await
                        .map_err(|e| {
                            InboxError::Unauthorized(format!("cannot verify the signature: {e}"))
                        })?,
                );
            }
        }
    }
    // Not stored by a batch: screened now if it was not before (an actor kept in memory).
    if !screened && refused_or_seen(state, &actor, &id).await? {
        return Ok(());
    }

    // 6. A server that talks to us is up: resume what was parked for it.
    queue::revive_host(&state.db, &queue::host_of(&actor), Utc::now()).await?;

    // 7. Apply.
    apply(state, &context, &doc, &kind, &id, &remote).await?;
    received_activity::Entity::insert(received_activity::ActiveModel {
        activity_url: Set(id.to_string()),
        kind: Set(kind.chars().take(32).collect()),
        actor_url: Set(actor.to_string()),
        received_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec(&state.db)
    .await?;
    Ok(())
}

fn blocked() -> InboxError {
    InboxError::Forbidden("this actor or its instance is blocked here".into())
}

/// Refuses a blocked actor or instance; `true` when the activity was received before.
async fn refused_or_seen(state: &AppState, actor: &Url, id: &Url) -> Result<bool, InboxError> {
    if service::moderation::refuses(state, actor).await? {
        return Err(blocked());
    }
    Ok(received_activity::Entity::find_by_id(id.to_string())
        .one(&state.db)
        .await?
        .is_some())
}

/// The actor fetched again (its key may have rotated).
async fn refetch(
    state: &AppState,
    context: &remote_actor::FetchContext,
    actor: &Url,
) -> Result<Arc<RemoteActor>, InboxError> {
    remote_actor::get(state, context, actor, true)
        .await
        .map(Arc::new)
        .map_err(|e| InboxError::Unauthorized(format!("cannot verify the signature: {e}")))
}

/// A like, a boost or a plain reply, as the batch writer takes it; `None` for anything else
/// (applied the ordinary way, which also gives refusals their reasons).
fn arrival(
    state: &AppState,
    doc: &Value,
    kind: &str,
    id: &Url,
    actor: &Url,
    remote: &Arc<RemoteActor>,
) -> Option<Arrival> {
    let (kind, what) = match kind {
        "Like" | "Announce" => {
            let object = aj::url_field(doc, "object")?;
            let (kind, reaction) = if kind == "Like" {
                ("Like", reaction::LIKE)
            } else {
                ("Announce", reaction::ANNOUNCE)
            };
            let what = What::Reaction {
                kind: reaction,
                post: conversation::local_post_id(state, &object).map(str::to_string),
                object_url: object.to_string(),
            };
            (kind, what)
        }
        "Create" => {
            let draft = conversation::plain_reply(doc, actor)?;
            let parent_post =
                conversation::local_post_id(state, &draft.in_reply_to).map(str::to_string);
            let draft = Box::new(draft);
            ("Create", What::Reply { draft, parent_post })
        }
        _ => return None,
    };
    Some(Arrival {
        activity_id: id.to_string(),
        kind,
        actor: Arc::clone(remote),
        actor_url: actor.clone(),
        what,
    })
}

/// What each verified activity does. Types Tribune does not act on are accepted and ignored.
async fn apply(
    state: &AppState,
    context: &remote_actor::FetchContext,
    doc: &Value,
    kind: &str,
    id: &Url,
    actor: &crate::db::entity::remote_actor::Model,
) -> Result<(), InboxError> {
    match kind {
        "Follow" => {
            let target = aj::url_field(doc, "object")
                .ok_or_else(|| InboxError::BadRequest("Follow without object".into()))?;
            let followed = followed_actor(state, &target).await?;
            service::follow::receive_follow(state, &followed, actor, id.as_str()).await?;
            Ok(())
        }
        "Undo" => {
            let inner = doc
                .get("object")
                .ok_or_else(|| InboxError::BadRequest("Undo without object".into()))?;
            undo(state, inner, actor).await
        }
        "Create" => Ok(conversation::receive_create(state, context, doc, actor).await?),
        "Like" => Ok(conversation::receive_reaction(state, doc, reaction::LIKE, actor).await?),
        "Announce" => {
            Ok(conversation::receive_reaction(state, doc, reaction::ANNOUNCE, actor).await?)
        }
        "Update" => Ok(conversation::receive_update(state, context, doc, actor).await?),
        "Delete" => Ok(conversation::receive_delete(state, doc, actor).await?),
        _ => Ok(()),
    }
}

impl From<conversation::Refused> for InboxError {
    fn from(refused: conversation::Refused) -> Self {
        match refused {
            conversation::Refused::Forbidden(why) => InboxError::Forbidden(why),
            conversation::Refused::Database(err) => err.into(),
        }
    }
}

/// The local actor an activity is about (the collective or a member's actor), or 404.
async fn followed_actor(state: &AppState, target: &Url) -> Result<local_actor::Model, InboxError> {
    let not_found = || InboxError::NotFound(format!("no actor {target} here to follow"));
    let username = state.urls.username_of_actor(target).ok_or_else(not_found)?;
    match local::resolve(state, &username).await {
        Ok(local) => Ok(local.row(state).clone()),
        Err(_) => Err(not_found()),
    }
}

/// `Undo` is honoured only from the owner of what it undoes.
async fn undo(
    state: &AppState,
    inner: &Value,
    actor: &crate::db::entity::remote_actor::Model,
) -> Result<(), InboxError> {
    let inner_kind = aj::str_field(inner, "type");
    let inner_actor = aj::url_field(inner, "actor");
    if let Some(owner) = &inner_actor
        && owner.as_str() != actor.actor_url
    {
        return Err(InboxError::Forbidden(
            "only the author of an activity can undo it".into(),
        ));
    }
    match inner_kind {
        Some("Follow") => {
            let followed = match aj::url_field(inner, "object") {
                Some(target) => followed_actor(state, &target).await?.id,
                None => state.collective.id,
            };
            service::follow::receive_undo_follow(state, followed, &actor.actor_url).await?
        }
        Some("Like") => conversation::undo_reaction(state, inner, reaction::LIKE, actor).await?,
        Some("Announce") => {
            conversation::undo_reaction(state, inner, reaction::ANNOUNCE, actor).await?
        }
        None => {
            // Only an id: undo the reaction or the follow it names, if it is this actor's.
            conversation::undo_reaction(state, inner, reaction::LIKE, actor).await?;
            conversation::undo_reaction(state, inner, reaction::ANNOUNCE, actor).await?;
            if let Some(inner_id) = aj::link_href(inner) {
                let follow = follower::Entity::find()
                    .filter(follower::Column::FollowActivityUrl.eq(inner_id.as_str()))
                    .filter(follower::Column::ActorUrl.eq(&actor.actor_url))
                    .one(&state.db)
                    .await?;
                if let Some(follow) = follow {
                    service::follow::receive_undo_follow(
                        state,
                        follow.local_actor_id,
                        &actor.actor_url,
                    )
                    .await?;
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}
