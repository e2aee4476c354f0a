//! Outgoing requests on a server that refuses private networks (as in production): actor URLs
//! and inboxes on loopback, private or reserved addresses are never contacted — a listener on
//! loopback counts the connections it gets — and the activity changes nothing; one incoming
//! activity cannot make Tribune fetch more than `federation.max_fetches_per_activity` documents.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tribune::{db::entity::follower, domain::member::Role};

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, note},
};

/// A loopback port that counts the TCP connections it accepts (and answers none).
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, count)
}

/// The rows an incoming activity could leave behind.
async fn rows(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut found = Vec::new();
    for table in [
        "remote_actor",
        "received_activity",
        "follower",
        "activity",
        "delivery",
        "comment",
        "notification",
        "remote_host",
    ] {
        let count = app.count(&format!("SELECT COUNT(*) FROM {table}")).await;
        found.push((table, count));
    }
    found
}

/// A stand-in whose actor lives at `actor`: it signs with a real key, but nothing serves the
/// actor document there.
fn signer_at(remote: &RemoteServer, actor: &str) -> RemoteServer {
    let mut signer = remote.clone();
    let url = url::Url::parse(actor).expect("actor URL");
    signer.base = url.origin().ascii_serialization();
    signer.actor = actor.to_string();
    signer.key_id = format!("{actor}#main-key");
    signer
}

async fn inbox_refuses_actors_on_private_addresses(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.federation.allow_private_network = false;
    })
    .await;
    let (port, connections) = counting_listener().await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let before = rows(&app).await;
    let collective = app.url("/actors/collectif").to_string();
    for (n, actor) in [
        format!("http://127.0.0.1:{port}/users/a"),
        format!("https://127.0.0.1:{port}/users/a"),
        format!("https://[::ffff:127.0.0.1]:{port}/users/a"),
        format!("https://[::127.0.0.1]:{port}/users/a"),
        format!("https://0.0.0.0:{port}/users/a"),
        format!("https://localhost:{port}/users/a"),
        // WHATWG parsing makes these 127.0.0.1 (decimal, hexadecimal, octal, short forms).
        format!("https://2130706433:{port}/users/a"),
        format!("https://0x7f000001:{port}/users/a"),
        format!("https://0177.0.0.1:{port}/users/a"),
        format!("https://127.1:{port}/users/a"),
        "https://169.254.169.254/latest/meta-data/users/a".to_string(),
        "https://[fd00::1]/users/a".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        let signer = signer_at(&remote, &actor);
        let follow = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/follow-{n}", signer.base),
            "type": "Follow",
            "actor": actor,
            "object": collective,
        });
        let response = signer
            .post(&app.client, app.url("/inbox").as_str(), &follow)
            .await;
        assert_eq!(response.status(), 401, "{actor}");
        let body: Value = response.json().await.expect("json");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("cannot fetch the actor") && error.contains("refused"),
            "{actor}: {error}"
        );
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing was connected to"
    );
    assert!(remote.actor_gets_signed().is_empty());
    assert_eq!(rows(&app).await, before, "nothing was stored");
}

db_test!(inbox_refuses_actors_on_private_addresses);

async fn deliveries_to_private_inboxes_are_never_sent(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.federation.allow_private_network = false;
    })
    .await;
    let (port, connections) = counting_listener().await;
    let inboxes = [
        format!("https://127.0.0.1:{port}/users/x/inbox"),
        format!("https://[::ffff:127.0.0.1]:{port}/inbox"),
        format!("https://0.0.0.0:{port}/inbox"),
        format!("https://localhost:{port}/inbox"),
        format!("http://127.0.0.1:{port}/inbox"),
        "https://[::ffff:10.0.0.1]/inbox".to_string(),
        "https://192.168.1.10/inbox".to_string(),
    ];
    // Followers as a lenient past version (or a bug) could have stored them: the delivery must
    // still refuse.
    for (n, inbox) in inboxes.iter().enumerate() {
        follower::Entity::insert(follower::ActiveModel {
            local_actor_id: Set(app.state.collective.id),
            actor_url: Set(format!("https://remote{n}.example/users/x")),
            inbox_url: Set(inbox.clone()),
            shared_inbox_url: Set(None),
            state: Set(follower::STATE_ACCEPTED.to_string()),
            follow_activity_url: Set(None),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec_without_returning(&app.db)
        .await
        .expect("follower");
    }
    let editor = app
        .add_member("editrice", Role::Editor, "un mot de passe assez long")
        .await;
    app.publish_post(&editor, note("Bonjour")).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery").await,
        inboxes.len() as i64
    );
    app.deliver().await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM delivery WHERE state = 'failed' AND last_error IS NOT NULL"
        )
        .await,
        inboxes.len() as i64,
        "every delivery failed for good, with a reason"
    );
    // The admin's delivery page says why ("refused <url>: private, loopback or reserved
    // address"), not just that it was refused.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE last_error LIKE 'refused %: %_'")
            .await,
        inboxes.len() as i64,
        "{}",
        app.queue_report().await
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing was POSTed");
}

db_test!(deliveries_to_private_inboxes_are_never_sent);

/// A server whose every note answers an older one, without end, counting what it serves.
#[derive(Clone)]
struct EndlessChain {
    base: String,
    public_pem: String,
    requests: Arc<AtomicUsize>,
}

impl EndlessChain {
    async fn start(public_pem: String) -> EndlessChain {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let chain = EndlessChain {
            base: format!(
                "http://localhost:{}",
                listener.local_addr().expect("addr").port()
            ),
            public_pem,
            requests: Arc::new(AtomicUsize::new(0)),
        };
        let router = Router::new()
            .route("/users/alice", get(chain_actor))
            .route("/notes/{n}", get(chain_note))
            .fallback(chain_other)
            .with_state(chain.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        chain
    }

    fn actor(&self) -> String {
        format!("{}/users/alice", self.base)
    }

    fn note(&self, n: u64) -> Value {
        json!({
            "id": format!("{}/notes/{n}", self.base),
            "type": "Note",
            "attributedTo": self.actor(),
            "inReplyTo": format!("{}/notes/{}", self.base, n + 1),
            "content": format!("<p>{n}</p>"),
            "published": "2026-11-29T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        })
    }
}

fn activity_json(doc: Value) -> Response {
    ([("content-type", "application/activity+json")], Json(doc)).into_response()
}

async fn chain_actor(State(chain): State<EndlessChain>) -> Response {
    chain.requests.fetch_add(1, Ordering::SeqCst);
    let actor = chain.actor();
    activity_json(json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor,
        "type": "Person",
        "preferredUsername": "alice",
        "inbox": format!("{actor}/inbox"),
        "publicKey": {
            "id": format!("{actor}#main-key"),
            "owner": actor,
            "publicKeyPem": chain.public_pem,
        },
    }))
}

async fn chain_note(State(chain): State<EndlessChain>, Path(n): Path<u64>) -> Response {
    chain.requests.fetch_add(1, Ordering::SeqCst);
    activity_json(chain.note(n))
}

async fn chain_other(State(chain): State<EndlessChain>) -> StatusCode {
    chain.requests.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}

async fn one_activity_fetches_at_most_the_cap(backend: Backend) {
    const CAP: u32 = 6;
    let app = TestApp::spawn_with(backend, |s| {
        s.federation.allow_private_network = true;
        s.federation.max_fetches_per_activity = CAP;
        // Far deeper than the cap: only the cap may stop the walk up the chain.
        s.moderation.max_reply_fetch_depth = 1000;
    })
    .await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let chain = EndlessChain::start(remote.public_pem()).await;
    let signer = signer_at(&remote, &chain.actor());
    let create = signer.activity("Create", "reply-0", chain.note(0));
    let response = signer
        .post(&app.client, app.url("/inbox").as_str(), &create)
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    // The actor, then ancestors until the cap: exactly CAP requests reached the chain.
    assert_eq!(chain.requests.load(Ordering::SeqCst), CAP as usize);
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 0);

    // The next activity has a budget of its own (the actor is cached now).
    let create = signer.activity("Create", "reply-1", chain.note(100));
    let response = signer
        .post(&app.client, app.url("/inbox").as_str(), &create)
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    assert_eq!(chain.requests.load(Ordering::SeqCst), 2 * CAP as usize);
}

db_test!(one_activity_fetches_at_most_the_cap);
