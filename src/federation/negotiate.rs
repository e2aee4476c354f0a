//! The HTTP half of content negotiation: an extractor for what the client wants and the
//! response wrapper that serves ActivityStreams JSON with the right type and `Vary: Accept`.

use axum::{
    extract::FromRequestParts,
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::domain::negotiate::{self, ACTIVITY_JSON, LD_JSON_AS, Representation};

/// What the `Accept` header asks for.
pub struct Wants(pub Representation);

impl<S: Send + Sync> FromRequestParts<S> for Wants {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        Ok(Wants(negotiate::choose(accept)))
    }
}

/// ActivityStreams JSON, typed as the client asked (`activity+json` unless it preferred
/// `ld+json`), marked as varying by `Accept` because the same URL also serves HTML.
pub struct ActivityJson<T: Serialize>(pub Representation, pub T);

impl<T: Serialize> IntoResponse for ActivityJson<T> {
    fn into_response(self) -> Response {
        let content_type = match self.0 {
            Representation::LdJson => LD_JSON_AS,
            _ => ACTIVITY_JSON,
        };
        let mut response = axum::Json(self.1).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    }
}
