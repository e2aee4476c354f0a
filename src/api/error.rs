//! `ApiError`: how a client API request fails, as Mastodon answers — a status code and a JSON
//! body `{"error": "…"}` (OAuth endpoints add `error_description`). 5xx causes are logged once.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{
    error::AppError,
    service::{oauth::OAuthError, post::PostError, status::StatusError},
};

#[derive(Debug)]
pub enum ApiError {
    /// 401: no token, or a token that is unknown, revoked, or of a disabled member.
    Unauthorized,
    /// 403: the token lacks the scope, or the member may not do this.
    Forbidden(String),
    NotFound,
    BadRequest(String),
    /// 413: a body over the API's cap.
    TooLarge(String),
    /// 422: Mastodon's validation failures.
    Unprocessable(String),
    Conflict(String),
    OAuth(OAuthError),
    Internal(AppError),
}

impl ApiError {
    pub fn scope() -> ApiError {
        ApiError::Forbidden("This action is outside the authorized scopes".into())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::Internal(AppError::Database(err))
    }
}

impl From<OAuthError> for ApiError {
    fn from(err: OAuthError) -> Self {
        match err {
            OAuthError::Database(db) => db.into(),
            other => ApiError::OAuth(other),
        }
    }
}

impl From<PostError> for ApiError {
    fn from(err: PostError) -> Self {
        match err {
            PostError::Database(db) => db.into(),
            PostError::NotFound => ApiError::NotFound,
            PostError::Forbidden(why) => ApiError::Forbidden(why.into()),
            PostError::Invalid(errors) => ApiError::Unprocessable(format!(
                "Validation failed: {}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            PostError::Conflict => ApiError::Conflict(PostError::Conflict.to_string()),
            PostError::WrongStatus(_) => ApiError::NotFound,
        }
    }
}

impl From<StatusError> for ApiError {
    fn from(err: StatusError) -> Self {
        match err {
            StatusError::Invalid(_) => ApiError::Unprocessable(err.to_string()),
            StatusError::Forbidden(why) => ApiError::Forbidden(why.into()),
            StatusError::NotFound => ApiError::NotFound,
            StatusError::InProgress => ApiError::Conflict(err.to_string()),
            StatusError::Post(post) => post.into(),
            StatusError::Database(db) => db.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "The access token is invalid".to_string(),
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, why),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "Record not found".to_string()),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            ApiError::TooLarge(why) => (StatusCode::PAYLOAD_TOO_LARGE, why),
            ApiError::Unprocessable(why) => (StatusCode::UNPROCESSABLE_ENTITY, why),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, why),
            ApiError::OAuth(err) => {
                let status = match err {
                    OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
                    _ => StatusCode::BAD_REQUEST,
                };
                let body = json!({ "error": err.code(), "error_description": err.to_string() });
                return (status, Json(body)).into_response();
            }
            ApiError::Internal(err) => return err.into_response(),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
