//! Posting from a Mastodon app: a status becomes a post published by the collective exactly as
//! one written in the admin panel (same validation, same `post::create` + `post::publish_now`,
//! same activities). Retries carrying the same `Idempotency-Key` (per token, for a day) get the
//! status already published instead of a second one — the key is stored in the database, so
//! this holds across processes.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::post::{self as posts, PostError};
use crate::{
    db::entity::{api_idempotency, member, post},
    domain::{
        member::Role,
        post::{Invalid, PostInput, validate},
    },
    state::AppState,
};

/// How long an `Idempotency-Key` is remembered (Mastodon: one hour; Tribune keeps it longer).
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// Why a status was refused.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Mastodon's 422: "Validation failed: …".
    #[error("Validation failed: {0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Record not found")]
    NotFound,
    /// The same `Idempotency-Key` is being processed by another request right now.
    #[error("a request with this Idempotency-Key is already being processed; retry later")]
    InProgress,
    #[error(transparent)]
    Post(#[from] PostError),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// A status as an app sends it.
#[derive(Debug, Clone, Default)]
pub struct NewStatus {
    pub text: String,
    pub spoiler_text: Option<String>,
    pub language: Option<String>,
    pub visibility: Option<String>,
}

/// Mastodon's wording for the problems of a status.
fn describe(errors: &[Invalid]) -> String {
    errors
        .iter()
        .map(|e| match e {
            Invalid::Empty { field: "body" } => "Text can't be blank".to_string(),
            Invalid::TooLong {
                field: "body", max, ..
            } => format!("Text character limit of {max} exceeded"),
            Invalid::TooLong {
                field: "content_warning",
                max,
                ..
            } => format!("Spoiler text character limit of {max} exceeded"),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The post input of a status, validated (nothing is written when this fails).
fn input_of(state: &AppState, status: &NewStatus) -> Result<PostInput, StatusError> {
    match status.visibility.as_deref() {
        None | Some("") | Some("public") | Some("unlisted") => {}
        Some(other) => {
            return Err(StatusError::Invalid(format!(
                "Visibility {other:?} is not supported: everything the collective publishes is public (use public or unlisted)"
            )));
        }
    }
    let language = status
        .language
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| state.settings.instance.default_locale.clone());
    validate(PostInput {
        title: None,
        summary: None,
        content_warning: status.spoiler_text.clone(),
        language,
        body_markdown: status.text.clone(),
        tags: Vec::new(),
    })
    .map_err(|errors| StatusError::Invalid(describe(&errors)))
}

fn require_publisher(who: &member::Model) -> Result<(), StatusError> {
    if Role::parse(&who.role).is_some_and(Role::can_publish) {
        Ok(())
    } else {
        Err(StatusError::Forbidden(
            "Your role is author: your posts need review by an editor before they are published. Write them in Tribune's admin panel (/admin/posts/new) and submit them for review.",
        ))
    }
}

/// Publishes a status now. With an idempotency key, a retry returns the post published the
/// first time.
pub async fn publish(
    state: &AppState,
    who: &member::Model,
    token_id: i64,
    idempotency_key: Option<&str>,
    status: NewStatus,
) -> Result<post::Model, StatusError> {
    require_publisher(who)?;
    let input = input_of(state, &status)?;
    let claim = match idempotency_key.filter(|k| !k.is_empty()) {
        Some(key) => match claim_key(state, token_id, key).await? {
            Claim::Done(post) => return Ok(*post),
            Claim::Mine(id) => Some(id),
        },
        None => None,
    };
    let published = async {
        let draft = posts::create(state, who, input).await?;
        match posts::publish_now(state, who, &draft.public_id).await {
            Ok(post) => Ok(post),
            Err(err) => {
                // Nothing half-done stays behind: the draft goes with the failure.
                let _ = post::Entity::delete_by_id(draft.id).exec(&state.db).await;
                Err(err)
            }
        }
    }
    .await;
    match (published, claim) {
        (Ok(post), Some(claim)) => {
            api_idempotency::Entity::update_many()
                .col_expr(api_idempotency::Column::PostId, Expr::value(Some(post.id)))
                .filter(api_idempotency::Column::Id.eq(claim))
                .exec(&state.db)
                .await?;
            Ok(post)
        }
        (Ok(post), None) => Ok(post),
        (Err(err), claim) => {
            if let Some(claim) = claim {
                api_idempotency::Entity::delete_by_id(claim)
                    .exec(&state.db)
                    .await?;
            }
            Err(err.into())
        }
    }
}

enum Claim {
    /// The key was used before: its post.
    Done(Box<post::Model>),
    /// The key is ours now (row id).
    Mine(i64),
}

/// Takes the key for this request, or finds what it produced. The unique (token, key) index
/// elects one request when two arrive together.
async fn claim_key(state: &AppState, token_id: i64, key: &str) -> Result<Claim, StatusError> {
    let key: String = key.chars().take(200).collect();
    let cutoff = Utc::now() - Duration::hours(IDEMPOTENCY_HOURS);
    api_idempotency::Entity::delete_many()
        .filter(api_idempotency::Column::CreatedAt.lt(cutoff))
        .exec(&state.db)
        .await?;
    let inserted = api_idempotency::ActiveModel {
        token_id: Set(token_id),
        key: Set(key.clone()),
        post_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    if let Ok(row) = inserted {
        return Ok(Claim::Mine(row.id));
    }
    let existing = api_idempotency::Entity::find()
        .filter(api_idempotency::Column::TokenId.eq(token_id))
        .filter(api_idempotency::Column::Key.eq(key.as_str()))
        .one(&state.db)
        .await?;
    let Some(existing) = existing else {
        // The insert failed for another reason than the key: report it.
        return Err(StatusError::InProgress);
    };
    if existing.post_id.is_none() && existing.created_at < Utc::now() - Duration::minutes(5) {
        // A claim left behind by a request that never finished (a crash): take it over.
        api_idempotency::Entity::update_many()
            .col_expr(api_idempotency::Column::CreatedAt, Expr::value(Utc::now()))
            .filter(api_idempotency::Column::Id.eq(existing.id))
            .filter(api_idempotency::Column::CreatedAt.eq(existing.created_at))
            .exec(&state.db)
            .await?;
        return Ok(Claim::Mine(existing.id));
    }
    match existing.post_id {
        Some(post_id) => post::Entity::find_by_id(post_id)
            .one(&state.db)
            .await?
            .map(|p| Claim::Done(Box::new(p)))
            .ok_or(StatusError::NotFound),
        None => Err(StatusError::InProgress),
    }
}

/// A published, not deleted post by its status id.
pub async fn published(state: &AppState, id: i64) -> Result<post::Model, StatusError> {
    post::Entity::find_by_id(id)
        .filter(post::Column::Status.eq("published"))
        .one(&state.db)
        .await?
        .ok_or(StatusError::NotFound)
}

/// Edits a published status (an `Update` goes out, the old content becomes a revision).
pub async fn edit(
    state: &AppState,
    who: &member::Model,
    id: i64,
    status: NewStatus,
) -> Result<post::Model, StatusError> {
    let current = published(state, id).await?;
    require_publisher(who)?;
    let mut status = status;
    // What the app does not send stays as it was (Mastodon.py edits without a language).
    if status.language.as_deref().is_none_or(str::is_empty) {
        status.language = Some(current.language.clone());
    }
    if status.spoiler_text.is_none() {
        status.spoiler_text = current.content_warning.clone();
    }
    let mut input = input_of(state, &status)?;
    // A post written in the admin panel may have a title; an app cannot see it, so keep it.
    input.title = current.title.clone();
    input.summary = current.summary.clone();
    Ok(posts::update(state, who, &current.public_id, current.version, input).await?)
}

/// Deletes a published status (a `Delete` goes out). Returns the post as it was.
pub async fn delete(
    state: &AppState,
    who: &member::Model,
    id: i64,
) -> Result<post::Model, StatusError> {
    let current = published(state, id).await?;
    require_publisher(who)?;
    posts::delete(state, who, &current.public_id).await?;
    Ok(current)
}
