//! NodeInfo 2.0 and 2.1: what software this is and how big, for directories and other servers.

use serde::Serialize;

use crate::{db::stats::Usage, domain::urls::Urls};

pub const SCHEMA_20: &str = "http://nodeinfo.diaspora.software/ns/schema/2.0";
pub const SCHEMA_21: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

/// The `/.well-known/nodeinfo` discovery document.
pub fn discovery(urls: &Urls) -> serde_json::Value {
    serde_json::json!({
        "links": [
            { "rel": SCHEMA_20, "href": urls.nodeinfo("2.0") },
            { "rel": SCHEMA_21, "href": urls.nodeinfo("2.1") },
        ]
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    version: &'static str,
    software: Software,
    protocols: [&'static str; 1],
    services: Services,
    open_registrations: bool,
    usage: UsageDoc,
    metadata: Metadata,
}

#[derive(Debug, Serialize)]
struct Software {
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Services {
    inbound: [&'static str; 0],
    /// The public site's feeds (`/feed.atom`, `/feed.rss`).
    outbound: [&'static str; 2],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageDoc {
    users: Users,
    local_posts: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Users {
    total: u64,
    active_month: u64,
    active_halfyear: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    node_name: String,
    node_description: String,
}

/// The NodeInfo document of `version` ("2.0" or "2.1"; 2.0 has no repository/homepage).
pub fn document(version: &'static str, usage: Usage, name: &str, description: &str) -> NodeInfo {
    let v21 = version == "2.1";
    NodeInfo {
        version,
        software: Software {
            name: "tribune",
            version: env!("CARGO_PKG_VERSION"),
            repository: v21.then_some(env!("CARGO_PKG_REPOSITORY")),
            homepage: v21.then_some(env!("CARGO_PKG_REPOSITORY")),
        },
        protocols: ["activitypub"],
        services: Services {
            inbound: [],
            outbound: ["atom1.0", "rss2.0"],
        },
        open_registrations: false,
        usage: UsageDoc {
            users: Users {
                total: usage.users,
                active_month: usage.users,
                active_halfyear: usage.users,
            },
            local_posts: usage.local_posts,
        },
        metadata: Metadata {
            node_name: name.to_string(),
            node_description: description.to_string(),
        },
    }
}
