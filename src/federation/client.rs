//! Signed HTTP to other servers, through `activitypub_federation`: GETs signed with the
//! collective's key (servers in authorized-fetch mode answer only those) and signed POSTs of
//! activities. The crate signs; Tribune decides what to send and records what happened.

use std::time::Duration;

use activitypub_federation::{
    config::{Data, FederationConfig},
    error::Error as FederationError,
    fetch::fetch_object_http,
    protocol::public_key::PublicKey,
    traits::{Actor, Object},
};
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, DATE, HOST, HeaderValue, USER_AGENT};
use reqwest_middleware::ClientWithMiddleware;
use url::Url;

use super::http::{OutgoingPolicy, Redirects};
use crate::{config::Settings, db::entity::local_actor, domain::urls::Urls};

const USER_AGENT_VALUE: &str = concat!("Tribune/", env!("CARGO_PKG_VERSION"), " (ActivityPub)");

/// The key Tribune signs with: the collective's. The crate asks for an `Actor` to take it from.
#[derive(Debug, Clone)]
struct Signer {
    id: Url,
    inbox: Url,
    public_key_pem: String,
    private_key_pem: String,
}

#[async_trait::async_trait]
impl Object for Signer {
    type DataType = ();
    type Kind = ();
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(_: Url, _: &Data<()>) -> Result<Option<Self>, Self::Error> {
        Ok(None)
    }

    async fn into_json(self, _: &Data<()>) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn verify(_: &(), _: &Url, _: &Data<()>) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn from_json(_: (), _: &Data<()>) -> Result<Self, Self::Error> {
        Err(FederationError::NotFound)
    }
}

impl Actor for Signer {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }

    fn public_key(&self) -> PublicKey {
        PublicKey {
            id: format!("{}#main-key", self.id),
            owner: self.id.clone(),
            public_key_pem: self.public_key_pem.clone(),
        }
    }
}

/// What came back from a POST.
#[derive(Debug)]
pub enum SendOutcome {
    /// The server answered with this status.
    Status(u16),
    /// No answer: connection refused, timeout, TLS failure…
    Unreachable(String),
}

#[derive(Clone)]
pub struct FederationClient {
    config: FederationConfig<()>,
    client: ClientWithMiddleware,
    policy: OutgoingPolicy,
}

impl FederationClient {
    /// Builds the client, through the one outgoing policy (`federation::http`): every request
    /// it sends — signed GETs made by the crate, delivery POSTs — has its URL checked and its
    /// host's addresses filtered at connect time, unless `federation.allow_private_network` is
    /// on (then the crate also runs in its debug mode, which allows plain http and explicit
    /// ports).
    ///
    /// Redirects are not followed by reqwest: the crate follows one `Location` itself, by a
    /// new request that goes through the same checks, and then requires the document's `id`
    /// to be the final URL, so a redirect cannot make a document speak for another origin.
    /// Response bodies are capped by the crate at 1 MiB; delivery POSTs read no body.
    pub async fn new(
        settings: &Settings,
        urls: &Urls,
        collective: &local_actor::Model,
    ) -> anyhow::Result<Self> {
        let policy = OutgoingPolicy::new(settings.federation.allow_private_network);
        FederationClient::with_policy(settings, urls, collective, policy).await
    }

    /// The client under another outgoing policy (tests inject a resolver).
    pub async fn with_policy(
        settings: &Settings,
        urls: &Urls,
        collective: &local_actor::Model,
        policy: OutgoingPolicy,
    ) -> anyhow::Result<Self> {
        let allow_private = policy.allow_private_network();
        let timeout = Duration::from_secs(settings.delivery.request_timeout_seconds);
        let client = policy.client(timeout, Redirects::Refuse)?;
        let signer = Signer {
            id: urls.actor(&collective.username),
            inbox: urls.inbox(&collective.username),
            public_key_pem: collective.public_key_pem.clone(),
            private_key_pem: collective.private_key_pem.clone(),
        };
        let config = FederationConfig::builder()
            .domain(settings.domain())
            .app_data(())
            .client(client.clone())
            .debug(allow_private)
            .allow_http_urls(allow_private)
            .request_timeout(timeout)
            // The fetches one incoming activity (or one lookup) may cause, counted per
            // `context()`: the actor, its refetch, the object, reply-chain ancestors and their
            // authors.
            .http_fetch_limit(settings.federation.max_fetches_per_activity)
            // Draft-cavage signatures without (created)/(expires): what Mastodon signs, and
            // what Pleroma/Akkoma require.
            .http_signature_compat(true)
            .signed_fetch_actor(&signer)
            .build()
            .await?;
        Ok(FederationClient {
            config,
            client,
            policy,
        })
    }

    /// Whether `url` may be requested at all (the client checks again before sending): lets a
    /// caller say why a URL from a remote document is refused before spending a fetch on it.
    pub fn check_url(&self, url: &Url) -> Result<(), super::http::Refused> {
        self.policy.check_url(url)
    }

    /// A fresh request context: the crate counts fetches per context and stops at its limit,
    /// so one incoming activity cannot make Tribune fetch without end.
    pub fn context(&self) -> Data<()> {
        self.config.to_request_data()
    }

    /// A signed GET of an ActivityPub document. The crate checks the URL (scheme, private
    /// addresses), the response's content type and that the document's `id` is the URL fetched.
    pub async fn fetch(
        &self,
        context: &Data<()>,
        url: &Url,
    ) -> Result<serde_json::Value, FederationError> {
        Ok(fetch_object_http::<(), serde_json::Value>(url, context)
            .await?
            .object)
    }

    /// Builds the signed POST of an activity body to an inbox (signing is the costly part:
    /// one RSA private-key operation).
    pub async fn signed_post(
        &self,
        inbox: &Url,
        body: Bytes,
    ) -> Result<reqwest::Request, FederationError> {
        let host = match inbox.port() {
            Some(port) => format!("{}:{port}", inbox.host_str().unwrap_or_default()),
            None => inbox.host_str().unwrap_or_default().to_string(),
        };
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let builder = self
            .client
            .post(inbox.as_str())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/activity+json"),
            )
            .header(
                ACCEPT,
                HeaderValue::from_static("application/activity+json"),
            )
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .header(HOST, host)
            .header(DATE, date);
        self.context().sign_request(builder, body).await
    }

    /// Signs and POSTs an activity body to an inbox and reports the status.
    pub async fn post(&self, inbox: &Url, body: Bytes) -> Result<SendOutcome, FederationError> {
        let request = self.signed_post(inbox, body).await?;
        match self.client.execute(request).await {
            Ok(response) => Ok(SendOutcome::Status(response.status().as_u16())),
            Err(err) => Ok(SendOutcome::Unreachable(err.to_string())),
        }
    }
}

/// Signing clients for every local actor, built on first use: the collective's is
/// `AppState::federation`; members' actors (with `publishing.member_actors`) sign their own
/// activities with their own keys.
#[derive(Default)]
pub struct Signers {
    cache: tokio::sync::Mutex<std::collections::HashMap<i64, FederationClient>>,
}

impl Signers {
    /// The client signing as local actor `actor_id`.
    pub async fn get(
        &self,
        state: &crate::state::AppState,
        actor_id: i64,
    ) -> anyhow::Result<FederationClient> {
        if actor_id == state.collective.id {
            return Ok(state.federation.clone());
        }
        let mut cache = self.cache.lock().await;
        if let Some(client) = cache.get(&actor_id) {
            return Ok(client.clone());
        }
        use sea_orm::EntityTrait;
        let row = local_actor::Entity::find_by_id(actor_id)
            .one(&state.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no local actor {actor_id}"))?;
        let client = FederationClient::new(&state.settings, &state.urls, &row).await?;
        cache.insert(actor_id, client.clone());
        Ok(client)
    }
}
