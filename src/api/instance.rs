//! `GET /api/v1/instance` and `GET /api/v2/instance`: the server as Mastodon describes itself,
//! so that apps know the collective's name, languages and the length limit of a status.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::{error::ApiResult, statuses::collective_counts};
use crate::{domain::post::MAX_BODY, state::AppState};

/// The Mastodon API version Tribune answers like, and Tribune's own.
pub fn version() -> String {
    format!("4.2.0 (compatible; Tribune {})", env!("CARGO_PKG_VERSION"))
}

fn configuration() -> Value {
    json!({
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
        "statuses": {
            "max_characters": MAX_BODY,
            "max_media_attachments": 0,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": [],
            "image_size_limit": 0,
            "image_matrix_limit": 0,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },
        "translation": { "enabled": false },
    })
}

fn languages(state: &AppState) -> Vec<String> {
    let default = state.settings.instance.default_locale.clone();
    let other = if default == "fr" { "en" } else { "fr" };
    vec![default, other.to_string()]
}

/// GET /api/v1/instance.
pub async fn v1(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let counts = collective_counts(&state).await?;
    let contact = super::entities::collective_account(&state, counts);
    let collective = &state.settings.collective;
    Ok(Json(json!({
        "uri": state.settings.domain(),
        "title": collective.name,
        "short_description": collective.summary,
        "description": collective.summary,
        "email": "",
        "version": version(),
        "urls": { "streaming_api": null },
        "stats": { "user_count": 1, "status_count": counts.statuses, "domain_count": 0 },
        "thumbnail": contact.get("avatar"),
        "languages": languages(&state),
        "registrations": false,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": configuration(),
        "contact_account": contact,
        "rules": [],
    })))
}

/// GET /api/v2/instance.
pub async fn v2(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let counts = collective_counts(&state).await?;
    let contact = super::entities::collective_account(&state, counts);
    let collective = &state.settings.collective;
    let mut configuration = configuration();
    if let Some(map) = configuration.as_object_mut() {
        map.insert("urls".into(), json!({ "streaming": null }));
        map.insert("vapid".into(), json!({ "public_key": "" }));
    }
    Ok(Json(json!({
        "domain": state.settings.domain(),
        "title": collective.name,
        "version": version(),
        "source_url": "https://example.org/tribune",
        "description": collective.summary,
        "usage": { "users": { "active_month": 1 } },
        "thumbnail": { "url": contact.get("avatar") },
        "languages": languages(&state),
        "configuration": configuration,
        "registrations": { "enabled": false, "approval_required": false, "message": null },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": "", "account": contact },
        "rules": [],
    })))
}
