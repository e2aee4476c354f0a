//! Following and delivery through the real inbox with real signatures: follows accepted (or held
//! for approval), undone, refused when forged; posts delivered to every follower's server once,
//! retried, dropped or parked as their servers answer.

use std::time::Duration;

use serde_json::{Value, json};
use tribune::domain::member::Role;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::note,
    support::{Backend, TestApp},
};

fn actor_url(app: &TestApp) -> String {
    app.url("/actors/collectif").to_string()
}

async fn followers(app: &TestApp, state: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM follower WHERE state = '{state}'"
    ))
    .await
}

/// Everything an inbox test must leave untouched when it refuses.
async fn snapshot(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) FROM follower").await,
        app.count("SELECT COUNT(*) FROM received_activity").await,
        app.count("SELECT COUNT(*) FROM activity").await,
        app.count("SELECT COUNT(*) FROM delivery").await,
    )
}

async fn a_follow_is_accepted_and_the_accept_delivered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let follow = remote.follow(&actor_url(&app), "1");
    let response = remote
        .post(
            &app.client,
            app.url("/actors/collectif/inbox").as_str(),
            &follow,
        )
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    assert_eq!(followers(&app, "accepted").await, 1);

    app.deliver().await;
    let received = remote.received();
    assert_eq!(received.len(), 1, "one Accept");
    let accept = &received[0].body;
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["actor"], actor_url(&app));
    assert_eq!(accept["object"]["id"], follow["id"]);
    assert_eq!(accept["object"]["type"], "Follow");
    assert_eq!(
        received[0].path, "/users/alice/inbox",
        "an Accept goes to the follower's own inbox"
    );
    let signature = received[0]
        .headers
        .get("signature")
        .expect("signed")
        .to_str()
        .expect("ascii");
    assert!(
        signature.contains(&format!("keyId=\"{}#main-key\"", actor_url(&app))),
        "{signature}"
    );
    assert!(received[0].headers.contains_key("digest"));

    // The same Follow delivered again: 202, no second effect.
    let again = remote
        .post(&app.client, app.url("/inbox").as_str(), &follow)
        .await;
    assert_eq!(again.status(), 202);
    assert_eq!(followers(&app, "accepted").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Accept'")
            .await,
        1
    );

    // Tribune fetched alice's actor with a signed GET (authorized-fetch servers require it).
    let gets = remote.actor_gets_signed();
    assert!(
        !gets.is_empty() && gets.iter().all(|signed| *signed),
        "{gets:?}"
    );

    // The followers collection counts them.
    let collection = app.get_activity_json("/actors/collectif/followers").await;
    assert_eq!(collection["totalItems"], 1);
}
db_test!(a_follow_is_accepted_and_the_accept_delivered);

async fn undo_follow_removes_the_follower_only_from_its_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let other = RemoteServer::start(Behaviour::Ok).await;
    let follow = remote.follow(&actor_url(&app), "1");
    remote
        .post(&app.client, app.url("/inbox").as_str(), &follow)
        .await;
    assert_eq!(followers(&app, "accepted").await, 1);

    // Another server cannot undo alice's follow: its Undo names alice as the follow's actor.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": other.id("undo-forged"),
        "type": "Undo",
        "actor": other.actor,
        "object": follow,
    });
    let response = other
        .post(&app.client, app.url("/inbox").as_str(), &forged)
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(followers(&app, "accepted").await, 1);

    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.id("undo-1"),
        "type": "Undo",
        "actor": remote.actor,
        "object": follow,
    });
    assert_eq!(
        remote
            .post(&app.client, app.url("/inbox").as_str(), &undo)
            .await
            .status(),
        202
    );
    assert_eq!(followers(&app, "accepted").await, 0);
}
db_test!(undo_follow_removes_the_follower_only_from_its_owner);

async fn follows_wait_for_approval_when_the_collective_approves_by_hand(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |s| s.collective.manually_approves_followers = true).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    alice
        .post(
            &app.client,
            app.url("/inbox").as_str(),
            &alice.follow(&actor_url(&app), "1"),
        )
        .await;
    bob.post(
        &app.client,
        app.url("/inbox").as_str(),
        &bob.follow(&actor_url(&app), "1"),
    )
    .await;
    assert_eq!(followers(&app, "pending").await, 2);
    app.deliver().await;
    assert!(
        alice.received().is_empty(),
        "nothing sent before a decision"
    );

    let pending = tribune::service::follow::list(&app.state, true)
        .await
        .expect("list");
    let alice_row = pending
        .iter()
        .find(|f| f.actor_url == alice.actor)
        .expect("alice pending");
    let bob_row = pending
        .iter()
        .find(|f| f.actor_url == bob.actor)
        .expect("bob pending");
    tribune::service::follow::approve(&app.state, alice_row.id)
        .await
        .expect("approve");
    tribune::service::follow::reject(&app.state, bob_row.id)
        .await
        .expect("reject");
    app.deliver().await;
    assert_eq!(alice.received()[0].body["type"], "Accept");
    assert_eq!(bob.received()[0].body["type"], "Reject");
    assert_eq!(followers(&app, "accepted").await, 1);
    assert_eq!(followers(&app, "pending").await, 0);

    // An admin removes a follower: a Reject tells their server.
    tribune::service::follow::reject(&app.state, alice_row.id)
        .await
        .expect("remove");
    app.deliver().await;
    assert_eq!(
        alice.received().last().expect("sent").body["type"],
        "Reject"
    );
    assert_eq!(followers(&app, "accepted").await, 0);
}
db_test!(follows_wait_for_approval_when_the_collective_approves_by_hand);

async fn forged_and_malformed_requests_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.federation.max_inbox_body_bytes = 4096).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let other = RemoteServer::start(Behaviour::Ok).await;
    let inbox = app.url("/inbox").to_string();
    let follow = remote.follow(&actor_url(&app), "1");
    let body = serde_json::to_vec(&follow).expect("json");
    let before = snapshot(&app).await;

    let send = |headers: Vec<(String, String)>, body: Vec<u8>| {
        let mut request = app.client.post(&inbox);
        for (name, value) in headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        request.body(body).send()
    };
    type Case<'a> = (&'a str, Vec<(String, String)>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "unsigned",
            vec![("content-type".into(), "application/activity+json".into())],
            body.clone(),
            401,
            "not signed",
        ),
        (
            "digest of another body",
            remote.signed_headers(&inbox, br#"{"other":true}"#, None),
            body.clone(),
            401,
            "Digest",
        ),
        (
            "date two hours old",
            remote.signed_headers(
                &inbox,
                &body,
                Some(httpdate::fmt_http_date(
                    std::time::SystemTime::now() - Duration::from_secs(7200),
                )),
            ),
            body.clone(),
            401,
            "window",
        ),
        (
            "signature tampered with",
            remote
                .signed_headers(&inbox, &body, None)
                .into_iter()
                .map(|(k, v)| {
                    if k == "signature" {
                        (k, v.replace("signature=\"", "signature=\"AAAA"))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            body.clone(),
            401,
            "",
        ),
        (
            "RFC 9421 only",
            vec![
                (
                    "signature-input".into(),
                    "sig1=(\"@method\" \"@target-uri\");keyid=\"k\"".into(),
                ),
                ("signature".into(), "sig1=:AAAA:".into()),
            ],
            body.clone(),
            401,
            "draft-cavage",
        ),
    ];
    for (name, headers, body, status, message) in cases {
        let response = send(headers, body).await.expect("request");
        assert_eq!(response.status(), status, "{name}");
        let error: Value = response.json().await.expect("json error");
        assert!(
            error["error"].as_str().expect("message").contains(message),
            "{name}: {error}"
        );
    }

    // Signed by one server, claiming to come from another's actor.
    let impersonation = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": other.id("follow-x"),
        "type": "Follow",
        "actor": other.actor,
        "object": actor_url(&app),
    });
    assert_eq!(
        remote
            .post(&app.client, &inbox, &impersonation)
            .await
            .status(),
        401
    );

    // An activity id on another host than its actor.
    let mut foreign_id = follow.clone();
    foreign_id["id"] = json!(other.id("follow-y"));
    assert_eq!(
        remote.post(&app.client, &inbox, &foreign_id).await.status(),
        403
    );

    // Malformed JSON, correctly signed.
    let garbage = b"{not json".to_vec();
    let response = send(remote.signed_headers(&inbox, &garbage, None), garbage)
        .await
        .expect("request");
    assert_eq!(response.status(), 400);

    // A Follow of someone who does not exist here.
    let mut nobody = remote.follow(app.url("/actors/nobody").as_str(), "2");
    nobody["id"] = json!(remote.id("follow-nobody"));
    assert_eq!(
        remote.post(&app.client, &inbox, &nobody).await.status(),
        404
    );

    // Too large.
    let big = json!({"id": remote.id("big"), "type": "Note", "actor": remote.actor, "content": "x".repeat(5000)});
    assert_eq!(remote.post(&app.client, &inbox, &big).await.status(), 413);

    assert_eq!(
        snapshot(&app).await,
        before,
        "no refused request changed anything"
    );

    // An activity type Tribune does not act on: accepted, ignored.
    let unknown = json!({"id": remote.id("x"), "type": "Flag", "actor": remote.actor, "object": actor_url(&app)});
    assert_eq!(
        remote.post(&app.client, &inbox, &unknown).await.status(),
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 0);
}
db_test!(forged_and_malformed_requests_are_refused_and_change_nothing);

async fn a_rotated_key_is_refetched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    // Tribune caches a key that is not the one the actor signs with (as after a rotation).
    let stale = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
    let real = {
        let doc: Value = reqwest::get(&remote.actor)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        doc["publicKey"]["publicKeyPem"]
            .as_str()
            .expect("pem")
            .to_string()
    };
    remote.set_public_pem(stale.public_key);
    let first = remote.follow(&actor_url(&app), "1");
    assert_eq!(
        remote
            .post(&app.client, app.url("/inbox").as_str(), &first)
            .await
            .status(),
        401
    );
    remote.set_public_pem(real);
    let second = remote.follow(&actor_url(&app), "2");
    let response = remote
        .post(&app.client, app.url("/inbox").as_str(), &second)
        .await;
    assert_eq!(
        response.status(),
        202,
        "the key was fetched again: {:?}",
        response.text().await
    );
    assert_eq!(followers(&app, "accepted").await, 1);
}
db_test!(a_rotated_key_is_refetched);

/// Adds `n` accepted followers of the collective whose inboxes are on `server` (distinct personal
/// inboxes, one shared inbox).
async fn add_followers(app: &TestApp, server: &RemoteServer, n: usize) {
    let actor_id = app
        .count("SELECT id FROM local_actor WHERE username = 'collectif'")
        .await;
    for i in 0..n {
        use sea_orm::ConnectionTrait;
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) \
                 VALUES ({actor_id}, '{b}/users/u{i}', '{b}/users/u{i}/inbox', '{b}/inbox', 'accepted', CURRENT_TIMESTAMP)",
                b = server.base
            ))
            .await
            .expect("insert follower");
    }
}

/// `n` stand-in servers behaving as `behaviour`, each with one follower of the collective.
/// Makes the deliveries to `hosts` due an hour ago, so the worker claims them before the rest.
async fn first_in_the_queue(app: &TestApp, hosts: &[String]) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    use tribune::db::entity::delivery;
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(delivery::Column::Host.is_in(hosts.iter().cloned()))
        .exec(&app.db)
        .await
        .expect("first in the queue");
}

async fn servers_with_a_follower(
    app: &TestApp,
    n: usize,
    behaviour: Behaviour,
) -> Vec<RemoteServer> {
    let mut servers = Vec::new();
    for _ in 0..n {
        let server = RemoteServer::start(behaviour.clone()).await;
        add_followers(app, &server, 1).await;
        servers.push(server);
    }
    servers
}

async fn a_post_reaches_each_server_once_and_edits_and_deletes_follow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let one = RemoteServer::start(Behaviour::Ok).await;
    let two = RemoteServer::start(Behaviour::Ok).await;
    add_followers(&app, &one, 3).await;
    add_followers(&app, &two, 2).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&editor, note("Bonjour le fédivers")).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery").await,
        2,
        "one row per shared inbox"
    );
    app.deliver().await;
    for server in [&one, &two] {
        let received = server.received();
        assert_eq!(received.len(), 1, "exactly one POST per server");
        assert_eq!(received[0].path, "/inbox", "to the shared inbox");
        assert_eq!(received[0].body["type"], "Create");
        assert!(
            received[0].body["object"]["content"]
                .as_str()
                .expect("c")
                .contains("Bonjour le fédivers")
        );
    }

    let post = tribune::db::post::find_by_public_id(&app.db, &id)
        .await
        .expect("q")
        .expect("post");
    tribune::service::post::update(
        &app.state,
        &editor,
        &id,
        post.version,
        note("Bonjour, le fédivers !"),
    )
    .await
    .expect("edit");
    tribune::service::post::delete(&app.state, &editor, &id)
        .await
        .expect("delete");
    app.deliver().await;
    let mut kinds: Vec<String> = one
        .received()
        .iter()
        .map(|r| r.body["type"].as_str().expect("type").to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["Create", "Delete", "Update"]);
    let counts = tribune::delivery::queue::counts(&app.db, Some(post.id))
        .await
        .expect("counts");
    assert_eq!((counts.delivered, counts.pending, counts.failed), (6, 0, 0));
}
db_test!(a_post_reaches_each_server_once_and_edits_and_deletes_follow);

async fn failures_are_retried_dropped_or_parked(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.request_timeout_seconds = 1;
        s.delivery.stalled_after_seconds = 0.5;
        s.delivery.lease_seconds = 3;
        // The horizon and the unreachable threshold shrunk to seconds for the test.
        s.delivery.unreachable_after_hours = 0.3 / 3600.0;
        s.delivery.give_up_after_hours = 2.0 / 3600.0;
    })
    .await;
    let flaky = RemoteServer::start(Behaviour::FailThenOk(500, 2)).await;
    let gone = RemoteServer::start(Behaviour::Always(410)).await;
    let hanging = RemoteServer::start(Behaviour::Hang).await;
    let dead = RemoteServer::start(Behaviour::Always(503)).await;
    for server in [&flaky, &gone, &hanging, &dead] {
        add_followers(&app, server, 1).await;
    }
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Résiste")).await;

    // The hanging server must not hold the others back.
    hanging.set_behaviour(Behaviour::Hang);
    app.deliver_until_settled(Duration::from_secs(20)).await;

    let state_of = |server: &RemoteServer| {
        format!(
            "SELECT state FROM delivery WHERE host = '{}'",
            server.base.trim_start_matches("http://")
        )
    };
    assert_eq!(
        app.text(&state_of(&flaky)).await,
        "delivered",
        "500, 500, then delivered"
    );
    assert_eq!(flaky.calls(), 3);
    assert_eq!(app.text(&state_of(&gone)).await, "failed", "410 is final");
    assert_eq!(gone.calls(), 1, "never retried");
    let hung = app.text(&state_of(&hanging)).await;
    let dead_state = app.text(&state_of(&dead)).await;
    assert!(
        ["parked", "failed"].contains(&hung.as_str()),
        "timeouts retried then parked: {hung}"
    );
    assert!(
        ["parked", "failed"].contains(&dead_state.as_str()),
        "{dead_state}"
    );
    assert!(
        dead.calls() >= 2,
        "retried before parking: {}",
        dead.calls()
    );
    let hosts = tribune::delivery::queue::hosts(&app.db)
        .await
        .expect("hosts");
    let dead_host = hosts
        .iter()
        .find(|h| h.host == dead.base.trim_start_matches("http://"))
        .expect("dead host known");
    assert_eq!(dead_host.state, "unreachable");

    // After the horizon, what stayed parked shows as failed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.deliver().await;
    assert_eq!(app.text(&state_of(&dead)).await, "failed");
}
db_test!(failures_are_retried_dropped_or_parked);

/// Servers that accept and never answer must not hold back those that answer: a request still
/// unanswered after `stalled_after_seconds` gives its global slot to the next delivery. With two
/// slots and the four hanging servers claimed first, the six healthy ones are all served while
/// every hanging request is still outstanding (none has timed out and been recorded).
async fn hanging_servers_do_not_hold_back_the_others(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.max_concurrency = 2;
        s.delivery.stalled_after_seconds = 0.2;
        s.delivery.request_timeout_seconds = 5;
        s.delivery.lease_seconds = 10;
    })
    .await;
    let hanging = servers_with_a_follower(&app, 4, Behaviour::Hang).await;
    let healthy = servers_with_a_follower(&app, 6, Behaviour::Ok).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Sans attendre")).await;
    // The hanging servers' deliveries first in the queue, so they take both slots at once.
    let host = |server: &RemoteServer| server.base.trim_start_matches("http://").to_string();
    let hanging_hosts: Vec<String> = hanging.iter().map(host).collect();
    first_in_the_queue(&app, &hanging_hosts).await;

    let worker = tribune::delivery::worker::Worker::new(app.state.clone());
    let drain = tokio::spawn(async move { worker.drain().await });
    let in_list = hanging_hosts
        .iter()
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let hanging_recorded =
        format!("SELECT COUNT(*) FROM delivery WHERE host IN ({in_list}) AND attempts > 0");
    let healthy_delivered = format!(
        "SELECT COUNT(*) FROM delivery WHERE host NOT IN ({in_list}) AND state = 'delivered'"
    );
    // Not a timing threshold: whichever comes first, the healthy deliveries recorded or a
    // hanging request's end (its timeout, recorded as a retry), decides. The deadline only
    // keeps a broken worker from looping forever.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(
            app.count(&hanging_recorded).await,
            0,
            "a hanging request ended before every healthy server was served:\n{}",
            app.queue_report().await
        );
        if app.count(&healthy_delivered).await == 6 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            app.queue_report().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for server in &healthy {
        assert_eq!(server.received().len(), 1, "{} served once", server.base);
        assert_eq!(server.received()[0].body["type"], "Create");
    }
    // The hanging requests were sent and are still open, not waiting to be sent.
    for server in &hanging {
        assert_eq!(server.calls(), 1, "{} contacted", server.base);
    }
    assert_eq!(
        app.count(&hanging_recorded).await,
        0,
        "{}",
        app.queue_report().await
    );
    drain.abort();
}
db_test!(hanging_servers_do_not_hold_back_the_others);

/// A send gives its slot back once the other server has answered, not once its success is
/// committed: successes are recorded in batches that linger, and a slot held meanwhile is a
/// delivery not sent. With one slot and the first delivery's record blocked (its host's row
/// locked by an open transaction), the next servers are still served. PostgreSQL only: there
/// a row lock blocks the record and not the claims; SQLite's single writer would block both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_is_free_once_the_server_answered() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let app = TestApp::spawn_with(backend, |s| s.delivery.max_concurrency = 1).await;
    let first = servers_with_a_follower(&app, 1, Behaviour::Ok).await;
    let others = servers_with_a_follower(&app, 2, Behaviour::Ok).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Une place rendue")).await;
    let first_host = first[0].base.trim_start_matches("http://").to_string();
    first_in_the_queue(&app, std::slice::from_ref(&first_host)).await;
    // A host row the first success must write (a failure on record), locked until the end.
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO remote_host (host, state, consecutive_failures, failing_since, \
             last_success_at, last_failure_at, last_error) \
             VALUES ('{first_host}', 'reachable', 1, CURRENT_TIMESTAMP, NULL, CURRENT_TIMESTAMP, 'status 503')"
        ))
        .await
        .expect("host row");
    let lock = app.db.begin().await.expect("begin");
    lock.execute_unprepared(&format!(
        "SELECT host FROM remote_host WHERE host = '{first_host}' FOR UPDATE"
    ))
    .await
    .expect("lock the host row");

    let worker = tribune::delivery::worker::Worker::new(app.state.clone());
    let drain = tokio::spawn(async move { worker.drain().await });
    // The deadline only keeps a worker that holds its slot from looping forever.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while others.iter().any(|server| server.calls() == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the other servers were not served while the first success waited to be recorded:\n{}",
            app.queue_report().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(first[0].calls(), 1, "the first server was served first");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'delivered'")
            .await,
        0,
        "nothing recorded while the first record is blocked:\n{}",
        app.queue_report().await
    );
    lock.rollback().await.expect("unlock");
    drain.await.expect("drain task").expect("drain");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'delivered'")
            .await,
        3,
        "{}",
        app.queue_report().await
    );
    for server in first.iter().chain(&others) {
        assert_eq!(server.received().len(), 1, "{} served once", server.base);
    }
}

/// On SQLite the delivery queue's statements go through the batch writers' connection, not
/// the main pool: deliveries go out and are recorded while the main pool is taken whole (here
/// its one connection, held by an open transaction, as a burst of page reads would hold ten).
/// SQLite only: on PostgreSQL the queue shares the main pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_go_on_while_the_main_pool_is_taken() {
    use sea_orm::TransactionTrait;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database.max_connections = 1;
        // Long enough that a delivery waiting for the pool is caught by the deadline below,
        // not by the pool's own timeout.
        s.database.connect_timeout_seconds = 120;
    })
    .await;
    let servers = servers_with_a_follower(&app, 2, Behaviour::Ok).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Pendant que le pool est pris"))
        .await;

    let held = app
        .state
        .db
        .begin()
        .await
        .expect("take the main pool's only connection");
    let worker = tribune::delivery::worker::Worker::new(app.state.clone());
    let drained = tokio::time::timeout(Duration::from_secs(15), worker.drain()).await;
    held.rollback().await.expect("give the connection back");
    drained
        .expect("the deliveries waited for the main pool")
        .expect("drain");
    for server in &servers {
        assert_eq!(server.received().len(), 1, "{} served once", server.base);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'delivered'")
            .await,
        2,
        "{}",
        app.queue_report().await
    );
}

async fn a_parked_host_revives_when_it_contacts_us(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.unreachable_after_hours = 0.1 / 3600.0
    })
    .await;
    let server = RemoteServer::start(Behaviour::Always(503)).await;
    add_followers(&app, &server, 1).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Un")).await;
    app.deliver().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.deliver_until_settled(Duration::from_secs(20)).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'parked'")
            .await,
        1,
        "{}",
        app.queue_report().await
    );
    // A second post to the parked host is parked at once: no hammering.
    app.publish_post(&editor, note("Deux")).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'parked'")
            .await,
        2,
        "{}",
        app.queue_report().await
    );

    server.set_behaviour(Behaviour::Ok);
    let follow = server.follow(&actor_url(&app), "revive");
    let response = server
        .post(&app.client, app.url("/inbox").as_str(), &follow)
        .await;
    let status = response.status();
    assert_eq!(status, 202, "{}", response.text().await.unwrap_or_default());
    app.deliver_until_settled(Duration::from_secs(20)).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'parked'")
            .await,
        0,
        "{}",
        app.queue_report().await
    );
    let kinds: Vec<String> = server
        .received()
        .iter()
        .map(|r| r.body["type"].as_str().expect("type").to_string())
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "Create").count() == 2,
        "{kinds:?}\n{}",
        app.queue_report().await
    );
}
db_test!(a_parked_host_revives_when_it_contacts_us);

/// Two deliveries to one host fail at the same time; the first marks the host unreachable and
/// parks what is pending while the second is still in flight. The second, recorded after that,
/// is parked too instead of retrying a host known to be down.
async fn a_delivery_in_flight_when_its_host_goes_down_is_parked(backend: Backend) {
    use tribune::delivery::queue::{self, Outcome};
    let app = TestApp::spawn(backend).await;
    let server = RemoteServer::start(Behaviour::Always(503)).await;
    add_followers(&app, &server, 1).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Un")).await;
    app.publish_post(&editor, note("Deux")).await;
    let now = chrono::Utc::now();
    let claimed = queue::claim(&app.db, "test", now, Duration::from_secs(60), 10, &[])
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2, "{}", app.queue_report().await);
    let down_after = Duration::from_secs(1);
    let retry = |at| Outcome::Retry {
        status: Some(503),
        error: "status 503".into(),
        at,
    };
    let host = &claimed[0].host;
    assert!(
        !queue::host_failed(&app.db, host, "status 503", now, down_after)
            .await
            .expect("failure")
    );
    let later = now + chrono::Duration::seconds(2);
    queue::record(&app.db, &claimed[0], &retry(later), later)
        .await
        .expect("record");
    assert!(
        queue::host_failed(&app.db, host, "status 503", later, down_after)
            .await
            .expect("failure"),
        "down after failing for longer than the limit"
    );
    queue::record(&app.db, &claimed[1], &retry(later), later)
        .await
        .expect("record");
    assert!(
        !queue::host_failed(&app.db, host, "status 503", later, down_after)
            .await
            .expect("failure"),
        "already down"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'parked'")
            .await,
        2,
        "{}",
        app.queue_report().await
    );
}
db_test!(a_delivery_in_flight_when_its_host_goes_down_is_parked);

/// A success writes the host's row only when it changes something: a host already known good
/// is left untouched (its `last_success_at` kept within the minute), a failure recorded in the
/// meantime (by this or another process) is cleared, a new host gets its row.
async fn a_success_writes_the_host_only_when_it_changes_something(backend: Backend) {
    use tribune::delivery::queue;
    let app = TestApp::spawn(backend).await;
    let host = "good.example";
    let row = || async {
        queue::hosts(&app.db)
            .await
            .expect("hosts")
            .into_iter()
            .find(|h| h.host == host)
    };
    let t0 = chrono::Utc::now();
    assert!(row().await.is_none());
    queue::host_succeeded(&app.db, host, t0)
        .await
        .expect("success");
    let first = row().await.expect("a new host gets its row");
    assert_eq!(
        (first.state.as_str(), first.consecutive_failures),
        ("reachable", 0)
    );
    let recorded = first.last_success_at.expect("last success");

    // Known good and recent: nothing written.
    let t1 = t0 + chrono::Duration::seconds(30);
    queue::host_succeeded(&app.db, host, t1)
        .await
        .expect("success");
    assert_eq!(
        row().await.expect("row"),
        first,
        "a known-good host is not rewritten"
    );

    // A failure recorded since (as by another process sharing the database) is cleared.
    queue::host_failed(&app.db, host, "status 503", t1, Duration::from_secs(3600))
        .await
        .expect("failure");
    let t2 = t1 + chrono::Duration::seconds(1);
    queue::host_succeeded(&app.db, host, t2)
        .await
        .expect("success");
    let cleared = row().await.expect("row");
    assert_eq!(cleared.consecutive_failures, 0);
    assert_eq!(cleared.failing_since, None);
    assert_eq!(cleared.last_error, None);
    assert!(cleared.last_success_at > Some(recorded));

    // Still good, but the last success is over a minute old: written again.
    let t3 = t2 + chrono::Duration::seconds(120);
    queue::host_succeeded(&app.db, host, t3)
        .await
        .expect("success");
    let refreshed = row().await.expect("row");
    assert!(refreshed.last_success_at > cleared.last_success_at);
}
db_test!(a_success_writes_the_host_only_when_it_changes_something);

/// Followers are queued inside the database (`queue::enqueue_followers`): one delivery per
/// inbox, shared inboxes preferred, and the host the database computes is the one the workers
/// limit and park by (`queue::host_of`).
async fn followers_are_queued_once_per_inbox_with_their_host(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn(backend).await;
    let actor_id = app
        .count("SELECT id FROM local_actor WHERE username = 'collectif'")
        .await;
    let followers = [
        (
            "https://a.example/users/1",
            "https://a.example/users/1/inbox",
            Some("https://a.example/inbox"),
        ),
        (
            "https://a.example/users/2",
            "https://a.example/users/2/inbox",
            Some("https://a.example/inbox"),
        ),
        (
            "https://B.Example:8443/u/x",
            "https://B.Example:8443/u/x/inbox",
            None,
        ),
        (
            "https://c.example:443/u/y",
            "https://c.example:443/u/y/inbox",
            None,
        ),
        (
            "https://[2001:db8::1]:8080/u/z",
            "https://[2001:db8::1]:8080/u/z/inbox",
            None,
        ),
        (
            "http://d.example/u/w",
            "http://d.example/u/w/inbox?a=1",
            None,
        ),
    ];
    for (actor, inbox, shared) in followers {
        // Stored as Tribune stores them: normalised URLs.
        let norm = |u: &str| url::Url::parse(u).expect("url").to_string();
        let shared = shared.map_or("NULL".to_string(), |s| format!("'{}'", norm(s)));
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) \
                 VALUES ({actor_id}, '{}', '{}', {shared}, 'accepted', CURRENT_TIMESTAMP)",
                norm(actor),
                norm(inbox)
            ))
            .await
            .expect("insert follower");
    }
    // Not accepted yet: not queued.
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO follower (local_actor_id, actor_url, inbox_url, state, created_at) \
             VALUES ({actor_id}, 'https://e.example/u', 'https://e.example/u/inbox', 'pending', CURRENT_TIMESTAMP)"
        ))
        .await
        .expect("insert follower");
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("À tous.")).await;
    let snapshot = app.db_snapshot().await;
    let rows = snapshot.tables.get("delivery").cloned().unwrap_or_default();
    assert_eq!(rows.len(), 5, "one per inbox:\n{}", rows.join("\n"));
    let backend = app.db.get_database_backend();
    let pairs = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT inbox_url, host, state FROM delivery",
        ))
        .await
        .expect("deliveries");
    for row in pairs {
        let inbox: String = row.try_get_by_index(0).expect("inbox");
        let host: String = row.try_get_by_index(1).expect("host");
        let state: String = row.try_get_by_index(2).expect("state");
        let expected = tribune::delivery::queue::host_of(&url::Url::parse(&inbox).expect("url"));
        assert_eq!(host, expected, "host of {inbox}");
        assert_eq!(state, "pending");
    }
}
db_test!(followers_are_queued_once_per_inbox_with_their_host);

/// The ids of the delivery rows, in order.
async fn delivery_ids(app: &TestApp) -> Vec<i64> {
    use sea_orm::{EntityTrait, QueryOrder};
    use tribune::db::entity::delivery;
    delivery::Entity::find()
        .order_by_asc(delivery::Column::Id)
        .all(&app.db)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| d.id)
        .collect()
}

/// The hourly sweep forgets received-activity ids past `federation.remember_received_days` and
/// finished deliveries past `delivery.keep_finished_days`, and nothing else: recent ids,
/// deliveries still pending or parked, and the activities themselves stay.
async fn old_received_ids_and_finished_deliveries_are_forgotten(backend: Backend) {
    use chrono::{Duration as Days, Utc};
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    use tribune::db::entity::{delivery, received_activity};
    let app = TestApp::spawn(backend).await;
    let now = Utc::now();
    for (n, age) in [(1, 20), (2, 15), (3, 13), (4, 0)] {
        received_activity::Entity::insert(received_activity::ActiveModel {
            activity_url: Set(format!("https://remote.example/activities/{n}")),
            kind: Set("Like".into()),
            actor_url: Set("https://remote.example/users/a".into()),
            received_at: Set(now - Days::days(age)),
        })
        .exec(&app.db)
        .await
        .expect("received");
    }
    let _servers = servers_with_a_follower(&app, 5, Behaviour::Ok).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Archivé")).await;
    let ids = delivery_ids(&app).await;
    assert_eq!(ids.len(), 5);
    // delivered 40 days ago, given up 31 days ago, delivered yesterday, parked and pending.
    let arrange = [
        ("delivered", Some(40)),
        ("failed", Some(31)),
        ("delivered", Some(1)),
        ("parked", None),
        ("pending", None),
    ];
    for (id, (state, finished_days_ago)) in ids.iter().zip(arrange) {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::State, Expr::value(state))
            .col_expr(
                delivery::Column::FinishedAt,
                Expr::value(finished_days_ago.map(|d| now - Days::days(d))),
            )
            .col_expr(
                delivery::Column::CreatedAt,
                Expr::value(now - Days::days(45)),
            )
            .filter(delivery::Column::Id.eq(*id))
            .exec(&app.db)
            .await
            .expect("arrange");
    }

    let swept = tribune::service::housekeeping::sweep(&app.state, now)
        .await
        .expect("sweep");
    assert_eq!(
        swept,
        tribune::service::housekeeping::Swept {
            received_ids: 2,
            finished_deliveries: 2
        }
    );
    assert_eq!(
        app.text("SELECT MIN(activity_url) FROM received_activity")
            .await,
        "https://remote.example/activities/3"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM received_activity").await, 2);
    let left = delivery_ids(&app).await;
    assert_eq!(left, ids[2..].to_vec(), "{}", app.queue_report().await);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity").await,
        1,
        "the activity stays"
    );
    let again = tribune::service::housekeeping::sweep(&app.state, now)
        .await
        .expect("sweep");
    assert_eq!(again, Default::default(), "nothing left to forget");
}
db_test!(old_received_ids_and_finished_deliveries_are_forgotten);

async fn metrics_show_the_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = RemoteServer::start(Behaviour::Ok).await;
    add_followers(&app, &server, 1).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Mesuré")).await;
    let text = app
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .expect("metrics");
    assert!(
        text.contains("tribune_delivery_queue{state=\"pending\"} 1"),
        "{text}"
    );
    app.deliver().await;
    let text = app
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .expect("metrics");
    assert!(
        text.contains("tribune_delivery_queue{state=\"delivered\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tribune_deliveries_total{outcome=\"delivered\"}"),
        "{text}"
    );
    assert!(
        text.contains("tribune_delivery_send_seconds_count"),
        "{text}"
    );
}
db_test!(metrics_show_the_queue);

/// Two processes on one PostgreSQL database drain one fan-out together; no inbox gets it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_a_fan_out_without_duplicates() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let servers = servers_with_a_follower(&app, 20, Behaviour::Ok).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    app.publish_post(&editor, note("Partagé")).await;
    let other = tribune::app::prepare(app.settings.clone())
        .await
        .expect("second process");
    let a = tribune::delivery::worker::Worker::new(app.state.clone());
    let b = tribune::delivery::worker::Worker::new(other);
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    ra.expect("a");
    rb.expect("b");
    for server in &servers {
        assert_eq!(
            server.received().len(),
            1,
            "{} got it exactly once",
            server.base
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery WHERE state = 'delivered'")
            .await,
        20
    );
}

/// A mention is resolved by WebFinger, linked like Mastodon links it, tagged, addressed, and
/// delivered to the mentioned account even if it does not follow.
async fn mentions_are_resolved_tagged_and_delivered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let handle = format!("alice@{}", alice.base.trim_start_matches("http://"));
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app
        .publish_post(
            &editor,
            note(&format!(
                "Merci @{handle} et @nobody@unresolvable.invalid !"
            )),
        )
        .await;
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    let content = object["content"].as_str().expect("content");
    assert!(
        content.contains(&format!(r#"<span class="h-card"><a href="{}/@alice" class="u-url mention">@<span>alice</span></a></span>"#, alice.base)),
        "{content}"
    );
    assert!(
        content.contains("@nobody@unresolvable.invalid"),
        "unresolved mentions stay text: {content}"
    );
    let mention = object["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["type"] == "Mention")
        .cloned()
        .expect("a Mention tag");
    assert_eq!(mention["href"], alice.actor);
    assert_eq!(mention["name"], format!("@{handle}"));
    assert!(
        object["cc"]
            .as_array()
            .expect("cc")
            .iter()
            .any(|c| c == &json!(alice.actor))
    );
    app.deliver().await;
    let received = alice.received();
    assert_eq!(received.len(), 1, "the mentioned account got the post");
    assert_eq!(received[0].body["type"], "Create");
}
db_test!(mentions_are_resolved_tagged_and_delivered);

/// With `followers_list_public`, the followers collection lists who follows, page by page.
async fn the_followers_list_can_be_public(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.federation.followers_list_public = true;
        s.publishing.page_size = 2;
    })
    .await;
    let server = RemoteServer::start(Behaviour::Ok).await;
    add_followers(&app, &server, 3).await;
    let collection = app.get_activity_json("/actors/collectif/followers").await;
    assert_eq!(collection["totalItems"], 3);
    let first = app
        .get_activity_json("/actors/collectif/followers?page=1")
        .await;
    assert_eq!(first["type"], "OrderedCollectionPage");
    assert_eq!(first["orderedItems"].as_array().expect("items").len(), 2);
    assert_eq!(
        first["orderedItems"][0],
        format!("{}/users/u0", server.base)
    );
    let next = first["next"].as_str().expect("a next page");
    let second: Value = app
        .client
        .get(next)
        .header("Accept", crate::support::ACCEPT_AS)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(second["orderedItems"].as_array().expect("items").len(), 1);
}
db_test!(the_followers_list_can_be_public);
