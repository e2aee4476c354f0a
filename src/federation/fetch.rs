//! Outgoing unsigned GETs to other servers (WebFinger lookups), through the one outgoing
//! client policy of `federation::http`: private and loopback destinations refused by URL and at
//! connect time (so DNS rebinding does not help) unless `federation.allow_private_network` is on.

use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;
use url::Url;

use super::http::{OutgoingPolicy, Redirects, Refused};

/// Largest response body read from another server.
const MAX_BODY: usize = 1024 * 1024;
/// Total time for one GET, body included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// WebFinger is often redirected (`example.com` → `social.example.com`, http → https), and the
/// JRD it yields is only a pointer that is then fetched signed and checked for its own id, so
/// following a few hops costs nothing in trust; each hop is checked like the first URL and its
/// name resolved through the filtering resolver again.
const MAX_REDIRECTS: usize = 3;

/// The HTTP client for fetching from other servers.
#[derive(Clone)]
pub struct Fetcher {
    client: ClientWithMiddleware,
    policy: OutgoingPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("request failed: {0}")]
    Middleware(#[from] reqwest_middleware::Error),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("response larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("invalid response: {0}")]
    Invalid(String),
}

impl Fetcher {
    /// The fetcher of an outgoing policy (the application's, or one with a test resolver).
    pub fn with_policy(policy: OutgoingPolicy) -> Result<Fetcher, reqwest::Error> {
        let client = policy.client(TIMEOUT, Redirects::Follow(MAX_REDIRECTS))?;
        Ok(Fetcher { client, policy })
    }

    /// Refuses what must never be requested (see `OutgoingPolicy::check_url`); the client
    /// checks again before sending, this is for callers that want to know beforehand.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        Ok(self.policy.check_url(url)?)
    }

    /// GETs JSON with a size cap.
    pub async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &Url,
        accept: &str,
    ) -> Result<T, FetchError> {
        self.check_url(url)?;
        let mut response = self
            .client
            .get(url.clone())
            .header("Accept", accept)
            .send()
            .await?;
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY as u64)
        {
            return Err(FetchError::TooLarge);
        }
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::Invalid(e.to_string()))
    }

    /// The WebFinger URL for `user@host` (http only for development hosts).
    fn webfinger_url(&self, handle: &str) -> Result<Url, FetchError> {
        let (_, host) = handle
            .split_once('@')
            .ok_or_else(|| FetchError::Invalid(format!("not a handle: {handle}")))?;
        let scheme = if self.policy.allow_private_network() {
            "http"
        } else {
            "https"
        };
        let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger"))
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("resource", &format!("acct:{handle}"));
        Ok(url)
    }

    /// Resolves `user@host` to its actor id and profile page by WebFinger.
    pub async fn resolve_handle(&self, handle: &str) -> Result<ResolvedHandle, FetchError> {
        #[derive(Deserialize)]
        struct Jrd {
            #[serde(default)]
            links: Vec<Link>,
        }
        #[derive(Deserialize)]
        struct Link {
            rel: Option<String>,
            #[serde(rename = "type")]
            kind: Option<String>,
            href: Option<Url>,
        }
        let url = self.webfinger_url(handle)?;
        let jrd: Jrd = self
            .get_json(&url, "application/jrd+json, application/json")
            .await?;
        let actor = jrd
            .links
            .iter()
            .find(|l| {
                l.rel.as_deref() == Some("self")
                    && l.kind.as_deref().is_some_and(|k| {
                        k.starts_with("application/activity+json")
                            || k.starts_with("application/ld+json")
                    })
            })
            .and_then(|l| l.href.clone())
            .ok_or_else(|| FetchError::Invalid("no ActivityPub self link".into()))?;
        let profile = jrd
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("http://webfinger.net/rel/profile-page"))
            .and_then(|l| l.href.clone())
            .unwrap_or_else(|| actor.clone());
        Ok(ResolvedHandle { actor, profile })
    }
}

/// Where a handle points.
#[derive(Debug, Clone)]
pub struct ResolvedHandle {
    pub actor: Url,
    pub profile: Url,
}
