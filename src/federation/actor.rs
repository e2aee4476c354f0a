//! The collective's actor document: the wire form Mastodon and others fetch, built from the
//! settings (profile) and the stored row (id, key, creation date).

use activitypub_federation::protocol::public_key::PublicKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{
    config::Settings, db::entity::local_actor, domain::text::plain_text_to_html, domain::urls::Urls,
};

/// An ActivityStreams actor as served to other servers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActorDocument {
    #[serde(rename = "@context")]
    pub context: serde_json::Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub url: Url,
    pub inbox: Url,
    pub outbox: Url,
    pub followers: Url,
    pub following: Url,
    pub featured: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub published: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image: Option<Image>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

/// An `Image` for `icon` (avatar) and `image` (header).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub media_type: Option<String>,
}

impl Image {
    fn new(url: Url) -> Self {
        let media_type = media_type_of(&url).map(str::to_string);
        Image {
            kind: "Image".into(),
            url,
            media_type,
        }
    }
}

/// The image media type implied by a URL's extension, when it is a common one.
fn media_type_of(url: &Url) -> Option<&'static str> {
    let ext = url.path().rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// Builds the collective's actor document.
pub fn collective_document(
    settings: &Settings,
    urls: &Urls,
    row: &local_actor::Model,
) -> ActorDocument {
    let collective = &settings.collective;
    let username = &row.username;
    let id = urls.actor(username);
    ActorDocument {
        context: super::actor_context(),
        kind: collective.actor_type.as_str().to_string(),
        preferred_username: username.clone(),
        name: collective.name.clone(),
        summary: plain_text_to_html(&collective.summary),
        url: urls.profile(username),
        inbox: urls.inbox(username),
        outbox: urls.outbox(username),
        followers: urls.followers(username),
        following: urls.following(username),
        featured: urls.featured(username),
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        public_key: PublicKey {
            id: urls.actor_key(username).to_string(),
            owner: id.clone(),
            public_key_pem: row.public_key_pem.clone(),
        },
        manually_approves_followers: collective.manually_approves_followers,
        discoverable: collective.discoverable,
        indexable: collective.indexable,
        published: row.created_at,
        icon: settings
            .resolve_media_url(&collective.icon_url)
            .map(Image::new),
        image: settings
            .resolve_media_url(&collective.image_url)
            .map(Image::new),
        id,
    }
}

/// Builds a member's `Person` actor (when `publishing.member_actors` is on): their posts are
/// attributed to it and the collective `Announce`s them (FEP-1b12).
pub fn member_document(
    settings: &Settings,
    urls: &Urls,
    row: &local_actor::Model,
    display_name: &str,
) -> ActorDocument {
    let username = &row.username;
    let id = urls.actor(username);
    ActorDocument {
        context: super::actor_context(),
        kind: "Person".to_string(),
        preferred_username: username.clone(),
        name: display_name.to_string(),
        summary: plain_text_to_html(&format!("{} — {}", display_name, settings.collective.name)),
        url: urls.member(username),
        inbox: urls.inbox(username),
        outbox: urls.outbox(username),
        followers: urls.followers(username),
        following: urls.following(username),
        featured: urls.featured(username),
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        public_key: PublicKey {
            id: urls.actor_key(username).to_string(),
            owner: id.clone(),
            public_key_pem: row.public_key_pem.clone(),
        },
        manually_approves_followers: false,
        discoverable: settings.collective.discoverable,
        indexable: settings.collective.indexable,
        published: row.created_at,
        icon: None,
        image: None,
        id,
    }
}
