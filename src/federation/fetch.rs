//! Outgoing GETs to other servers (WebFinger lookups now; actor and object fetches later), with
//! one client that refuses private and loopback addresses unless
//! `federation.allow_private_network` is on — at connect time, so DNS rebinding does not help.

use std::{net::IpAddr, sync::Arc, time::Duration};

use activitypub_federation::resolver::ValidatingDnsResolver;
use serde::Deserialize;
use url::{Host, Url};

/// Largest response body read from another server.
const MAX_BODY: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for fetching from other servers.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_private_network: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused URL {0}: {1}")]
    Refused(String, &'static str),
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("response larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("invalid response: {0}")]
    Invalid(String),
}

impl Fetcher {
    pub fn new(allow_private_network: bool) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("Tribune/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(ValidatingDnsResolver::new(
                Vec::new(),
                !allow_private_network,
            )))
            .build()?;
        Ok(Fetcher {
            client,
            allow_private_network,
        })
    }

    /// Refuses what must never be fetched: non-http(s) schemes, plain http and private or
    /// loopback IP literals (the resolver covers names) unless private networks are allowed.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private_network => {}
            "http" => {
                return Err(FetchError::Refused(
                    url.to_string(),
                    "plain http is not allowed",
                ));
            }
            _ => {
                return Err(FetchError::Refused(
                    url.to_string(),
                    "only https URLs are fetched",
                ));
            }
        }
        if self.allow_private_network {
            return Ok(());
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::Refused(url.to_string(), "no host")),
        };
        if crate::domain::network::is_public_ip(ip) {
            Ok(())
        } else {
            Err(FetchError::Refused(
                url.to_string(),
                "private, loopback or reserved address",
            ))
        }
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
        let scheme = if self.allow_private_network {
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
