//! Stand-ins for other servers: an actor with a key that signs requests to Tribune, and inboxes
//! that answer as told (200, 500 then 200, 410, hang, drop) while recording what they receive;
//! and the Fedify peer, an independent implementation driven over HTTP.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// How a stand-in inbox answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    Ok,
    /// Fails with this status `n` times, then answers 202.
    FailThenOk(u16, usize),
    Always(u16),
    /// Never answers (the client times out).
    Hang,
    /// Answers 202 after this many milliseconds.
    Slow(u64),
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    calls: usize,
    /// Whether each GET of the actor document carried an HTTP signature.
    actor_gets_signed: Vec<bool>,
    /// Other documents this server serves, by path.
    documents: std::collections::HashMap<String, Value>,
    /// Fields that replace those of the actor document (name, preferredUsername, icon…).
    actor_fields: serde_json::Map<String, Value>,
}

/// A POST an inbox received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A remote server with one actor (`/users/alice`) and its inbox (`/users/alice/inbox`, plus a
/// shared `/inbox`).
#[derive(Clone)]
pub struct RemoteServer {
    pub base: String,
    pub actor: String,
    pub key_id: String,
    private_key: Arc<RsaPrivateKey>,
    public_pem: Arc<Mutex<String>>,
    behaviour: Arc<Mutex<Behaviour>>,
    shared: Arc<Mutex<Shared>>,
}

#[derive(Clone)]
struct Ctx(RemoteServer);

impl RemoteServer {
    pub async fn start(behaviour: Behaviour) -> RemoteServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // A name, not an IP literal: the federation crate wants URLs with a domain.
        let base = format!(
            "http://localhost:{}",
            listener.local_addr().expect("addr").port()
        );
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let private_key = RsaPrivateKey::from_pkcs8_pem(&keys.private_key).expect("private key");
        let actor = format!("{base}/users/alice");
        let server = RemoteServer {
            key_id: format!("{actor}#main-key"),
            actor,
            base,
            private_key: Arc::new(private_key),
            public_pem: Arc::new(Mutex::new(keys.public_key)),
            behaviour: Arc::new(Mutex::new(behaviour)),
            shared: Arc::new(Mutex::new(Shared::default())),
        };
        let router = Router::new()
            .route("/users/alice", get(actor_document))
            .route("/users/alice/inbox", post(inbox))
            .route("/inbox", post(inbox))
            .route("/users/{name}/inbox", post(inbox))
            .route("/notes/{id}", get(document))
            .route("/.well-known/webfinger", get(webfinger))
            .with_state(Ctx(server.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await });
        server
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("lock") = behaviour;
    }

    /// Replaces the key the actor document advertises (key rotation) without re-signing.
    pub fn set_public_pem(&self, pem: String) {
        *self.public_pem.lock().expect("lock") = pem;
    }

    /// The PEM the actor document advertises.
    pub fn public_pem(&self) -> String {
        self.public_pem.lock().expect("lock").clone()
    }

    /// Changes fields of the actor document (`{"name": …, "icon": …}`), as a profile edit would.
    pub fn set_actor_fields(&self, fields: Value) {
        if let Value::Object(fields) = fields {
            self.shared
                .lock()
                .expect("lock")
                .actor_fields
                .extend(fields);
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("lock").received.clone()
    }

    /// Serves `doc` at `/notes/{name}` and returns its URL (the document's id should be it).
    pub fn note_url(&self, name: &str) -> String {
        format!("{}/notes/{name}", self.base)
    }

    pub fn serve_note(&self, name: &str, doc: Value) {
        self.shared
            .lock()
            .expect("lock")
            .documents
            .insert(format!("/notes/{name}"), doc);
    }

    /// A Note by this server's actor, replying to `in_reply_to`.
    pub fn reply(&self, name: &str, in_reply_to: &str, content: &str) -> Value {
        json!({
            "id": self.note_url(name),
            "type": "Note",
            "attributedTo": self.actor,
            "inReplyTo": in_reply_to,
            "content": content,
            "published": "2026-11-29T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        })
    }

    /// Wraps an object in an activity of this actor.
    pub fn activity(&self, kind: &str, name: &str, object: Value) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.id(name),
            "type": kind,
            "actor": self.actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": object,
        })
    }

    /// Whether each fetch of the actor document was signed.
    pub fn actor_gets_signed(&self) -> Vec<bool> {
        self.shared.lock().expect("lock").actor_gets_signed.clone()
    }

    pub fn calls(&self) -> usize {
        self.shared.lock().expect("lock").calls
    }

    pub fn inbox(&self) -> String {
        format!("{}/users/alice/inbox", self.base)
    }

    /// An activity id on this server.
    pub fn id(&self, what: &str) -> String {
        format!("{}/activities/{what}", self.base)
    }

    /// Signs a POST of `body` to `url` the way Mastodon does (draft-cavage, rsa-sha256, over
    /// `(request-target) host date digest content-type`); `tweak` may alter the headers after
    /// signing to forge a bad request.
    pub fn signed_headers(
        &self,
        url: &str,
        body: &[u8],
        date: Option<String>,
    ) -> Vec<(String, String)> {
        let parsed = url::Url::parse(url).expect("url");
        let host = match parsed.port() {
            Some(p) => format!("{}:{p}", parsed.host_str().expect("host")),
            None => parsed.host_str().expect("host").to_string(),
        };
        let date = date.unwrap_or_else(|| httpdate::fmt_http_date(std::time::SystemTime::now()));
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), host.clone());
        headers.insert("date".to_string(), date.clone());
        headers.insert("digest".to_string(), digest.clone());
        headers.insert(
            "content-type".to_string(),
            "application/activity+json".to_string(),
        );
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let key = self.private_key.clone();
        let signed = http_signature_normalization::Config::new()
            .mastodon_compat()
            .begin_sign("POST", &path, headers)
            .expect("sign")
            .sign(self.key_id.clone(), |signing_string| {
                let signature = key
                    .sign(
                        Pkcs1v15Sign::new::<Sha256>(),
                        &Sha256::digest(signing_string.as_bytes()),
                    )
                    .expect("rsa");
                Ok::<_, std::convert::Infallible>(STANDARD.encode(signature))
            })
            .expect("signed");
        vec![
            ("host".into(), host),
            ("date".into(), date),
            ("digest".into(), digest),
            ("content-type".into(), "application/activity+json".into()),
            ("signature".into(), signed.signature_header()),
        ]
    }

    /// POSTs a signed activity to `url` (usually Tribune's inbox).
    pub async fn post(
        &self,
        client: &reqwest::Client,
        url: &str,
        activity: &Value,
    ) -> reqwest::Response {
        let body = serde_json::to_vec(activity).expect("json");
        let mut request = client.post(url);
        for (name, value) in self.signed_headers(url, &body, None) {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        request.body(body).send().await.expect("post")
    }

    /// A Follow of `target` by this server's actor.
    pub fn follow(&self, target: &str, n: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.id(&format!("follow-{n}")),
            "type": "Follow",
            "actor": self.actor,
            "object": target,
        })
    }
}

async fn actor_document(State(Ctx(server)): State<Ctx>, headers: HeaderMap) -> Response {
    server
        .shared
        .lock()
        .expect("lock")
        .actor_gets_signed
        .push(headers.contains_key("signature"));
    let pem = server.public_pem.lock().expect("lock").clone();
    let mut doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": server.actor,
        "type": "Person",
        "preferredUsername": "alice",
        "name": "Alice Remote",
        "inbox": format!("{}/inbox", server.actor),
        "endpoints": { "sharedInbox": format!("{}/inbox", server.base) },
        "url": format!("{}/@alice", server.base),
        "publicKey": { "id": server.key_id, "owner": server.actor, "publicKeyPem": pem },
    });
    let fields = server.shared.lock().expect("lock").actor_fields.clone();
    if let Value::Object(doc) = &mut doc {
        doc.extend(fields);
    }
    ([("content-type", "application/activity+json")], Json(doc)).into_response()
}

async fn webfinger(State(Ctx(server)): State<Ctx>) -> Response {
    let host = server.base.trim_start_matches("http://");
    Json(json!({
        "subject": format!("acct:alice@{host}"),
        "links": [
            { "rel": "self", "type": "application/activity+json", "href": server.actor },
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": format!("{}/@alice", server.base) },
        ],
    }))
    .into_response()
}

async fn document(State(Ctx(server)): State<Ctx>, uri: axum::http::Uri) -> Response {
    let doc = server
        .shared
        .lock()
        .expect("lock")
        .documents
        .get(uri.path())
        .cloned();
    match doc {
        Some(doc) => ([("content-type", "application/activity+json")], Json(doc)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn inbox(
    State(Ctx(server)): State<Ctx>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let behaviour = server.behaviour.lock().expect("lock").clone();
    let call = {
        let mut shared = server.shared.lock().expect("lock");
        shared.calls += 1;
        shared.calls
    };
    let status = match behaviour {
        Behaviour::Ok => 202,
        Behaviour::FailThenOk(status, n) if call <= n => status,
        Behaviour::FailThenOk(..) => 202,
        Behaviour::Always(status) => status,
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            202
        }
        Behaviour::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            202
        }
    };
    if (200..300).contains(&status) {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        server.shared.lock().expect("lock").received.push(Received {
            path: uri.path().to_string(),
            headers,
            body,
        });
    }
    StatusCode::from_u16(status)
        .expect("status")
        .into_response()
}

/// The Fedify peer (tests/interop/fedify-peer.mjs), run with Node 22.
pub struct FedifyPeer {
    child: Child,
    pub actor: String,
    pub inbox: String,
    pub base: String,
    client: reqwest::Client,
}

impl FedifyPeer {
    pub fn start() -> FedifyPeer {
        let dir = crate::support::interop_dir();
        let node22 = Command::new("node")
            .arg(dir.join("node22-path.mjs"))
            .output()
            .expect("node22-path.mjs runs");
        assert!(
            node22.status.success(),
            "no Node 22: {}",
            String::from_utf8_lossy(&node22.stderr)
        );
        let node22 = String::from_utf8_lossy(&node22.stdout).trim().to_string();
        let mut child = Command::new(node22)
            .arg(dir.join("fedify-peer.mjs"))
            .args([
                "--port",
                "0",
                "--host",
                "localhost",
                "--stdin-lifeline",
                "--log-level",
                "warning",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Fedify peer");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        let ready: Value = serde_json::from_str(&line).expect("the ready line is JSON");
        assert_eq!(ready["ready"], true, "{line}");
        FedifyPeer {
            actor: ready["actor"].as_str().expect("actor").to_string(),
            inbox: ready["inbox"].as_str().expect("inbox").to_string(),
            base: ready["origin"].as_str().expect("origin").to_string(),
            child,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/_control/{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("control call");
        response.json().await.expect("control answer")
    }

    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}/_control/{path}", self.base))
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("json")
    }

    /// A GET control call with a query string (e.g. `fetch?url=…`).
    pub async fn client_get(&self, path_and_query: &str) -> Value {
        self.get(path_and_query).await
    }

    /// Activities the peer received, whose signatures Fedify verified.
    pub async fn verified(&self) -> Vec<Value> {
        let all = self.get("received").await;
        all.as_array()
            .expect("array")
            .iter()
            .filter(|a| a["verified"] == true)
            .cloned()
            .collect()
    }
}

impl Drop for FedifyPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs `activity`, signed by `remote`'s actor, to `app`'s shared inbox; the status.
pub async fn send(app: &crate::support::TestApp, remote: &RemoteServer, activity: &Value) -> u16 {
    remote
        .post(&app.client, app.url("/inbox").as_str(), activity)
        .await
        .status()
        .as_u16()
}
