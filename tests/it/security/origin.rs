//! Origin: an actor speaks only for itself and its own objects (Mastodon CVE-2024-23832), and
//! a blocked instance cannot get round its block by spelling its name otherwise (Mastodon
//! CVE-2023-42451: domain normalization).

use serde_json::{Value, json};
use tribune::{config::ReplyPolicy, domain::member::Role};

use super::{assert_refused, collective, published, refused_changing_nothing, send, warm};
use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, DbSnapshot, TestApp, assert_unchanged},
};

/// An app with open replies, two stand-ins already known to it, and a published post (URL).
async fn two_peers(backend: Backend) -> (TestApp, RemoteServer, RemoteServer, String) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &alice).await;
    warm(&app, &bob).await;
    let (post_url, _) = published(&app, "Qu'en pensez-vous ?").await;
    (app, alice, bob, post_url)
}

/// Alice's reply to `post_url`, stored; returns the Note.
async fn alices_reply(app: &TestApp, alice: &RemoteServer, post_url: &str) -> Value {
    let reply = alice.reply("n1", post_url, "<p>Version une</p>");
    let response = send(app, alice, &alice.activity("Create", "c1", reply.clone())).await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
    reply
}

/// The snapshot without `received_activity`: an activity that is accepted but has no effect
/// is still recorded as seen (so that a replay is answered without work).
fn but_seen(snapshot: DbSnapshot) -> DbSnapshot {
    snapshot.without("received_activity")
}

async fn activity_id_on_another_host_than_its_actor_is_refused(backend: Backend) {
    let (app, alice, bob, _) = two_peers(backend).await;
    let mut follow = alice.follow(&collective(&app), "1");
    follow["id"] = json!(bob.id("follow-1"));
    refused_changing_nothing(
        &app,
        send(&app, &alice, &follow),
        403,
        "not on its actor's host",
        &[],
    )
    .await;
}
db_test!(activity_id_on_another_host_than_its_actor_is_refused);

async fn embedded_object_with_an_id_on_another_host_is_refused(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    let mut spoofed = alice.reply("x", &post_url, "<p>Usurpation</p>");
    spoofed["id"] = json!(bob.note_url("x"));
    refused_changing_nothing(
        &app,
        send(&app, &alice, &alice.activity("Create", "c1", spoofed)),
        403,
        "the object's id is not on the actor's host",
        &[],
    )
    .await;
}
db_test!(embedded_object_with_an_id_on_another_host_is_refused);

async fn object_attributed_to_another_actor_is_refused(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    let mut misattributed = alice.reply("y", &post_url, "<p>Pas de moi</p>");
    misattributed["attributedTo"] = json!(bob.actor);
    refused_changing_nothing(
        &app,
        send(&app, &alice, &alice.activity("Create", "c1", misattributed)),
        403,
        "attributed to someone else",
        &[],
    )
    .await;
}
db_test!(object_attributed_to_another_actor_is_refused);

async fn update_of_someone_elses_reply_is_refused(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    let mut edited = alices_reply(&app, &alice, &post_url).await;
    edited["content"] = json!("<p>Réécrit par bob</p>");
    edited["updated"] = json!("2026-11-29T12:00:00Z");
    refused_changing_nothing(
        &app,
        send(&app, &bob, &bob.activity("Update", "u1", edited)),
        403,
        "",
        &[],
    )
    .await;
}
db_test!(update_of_someone_elses_reply_is_refused);

async fn delete_of_someone_elses_reply_is_refused(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    let reply = alices_reply(&app, &alice, &post_url).await;
    refused_changing_nothing(
        &app,
        send(
            &app,
            &bob,
            &bob.activity("Delete", "d1", reply["id"].clone()),
        ),
        403,
        "only the author of a reply can delete it",
        &[],
    )
    .await;
}
db_test!(delete_of_someone_elses_reply_is_refused);

async fn undo_of_someone_elses_like_is_refused(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    let like = alice.activity("Like", "l1", json!(post_url));
    assert_eq!(send(&app, &alice, &like).await.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM reaction").await, 1);
    let before = app.db_snapshot().await;
    assert_refused(
        send(&app, &bob, &bob.activity("Undo", "u1", like.clone())).await,
        403,
        "only the author of an activity can undo it",
    )
    .await;
    // By id only: accepted (it may be bob's own), but alice's like stays.
    let by_id = bob.activity("Undo", "u2", like["id"].clone());
    assert_eq!(send(&app, &bob, &by_id).await.status(), 202);
    assert_unchanged(&but_seen(before), &but_seen(app.db_snapshot().await));
}
db_test!(undo_of_someone_elses_like_is_refused);

async fn undo_of_someone_elses_follow_is_refused(backend: Backend) {
    let (app, alice, bob, _) = two_peers(backend).await;
    let follow = alice.follow(&collective(&app), "1");
    assert_eq!(send(&app, &alice, &follow).await.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 1);
    let before = app.db_snapshot().await;
    assert_refused(
        send(&app, &bob, &bob.activity("Undo", "u1", follow.clone())).await,
        403,
        "only the author of an activity can undo it",
    )
    .await;
    let by_id = bob.activity("Undo", "u2", follow["id"].clone());
    assert_eq!(send(&app, &bob, &by_id).await.status(), 202);
    assert_unchanged(&but_seen(before), &but_seen(app.db_snapshot().await));
}
db_test!(undo_of_someone_elses_follow_is_refused);

async fn reactions_to_posts_that_are_not_ours_change_nothing(backend: Backend) {
    let (app, alice, bob, _) = two_peers(backend).await;
    let before = app.db_snapshot().await;
    for (n, object) in [
        app.url("/posts/does-not-exist").to_string(),
        bob.note_url("someone-elses"),
        "https://elsewhere.example/posts/1".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        for kind in ["Like", "Announce"] {
            let activity = alice.activity(kind, &format!("{kind}-{n}"), json!(object));
            assert_eq!(
                send(&app, &alice, &activity).await.status(),
                202,
                "{kind} {object}"
            );
        }
    }
    assert_unchanged(&but_seen(before), &but_seen(app.db_snapshot().await));
}
db_test!(reactions_to_posts_that_are_not_ours_change_nothing);

async fn delete_of_an_actor_by_another_actor_changes_nothing(backend: Backend) {
    let (app, alice, bob, post_url) = two_peers(backend).await;
    alices_reply(&app, &alice, &post_url).await;
    let before = app.db_snapshot().await;
    let forged = bob.activity("Delete", "d1", json!(alice.actor));
    assert_eq!(send(&app, &bob, &forged).await.status(), 202);
    assert_unchanged(&but_seen(before), &but_seen(app.db_snapshot().await));
}
db_test!(delete_of_an_actor_by_another_actor_changes_nothing);

async fn follow_of_an_unknown_local_actor_is_refused(backend: Backend) {
    let (app, alice, _, _) = two_peers(backend).await;
    let follow = alice.follow(app.url("/actors/nobody").as_str(), "1");
    let before = app.db_snapshot().await;
    assert_refused(send(&app, &alice, &follow).await, 404, "no actor").await;
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(follow_of_an_unknown_local_actor_is_refused);

async fn activity_of_a_local_actor_from_outside_is_refused(backend: Backend) {
    let (app, alice, _, post_url) = two_peers(backend).await;
    let before = app.db_snapshot().await;
    // Signed by alice, claiming to be the collective (its id on our host, like its actor).
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": app.url("/activities/forged").to_string(),
        "type": "Like",
        "actor": collective(&app),
        "object": post_url,
    });
    assert_refused(
        send(&app, &alice, &forged).await,
        403,
        "activities of local actors are not accepted from outside",
    )
    .await;
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(activity_of_a_local_actor_from_outside_is_refused);

async fn key_on_another_host_than_the_actor_is_refused(backend: Backend) {
    let (app, alice, bob, _) = two_peers(backend).await;
    // Signed with alice's key, claiming to be bob (id and actor both on bob's server).
    let impersonation = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob.id("follow-x"),
        "type": "Follow",
        "actor": bob.actor,
        "object": collective(&app),
    });
    refused_changing_nothing(
        &app,
        send(&app, &alice, &impersonation),
        401,
        "the signing key does not belong to the activity's actor",
        &[],
    )
    .await;
}
db_test!(key_on_another_host_than_the_actor_is_refused);

/// An activity from an actor at `actor_url` (never fetched: blocks are checked first).
fn from(alice: &RemoteServer, actor_url: &str) -> Value {
    let base = actor_url
        .rsplit_once("/users/")
        .map_or(actor_url, |(b, _)| b);
    let mut like = alice.activity("Like", "l", json!("https://example.org/x"));
    like["actor"] = json!(actor_url);
    like["id"] = json!(format!("{base}/activities/l"));
    like
}

async fn a_blocked_domain_cannot_be_spelled_around(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    tribune::service::moderation::block(&app.db, "evil.example", Some("spam"))
        .await
        .expect("block");
    let before = app.db_snapshot().await;
    for actor in [
        "https://EVIL.EXAMPLE/users/troll",
        "https://evil.example./users/troll",
        "https://Evil.Example.:8443/users/troll",
        "https://evil.example:443/users/troll",
        // U+3002 (ideographic full stop) and fullwidth letters are mapped to ASCII by IDNA.
        "https://evil\u{3002}example/users/troll",
        "https://\u{ff45}vil.example/users/troll",
    ] {
        assert_refused(
            send(&app, &alice, &from(&alice, actor)).await,
            403,
            "blocked",
        )
        .await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(a_blocked_domain_cannot_be_spelled_around);

async fn a_block_in_unicode_covers_the_punycode_spelling(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    // Blocked as an admin would type it, from the panel.
    app.add_member("camille", Role::Admin, "un mot de passe solide")
        .await;
    let browser = app.browser();
    browser.login_ok("camille", "un mot de passe solide").await;
    let response = browser
        .submit(
            "/admin/blocks",
            &[("target", "ÉVIL.example."), ("reason", "spam")],
        )
        .await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    assert_eq!(
        app.text("SELECT target FROM block").await,
        url::Url::parse("https://évil.example")
            .expect("url")
            .host_str()
            .expect("host"),
        "stored in its ASCII (punycode) form"
    );
    let before = app.db_snapshot().await;
    for actor in [
        "https://xn--vil-9la.example/users/troll",
        "https://évil.example/users/troll",
        "https://ÉVIL.EXAMPLE./users/troll",
    ] {
        assert_refused(
            send(&app, &alice, &from(&alice, actor)).await,
            403,
            "blocked",
        )
        .await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(a_block_in_unicode_covers_the_punycode_spelling);

async fn a_blocked_actor_cannot_be_spelled_around(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    tribune::service::moderation::block(&app.db, &alice.actor, None)
        .await
        .expect("block");
    let before = app.db_snapshot().await;
    let upper_host = alice.actor.replace("localhost", "LOCALHOST");
    for actor in [alice.actor.clone(), upper_host] {
        let mut like = alice.activity("Like", "l1", json!("https://example.org/x"));
        like["actor"] = json!(actor);
        assert_refused(send(&app, &alice, &like).await, 403, "blocked").await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(a_blocked_actor_cannot_be_spelled_around);
