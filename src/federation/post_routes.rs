//! HTTP handlers for posts as ActivityPub objects: the object (or its page), its `Create`, its
//! collections, and the activities Tribune emitted.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::{
    negotiate::{ActivityJson, Wants},
    objects,
};
use crate::{
    db::{self, entity::activity, post::PostBundle},
    domain::{negotiate::Representation, post::Status},
    error::{AppError, AppResult},
    service,
    state::AppState,
    web,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts/{public_id}", get(post))
        .route("/posts/{public_id}/activity", get(create_activity))
        .route("/posts/{public_id}/announce", get(announce_activity))
        .route("/posts/{public_id}/replies", get(replies))
        .route("/posts/{public_id}/likes", get(likes))
        .route("/posts/{public_id}/shares", get(shares))
        .route("/activities/{id}", get(emitted_activity))
}

/// A post anyone may see: published, or deleted (then a Tombstone). Drafts, posts in review
/// and scheduled posts do not exist for the public: 404, exactly as for an unknown id.
pub async fn public_bundle(state: &AppState, public_id: &str) -> AppResult<PostBundle> {
    let bundle = db::post::bundle_one(&state.db, public_id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such post".into()))?;
    match bundle.status() {
        Status::Published | Status::Deleted => Ok(bundle),
        _ => Err(AppError::NotFound("no such post".into())),
    }
}

/// A post's object or page. Kept by `web::cached` until anything is committed to the database
/// (by this process, the CLI or another server): an edit or a deletion shows at once.
async fn post(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let key = match wants {
        Representation::Html => format!(
            "post {public_id} html {}",
            web::chrome::visitor_locale(&state).as_str()
        ),
        json => format!("post {public_id} {json:?}"),
    };
    web::cached::respond(&state, key, || post_uncached(&state, &public_id, wants)).await
}

async fn post_uncached(
    state: &AppState,
    public_id: &str,
    wants: Representation,
) -> AppResult<Response> {
    let bundle = public_bundle(state, public_id).await?;
    if bundle.status() == Status::Deleted {
        return Ok(gone(state, &bundle, wants).await);
    }
    match wants {
        Representation::Html => web::post::page(state, &bundle).await,
        json => {
            let counts = counts_of(state, &bundle).await?;
            let object = service::post::object_with_counts(state, &bundle, counts);
            let body = bytes::Bytes::from(
                serde_json::to_vec(&objects::with_context(object))
                    .map_err(|e| AppError::Internal(e.into()))?,
            );
            Ok(super::routes::activity_json_bytes(json, body))
        }
    }
}

/// Approved replies, likes and boosts of a post.
async fn counts_of(state: &AppState, bundle: &PostBundle) -> AppResult<objects::Counts> {
    let post_id = bundle.post.id;
    let replies = db::comment::count_approved_replies(&state.db, post_id).await?;
    let reactions = db::comment::reaction_counts(&state.db, &[post_id]).await?;
    let (likes, shares) = reactions.get(&post_id).copied().unwrap_or_default();
    let per_page = state.settings.publishing.page_size;
    let first_replies = db::comment::approved_reply_ids(&state.db, post_id, 0, per_page).await?;
    Ok(objects::Counts {
        replies,
        likes,
        shares,
        first_replies,
    })
}

/// 410 Gone with the Tombstone (JSON) or a short page (browsers).
async fn gone(state: &AppState, bundle: &PostBundle, wants: Representation) -> Response {
    let id = state.urls.post(&bundle.post.public_id);
    let deleted = bundle.post.deleted_at.unwrap_or(bundle.post.updated_at);
    match wants {
        Representation::Html => web::post::gone_page(state).await,
        json => {
            let tombstone = objects::with_context(objects::tombstone(
                &id,
                objects::object_type(bundle),
                deleted,
            ));
            (StatusCode::GONE, ActivityJson(json, tombstone)).into_response()
        }
    }
}

fn published(bundle: PostBundle) -> AppResult<PostBundle> {
    if bundle.status() == Status::Published {
        Ok(bundle)
    } else {
        Err(AppError::NotFound("no such post".into()))
    }
}

async fn create_activity(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let bundle = published(public_bundle(&state, &public_id).await?)?;
    Ok(ActivityJson(wants_json(wants), create_of(&state, &bundle)).into_response())
}

/// The `Create` of a published post, with the post as it is now.
pub fn create_of(state: &AppState, bundle: &PostBundle) -> serde_json::Value {
    let published_at = bundle.post.published_at.unwrap_or(bundle.post.created_at);
    let (_, actor, _) = service::post::attribution(state, bundle);
    objects::activity(
        "Create",
        &state.urls.post_create(&bundle.post.public_id),
        &actor,
        service::post::object_of(state, bundle),
        published_at,
    )
}

/// What the collective's outbox lists for a post: its `Create`, or, for a member's post, the
/// collective's `Announce` of it.
pub fn outbox_item(state: &AppState, bundle: &PostBundle) -> serde_json::Value {
    let (actor_id, _, _) = service::post::attribution(state, bundle);
    if actor_id == state.collective.id {
        create_of(state, bundle)
    } else {
        let published_at = bundle.post.published_at.unwrap_or(bundle.post.created_at);
        service::post::announce_of(state, bundle, published_at)
    }
}

async fn announce_activity(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let bundle = published(public_bundle(&state, &public_id).await?)?;
    if service::post::attribution(&state, &bundle).0 == state.collective.id {
        return Err(AppError::NotFound(
            "this post is the collective's own: no Announce".into(),
        ));
    }
    let published_at = bundle.post.published_at.unwrap_or(bundle.post.created_at);
    Ok(ActivityJson(
        wants_json(wants),
        service::post::announce_of(&state, &bundle, published_at),
    )
    .into_response())
}

fn wants_json(wants: Representation) -> Representation {
    match wants {
        Representation::Html => Representation::ActivityJson,
        json => json,
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<u64>,
}

/// The approved direct replies, paged (what other servers read to show the conversation).
async fn replies(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Query(query): Query<PageQuery>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let bundle = published(public_bundle(&state, &public_id).await?)?;
    let id = state.urls.post_replies(&bundle.post.public_id);
    let total = db::comment::count_approved_replies(&state.db, bundle.post.id).await?;
    let per_page = state.settings.publishing.page_size;
    let body = match query.page {
        Some(page) => {
            let page = page.max(1);
            let items =
                db::comment::approved_reply_ids(&state.db, bundle.post.id, page - 1, per_page)
                    .await?;
            let mut body = serde_json::json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{id}?page={page}"),
                "type": "CollectionPage",
                "partOf": id,
                "items": items,
            });
            if page * per_page < total {
                body["next"] = serde_json::json!(format!("{id}?page={}", page + 1));
            }
            body
        }
        None => serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "Collection",
            "totalItems": total,
            "first": format!("{id}?page=1"),
        }),
    };
    Ok(ActivityJson(wants_json(wants), body).into_response())
}

async fn count_collection(
    state: &AppState,
    public_id: &str,
    wants: Representation,
    likes: bool,
) -> AppResult<Response> {
    let bundle = published(public_bundle(state, public_id).await?)?;
    let counts = counts_of(state, &bundle).await?;
    let (id, total) = if likes {
        (state.urls.post_likes(&bundle.post.public_id), counts.likes)
    } else {
        (
            state.urls.post_shares(&bundle.post.public_id),
            counts.shares,
        )
    };
    let body = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Collection",
        "totalItems": total,
    });
    Ok(ActivityJson(wants_json(wants), body).into_response())
}

async fn likes(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    count_collection(&state, &public_id, wants, true).await
}

async fn shares(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    count_collection(&state, &public_id, wants, false).await
}

/// Public activities Tribune emitted (Update, Delete), as stored. Activities addressed to one
/// actor (Accept, Reject) are not listed publicly.
async fn emitted_activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let url = state.urls.activity(&id);
    let found = activity::Entity::find()
        .filter(activity::Column::ActivityUrl.eq(url.as_str()))
        .filter(activity::Column::Kind.is_in(["Update", "Delete"]))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound("no such activity".into()))?;
    let payload: serde_json::Value = serde_json::from_str(&found.payload)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored activity {url}: {e}")))?;
    Ok(ActivityJson(wants_json(wants), payload).into_response())
}
