//! Forged, tampered and replayed signatures (Misskey CVE-2023-49079: a `Digest` that is not
//! compared with the body). Every refusal happens before anything is stored; the checks that
//! need the actor's key may fetch and cache the actor, which is warmed up first so that the
//! snapshot comparison covers every table.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::{
    assert_refused, collective, inbox, post_raw, refused_changing_nothing, send, warm, with_header,
    with_sig_param,
};
use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, assert_unchanged},
};

/// A Follow of the collective by `remote`, its body and signed headers for the shared inbox.
fn follow_of(app: &TestApp, remote: &RemoteServer, n: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let body = serde_json::to_vec(&remote.follow(&collective(app), n)).expect("json");
    let headers = remote.signed_headers(&inbox(app), &body, None);
    (body, headers)
}

async fn unsigned_post_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, _) = follow_of(&app, &remote, "1");
    let headers = vec![(
        "content-type".to_string(),
        "application/activity+json".to_string(),
    )];
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        401,
        "not signed",
        &[],
    )
    .await;
}
db_test!(unsigned_post_is_refused);

async fn signature_without_key_id_is_malformed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let headers = with_header(
        &headers,
        "signature",
        r#"algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA""#,
    );
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        401,
        "no keyId",
        &[],
    )
    .await;
}
db_test!(signature_without_key_id_is_malformed);

async fn unknown_signature_algorithm_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let before = app.db_snapshot().await;
    for algorithm in ["hmac-sha256", "rsa-sha1", "ed25519-with-a-typo"] {
        let forged = with_sig_param(&headers, "algorithm", algorithm);
        assert_refused(
            post_raw(&app, "/inbox", &forged, body.clone(), false).await,
            401,
            "unsupported signature algorithm",
        )
        .await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(unknown_signature_algorithm_is_refused);

/// A signature whose `headers` list is `covered` is refused, naming what it must cover.
async fn uncovered(backend: Backend, covered: &str, why: &str) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let forged = with_sig_param(&headers, "headers", covered);
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &forged, body, false),
        401,
        why,
        &[],
    )
    .await;
}

async fn signature_not_covering_the_digest_is_refused(backend: Backend) {
    uncovered(
        backend,
        "(request-target) host date content-type",
        "must cover digest",
    )
    .await;
}
db_test!(signature_not_covering_the_digest_is_refused);

async fn signature_not_covering_the_host_is_refused(backend: Backend) {
    uncovered(backend, "(request-target) date digest", "must cover host").await;
}
db_test!(signature_not_covering_the_host_is_refused);

async fn signature_not_covering_the_request_target_is_refused(backend: Backend) {
    uncovered(backend, "host date digest", "must cover (request-target)").await;
}
db_test!(signature_not_covering_the_request_target_is_refused);

async fn signature_not_covering_a_date_is_refused(backend: Backend) {
    uncovered(
        backend,
        "(request-target) host digest",
        "must cover date or (created)",
    )
    .await;
}
db_test!(signature_not_covering_a_date_is_refused);

/// A `Date` two hours away from now (before when `past`) is refused.
async fn dated(backend: Backend, past: bool) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let body = serde_json::to_vec(&remote.follow(&collective(&app), "1")).expect("json");
    let offset = Duration::from_secs(2 * 3600);
    let when = if past {
        SystemTime::now() - offset
    } else {
        SystemTime::now() + offset
    };
    let headers = remote.signed_headers(&inbox(&app), &body, Some(httpdate::fmt_http_date(when)));
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        401,
        "out of the accepted window",
        &[],
    )
    .await;
}

async fn date_two_hours_old_is_refused(backend: Backend) {
    dated(backend, true).await;
}
db_test!(date_two_hours_old_is_refused);

async fn date_two_hours_ahead_is_refused(backend: Backend) {
    dated(backend, false).await;
}
db_test!(date_two_hours_ahead_is_refused);

async fn missing_or_foreign_digest_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let before = app.db_snapshot().await;
    let without: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k != "digest")
        .cloned()
        .collect();
    assert_refused(
        post_raw(&app, "/inbox", &without, body.clone(), false).await,
        401,
        "missing Digest",
    )
    .await;
    // Only a SHA-256 digest counts (Misskey CVE-2023-49079: a digest that is never compared).
    for other in [
        "MD5=XrY7u+Ae7tCTyyK7j1rNww==",
        "SHA-512=AAAA",
        "sha256-but-not-really",
    ] {
        assert_refused(
            post_raw(
                &app,
                "/inbox",
                &with_header(&headers, "digest", other),
                body.clone(),
                false,
            )
            .await,
            401,
            "no SHA-256 digest",
        )
        .await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(missing_or_foreign_digest_is_refused);

async fn body_altered_after_signing_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    // The signed Digest is of the original body; the body sent follows someone else.
    let mut altered: serde_json::Value = serde_json::from_slice(&body).expect("json");
    altered["object"] = json!(app.url("/actors/someone-else").to_string());
    refused_changing_nothing(
        &app,
        post_raw(
            &app,
            "/inbox",
            &headers,
            serde_json::to_vec(&altered).expect("json"),
            false,
        ),
        401,
        "Digest header does not match the body",
        &[],
    )
    .await;
}
db_test!(body_altered_after_signing_is_refused);

async fn digest_recomputed_for_an_altered_body_fails_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (_, headers) = follow_of(&app, &remote, "1");
    // The attacker fixes the Digest for their body, but the signature covered the old one.
    let other = serde_json::to_vec(&remote.follow(&collective(&app), "2")).expect("json");
    let fixed = remote
        .signed_headers(&inbox(&app), &other, None)
        .into_iter()
        .find(|(k, _)| k == "digest")
        .expect("digest");
    let forged = with_header(&headers, "digest", &fixed.1);
    // A failed verification refetches the actor once (its key may have rotated): the cached
    // row's fetch time moves, nothing else.
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &forged, other, false),
        401,
        "does not verify",
        &["remote_actor"],
    )
    .await;
}
db_test!(digest_recomputed_for_an_altered_body_fails_verification);

async fn signature_for_another_path_fails_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let body = serde_json::to_vec(&remote.follow(&collective(&app), "1")).expect("json");
    // Signed for the collective's own inbox, replayed on the shared inbox.
    let headers = remote.signed_headers(app.url("/actors/collectif/inbox").as_str(), &body, None);
    // The refetch after a failed verification updates the cached actor's fetch time only.
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        401,
        "does not verify",
        &["remote_actor"],
    )
    .await;
}
db_test!(signature_for_another_path_fails_verification);

async fn signature_for_another_host_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let body = serde_json::to_vec(&remote.follow(&collective(&app), "1")).expect("json");
    // A request signed for another server, replayed here with its signed Host.
    let elsewhere = format!(
        "http://other.example:{}/inbox",
        app.base.port().unwrap_or(80)
    );
    let headers = remote.signed_headers(&elsewhere, &body, None);
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, true),
        401,
        "signed Host is not this server",
        &[],
    )
    .await;
}
db_test!(signature_for_another_host_is_refused);

async fn replayed_activity_has_no_second_effect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let response = post_raw(&app, "/inbox", &headers, body.clone(), false).await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 1);
    let before = app.db_snapshot().await;
    // The same request again, byte for byte (within the Date window), then freshly signed.
    assert_eq!(
        post_raw(&app, "/inbox", &headers, body.clone(), false)
            .await
            .status(),
        202
    );
    assert_eq!(
        send(&app, &remote, &serde_json::from_slice(&body).expect("json"))
            .await
            .status(),
        202
    );
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(replayed_activity_has_no_second_effect);

async fn rfc9421_only_signature_asks_for_another_format(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, _) = follow_of(&app, &remote, "1");
    let headers = vec![
        (
            "signature-input".to_string(),
            format!(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\");keyid=\"{}\"",
                remote.key_id
            ),
        ),
        ("signature".to_string(), "sig1=:AAAA:".to_string()),
        (
            "content-type".to_string(),
            "application/activity+json".to_string(),
        ),
    ];
    // 401 (not 400): a double-knocking sender retries with draft-cavage.
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &headers, body, false),
        401,
        "draft-cavage",
        &[],
    )
    .await;
}
db_test!(rfc9421_only_signature_asks_for_another_format);

async fn get_signature_replayed_on_a_post_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    // What a signed GET (a fetch) covers: no digest, so its signature says nothing of a body.
    let forged = with_sig_param(&headers, "headers", "(request-target) host date accept");
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &forged, body, false),
        401,
        "must cover digest",
        &[],
    )
    .await;
}
db_test!(get_signature_replayed_on_a_post_is_refused);

async fn key_of_another_actor_on_the_same_host_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let key_of_bob = format!("{}/users/bob#main-key", remote.base);
    let forged = with_sig_param(&headers, "keyId", &key_of_bob);
    // The key mismatch makes Tribune refetch the actor once (keys rotate): its fetch time moves.
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &forged, body, false),
        401,
        "the signing key is not the actor's key",
        &["remote_actor"],
    )
    .await;
}
db_test!(key_of_another_actor_on_the_same_host_is_refused);

async fn key_id_that_is_not_a_url_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let (body, headers) = follow_of(&app, &remote, "1");
    let forged = with_sig_param(&headers, "keyId", "main-key");
    refused_changing_nothing(
        &app,
        post_raw(&app, "/inbox", &forged, body, false),
        401,
        "keyId is not a URL",
        &[],
    )
    .await;
}
db_test!(key_id_that_is_not_a_url_is_refused);
