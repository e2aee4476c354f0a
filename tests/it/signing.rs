//! Tribune signs and verifies HTTP signatures itself (aws-lc-rs). Proven against
//! `activitypub_federation`'s own signer and verifier (the `rsa` crate): a stand-in peer built on
//! the crate receives Tribune's deliveries through `receive_activity`, and signs its requests to
//! Tribune with `Data::sign_request`. Also: Mastodon's rules for POSTs, PKCS#1 and SPKI public
//! keys, keys stored by the old code, and the signed GETs with the checks on fetched documents.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use activitypub_federation::{
    axum::inbox::{ActivityData, receive_activity},
    config::{Data, FederationConfig},
    error::Error as FedError,
    traits::{Activity, Actor, Object},
};
use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{FromRequest, Request, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tribune::{
    domain::member::Role,
    federation::{
        client::{ClientError, SendOutcome},
        signature,
    },
};
use url::Url;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, note},
};

// ---------------------------------------------------------------------------------------------
// A peer built on activitypub_federation: its inbox verifies with the crate's verifier, its
// actor `bob` signs with the crate's signer.

#[derive(Clone, Debug)]
struct PeerActor {
    id: Url,
    inbox: Url,
    public_key_pem: String,
    private_key_pem: Option<String>,
}

#[derive(Default)]
struct PeerShared {
    /// Actors the peer knows without fetching (Tribune's actor, with its published key).
    known: Vec<PeerActor>,
    /// Requests the crate accepted: headers and body.
    accepted: Vec<(HeaderMap, Bytes)>,
    /// Why the crate refused the others.
    refused: Vec<String>,
}

#[derive(Clone, Default)]
struct PeerData(Arc<Mutex<PeerShared>>);

#[async_trait::async_trait]
impl Object for PeerActor {
    type DataType = PeerData;
    type Kind = Value;
    type Error = FedError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(id: Url, data: &Data<PeerData>) -> Result<Option<Self>, FedError> {
        let shared = data.app_data().0.lock().expect("lock");
        Ok(shared.known.iter().find(|a| a.id == id).cloned())
    }

    async fn into_json(self, _: &Data<PeerData>) -> Result<Value, FedError> {
        Ok(Value::Null)
    }

    async fn verify(_: &Value, _: &Url, _: &Data<PeerData>) -> Result<(), FedError> {
        Ok(())
    }

    async fn from_json(_: Value, _: &Data<PeerData>) -> Result<Self, FedError> {
        // The peer never fetches: an unknown actor is refused.
        Err(FedError::NotFound)
    }
}

impl Actor for PeerActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        self.private_key_pem.clone()
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}

/// Any activity: the crate checks its id and actor, the signature and the digest.
#[derive(Deserialize, Debug)]
struct AnyActivity {
    id: Url,
    actor: Url,
}

#[async_trait::async_trait]
impl Activity for AnyActivity {
    type DataType = PeerData;
    type Error = FedError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _: &Data<PeerData>) -> Result<(), FedError> {
        Ok(())
    }

    async fn receive(self, _: &Data<PeerData>) -> Result<(), FedError> {
        Ok(())
    }
}

struct CratePeer {
    base: String,
    bob: PeerActor,
    config: FederationConfig<PeerData>,
    data: PeerData,
}

#[derive(Clone)]
struct PeerState {
    config: FederationConfig<PeerData>,
    bob_document: Value,
}

async fn peer_inbox(State(state): State<PeerState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    let headers = parts.headers.clone();
    let request = Request::from_parts(parts, Body::from(body.clone()));
    let activity = ActivityData::from_request(request, &())
        .await
        .expect("activity data");
    let data = state.config.to_request_data();
    let result = receive_activity::<AnyActivity, PeerActor, PeerData>(activity, &data).await;
    let mut shared = data.app_data().0.lock().expect("lock");
    match result {
        Ok(()) => {
            shared.accepted.push((headers, body));
            StatusCode::ACCEPTED.into_response()
        }
        Err(err) => {
            shared.refused.push(err.to_string());
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

async fn peer_bob(State(state): State<PeerState>) -> Response {
    (
        [("content-type", "application/activity+json")],
        Json(state.bob_document),
    )
        .into_response()
}

impl CratePeer {
    async fn start() -> CratePeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let host = format!("localhost:{}", listener.local_addr().expect("addr").port());
        let base = format!("http://{host}");
        // A key pair as the crate makes them (the `rsa` crate).
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let bob = PeerActor {
            id: Url::parse(&format!("{base}/users/bob")).expect("url"),
            inbox: Url::parse(&format!("{base}/inbox")).expect("url"),
            public_key_pem: keys.public_key.clone(),
            private_key_pem: Some(keys.private_key.clone()),
        };
        let data = PeerData::default();
        data.0.lock().expect("lock").known.push(bob.clone());
        let config = FederationConfig::builder()
            .domain(host)
            .app_data(data.clone())
            .debug(true)
            .signed_fetch_actor(&bob)
            .build()
            .await
            .expect("config");
        let bob_document = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": bob.id,
            "type": "Person",
            "preferredUsername": "bob",
            "inbox": bob.inbox,
            "endpoints": { "sharedInbox": bob.inbox },
            "publicKey": {
                "id": format!("{}#main-key", bob.id),
                "owner": bob.id,
                "publicKeyPem": keys.public_key,
            },
        });
        let router = Router::new()
            .route("/inbox", post(peer_inbox))
            .route("/users/bob", get(peer_bob))
            .with_state(PeerState {
                config: config.clone(),
                bob_document,
            });
        tokio::spawn(async move { axum::serve(listener, router).await });
        CratePeer {
            base,
            bob,
            config,
            data,
        }
    }

    /// Tells the peer Tribune's actor and the key it publishes (read from its actor document).
    async fn learn(&self, app: &TestApp, username: &str) {
        let doc = app.get_activity_json(&format!("/actors/{username}")).await;
        let actor = PeerActor {
            id: Url::parse(doc["id"].as_str().expect("id")).expect("url"),
            inbox: Url::parse(doc["inbox"].as_str().expect("inbox")).expect("url"),
            public_key_pem: doc["publicKey"]["publicKeyPem"]
                .as_str()
                .expect("pem")
                .to_string(),
            private_key_pem: None,
        };
        self.data.0.lock().expect("lock").known.push(actor);
    }

    /// POSTs `activity` to `url`, signed by the crate as `bob` (compat: draft-cavage without
    /// `(created)`, as Tribune configured the crate; otherwise with `(created)`/`(expires)`).
    async fn post_signed(&self, url: &Url, activity: &Value, compat: bool) -> reqwest::Response {
        let config = if compat {
            FederationConfig::builder()
                .domain(self.config.domain())
                .app_data(self.data.clone())
                .debug(true)
                .http_signature_compat(true)
                .signed_fetch_actor(&self.bob)
                .build()
                .await
                .expect("config")
        } else {
            self.config.clone()
        };
        let client = reqwest_middleware::ClientWithMiddleware::from(reqwest::Client::new());
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().expect("host")),
            None => url.host_str().expect("host").to_string(),
        };
        let builder = client
            .post(url.as_str())
            .header("content-type", "application/activity+json")
            .header("host", host)
            .header(
                "date",
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            );
        let body = Bytes::from(serde_json::to_vec(activity).expect("json"));
        let request = config
            .to_request_data()
            .sign_request(builder, body)
            .await
            .expect("the crate signs");
        client.execute(request).await.expect("post")
    }

    fn follow(&self, target: &str, n: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/follow-{n}", self.base),
            "type": "Follow",
            "actor": self.bob.id,
            "object": target,
        })
    }

    fn accepted(&self) -> Vec<(HeaderMap, Bytes)> {
        self.data.0.lock().expect("lock").accepted.clone()
    }

    fn refused(&self) -> Vec<String> {
        self.data.0.lock().expect("lock").refused.clone()
    }
}

/// The `Signature` header's fields.
fn signature_fields(headers: &HeaderMap) -> HashMap<String, String> {
    let raw = headers
        .get("signature")
        .expect("signed")
        .to_str()
        .expect("ascii");
    raw.split("\",")
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// Mastodon's rules for an inbox POST, checked on what the peer received.
fn assert_mastodon_post_rules(headers: &HeaderMap, body: &[u8], key_id: &str) {
    let fields = signature_fields(headers);
    assert_eq!(fields["keyId"], key_id);
    assert_eq!(fields["algorithm"], "rsa-sha256");
    let covered: Vec<&str> = fields["headers"].split(' ').collect();
    for required in ["(request-target)", "host", "date", "digest", "content-type"] {
        assert!(covered.contains(&required), "{required} in {covered:?}");
    }
    let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
    assert_eq!(headers["digest"], digest.as_str(), "the digest of the body");
    let date = httpdate::parse_http_date(headers["date"].to_str().expect("date")).expect("date");
    let age = std::time::SystemTime::now()
        .duration_since(date)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(60), "a fresh Date");
    assert_eq!(headers["content-type"], "application/activity+json");
    // Tribune's own inbox rules agree.
    let params = signature::parse_params(headers).expect("parses");
    signature::check_covered(&params).expect("covers");
    signature::check_digest(headers, body).expect("digest");
}

/// bob follows the collective (signed by the crate), Tribune accepts and delivers the Accept,
/// and the crate verifies it; then a post's Create reaches the peer and verifies too.
async fn follow_publish_and_verify(app: &TestApp, peer: &CratePeer) {
    peer.learn(app, "collectif").await;
    let actor = app.url("/actors/collectif").to_string();
    let inbox = app.url("/actors/collectif/inbox");
    let response = peer
        .post_signed(&inbox, &peer.follow(&actor, "1"), true)
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    // The crate's default mode signs (created)/(expires) and says hs2019: accepted too.
    let response = peer
        .post_signed(&inbox, &peer.follow(&actor, "2"), false)
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);

    app.deliver().await;
    assert_eq!(peer.refused(), Vec::<String>::new());
    let accepted = peer.accepted();
    assert!(!accepted.is_empty(), "the Accept was delivered");
    let (headers, body) = &accepted[0];
    let accept: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(accept["type"], "Accept");
    assert_mastodon_post_rules(headers, body, &format!("{actor}#main-key"));

    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Signed by aws-lc, verified by rsa."))
        .await;
    app.deliver().await;
    assert_eq!(peer.refused(), Vec::<String>::new());
    let accepted = peer.accepted();
    let (headers, body) = accepted.last().expect("the Create");
    let create: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(create["type"], "Create");
    assert_mastodon_post_rules(headers, body, &format!("{actor}#main-key"));
}

db_test!(tribune_signatures_verify_with_the_crates_verifier_and_crate_signatures_with_tribunes);
async fn tribune_signatures_verify_with_the_crates_verifier_and_crate_signatures_with_tribunes(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let peer = CratePeer::start().await;
    follow_publish_and_verify(&app, &peer).await;
}

db_test!(keys_stored_by_the_old_code_still_load_and_sign);
async fn keys_stored_by_the_old_code_still_load_and_sign(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // What the previous versions stored: a key pair from activitypub_federation (the `rsa`
    // crate), PKCS#8 and SPKI PEM.
    let old = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE local_actor SET public_key_pem = '{}', private_key_pem = '{}' WHERE username = 'collectif'",
            old.public_key, old.private_key
        ))
        .await
        .expect("old keys stored");
    let app = app.restart().await;
    let doc = app.get_activity_json("/actors/collectif").await;
    assert_eq!(doc["publicKey"]["publicKeyPem"], old.public_key.as_str());
    let peer = CratePeer::start().await;
    follow_publish_and_verify(&app, &peer).await;
}

db_test!(pkcs1_and_spki_public_keys_verify_pleromas_blank_lines_too);
async fn pkcs1_and_spki_public_keys_verify_pleromas_blank_lines_too(backend: Backend) {
    use rsa::{
        RsaPublicKey,
        pkcs1::{EncodeRsaPublicKey, LineEnding},
        pkcs8::DecodePublicKey,
    };
    let app = TestApp::spawn(backend).await;
    let actor = app.url("/actors/collectif").to_string();
    let inbox = app.url("/actors/collectif/inbox");

    let spki = RemoteServer::start(Behaviour::Ok).await;
    let response = spki
        .post(&app.client, inbox.as_str(), &spki.follow(&actor, "1"))
        .await;
    assert_eq!(response.status(), 202, "SPKI: {:?}", response.text().await);

    let pkcs1 = RemoteServer::start(Behaviour::Ok).await;
    let pem = RsaPublicKey::from_public_key_pem(&pkcs1.public_pem())
        .expect("pem")
        .to_pkcs1_pem(LineEnding::LF)
        .expect("pkcs1");
    assert!(pem.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
    pkcs1.set_public_pem(pem);
    let response = pkcs1
        .post(&app.client, inbox.as_str(), &pkcs1.follow(&actor, "1"))
        .await;
    assert_eq!(
        response.status(),
        202,
        "PKCS#1: {:?}",
        response.text().await
    );

    let pleroma = RemoteServer::start(Behaviour::Ok).await;
    pleroma.set_public_pem(format!("{}\n\n", pleroma.public_pem()));
    let response = pleroma
        .post(&app.client, inbox.as_str(), &pleroma.follow(&actor, "1"))
        .await;
    assert_eq!(
        response.status(),
        202,
        "Pleroma: {:?}",
        response.text().await
    );

    // A key that is not the signer's is still refused, and nothing is stored.
    let impostor = RemoteServer::start(Behaviour::Ok).await;
    impostor.set_public_pem(spki.public_pem());
    let response = impostor
        .post(&app.client, inbox.as_str(), &impostor.follow(&actor, "1"))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 3);
}

// ---------------------------------------------------------------------------------------------
// Signed GETs and what is checked on fetched documents.

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, HeaderMap)>>>);

async fn document(
    State((base, seen)): State<(String, Seen)>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    seen.0
        .lock()
        .expect("lock")
        .push((format!("/docs/{name}"), headers));
    let id = format!("{base}/docs/{name}");
    let doc = |id: &str| serde_json::to_vec(&json!({ "id": id, "type": "Note" })).expect("json");
    let with = |content_type: &'static str, body: Vec<u8>| {
        ([("content-type", content_type)], body).into_response()
    };
    match name.as_str() {
        "ok" => with("application/activity+json", doc(&id)),
        "ld" => with(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            doc(&id),
        ),
        "charset" => with("application/activity+json; charset=utf-8", doc(&id)),
        "html" => with("text/html", doc(&id)),
        "plain-json" => with("application/json", doc(&id)),
        "wrong-id" => with("application/activity+json", doc(&format!("{base}/docs/ok"))),
        "big" => with("application/activity+json", vec![b' '; 2 << 20]),
        "redirect" => {
            (StatusCode::FOUND, [("location", format!("{base}/docs/ok"))]).into_response()
        }
        "gone" => StatusCode::GONE.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn document_server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!(
        "http://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let seen = Seen::default();
    let router = Router::new()
        .route("/docs/{name}", get(document))
        .with_state((base.clone(), seen.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, seen)
}

db_test!(signed_gets_verify_and_fetched_documents_are_checked);
async fn signed_gets_verify_and_fetched_documents_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (base, seen) = document_server().await;
    let federation = &app.state.federation;
    let context = federation.context();
    let url = |name: &str| Url::parse(&format!("{base}/docs/{name}")).expect("url");

    for good in ["ok", "ld", "charset"] {
        let doc = federation
            .fetch(&context, &url(good))
            .await
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(doc["id"], url(good).as_str());
    }

    // The GET is signed over (request-target) host date accept, with the collective's key,
    // and verifies with Tribune's verifier (the same one the inbox uses).
    let (path, headers) = seen.0.lock().expect("lock")[0].clone();
    let fields = signature_fields(&headers);
    assert_eq!(
        fields["keyId"],
        format!("{}#main-key", app.url("/actors/collectif"))
    );
    assert_eq!(fields["algorithm"], "rsa-sha256");
    assert_eq!(fields["headers"], "(request-target) accept date host");
    let accept = headers["accept"].to_str().expect("accept");
    assert!(accept.contains("application/activity+json"), "{accept}");
    let covered = signature::parse_params(&headers)
        .expect("signature")
        .headers;
    let key = signature::public_key(&app.state.collective.public_key_pem).expect("key");
    signature::verify(
        &Method::GET,
        &path,
        &headers,
        &covered,
        &key,
        Duration::from_secs(300),
    )
    .expect("the signed GET verifies");

    let refused = |name: &'static str| {
        let url = url(name);
        let context = &context;
        async move { federation.fetch(context, &url).await.expect_err(name) }
    };
    assert!(matches!(
        refused("html").await,
        ClientError::ContentType(..)
    ));
    assert!(matches!(
        refused("plain-json").await,
        ClientError::ContentType(..)
    ));
    assert!(matches!(
        refused("wrong-id").await,
        ClientError::WrongId(..)
    ));
    assert!(matches!(refused("big").await, ClientError::TooLarge(..)));
    let ok_fetches = || {
        seen.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(path, _)| path == "/docs/ok")
            .count()
    };
    let before = ok_fetches();
    assert!(matches!(
        refused("redirect").await,
        ClientError::Redirect(..)
    ));
    assert_eq!(ok_fetches(), before, "the redirect is not followed");
    assert!(matches!(refused("gone").await, ClientError::Gone(..)));
    assert!(matches!(
        refused("missing").await,
        ClientError::Status(_, 404)
    ));

    // Our own URLs and non-http(s) schemes are never fetched.
    let own = app.url("/actors/collectif");
    assert!(matches!(
        federation.fetch(&context, &own).await,
        Err(ClientError::RefusedUrl(..))
    ));
    let ftp = Url::parse("ftp://localhost/x").expect("url");
    assert!(matches!(
        federation.fetch(&context, &ftp).await,
        Err(ClientError::RefusedUrl(..))
    ));

    // One unit of work has a budget of fetches (20, as the crate had).
    let budget = federation.context();
    let mut last = None;
    for _ in 0..21 {
        last = Some(federation.fetch(&budget, &url("ok")).await);
    }
    assert!(matches!(last, Some(Err(ClientError::FetchLimit(_)))));
}

db_test!(a_post_reports_the_inbox_status_and_a_refused_signature_is_a_401);
async fn a_post_reports_the_inbox_status_and_a_refused_signature_is_a_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let peer = CratePeer::start().await;
    // The peer does not know Tribune's actor yet: the crate cannot verify and refuses.
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": app.url("/activities/x").to_string(),
        "type": "Create",
        "actor": app.url("/actors/collectif").to_string(),
    });
    let inbox = Url::parse(&format!("{}/inbox", peer.base)).expect("url");
    let body = Bytes::from(serde_json::to_vec(&activity).expect("json"));
    let outcome = app
        .state
        .federation
        .post(&inbox, body.clone())
        .await
        .expect("sent");
    assert!(matches!(outcome, SendOutcome::Status(401)), "{outcome:?}");
    peer.learn(&app, "collectif").await;
    let outcome = app.state.federation.post(&inbox, body).await.expect("sent");
    assert!(matches!(outcome, SendOutcome::Status(202)), "{outcome:?}");
}
