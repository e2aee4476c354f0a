//! The security suite, one file per threat (see SECURITY.md): every case is a real request to
//! the real server, asserting the answer (status and a message saying what was wrong) and,
//! through [`crate::support::TestApp::db_snapshot`], that the database did not change.

mod admin;
mod content;
mod fetching;
mod limits;
mod origin;
mod signatures;

use serde_json::{Value, json};
use tribune::domain::member::Role;

use crate::{
    remote::RemoteServer,
    support::{TestApp, assert_unchanged, note},
};

/// The shared inbox of `app`.
pub fn inbox(app: &TestApp) -> String {
    app.url("/inbox").to_string()
}

/// The collective's actor id.
pub fn collective(app: &TestApp) -> String {
    app.url("/actors/collectif").to_string()
}

/// POSTs `body` with `headers` to `path` of `app`. The `host` header is sent only when
/// `keep_host` (otherwise the client sets the real one).
pub async fn post_raw(
    app: &TestApp,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    keep_host: bool,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path));
    for (name, value) in headers {
        if name != "host" || keep_host {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    request.body(body).send().await.expect("request")
}

/// Asserts the status and that the answer's message (the JSON `error`, else the body) says
/// `why` (case-insensitive).
pub async fn assert_refused(response: reqwest::Response, status: u16, why: &str) {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or(text);
    assert_eq!(got, status, "status; message: {message}");
    assert!(
        message.to_lowercase().contains(&why.to_lowercase()),
        "the message should say {why:?}: {message}"
    );
}

/// Sends `request` (not sent until awaited here, after the snapshot) and asserts it is
/// refused with `status` and a message saying `why`, and that no table changed but those in
/// `may_change` (say why at the call site).
pub async fn refused_changing_nothing(
    app: &TestApp,
    request: impl std::future::Future<Output = reqwest::Response>,
    status: u16,
    why: &str,
    may_change: &[&str],
) {
    let mut before = app.db_snapshot().await;
    assert_refused(request.await, status, why).await;
    let mut after = app.db_snapshot().await;
    for table in may_change {
        before = before.without(table);
        after = after.without(table);
    }
    assert_unchanged(&before, &after);
}

/// Replaces the parameter `name` (e.g. `headers`, `keyId`) of the `signature` header.
pub fn with_sig_param(
    headers: &[(String, String)],
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if k != "signature" {
                return (k.clone(), v.clone());
            }
            let parts: Vec<String> = v
                .split("\",")
                .map(|part| {
                    if part.trim_start().starts_with(&format!("{name}=")) {
                        format!("{name}=\"{}", value)
                    } else {
                        part.to_string()
                    }
                })
                .collect();
            (k.clone(), parts.join("\","))
        })
        .collect()
}

/// Replaces (or adds) a header.
pub fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        headers.iter().filter(|(k, _)| k != name).cloned().collect();
    out.push((name.to_string(), value.to_string()));
    out
}

/// Makes Tribune fetch and cache `remote`'s actor (with an activity it accepts and ignores), so
/// that later refusals are compared against a database that already knows the actor.
pub async fn warm(app: &TestApp, remote: &RemoteServer) {
    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.id(&format!("warm-{}", uuid::Uuid::new_v4().simple())),
        "type": "Flag",
        "actor": remote.actor,
        "object": collective(app),
    });
    let response = remote.post(&app.client, &inbox(app), &flag).await;
    assert_eq!(
        response.status(),
        202,
        "warming up: {:?}",
        response.text().await
    );
}

/// Sends `activity` signed by `remote` to the shared inbox.
pub async fn send(app: &TestApp, remote: &RemoteServer, activity: &Value) -> reqwest::Response {
    remote.post(&app.client, &inbox(app), activity).await
}

/// A published post by an editor; returns (its URL, its public id).
pub async fn published(app: &TestApp, body: &str) -> (String, String) {
    let editor = match tribune::service::member::find(&app.db, "eve")
        .await
        .expect("query")
    {
        Some(member) => member,
        None => {
            app.add_member("eve", Role::Editor, "un mot de passe solide")
                .await
        }
    };
    let id = app.publish_post(&editor, note(body)).await;
    (app.url(&format!("/posts/{id}")).to_string(), id)
}
