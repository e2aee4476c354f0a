//! Paths and sizes (Mastodon CVE-2023-36460 is a path traversal in media storage; Tribune
//! serves its assets from memory, and these cases make sure no path reaches the disk): traversal
//! in static routes, over-long URLs, bodies over the cap, deep JSON, huge arrays, non-JSON.

use std::time::{Duration, Instant};

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use serde_json::{Value, json};
use tribune::config::ReplyPolicy;

use super::{
    assert_refused, collective, inbox, post_raw, published, refused_changing_nothing, send, warm,
};
use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, assert_unchanged},
};

async fn traversal_in_static_paths_reaches_no_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.db_snapshot().await;
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E%2FCargo.toml",
        "/static/..%2fCargo.toml",
        "/static/..%5cCargo.toml",
        "/static/tribune.css/../../Cargo.toml",
        "/static/%252e%252e/Cargo.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..%c0%afetc/passwd",
        "/static/tribune.css%00.txt",
        "/posts/..%2f..%2fCargo.toml",
        "/tags/..%2f..%2fetc%2fpasswd",
        "/members/..%2f..%2fCargo.toml",
    ] {
        // Sent as written (reqwest would normalise `..`).
        let raw = format!("{}{}", app.base.as_str().trim_end_matches('/'), path);
        let response = app
            .client
            .get(reqwest::Url::parse(&raw).expect("url"))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(
            !body.contains("[package]") && !body.contains("root:x:0:0"),
            "{path} served a file"
        );
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(traversal_in_static_paths_reaches_no_file);

async fn over_long_urls_and_resources_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.db_snapshot().await;
    let long = "a".repeat(20_000);
    let response = app
        .get(
            &format!("/.well-known/webfinger?resource=acct:{long}@localhost"),
            "*/*",
        )
        .await;
    assert_refused(response, 400, "too long").await;
    for path in [
        format!("/posts/{long}"),
        format!("/tags/{long}"),
        format!("/@{long}"),
    ] {
        let status = app.get(&path, "*/*").await.status().as_u16();
        assert!(status == 404 || status == 400 || status == 414, "{status}");
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(over_long_urls_and_resources_are_refused);

async fn an_inbox_body_over_the_cap_is_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.federation.max_inbox_body_bytes = 8192).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let before = app.db_snapshot().await;
    let mut big = remote.follow(&collective(&app), "1");
    big["padding"] = json!("x".repeat(10_000));
    assert_refused(
        send(&app, &remote, &big).await,
        413,
        "length limit exceeded",
    )
    .await;
    // The same on a member's inbox path, and with a body that is not even JSON.
    assert_refused(
        post_raw(
            &app,
            "/actors/collectif/inbox",
            &remote.signed_headers(
                app.url("/actors/collectif/inbox").as_str(),
                &[b'x'; 9000],
                None,
            ),
            vec![b'x'; 9000],
            false,
        )
        .await,
        413,
        "length limit exceeded",
    )
    .await;
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(an_inbox_body_over_the_cap_is_refused);

async fn deeply_nested_json_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let depth = 10_000;
    let body = format!(
        r#"{{"id":"{}","type":"Create","actor":"{}","object":{}1{}}}"#,
        remote.id("deep"),
        remote.actor,
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes();
    let headers = remote.signed_headers(&inbox(&app), &body, None);
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        400,
        "not valid JSON",
        &[],
    )
    .await;
}
db_test!(deeply_nested_json_is_refused);

async fn huge_address_and_tag_arrays_are_handled_promptly(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = ReplyPolicy::Open;
        s.federation.max_inbox_body_bytes = 8 * 1024 * 1024;
    })
    .await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, _) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    let n = 20_000;
    let mut reply = remote.reply("n1", &post_url, "<p>Beaucoup de monde</p>");
    reply["tag"] = json!((0..n)
        .map(|i| json!({"type": "Mention", "href": format!("{}/users/u{i}", remote.base), "name": format!("@u{i}")}))
        .collect::<Vec<_>>());
    reply["cc"] = json!(
        (0..n)
            .map(|i| format!("{}/users/u{i}", remote.base))
            .collect::<Vec<_>>()
    );
    let mut create = remote.activity("Create", "c1", reply);
    create["to"] = json!(
        (0..n)
            .map(|i| format!("https://x{i}.example/users/u"))
            .collect::<Vec<_>>()
    );
    let started = Instant::now();
    let response = send(&app, &remote, &create).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    // Nothing was sent or queued because of the addresses: one comment and its notification.
    let after = app.db_snapshot().await;
    let added = before.added_in(&after);
    assert!(
        added
            .iter()
            .all(|row| ["comment:", "notification:", "received_activity:"]
                .iter()
                .any(|table| row.starts_with(table))),
        "{added:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
    assert!(remote.received().is_empty());
}
db_test!(huge_address_and_tag_arrays_are_handled_promptly);

async fn bodies_that_are_not_json_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let before = app.db_snapshot().await;
    for (content_type, body) in [
        (
            "application/x-www-form-urlencoded",
            b"type=Follow&actor=x".to_vec(),
        ),
        ("text/plain", b"Follow me".to_vec()),
        ("application/activity+json", b"".to_vec()),
        ("application/activity+json", b"\xff\xfe{}".to_vec()),
        ("application/activity+json", b"[]".to_vec()),
        ("application/activity+json", b"\"a string\"".to_vec()),
    ] {
        let headers: Vec<(String, String)> = remote
            .signed_headers(&inbox(&app), &body, None)
            .into_iter()
            .map(|(k, v)| {
                if k == "content-type" {
                    (k, content_type.to_string())
                } else {
                    (k, v)
                }
            })
            .collect();
        let response = post_raw(&app, "/inbox", &headers, body.clone(), false).await;
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(status, 400, "{content_type} {body:?}: {text}");
        assert!(
            text.contains("not valid JSON") || text.contains("has no id"),
            "{text}"
        );
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(bodies_that_are_not_json_are_refused);

/// Generated activities of every type Tribune acts on, with objects of arbitrary shapes: one
/// value of a generated field set or its replacement by any JSON value.
fn arbitrary_activity(remote: &RemoteServer, post_url: &str) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            remote.actor.clone(),
            remote.note_url("n1"),
            remote.id("x"),
            post_url.to_string(),
            "https://www.w3.org/ns/activitystreams#Public".to_string(),
            "https://elsewhere.example/users/x".to_string(),
            "javascript:alert(1)".to_string(),
            "Note".to_string(),
            "Follow".to_string(),
            "Like".to_string(),
            String::new(),
        ])
        .prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    let names = prop::sample::select(vec![
        "id",
        "type",
        "actor",
        "object",
        "to",
        "cc",
        "tag",
        "inReplyTo",
        "attributedTo",
        "content",
        "contentMap",
        "summary",
        "href",
        "url",
        "updated",
        "published",
    ]);
    let value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..8).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    });
    let kinds = prop::sample::select(vec![
        "Create", "Update", "Delete", "Undo", "Like", "Announce", "Follow", "Accept", "Flag",
    ]);
    let (actor, base) = (remote.actor.clone(), remote.base.clone());
    (kinds, value, 0u32..1_000_000).prop_map(move |(kind, object, n)| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/activities/fuzz-{n}"),
            "type": kind,
            "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": object,
        })
    })
}

async fn arbitrary_activities_never_break_the_inbox(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, _) = published(&app, "Un billet").await;
    let strategy = arbitrary_activity(&remote, &post_url);
    let mut runner = TestRunner::new(Config::with_cases(48));
    for _ in 0..48 {
        let activity = strategy.new_tree(&mut runner).expect("a value").current();
        let response = send(&app, &remote, &activity).await;
        let status = response.status().as_u16();
        assert!(
            [202, 400, 401, 403, 404].contains(&status),
            "{status} for {activity}: {:?}",
            response.text().await
        );
    }
    assert_eq!(app.get("/healthz", "*/*").await.status(), 200);
    // Whatever was accepted left no outgoing work: remote activities are never re-sent.
    assert_eq!(app.count("SELECT COUNT(*) FROM delivery").await, 0);
}
db_test!(arbitrary_activities_never_break_the_inbox);
