//! The ActivityPub side of Tribune: actor documents, collections, discovery (WebFinger,
//! host-meta, NodeInfo) and content negotiation between JSON and HTML.

pub mod actor;
pub mod client;
pub mod collections;
pub mod fetch;
pub mod http;
pub mod http_signature;
pub mod inbox;
pub mod local;
pub mod negotiate;
pub mod nodeinfo;
pub mod objects;
pub mod post_routes;
pub mod remote_actor;
pub mod routes;
pub mod signature;
pub mod webfinger;

/// The JSON-LD contexts of an actor document: ActivityStreams, the security vocabulary (for
/// `publicKey`) and the terms Mastodon introduced, defined inline so that a JSON-LD processor
/// keeps them instead of dropping them.
pub fn actor_context() -> serde_json::Value {
    serde_json::json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
        }
    ])
}
