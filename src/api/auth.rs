//! Who calls the API: the `Authorization: Bearer …` token ([`Authed`]), its scopes and its
//! member; and [`Input`], parameters sent as a form, as JSON or in the query string, as
//! Mastodon accepts them.

use axum::{
    extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::{db::entity::member, service::oauth, state::AppState};

/// The largest API request body (a status at its longest, encoded, with room to spare).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A request carrying a live token.
pub struct Authed(pub oauth::Bearer);

impl Authed {
    /// The token's member, when the token grants `scope` (403 otherwise; 422 for an app's own
    /// token, which speaks for no member — Mastodon's answer).
    pub fn member(&self, scope: &str) -> Result<&member::Model, ApiError> {
        if !self.0.scopes.allows(scope) {
            return Err(ApiError::scope());
        }
        self.0.member.as_ref().ok_or_else(|| {
            ApiError::Unprocessable("This method requires an authenticated user".into())
        })
    }

    /// For endpoints open to everyone: a token, when one is given, must still grant `scope`.
    pub fn allow_optional(authed: &Option<Authed>, scope: &str) -> Result<(), ApiError> {
        match authed {
            Some(authed) if !authed.0.scopes.allows(scope) => Err(ApiError::scope()),
            _ => Ok(()),
        }
    }

    pub fn token_id(&self) -> i64 {
        self.0.token.id
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        oauth::authenticate(&state.db, token)
            .await?
            .map(Authed)
            .ok_or(ApiError::Unauthorized)
    }
}

/// Optional authentication: no header is `None`; a bad token is still a 401.
impl OptionalFromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(None);
        }
        <Authed as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// Parameters from a JSON body, a form body, or (with an empty body) the query string.
pub struct Input<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
            ApiError::TooLarge(format!(
                "the request body is too large (at most {BODY_LIMIT} bytes)"
            ))
        })?;
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let parsed = if json {
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())
        } else if bytes.is_empty() {
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|e| e.to_string())
        } else {
            serde_urlencoded::from_bytes(&bytes).map_err(|e| e.to_string())
        };
        parsed
            .map(Input)
            .map_err(|e| ApiError::BadRequest(format!("malformed parameters: {e}")))
    }
}
