//! WebFinger (RFC 7033) and host-meta: how `@collectif@example.org` becomes an actor URL.

use serde::Serialize;
use url::Url;

use crate::{
    domain::handle::{Resource, ResourceError, parse_resource},
    domain::urls::Urls,
};

/// The JRD document answering a WebFinger query.
#[derive(Debug, Serialize)]
pub struct Jrd {
    pub subject: String,
    pub aliases: Vec<Url>,
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
pub struct Link {
    pub rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub href: Url,
}

/// Why a WebFinger query gets no document.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    Malformed(#[from] ResourceError),
    #[error("no account {0} on this server")]
    NotFound(String),
}

/// Which local username a WebFinger `resource` designates, if it is ours. `domain` is the
/// `host[:port]` of our handles.
pub fn local_username(resource: &str, domain: &str, urls: &Urls) -> Result<String, LookupError> {
    match parse_resource(resource)? {
        Resource::Account { user, host } => {
            if host != domain.to_ascii_lowercase() {
                return Err(LookupError::NotFound(format!("{user}@{host}")));
            }
            Ok(user)
        }
        Resource::Url(url) => urls
            .username_of_actor(&url)
            .ok_or_else(|| LookupError::NotFound(url.to_string())),
    }
}

/// The JRD for a local actor: its `self` link (ActivityStreams) and its profile page.
pub fn actor_jrd(username: &str, domain: &str, urls: &Urls, profile: Url) -> Jrd {
    let actor = urls.actor(username);
    Jrd {
        subject: format!("acct:{username}@{domain}"),
        aliases: vec![actor.clone(), profile.clone()],
        links: vec![
            Link {
                rel: "self",
                kind: Some(crate::domain::negotiate::ACTIVITY_JSON),
                href: actor,
            },
            Link {
                rel: "http://webfinger.net/rel/profile-page",
                kind: Some("text/html"),
                href: profile,
            },
        ],
    }
}

/// host-meta in XRD form, pointing clients at our WebFinger endpoint (RFC 6415).
pub fn host_meta_xrd(urls: &Urls) -> String {
    let template =
        html_escape::encode_double_quoted_attribute(&urls.webfinger_template()).into_owned();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{template}\"/>\n\
         </XRD>\n"
    )
}

/// host-meta in JSON form.
pub fn host_meta_json(urls: &Urls) -> serde_json::Value {
    serde_json::json!({
        "links": [{ "rel": "lrdd", "template": urls.webfinger_template() }]
    })
}
