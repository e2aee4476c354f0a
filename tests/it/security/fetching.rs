//! What Tribune fetches on behalf of remote input: never private addresses when private
//! networks are not allowed (activitypub_federation CVE-2026-33693: `0.0.0.0` reaches the
//! host itself), only documents that are what they claim, of bounded size and depth, within a
//! timeout. Tests run with `allow_private_network = true` (the stand-ins are on localhost)
//! except where the case is that setting.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tribune::config::ReplyPolicy;

use super::{assert_refused, collective, published, send, warm};
use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, assert_unchanged},
};

/// `remote` speaking as an actor at `actor` (its key id there too): the signature is real, the
/// actor document is wherever `actor` points.
fn posing_as(remote: &RemoteServer, actor: &str) -> RemoteServer {
    let mut posing = remote.clone();
    posing.actor = actor.to_string();
    posing.key_id = format!("{actor}#main-key");
    posing
}

/// A Follow of the collective from `actor`, with an id on the actor's host.
fn follow_from(app: &TestApp, actor: &str) -> Value {
    let base = actor.rsplit_once("/users/").map_or(actor, |(b, _)| b);
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{base}/activities/follow-1"),
        "type": "Follow",
        "actor": actor,
        "object": collective(app),
    })
}

/// Follows from each of `actors` are refused with 401 and nothing fetched from the stand-in.
async fn refused_without_fetching(app: &TestApp, remote: &RemoteServer, actors: &[String]) {
    let before = app.db_snapshot().await;
    for actor in actors {
        let posing = posing_as(remote, actor);
        assert_refused(
            send(app, &posing, &follow_from(app, actor)).await,
            401,
            "cannot fetch the actor",
        )
        .await;
    }
    assert!(
        remote.actor_gets_signed().is_empty(),
        "nothing was fetched from the stand-in"
    );
    assert_unchanged(&before, &app.db_snapshot().await);
}

async fn an_actor_on_0_0_0_0_is_not_fetched(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.federation.allow_private_network = false).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let port = remote.base.rsplit(':').next().expect("port").to_string();
    // On Linux, connecting to 0.0.0.0 reaches the host itself: here, the stand-in.
    let actors = [
        "https://0.0.0.0/users/alice".to_string(),
        format!("http://0.0.0.0:{port}/users/alice"),
        format!("https://0.0.0.0:{port}/users/alice"),
        format!("http://0:{port}/users/alice"),
    ];
    refused_without_fetching(&app, &remote, &actors).await;
}
db_test!(an_actor_on_0_0_0_0_is_not_fetched);

async fn actors_on_private_and_loopback_addresses_are_not_fetched(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.federation.allow_private_network = false).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let port = remote.base.rsplit(':').next().expect("port").to_string();
    let actors: Vec<String> = [
        "https://127.0.0.1/users/alice",
        "https://127.1/users/alice",
        "https://2130706433/users/alice",
        "https://[::1]/users/alice",
        "https://[::ffff:127.0.0.1]/users/alice",
        "https://10.0.0.1/users/alice",
        "https://169.254.169.254/users/alice",
        "https://[fd00::1]/users/alice",
        // A name that resolves to loopback: refused by the resolver.
        "https://localhost/users/alice",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("http://127.0.0.1:{port}/users/alice")])
    .collect();
    refused_without_fetching(&app, &remote, &actors).await;
}
db_test!(actors_on_private_and_loopback_addresses_are_not_fetched);

async fn a_plain_http_actor_is_not_fetched(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.federation.allow_private_network = false).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    // The stand-in itself, at its real (http) address.
    refused_without_fetching(&app, &remote, std::slice::from_ref(&remote.actor)).await;
}
db_test!(a_plain_http_actor_is_not_fetched);

/// A Follow from `remote` whose actor document has `fields` replaced is refused, saying `why`;
/// nothing of the actor is stored.
async fn bad_actor_document(backend: Backend, fields: Value, why: &str) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    remote.set_actor_fields(fields);
    let before = app.db_snapshot().await;
    assert_refused(
        send(&app, &remote, &remote.follow(&collective(&app), "1")).await,
        401,
        why,
    )
    .await;
    assert_eq!(
        remote.actor_gets_signed().len(),
        1,
        "fetched once, not stored, not retried"
    );
    assert_unchanged(&before, &app.db_snapshot().await);
}

async fn an_actor_document_with_another_id_is_refused(backend: Backend) {
    bad_actor_document(
        backend,
        json!({"id": "http://localhost:1/users/mallory"}),
        "cannot fetch the actor",
    )
    .await;
}
db_test!(an_actor_document_with_another_id_is_refused);

async fn a_key_owned_by_another_actor_is_refused(backend: Backend) {
    let pem = RemoteServer::start(Behaviour::Ok).await.public_pem();
    bad_actor_document(
        backend,
        json!({"publicKey": {
            "id": "http://localhost:1/users/mallory#main-key",
            "owner": "http://localhost:1/users/mallory",
            "publicKeyPem": pem,
        }}),
        "no public key owned by the actor",
    )
    .await;
}
db_test!(a_key_owned_by_another_actor_is_refused);

async fn an_actor_whose_inbox_is_on_another_host_is_refused(backend: Backend) {
    bad_actor_document(
        backend,
        json!({"inbox": "https://victim.example/inbox"}),
        "its inbox is on another host",
    )
    .await;
}
db_test!(an_actor_whose_inbox_is_on_another_host_is_refused);

async fn a_document_that_is_not_an_actor_is_refused(backend: Backend) {
    bad_actor_document(backend, json!({"type": "Note"}), "not an actor type").await;
}
db_test!(a_document_that_is_not_an_actor_is_refused);

async fn an_oversized_actor_document_is_refused(backend: Backend) {
    bad_actor_document(
        backend,
        json!({"summary": "x".repeat(2 * 1024 * 1024)}),
        "cannot fetch the actor",
    )
    .await;
}
db_test!(an_oversized_actor_document_is_refused);

async fn a_reply_chain_deeper_than_the_limit_is_not_followed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = ReplyPolicy::Open;
        s.moderation.max_reply_fetch_depth = 2;
    })
    .await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, _) = published(&app, "Le début du fil").await;
    // post ← n1 ← n2 ← n3 ← n4: n4 arrives, n1…n3 are unknown and must be fetched.
    let mut parent = post_url.clone();
    for n in 1..=3 {
        let name = format!("n{n}");
        remote.serve_note(&name, remote.reply(&name, &parent, "<p>maillon</p>"));
        parent = remote.note_url(&name);
    }
    let before = app.db_snapshot().await;
    let last = remote.reply("n4", &parent, "<p>trop loin</p>");
    let response = send(&app, &remote, &remote.activity("Create", "c4", last)).await;
    assert_eq!(response.status(), 202);
    // Accepted activities are recorded as seen (a replay is answered without work).
    assert_unchanged(
        &before.without("received_activity"),
        &app.db_snapshot().await.without("received_activity"),
    );
}
db_test!(a_reply_chain_deeper_than_the_limit_is_not_followed);

async fn an_actor_that_never_answers_times_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let actor = format!("http://localhost:{port}/users/alice");
    let posing = posing_as(&remote, &actor);
    let before = app.db_snapshot().await;
    let started = Instant::now();
    assert_refused(
        send(&app, &posing, &follow_from(&app, &actor)).await,
        401,
        "cannot fetch",
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(app.settings.delivery.request_timeout_seconds + 5),
        "answered after the fetch timeout, not hung: {took:?}"
    );
    assert_unchanged(&before, &app.db_snapshot().await);
    held.abort();
}
db_test!(an_actor_that_never_answers_times_out);
