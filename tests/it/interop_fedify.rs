//! Interoperability with an independent implementation: the Fedify peer follows the collective,
//! verifies what Tribune signs (Accept, Create, Update, Delete), and fetches its objects with
//! signed GETs.

use std::time::Duration;

use serde_json::{Value, json};
use tribune::domain::member::Role;

use crate::{
    db_test,
    remote::FedifyPeer,
    support::note,
    support::{Backend, TestApp},
};

/// Waits (bounded) until the peer has verified an activity of `kind`.
async fn verified_of(peer: &FedifyPeer, kind: &str) -> Value {
    for _ in 0..100 {
        if let Some(found) = peer
            .verified()
            .await
            .into_iter()
            .find(|a| a["type"] == kind)
        {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the peer never verified a {kind}: {:?}",
        peer.get("received").await
    );
}

async fn fedify_follows_receives_and_verifies_posts(backend: Backend) {
    // The peer is on `localhost`: Tribune's base URL uses it too, so both sides see names.
    let app = TestApp::spawn_with(backend, |_| {}).await;
    let peer = FedifyPeer::start();
    let actor = app.url("/actors/collectif").to_string();

    let follow = peer.control("follow", json!({ "target": actor })).await;
    assert_eq!(
        follow["ok"], true,
        "Tribune accepted Fedify's signed Follow: {follow}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM follower WHERE state = 'accepted'")
            .await,
        1
    );

    app.deliver().await;
    let accept = verified_of(&peer, "Accept").await;
    assert_eq!(accept["actor"], actor);

    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&editor, note("Bonjour **Fedify**")).await;
    app.deliver().await;
    let create = verified_of(&peer, "Create").await;
    assert_eq!(
        create["raw"]["object"]["id"],
        app.url(&format!("/posts/{id}")).as_str()
    );

    let post = tribune::db::post::find_by_public_id(&app.db, &id)
        .await
        .expect("q")
        .expect("post");
    tribune::service::post::update(
        &app.state,
        &editor,
        &id,
        post.version,
        note("Bonjour **Fedify**, édité"),
    )
    .await
    .expect("edit");
    app.deliver().await;
    verified_of(&peer, "Update").await;

    // Signed fetch of the post, as a server in authorized-fetch mode would make it.
    let fetched = peer
        .client_get(&format!("fetch?url={}", app.url(&format!("/posts/{id}"))))
        .await;
    assert_eq!(fetched["ok"], true, "{fetched}");
    assert!(
        fetched["document"]["content"]
            .as_str()
            .expect("content")
            .contains("édité")
    );

    tribune::service::post::delete(&app.state, &editor, &id)
        .await
        .expect("delete");
    app.deliver().await;
    verified_of(&peer, "Delete").await;

    let undo = peer
        .control("undo-follow", json!({ "target": actor }))
        .await;
    assert_eq!(undo["ok"], true, "{undo}");
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 0);
}
db_test!(fedify_follows_receives_and_verifies_posts);

/// The conversation with an independent implementation: Fedify replies, likes and boosts a
/// post; the reply appears after approval in the `replies` collection; the counts are right;
/// undoing the like counts down.
async fn fedify_replies_likes_and_boosts_come_home(backend: Backend) {
    let app = TestApp::spawn(backend).await; // replies held for review
    let peer = FedifyPeer::start();
    let actor = app.url("/actors/collectif").to_string();
    assert_eq!(
        peer.control("follow", json!({ "target": actor })).await["ok"],
        true
    );
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&editor, note("Votre avis ?")).await;
    let post_url = app.url(&format!("/posts/{id}")).to_string();
    app.deliver().await;
    verified_of(&peer, "Create").await;

    let reply = peer
        .control("reply", json!({ "inReplyTo": post_url, "content": "<p>D'accord <em>à 100 %</em></p>", "to": actor }))
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let like = peer
        .control("like", json!({ "object": post_url, "to": actor }))
        .await;
    assert_eq!(like["ok"], true, "{like}");
    let boost = peer
        .control("announce", json!({ "object": post_url, "to": actor }))
        .await;
    assert_eq!(boost["ok"], true, "{boost}");

    assert_eq!(
        app.count("SELECT COUNT(*) FROM comment WHERE state = 'pending'")
            .await,
        1
    );
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["replies"]["totalItems"], 0, "not before approval");
    assert_eq!(object["likes"]["totalItems"], 1);
    assert_eq!(object["shares"]["totalItems"], 1);

    let comment = app.count("SELECT id FROM comment").await;
    tribune::service::moderation::decide(
        &app.db,
        comment,
        tribune::service::moderation::Decision::Approve,
    )
    .await
    .expect("approve");
    let page = app
        .get_activity_json(&format!("/posts/{id}/replies?page=1"))
        .await;
    assert_eq!(page["items"][0], reply["id"], "{page}");
    assert!(
        app.text("SELECT content_html FROM comment")
            .await
            .contains("<em>à 100 %</em>")
    );

    let undo = peer
        .control("undo", json!({ "activity": like["id"] }))
        .await;
    assert_eq!(undo["ok"], true, "{undo}");
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["likes"]["totalItems"], 0);
    assert_eq!(object["replies"]["totalItems"], 1);

    let deleted = peer
        .control("delete", json!({ "object": reply["id"] }))
        .await;
    assert_eq!(deleted["ok"], true, "{deleted}");
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 0);
}
db_test!(fedify_replies_likes_and_boosts_come_home);
