//! Conversations through the real inbox with real signatures: replies (direct, nested, fetched up
//! the chain), likes and boosts, edits and deletions from the right and the wrong actors,
//! moderation policies, blocks and the allowlist.

use serde_json::json;
use tribune::{
    config::ReplyPolicy,
    domain::member::Role,
    service::moderation::{self, Decision},
};

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer, send},
    support::note,
    support::{Backend, TestApp},
};

/// A published post; returns (its URL, its public id).
async fn published(app: &TestApp) -> (String, String) {
    let editor = match tribune::service::member::find(&app.db, "eve")
        .await
        .expect("q")
    {
        Some(m) => m,
        None => {
            app.add_member("eve", Role::Editor, "un mot de passe solide")
                .await
        }
    };
    let id = app.publish_post(&editor, note("Qu'en pensez-vous ?")).await;
    (app.url(&format!("/posts/{id}")).to_string(), id)
}

async fn comments(app: &TestApp, state: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM comment WHERE state = '{state}'"
    ))
    .await
}

async fn a_reply_waits_for_approval_then_joins_the_replies_collection(backend: Backend) {
    let app = TestApp::spawn(backend).await; // default policy: review
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, id) = published(&app).await;
    let reply = remote.reply(
        "r1",
        &post_url,
        "<p>Bravo <script>alert(1)</script><b>!</b></p>",
    );
    assert_eq!(
        send(
            &app,
            &remote,
            &remote.activity("Create", "c1", reply.clone())
        )
        .await,
        202
    );
    assert_eq!(comments(&app, "pending").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notification WHERE kind = 'reply'")
            .await,
        1
    );
    let stored = app.text("SELECT content_html FROM comment").await;
    assert!(
        !stored.contains("<script") && stored.contains("<b>!</b>"),
        "sanitized before storage: {stored}"
    );

    let collection = app.get_activity_json(&format!("/posts/{id}/replies")).await;
    assert_eq!(
        collection["totalItems"], 0,
        "pending replies are not public"
    );

    let comment_id = app.count("SELECT id FROM comment").await;
    moderation::decide(&app.db, comment_id, Decision::Approve)
        .await
        .expect("approve");
    let collection = app.get_activity_json(&format!("/posts/{id}/replies")).await;
    assert_eq!(collection["totalItems"], 1);
    let page = app
        .get_activity_json(&format!("/posts/{id}/replies?page=1"))
        .await;
    assert_eq!(page["items"][0], reply["id"]);
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["replies"]["totalItems"], 1);
    assert_eq!(object["replies"]["first"]["items"][0], reply["id"]);

    // The same Create again: no second comment.
    assert_eq!(
        send(&app, &remote, &remote.activity("Create", "c1", reply)).await,
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
}
db_test!(a_reply_waits_for_approval_then_joins_the_replies_collection);

async fn threads_are_kept_and_unknown_ancestors_fetched(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _) = published(&app).await;
    let first = alice.reply("a1", &post_url, "<p>Premier</p>");
    send(
        &app,
        &alice,
        &alice.activity("Create", "c-a1", first.clone()),
    )
    .await;
    let answer = bob.reply("b1", first["id"].as_str().expect("id"), "<p>Réponse</p>");
    send(&app, &bob, &bob.activity("Create", "c-b1", answer)).await;
    let parent_of_b1 = app
        .text("SELECT in_reply_to_url FROM comment WHERE object_url LIKE '%/notes/b1'")
        .await;
    assert_eq!(parent_of_b1, first["id"].as_str().expect("id"));
    assert_eq!(
        app.count("SELECT CAST(depth AS BIGINT) FROM comment WHERE object_url LIKE '%/notes/b1'")
            .await,
        2
    );

    // A reply to a reply Tribune never received: the missing ancestor is fetched from its origin.
    let missing = alice.reply("a2", &post_url, "<p>Jamais reçu directement</p>");
    alice.serve_note("a2", missing.clone());
    let late = bob.reply(
        "b2",
        missing["id"].as_str().expect("id"),
        "<p>Réponse tardive</p>",
    );
    send(&app, &bob, &bob.activity("Create", "c-b2", late)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 4);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comment WHERE object_url LIKE '%/notes/a2'")
            .await,
        1
    );

    // Not about us at all: nothing stored.
    let elsewhere = bob.reply(
        "b3",
        "https://elsewhere.example/notes/1",
        "<p>Hors sujet</p>",
    );
    send(&app, &bob, &bob.activity("Create", "c-b3", elsewhere)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 4);

    // A loop in inReplyTo is refused without harm.
    let looping = bob.reply("loop", &bob.note_url("loop"), "<p>Boucle</p>");
    assert_eq!(
        send(&app, &bob, &bob.activity("Create", "c-loop", looping)).await,
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 4);
}
db_test!(threads_are_kept_and_unknown_ancestors_fetched);

async fn trusted_policy_lets_followers_through(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Trusted).await;
    let follower = RemoteServer::start(Behaviour::Ok).await;
    let stranger = RemoteServer::start(Behaviour::Ok).await;
    send(
        &app,
        &follower,
        &follower.follow(app.url("/actors/collectif").as_str(), "f"),
    )
    .await;
    let (post_url, _) = published(&app).await;
    send(
        &app,
        &follower,
        &follower.activity(
            "Create",
            "c1",
            follower.reply("n1", &post_url, "<p>Abonnée</p>"),
        ),
    )
    .await;
    send(
        &app,
        &stranger,
        &stranger.activity(
            "Create",
            "c1",
            stranger.reply("n1", &post_url, "<p>Inconnu</p>"),
        ),
    )
    .await;
    assert_eq!(comments(&app, "approved").await, 1);
    assert_eq!(comments(&app, "pending").await, 1);
    // Once approved, the stranger is trusted too.
    let pending = app
        .count("SELECT id FROM comment WHERE state = 'pending'")
        .await;
    moderation::decide(&app.db, pending, Decision::Approve)
        .await
        .expect("approve");
    send(
        &app,
        &stranger,
        &stranger.activity(
            "Create",
            "c2",
            stranger.reply("n2", &post_url, "<p>Encore</p>"),
        ),
    )
    .await;
    assert_eq!(comments(&app, "approved").await, 3);
}
db_test!(trusted_policy_lets_followers_through);

async fn likes_and_boosts_count_once_per_actor_and_undo(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, id) = published(&app).await;
    let like = alice.activity("Like", "like-1", json!(post_url));
    assert_eq!(send(&app, &alice, &like).await, 202);
    assert_eq!(
        send(
            &app,
            &alice,
            &alice.activity("Like", "like-2", json!(post_url))
        )
        .await,
        202
    );
    send(&app, &bob, &bob.activity("Like", "like-1", json!(post_url))).await;
    send(
        &app,
        &bob,
        &bob.activity("Announce", "boost-1", json!(post_url)),
    )
    .await;
    // A like of something that is not ours is ignored.
    send(
        &app,
        &bob,
        &bob.activity("Like", "like-x", json!("https://elsewhere.example/notes/1")),
    )
    .await;
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["likes"]["totalItems"], 2, "alice counted once");
    assert_eq!(object["shares"]["totalItems"], 1);
    assert_eq!(
        app.get_activity_json(&format!("/posts/{id}/likes")).await["totalItems"],
        2
    );

    // Bob cannot undo alice's like.
    let forged = bob.activity("Undo", "undo-forged", like.clone());
    assert_eq!(send(&app, &bob, &forged).await, 403);
    let undo = alice.activity("Undo", "undo-1", like);
    assert_eq!(send(&app, &alice, &undo).await, 202);
    let undo_boost = bob.activity("Undo", "undo-2", json!(bob.id("boost-1")));
    assert_eq!(send(&app, &bob, &undo_boost).await, 202);
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["likes"]["totalItems"], 1);
    assert_eq!(object["shares"]["totalItems"], 0);
}
db_test!(likes_and_boosts_count_once_per_actor_and_undo);

async fn edits_and_deletions_only_from_their_authors(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _) = published(&app).await;
    let reply = alice.reply("n1", &post_url, "<p>Version une</p>");
    send(&app, &alice, &alice.activity("Create", "c1", reply.clone())).await;

    let mut edited = reply.clone();
    edited["content"] = json!("<p>Version deux</p>");
    edited["updated"] = json!("2026-11-29T11:00:00Z");
    // Bob cannot edit alice's reply (the object is not on his host).
    assert_eq!(
        send(
            &app,
            &bob,
            &bob.activity("Update", "u-forged", edited.clone())
        )
        .await,
        403
    );
    assert!(
        app.text("SELECT content_html FROM comment")
            .await
            .contains("Version une")
    );
    // An Update without a newer `updated` changes nothing.
    let mut stale = reply.clone();
    stale["content"] = json!("<p>Ancienne</p>");
    send(&app, &alice, &alice.activity("Update", "u-stale", stale)).await;
    assert!(
        app.text("SELECT content_html FROM comment")
            .await
            .contains("Version une")
    );
    assert_eq!(
        send(&app, &alice, &alice.activity("Update", "u1", edited)).await,
        202
    );
    assert!(
        app.text("SELECT content_html FROM comment")
            .await
            .contains("Version deux")
    );

    assert_eq!(
        send(
            &app,
            &bob,
            &bob.activity("Delete", "d-forged", reply["id"].clone())
        )
        .await,
        403,
        "not bob's"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
    let tombstone = json!({"id": reply["id"], "type": "Tombstone"});
    assert_eq!(
        send(&app, &alice, &alice.activity("Delete", "d1", tombstone)).await,
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 0);

    // The deletion of an account takes everything of theirs.
    send(
        &app,
        &bob,
        &bob.activity("Create", "c2", bob.reply("n2", &post_url, "<p>Bob</p>")),
    )
    .await;
    send(&app, &bob, &bob.activity("Like", "l2", json!(post_url))).await;
    assert_eq!(
        send(
            &app,
            &bob,
            &bob.activity("Delete", "d-account", json!(bob.actor))
        )
        .await,
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM reaction").await, 0);
}
db_test!(edits_and_deletions_only_from_their_authors);

async fn origin_rules_refuse_spoofed_objects(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _) = published(&app).await;
    // Alice's server sends a note whose id is on bob's server.
    let mut spoofed = alice.reply("x", &post_url, "<p>Usurpation</p>");
    spoofed["id"] = json!(bob.note_url("x"));
    assert_eq!(
        send(&app, &alice, &alice.activity("Create", "c1", spoofed)).await,
        403
    );
    // A note attributed to someone else.
    let mut misattributed = alice.reply("y", &post_url, "<p>Pas de moi</p>");
    misattributed["attributedTo"] = json!(bob.actor);
    assert_eq!(
        send(&app, &alice, &alice.activity("Create", "c2", misattributed)).await,
        403
    );
    // A reply to a draft or to a deleted post is not stored.
    let editor = tribune::service::member::find(&app.db, "eve")
        .await
        .expect("q")
        .expect("eve");
    let draft = tribune::service::post::create(&app.state, &editor, note("Brouillon"))
        .await
        .expect("draft");
    let to_draft = alice.reply(
        "z",
        app.url(&format!("/posts/{}", draft.public_id)).as_str(),
        "<p>Trop tôt</p>",
    );
    assert_eq!(
        send(&app, &alice, &alice.activity("Create", "c3", to_draft)).await,
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 0);
}
db_test!(origin_rules_refuse_spoofed_objects);

async fn blocks_and_the_allowlist_refuse_and_hide(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, id) = published(&app).await;
    send(
        &app,
        &alice,
        &alice.activity("Create", "c1", alice.reply("n1", &post_url, "<p>Avant</p>")),
    )
    .await;
    let post_id = app
        .count(&format!("SELECT id FROM post WHERE public_id = '{id}'"))
        .await;
    assert_eq!(
        tribune::db::comment::public_thread(&app.db, post_id)
            .await
            .expect("thread")
            .len(),
        1
    );

    // Blocking the instance (any spelling) refuses its activities and hides its comments.
    moderation::block(&app.db, "LOCALHOST.", Some("spam"))
        .await
        .expect("block");
    assert_eq!(
        send(
            &app,
            &alice,
            &alice.activity("Create", "c2", alice.reply("n2", &post_url, "<p>Après</p>"))
        )
        .await,
        403
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
    assert!(
        tribune::db::comment::public_thread(&app.db, post_id)
            .await
            .expect("thread")
            .is_empty()
    );
    assert!(
        moderation::unblock(&app.db, "localhost")
            .await
            .expect("unblock")
    );
    assert_eq!(
        tribune::db::comment::public_thread(&app.db, post_id)
            .await
            .expect("thread")
            .len(),
        1
    );

    // Blocking one actor.
    moderation::block(&app.db, &alice.actor, None)
        .await
        .expect("block actor");
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l1", json!(post_url))).await,
        403
    );
    moderation::unblock(&app.db, &alice.actor)
        .await
        .expect("unblock");
    assert_eq!(app.count("SELECT COUNT(*) FROM reaction").await, 0);
}
db_test!(blocks_and_the_allowlist_refuse_and_hide);

async fn allowlist_mode_federates_only_with_listed_instances(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.allowlist_mode = true).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let follow = alice.follow(app.url("/actors/collectif").as_str(), "1");
    assert_eq!(send(&app, &alice, &follow).await, 403);
    moderation::allow(&app.db, "localhost")
        .await
        .expect("allow");
    assert_eq!(send(&app, &alice, &follow).await, 202);
}
db_test!(allowlist_mode_federates_only_with_listed_instances);
