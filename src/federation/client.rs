//! Signed HTTP to other servers: GETs of ActivityPub documents signed with the collective's key
//! (servers in authorized-fetch mode answer only those) and signed POSTs of activities. Tribune
//! signs itself (`federation::http_signature`, aws-lc-rs); the checks on fetched documents are
//! those `activitypub_federation`'s `fetch_object_http` made, without following redirects.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use reqwest_middleware::ClientWithMiddleware;
use url::Url;

use super::{
    http::{OutgoingPolicy, Redirects},
    http_signature::{self, KeyError, SigningKey},
};
use crate::{config::Settings, db::entity::local_actor, domain::urls::Urls};

const USER_AGENT_VALUE: &str = concat!("Tribune/", env!("CARGO_PKG_VERSION"), " (ActivityPub)");

/// What Tribune asks for when it fetches a document: both media types ActivityPub allows.
const FETCH_ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// What an activity is POSTed as.
const ACTIVITY_JSON: &str = "application/activity+json";

/// Largest document read from another server (Mastodon's limit too).
const MAX_DOCUMENT: usize = 1024 * 1024;

/// What came back from a POST.
#[derive(Debug)]
pub enum SendOutcome {
    /// The server answered with this status.
    Status(u16),
    /// No answer: connection refused, timeout, TLS failure…
    Unreachable(String),
}

/// Why a fetch or a POST could not be made or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("refused URL {0}: {1}")]
    RefusedUrl(String, String),
    #[error("too many fetches for one activity (limit {0}: federation.max_fetches_per_activity)")]
    FetchLimit(u32),
    #[error("request failed: {0}")]
    Http(String),
    #[error("{0} answered with a redirect, which is not followed")]
    Redirect(String),
    #[error("{0} is gone")]
    Gone(String),
    #[error("{0} answered with status {1}")]
    Status(String, u16),
    #[error("{0} is not ActivityPub JSON (content type {1:?})")]
    ContentType(String, String),
    #[error("the document at {0} is larger than {MAX_DOCUMENT} bytes")]
    TooLarge(String),
    #[error("the document at {0} is not JSON: {1}")]
    Json(String, String),
    #[error("the document at {0} has another id ({1})")]
    WrongId(String, String),
    #[error("signing failed: {0}")]
    Signing(#[from] KeyError),
}

impl From<reqwest::Error> for ClientError {
    fn from(err: reqwest::Error) -> Self {
        ClientError::Http(err.to_string())
    }
}

impl From<reqwest_middleware::Error> for ClientError {
    fn from(err: reqwest_middleware::Error) -> Self {
        ClientError::Http(err.to_string())
    }
}

/// An activity body ready to be POSTed: its bytes and their `Digest`, computed once however
/// many inboxes it goes to (cloning is cheap).
#[derive(Debug, Clone)]
pub struct Payload {
    body: Bytes,
    digest: Arc<str>,
}

impl Payload {
    pub fn new(body: Bytes) -> Payload {
        let digest = http_signature::digest_header(&body).into();
        Payload { body, digest }
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `Digest` header value (`SHA-256=…`).
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

impl From<Bytes> for Payload {
    fn from(body: Bytes) -> Payload {
        Payload::new(body)
    }
}

/// The fetches made on behalf of one incoming activity, counted: a chain of replies or a
/// hostile server cannot make Tribune fetch without end
/// (`federation.max_fetches_per_activity`). Clones share the count.
#[derive(Debug, Clone)]
pub struct FetchContext {
    fetches: Arc<AtomicU32>,
    limit: u32,
}

impl FetchContext {
    pub fn new(limit: u32) -> FetchContext {
        FetchContext {
            fetches: Arc::default(),
            limit,
        }
    }

    /// Takes one fetch from the budget.
    fn take(&self) -> Result<(), ClientError> {
        let before = self.fetches.fetch_add(1, Ordering::SeqCst);
        if before >= self.limit {
            return Err(ClientError::FetchLimit(self.limit));
        }
        Ok(())
    }

    /// Fetches made so far.
    pub fn fetches(&self) -> u32 {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Who signs: the key id other servers look up, and the private key parsed once.
struct Signer {
    key_id: String,
    key: SigningKey,
}

#[derive(Clone)]
pub struct FederationClient {
    client: ClientWithMiddleware,
    policy: OutgoingPolicy,
    signer: Arc<Signer>,
    /// `host[:port]` of this server: its own URLs are never fetched.
    local_host: String,
    timeout: Duration,
    fetch_limit: u32,
}

impl FederationClient {
    /// Builds the client signing as local actor `collective`, through the one outgoing policy
    /// (`federation::http`): every request it sends — signed GETs, delivery POSTs — has its
    /// URL checked and its host's addresses filtered at connect time, unless
    /// `federation.allow_private_network` is on (then plain http and explicit ports are
    /// allowed too, for development and tests). Redirects are not followed: a fetched
    /// document must carry the id of the URL asked for.
    pub async fn with_policy(
        settings: &Settings,
        urls: &Urls,
        collective: &local_actor::Model,
        policy: OutgoingPolicy,
    ) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(settings.delivery.request_timeout_seconds);
        let client = policy.client(timeout, Redirects::Refuse)?;
        // Parsed once per local actor: parsing (and validating) an RSA key costs more than a
        // signature.
        let signer = Signer {
            key_id: urls.actor_key(&collective.username).to_string(),
            key: SigningKey::from_pem(&collective.private_key_pem).map_err(|err| {
                anyhow::anyhow!(
                    "the key of local actor {} is unusable: {err}",
                    collective.username
                )
            })?,
        };
        Ok(FederationClient {
            client,
            policy,
            signer: Arc::new(signer),
            local_host: settings.domain(),
            timeout,
            fetch_limit: settings.federation.max_fetches_per_activity,
        })
    }

    /// Whether `url` may be requested at all (the client checks again before sending): lets a
    /// caller say why a URL from a remote document is refused before spending a fetch on it.
    pub fn check_url(&self, url: &Url) -> Result<(), super::http::Refused> {
        self.policy.check_url(url)
    }

    /// A fresh fetch budget: one per incoming activity (or other unit of work).
    pub fn context(&self) -> FetchContext {
        FetchContext::new(self.fetch_limit)
    }

    /// What a document fetch must pass: the outgoing policy (`federation::http`), then the
    /// checks `activitypub_federation` made — a domain name (not an IP literal), no explicit
    /// port in production, never our own URLs. Private addresses behind names are refused by
    /// the resolver at connect time.
    fn check_fetch_url(&self, url: &Url) -> Result<(), ClientError> {
        // The outgoing policy first (scheme, credentials, localhost, IP literals), then what
        // only document fetches require.
        self.policy
            .check_url(url)
            .map_err(|refused| ClientError::RefusedUrl(url.to_string(), refused.reason))?;
        let refuse = |why: &str| Err(ClientError::RefusedUrl(url.to_string(), why.to_string()));
        let Some(domain) = url.domain() else {
            return refuse("the URL must have a domain name");
        };
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return refuse("invalid characters in the domain");
        }
        if url.port().is_some() && !self.policy.allow_private_network() {
            return refuse("explicit ports are not allowed");
        }
        let host = match url.port() {
            Some(port) => format!("{domain}:{port}"),
            None => domain.to_string(),
        };
        if host
            .trim_end_matches('.')
            .eq_ignore_ascii_case(&self.local_host)
        {
            return refuse("this server's own URL");
        }
        Ok(())
    }

    /// The signature headers (`Host`, `Date`, `Signature`, and those in `signed`) of a request
    /// to `url`, signed with this client's key. RSA runs off the async threads.
    async fn sign(
        &self,
        method: &'static str,
        url: &Url,
        signed: BTreeMap<String, String>,
    ) -> Result<Vec<(HeaderName, String)>, ClientError> {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut covered = signed;
        covered.insert("host".into(), host);
        covered.insert(
            "date".into(),
            httpdate::fmt_http_date(std::time::SystemTime::now()),
        );
        let signer = self.signer.clone();
        let headers = covered.clone();
        let signature = http_signature::on_signing_thread(move || {
            http_signature::signature_header(
                &signer.key,
                &signer.key_id,
                method,
                &path_and_query,
                headers,
            )
        })
        .await
        .ok_or_else(|| ClientError::Http("no signing thread answered".into()))??;
        let mut out = Vec::with_capacity(covered.len() + 1);
        for (name, value) in covered {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| KeyError::Unsignable(e.to_string()))?;
            out.push((name, value));
        }
        out.push((HeaderName::from_static("signature"), signature));
        Ok(out)
    }

    /// A signed GET of an ActivityPub document, with `fetch_object_http`'s checks: the URL
    /// (see `check_fetch_url`), the fetch budget, `Accept`, a timeout, no redirect followed,
    /// 410 reported as gone, the body capped at 1 MiB, an ActivityPub content type, and the
    /// document's `id` equal to the URL fetched.
    pub async fn fetch(
        &self,
        context: &FetchContext,
        url: &Url,
    ) -> Result<serde_json::Value, ClientError> {
        self.check_fetch_url(url)?;
        context.take()?;
        let mut signed = BTreeMap::new();
        // Mastodon signs its GETs' Accept too.
        signed.insert("accept".to_string(), FETCH_ACCEPT.to_string());
        let mut request = self
            .client
            .get(url.as_str())
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .timeout(self.timeout);
        for (name, value) in self.sign("GET", url, signed).await? {
            request = request.header(name, value);
        }
        let mut response = request.send().await?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ClientError::Redirect(url.to_string()));
        }
        if status == reqwest::StatusCode::GONE {
            return Err(ClientError::Gone(url.to_string()));
        }
        if !status.is_success() {
            return Err(ClientError::Status(url.to_string(), status.as_u16()));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !is_activitypub_media_type(&content_type) {
            return Err(ClientError::ContentType(url.to_string(), content_type));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(ClientError::TooLarge(url.to_string()));
            }
            body.extend_from_slice(&chunk);
        }
        let document: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ClientError::Json(url.to_string(), e.to_string()))?;
        let id = document.get("id").and_then(|v| v.as_str()).unwrap_or("");
        if Url::parse(id).ok().as_ref() != Some(url) {
            return Err(ClientError::WrongId(url.to_string(), id.to_string()));
        }
        Ok(document)
    }

    /// Builds the signed POST of an activity to an inbox: `(request-target) host date digest
    /// content-type` are covered, as Mastodon signs its own. The digest comes with the payload
    /// (computed once per activity); the RSA signature is the costly part.
    pub async fn signed_post(
        &self,
        inbox: &Url,
        payload: impl Into<Payload>,
    ) -> Result<reqwest::Request, ClientError> {
        let payload = payload.into();
        let mut signed = BTreeMap::new();
        signed.insert("content-type".to_string(), ACTIVITY_JSON.to_string());
        signed.insert("digest".to_string(), payload.digest().to_string());
        let mut request = self
            .client
            .post(inbox.as_str())
            .header(ACCEPT, HeaderValue::from_static(ACTIVITY_JSON))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .timeout(self.timeout);
        for (name, value) in self.sign("POST", inbox, signed).await? {
            request = request.header(name, value);
        }
        Ok(request.body(payload.body.clone()).build()?)
    }

    /// Signs and POSTs an activity to an inbox and reports the status.
    pub async fn post(
        &self,
        inbox: &Url,
        payload: impl Into<Payload>,
    ) -> Result<SendOutcome, ClientError> {
        let request = self.signed_post(inbox, payload).await?;
        Ok(self.send_signed(request).await)
    }

    /// Sends a request built by `signed_post` and reports the status: the network part alone,
    /// which the delivery worker watches for stalls (signing is not a stall).
    pub async fn send_signed(&self, request: reqwest::Request) -> SendOutcome {
        match self.client.execute(request).await {
            Ok(response) => SendOutcome::Status(response.status().as_u16()),
            Err(err) => SendOutcome::Unreachable(err.to_string()),
        }
    }
}

/// Mastodon's rule for fetched documents: `application/activity+json` (any parameters), or
/// `application/ld+json` with the ActivityStreams profile.
fn is_activitypub_media_type(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    let mut parts = lower.split(';').map(str::trim);
    match parts.next() {
        Some("application/activity+json") => true,
        Some("application/ld+json") => parts.any(|p| {
            p.strip_prefix("profile=").is_some_and(|v| {
                v.trim_matches('"')
                    .split(' ')
                    .any(|profile| profile == "https://www.w3.org/ns/activitystreams")
            })
        }),
        _ => false,
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
        let policy = state.federation.policy.clone();
        let client =
            FederationClient::with_policy(&state.settings, &state.urls, &row, policy).await?;
        cache.insert(actor_id, client.clone());
        Ok(client)
    }
}
