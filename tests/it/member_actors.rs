//! `publishing.member_actors`: each member gets a `Person` actor; posts are attributed to their
//! author, signed with the author's key, and the collective announces them to its followers.

use serde_json::json;
use tribune::domain::member::Role;

use crate::{
    db_test,
    remote::{Behaviour, FedifyPeer, RemoteServer},
    support::note,
    support::{ACCEPT_AS, Backend, TestApp},
};

async fn member_posts_are_attributed_signed_and_announced(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.publishing.member_actors = true).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let collective = app.url("/actors/collectif").to_string();
    remote
        .post(
            &app.client,
            app.url("/inbox").as_str(),
            &remote.follow(&collective, "1"),
        )
        .await;
    app.deliver().await;

    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    // No actor before the first post.
    assert_eq!(app.get("/actors/alice", ACCEPT_AS).await.status(), 404);
    let id = app.publish_post(&alice, note("Signé Alice")).await;

    let actor = app.get_activity_json("/actors/alice").await;
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "alice");
    assert_eq!(actor["url"], app.url("/members/alice").as_str());
    let alice_actor = app.url("/actors/alice").to_string();
    assert_ne!(
        actor["publicKey"]["publicKeyPem"],
        app.get_activity_json("/actors/collectif").await["publicKey"]["publicKeyPem"]
    );
    let jrd: serde_json::Value = app
        .get(
            &format!(
                "/.well-known/webfinger?resource=acct:alice@{}",
                app.domain()
            ),
            "*/*",
        )
        .await
        .json()
        .await
        .expect("jrd");
    assert_eq!(jrd["links"][0]["href"], alice_actor);

    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["attributedTo"], alice_actor);
    let create = app
        .get_activity_json(&format!("/posts/{id}/activity"))
        .await;
    assert_eq!(create["actor"], alice_actor);
    let outbox = app
        .get_activity_json("/actors/collectif/outbox?page=1")
        .await;
    assert_eq!(outbox["orderedItems"][0]["type"], "Announce");
    assert_eq!(outbox["orderedItems"][0]["object"], object["id"]);

    app.deliver().await;
    let received = remote.received();
    let announce = received
        .iter()
        .find(|r| r.body["type"] == "Announce")
        .expect("the collective announced it");
    assert_eq!(announce.body["actor"], collective);
    assert_eq!(announce.body["object"], object["id"]);

    let post = tribune::db::post::find_by_public_id(&app.db, &id)
        .await
        .expect("q")
        .expect("post");
    tribune::service::post::update(
        &app.state,
        &alice,
        &id,
        post.version,
        note("Signé Alice, corrigé"),
    )
    .await
    .expect("edit");
    app.deliver().await;
    let update = remote
        .received()
        .into_iter()
        .find(|r| r.body["type"] == "Update")
        .expect("the follower got the edit");
    assert_eq!(update.body["actor"], alice_actor);
    let signature = update
        .headers
        .get("signature")
        .expect("signed")
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        signature.contains(&format!("keyId=\"{alice_actor}#main-key\"")),
        "signed by alice: {signature}"
    );

    // People can follow a member's actor too.
    remote
        .post(
            &app.client,
            app.url("/actors/alice/inbox").as_str(),
            &json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": remote.id("follow-alice"),
                "type": "Follow",
                "actor": remote.actor,
                "object": alice_actor,
            }),
        )
        .await;
    app.deliver().await;
    let accept = remote
        .received()
        .into_iter()
        .find(|r| r.body["type"] == "Accept" && r.body["actor"] == alice_actor);
    assert!(accept.is_some(), "alice accepted the follow");
}
db_test!(member_posts_are_attributed_signed_and_announced);

/// Fedify verifies the collective's Announce and the member's signed Update, and reads the note.
async fn fedify_accepts_announced_member_posts(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.publishing.member_actors = true).await;
    let peer = FedifyPeer::start();
    let collective = app.url("/actors/collectif").to_string();
    assert_eq!(
        peer.control("follow", json!({ "target": collective }))
            .await["ok"],
        true
    );
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let id = app
        .publish_post(&alice, note("Annoncé par le collectif"))
        .await;
    app.deliver().await;
    let post = tribune::db::post::find_by_public_id(&app.db, &id)
        .await
        .expect("q")
        .expect("post");
    tribune::service::post::update(
        &app.state,
        &alice,
        &id,
        post.version,
        note("Annoncé, édité"),
    )
    .await
    .expect("edit");
    app.deliver().await;
    for _ in 0..100 {
        let verified = peer.verified().await;
        if verified.iter().any(|a| a["type"] == "Announce")
            && verified.iter().any(|a| a["type"] == "Update")
        {
            let fetched = peer
                .client_get(&format!("fetch?url={}", app.url(&format!("/posts/{id}"))))
                .await;
            assert_eq!(
                fetched["document"]["attributedTo"],
                app.url("/actors/alice").as_str(),
                "{fetched}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "Fedify did not verify the Announce and the Update: {}",
        peer.get("received").await
    );
}
db_test!(fedify_accepts_announced_member_posts);
