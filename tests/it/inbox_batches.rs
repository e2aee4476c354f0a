//! The inbox's batched path (`service::intake`): likes, boosts and replies arriving together
//! are stored once each, in batches, with the same rules as one by one — redeliveries, blocks
//! decided inside the batch even for actors kept in memory, replies whose parent arrives in
//! the same burst, and a batch that fails falling back to the ordinary path.

use futures_util::future::join_all;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use tribune::config::ReplyPolicy;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer, send},
    support::{Backend, TestApp, note},
};

async fn published(app: &TestApp) -> String {
    let eve = app
        .add_member(
            "eve",
            tribune::domain::member::Role::Editor,
            "un mot de passe solide",
        )
        .await;
    let id = app.publish_post(&eve, note("Qu'en pensez-vous ?")).await;
    app.url(&format!("/posts/{id}")).to_string()
}

/// Sends every (server, activity) pair at once; the statuses, in order.
async fn burst(app: &TestApp, sends: &[(RemoteServer, Value)]) -> Vec<u16> {
    join_all(
        sends
            .iter()
            .map(|(remote, activity)| send(app, remote, activity)),
    )
    .await
}

async fn servers(n: usize) -> Vec<RemoteServer> {
    join_all((0..n).map(|_| RemoteServer::start(Behaviour::Ok))).await
}

async fn a_burst_of_likes_boosts_and_replies_is_stored_once_each(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let post = published(&app).await;
    let actors = servers(12).await;
    // Each actor is seen once first, so that the burst comes from actors kept in memory.
    for (i, remote) in actors.iter().enumerate() {
        let like = remote.activity("Like", &format!("first-{i}"), json!(post));
        assert_eq!(send(&app, remote, &like).await, 202);
    }
    app.db
        .execute_unprepared("DELETE FROM reaction; DELETE FROM notification")
        .await
        .expect("reset");

    let mut sends = Vec::new();
    for (i, remote) in actors.iter().enumerate() {
        // The first actor's reply is the parent of every other actor's second reply: in the
        // same burst, so often in the same batch as its children.
        let reply = remote.reply(&format!("r{i}"), &post, &format!("<p>Réponse {i}</p>"));
        remote.serve_note(&format!("r{i}"), reply.clone());
        sends.push((
            remote.clone(),
            remote.activity("Create", &format!("c{i}"), reply),
        ));
        sends.push((
            remote.clone(),
            remote.activity("Like", &format!("l{i}"), json!(post)),
        ));
        sends.push((
            remote.clone(),
            remote.activity("Announce", &format!("a{i}"), json!(post)),
        ));
        if i > 0 {
            let parent = actors[0].note_url("r0");
            let answer = remote.reply(&format!("s{i}"), &parent, "<p>D'accord</p>");
            sends.push((
                remote.clone(),
                remote.activity("Create", &format!("d{i}"), answer),
            ));
        }
    }
    let statuses = burst(&app, &sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");

    let n = actors.len() as i64;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reaction WHERE kind = 'like'")
            .await,
        n
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reaction WHERE kind = 'announce'")
            .await,
        n
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comment WHERE depth = 1 AND parent_id IS NULL")
            .await,
        n,
        "each actor's direct reply"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM comment c JOIN comment p ON c.parent_id = p.id \
             WHERE c.depth = 2 AND p.object_url LIKE '%/notes/r0'"
        )
        .await,
        n - 1,
        "the answers to the first reply hang under it"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notification").await,
        sends.len() as i64,
        "one notification per like, boost and reply"
    );
    let received = app.count("SELECT COUNT(*) FROM received_activity").await;

    // Everything again (the senders did not hear our 202): no second effect.
    let statuses = burst(&app, &sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM reaction").await, 2 * n);
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 2 * n - 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notification").await,
        sends.len() as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM received_activity").await,
        received
    );
}
db_test!(a_burst_of_likes_boosts_and_replies_is_stored_once_each);

async fn a_block_applies_at_once_to_an_actor_kept_in_memory(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = published(&app).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    for remote in [&alice, &bob] {
        let like = remote.activity("Like", "l1", json!(post));
        assert_eq!(send(&app, remote, &like).await, 202);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM reaction").await, 2);

    // Blocked by the CLI (another process, as far as the server's memory knows).
    tribune::service::moderation::block(&app.db, &alice.actor, Some("spam"))
        .await
        .expect("block");
    let before = app.db_snapshot().await;
    let reply = alice.reply("r1", &post, "<p>Encore moi</p>");
    // Not a reply (a mention of the collective): the ordinary path, which must screen it too.
    let mention = json!({
        "id": alice.note_url("m1"),
        "type": "Note",
        "attributedTo": alice.actor,
        "content": "<p>@collectif coucou</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "tag": [{ "type": "Mention", "href": app.url("/actors/collectif").to_string() }],
    });
    for activity in [
        alice.activity("Announce", "a1", json!(post)),
        alice.activity("Create", "c1", reply),
        alice.activity("Create", "c2", mention),
        alice.activity("Undo", "u1", json!(alice.id("l1"))),
    ] {
        let response = alice
            .post(&app.client, app.url("/inbox").as_str(), &activity)
            .await;
        assert_eq!(response.status().as_u16(), 403);
        let body = response.text().await.expect("body");
        assert!(body.contains("blocked"), "{body}");
    }
    crate::support::assert_unchanged(&before, &app.db_snapshot().await);

    // The other actor, in the same moment, is not affected.
    let boost = bob.activity("Announce", "a1", json!(post));
    assert_eq!(send(&app, &bob, &boost).await, 202);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reaction WHERE kind = 'announce'")
            .await,
        1
    );

    // Allowlist mode, saved as the admin panel saves it: bob's instance is not on the list.
    use tribune::db::entity::instance_setting;
    instance_setting::Entity::insert(instance_setting::ActiveModel {
        key: Set(instance_setting::ALLOWLIST_MODE.to_string()),
        value: Set("true".to_string()),
        updated_at: Set(chrono::Utc::now()),
    })
    .exec(&app.db)
    .await
    .expect("allowlist mode");
    let like = bob.activity("Like", "l2", json!(post));
    assert_eq!(send(&app, &bob, &like).await, 403);
}
db_test!(a_block_applies_at_once_to_an_actor_kept_in_memory);

async fn an_actor_deleted_by_another_process_is_fetched_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = published(&app).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l1", json!(post))).await,
        202
    );
    let fetches = alice.actor_gets_signed().len();
    // Another process forgot the actor (as after its account's Delete): the row this server
    // keeps in memory is gone, so a batch naming it fails on the foreign key.
    app.db
        .execute_unprepared(
            "DELETE FROM notification; DELETE FROM reaction; DELETE FROM remote_actor",
        )
        .await
        .expect("forget");
    assert_eq!(
        send(&app, &alice, &alice.activity("Announce", "a1", json!(post))).await,
        202
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reaction r JOIN remote_actor a ON r.actor_id = a.id")
            .await,
        1,
        "stored under the actor's new row"
    );
    assert_eq!(
        alice.actor_gets_signed().len(),
        fetches + 1,
        "the actor was fetched again"
    );
}
db_test!(an_actor_deleted_by_another_process_is_fetched_again);

async fn the_trusted_policy_is_applied_in_batches(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Trusted).await;
    let post = published(&app).await;
    let follower = RemoteServer::start(Behaviour::Ok).await;
    let stranger = RemoteServer::start(Behaviour::Ok).await;
    let follow = follower.follow(app.url("/actors/collectif").as_str(), "f1");
    assert_eq!(send(&app, &follower, &follow).await, 202);
    for remote in [&follower, &stranger] {
        let like = remote.activity("Like", "l1", json!(post));
        assert_eq!(send(&app, remote, &like).await, 202);
    }
    let sends: Vec<(RemoteServer, Value)> = [&follower, &stranger]
        .into_iter()
        .map(|remote| {
            let reply = remote.reply("r1", &post, "<p>Bonjour</p>");
            (remote.clone(), remote.activity("Create", "c1", reply))
        })
        .collect();
    assert_eq!(burst(&app, &sends).await, vec![202, 202]);
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM comment WHERE object_url = '{}'",
            follower.note_url("r1")
        ))
        .await,
        "approved"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM comment WHERE object_url = '{}'",
            stranger.note_url("r1")
        ))
        .await,
        "pending"
    );
}
db_test!(the_trusted_policy_is_applied_in_batches);

/// Arrivals that wait together go into one transaction. On a single-threaded runtime the
/// writer runs only once every submission is queued, so the batch is exactly these.
async fn arrivals_waiting_together_are_stored_in_one_batch(backend: Backend) {
    use std::sync::Arc;
    use tribune::{
        db::entity::remote_actor,
        service::intake::{Arrival, Outcome, What},
    };
    let app = TestApp::spawn(backend).await;
    let post = published(&app).await;
    let public_id = post.rsplit('/').next().expect("id").to_string();
    let actors = servers(5).await;
    for remote in &actors {
        let like = remote.activity("Like", "l1", json!(post));
        assert_eq!(send(&app, remote, &like).await, 202);
    }
    let rows = remote_actor::Entity::find()
        .all(&app.db)
        .await
        .expect("actors");
    let boost = |row: &remote_actor::Model, id: &str, post: Option<&str>| Arrival {
        activity_id: format!(
            "{}/activities/{id}",
            row.actor_url.trim_end_matches("/users/alice")
        ),
        kind: "Announce",
        actor: Arc::new(row.clone()),
        actor_url: url::Url::parse(&row.actor_url).expect("url"),
        what: What::Reaction {
            kind: "announce",
            object_url: post.map_or("https://elsewhere.example/notes/1".to_string(), |p| {
                app.url(&format!("/posts/{p}")).to_string()
            }),
            post: post.map(str::to_string),
        },
    };
    let mut arrivals: Vec<Arrival> = rows
        .iter()
        .map(|row| boost(row, "a1", Some(&public_id)))
        .collect();
    arrivals.push(boost(&rows[0], "a1", Some(&public_id))); // the same activity twice
    arrivals.push(boost(&rows[1], "l1", Some(&public_id))); // received before, over HTTP
    arrivals.push(boost(&rows[2], "x1", None)); // not about our post
    arrivals.push(boost(&rows[3], "x2", Some("no-such-post")));
    let before = app.state.intake.counts();
    let outcomes = join_all(arrivals.into_iter().map(|a| app.state.intake.submit(a))).await;
    let after = app.state.intake.counts();

    let mut expected = vec![Outcome::Stored; rows.len()];
    expected.extend([
        Outcome::AlreadySeen,
        Outcome::AlreadySeen,
        Outcome::Stored,
        Outcome::Stored,
    ]);
    assert_eq!(outcomes, expected);
    assert_eq!(after.batches - before.batches, 1, "one transaction");
    assert_eq!(after.activities - before.activities, rows.len() as u64 + 4);
    assert_eq!(after.failed_batches, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reaction WHERE kind = 'announce'")
            .await,
        rows.len() as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notification WHERE kind = 'announce'")
            .await,
        rows.len() as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM received_activity").await,
        2 * rows.len() as i64 + 2,
        "the likes, the boosts and the two about nothing of ours"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains(&format!("tribune_inbox_batches_total {}", after.batches)),
        "{metrics}"
    );
}

mod arrivals_waiting_together_are_stored_in_one_batch {
    #[tokio::test(flavor = "current_thread")]
    async fn sqlite() {
        super::arrivals_waiting_together_are_stored_in_one_batch(crate::support::Backend::Sqlite)
            .await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn postgres() {
        if let Some(backend) = crate::support::Backend::postgres() {
            super::arrivals_waiting_together_are_stored_in_one_batch(backend).await
        }
    }
}
