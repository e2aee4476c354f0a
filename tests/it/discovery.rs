//! Discovery as the fediverse performs it: WebFinger, the actor document, content negotiation,
//! collections, host-meta and NodeInfo.

use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::{
    db_test,
    support::{ACCEPT_AS, ACCEPT_BROWSER, Backend, TestApp, header, run_node},
};

/// Mastodon's check: acct → WebFinger `self` → actor → `preferredUsername@host` → WebFinger
/// again must name the same actor id.
async fn webfinger_round_trip_as_mastodon_checks_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let domain = app.domain();
    let response = app
        .get(
            &format!("/.well-known/webfinger?resource=acct:collectif@{domain}"),
            "application/jrd+json",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/jrd+json");
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    let jrd: Value = response.json().await.expect("jrd");
    assert_eq!(jrd["subject"], format!("acct:collectif@{domain}"));
    let self_link = jrd["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "self" && l["type"] == "application/activity+json")
        .expect("a self link of type application/activity+json");
    let actor_url = self_link["href"].as_str().expect("href");
    let profile_link = jrd["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "http://webfinger.net/rel/profile-page")
        .expect("a profile page link");
    assert_eq!(profile_link["type"], "text/html");

    let actor: Value = app
        .client
        .get(actor_url)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("actor")
        .json()
        .await
        .expect("actor json");
    assert_eq!(
        actor["id"], actor_url,
        "the fetched document's id is the URL fetched"
    );
    let username = actor["preferredUsername"]
        .as_str()
        .expect("preferredUsername");
    let again: Value = app
        .get(
            &format!("/.well-known/webfinger?resource=acct:{username}@{domain}"),
            "*/*",
        )
        .await
        .json()
        .await
        .expect("jrd");
    let again_self = again["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self");
    assert_eq!(again_self["href"], actor_url);

    // The actor URL itself is also a valid resource.
    let by_url: Value = app
        .get(
            &format!("/.well-known/webfinger?resource={actor_url}"),
            "*/*",
        )
        .await
        .json()
        .await
        .expect("jrd");
    assert_eq!(by_url["subject"], format!("acct:collectif@{domain}"));
}
db_test!(webfinger_round_trip_as_mastodon_checks_it);

async fn webfinger_refuses_bad_queries_with_clear_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let domain = app.domain();
    let cases = [
        (
            "/.well-known/webfinger",
            400,
            "missing the resource parameter",
        ),
        ("/.well-known/webfinger?resource=", 400, "empty"),
        (
            "/.well-known/webfinger?resource=nonsense",
            400,
            "expected acct:user@host",
        ),
        (
            "/.well-known/webfinger?resource=acct:a@b@c",
            400,
            "expected acct:user@host",
        ),
        (
            "/.well-known/webfinger?resource=%FF%FE",
            400,
            "expected acct:user@host",
        ),
        (
            &format!("/.well-known/webfinger?resource=acct:nobody@{domain}"),
            404,
            "no account nobody@",
        ),
        (
            "/.well-known/webfinger?resource=acct:collectif@elsewhere.example",
            404,
            "no account",
        ),
        (
            "/.well-known/webfinger?resource=https://elsewhere.example/actors/collectif",
            404,
            "no account",
        ),
    ];
    for (path, status, message) in cases {
        let response = app.get(path, "application/jrd+json").await;
        assert_eq!(response.status(), status, "{path}");
        assert!(
            header(&response, "content-type").starts_with("application/json"),
            "{path}"
        );
        let body: Value = response.json().await.expect("json error");
        let error = body["error"].as_str().expect("an error message");
        assert!(error.contains(message), "{path}: {error}");
    }
}
db_test!(webfinger_refuses_bad_queries_with_clear_errors);

async fn actor_document_has_every_field_mastodon_reads(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.collective.icon_url = "/static/avatar.png".into();
        s.collective.image_url = "https://cdn.example/header.jpg".into();
    })
    .await;
    let actor = app.get_activity_json("/actors/collectif").await;
    let base = app.base.as_str().trim_end_matches('/');
    let id = format!("{base}/actors/collectif");
    assert_eq!(
        actor["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );
    assert_eq!(actor["@context"][1], "https://w3id.org/security/v1");
    assert_eq!(actor["id"], id);
    assert_eq!(actor["type"], "Group");
    assert_eq!(actor["preferredUsername"], "collectif");
    assert_eq!(actor["name"], "Collectif des travailleuses et travailleurs");
    assert_eq!(
        actor["summary"],
        "<p>Une lettre ouverte.</p><p>Deux mille signatures.</p>"
    );
    assert_eq!(actor["url"], format!("{base}/@collectif"));
    assert_eq!(actor["inbox"], format!("{id}/inbox"));
    assert_eq!(actor["outbox"], format!("{id}/outbox"));
    assert_eq!(actor["followers"], format!("{id}/followers"));
    assert_eq!(actor["following"], format!("{id}/following"));
    assert_eq!(actor["featured"], format!("{id}/featured"));
    assert_eq!(actor["endpoints"]["sharedInbox"], format!("{base}/inbox"));
    assert_eq!(actor["publicKey"]["id"], format!("{id}#main-key"));
    assert_eq!(actor["publicKey"]["owner"], id);
    let pem = actor["publicKey"]["publicKeyPem"].as_str().expect("pem");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert_eq!(actor["discoverable"], true);
    assert_eq!(actor["indexable"], true);
    let published = actor["published"].as_str().expect("published");
    chrono::DateTime::parse_from_rfc3339(published).expect("published is RFC 3339");
    assert_eq!(actor["icon"]["type"], "Image");
    assert_eq!(actor["icon"]["url"], format!("{base}/static/avatar.png"));
    assert_eq!(actor["icon"]["mediaType"], "image/png");
    assert_eq!(actor["image"]["url"], "https://cdn.example/header.jpg");
    assert!(actor.get("privateKeyPem").is_none() && !actor.to_string().contains("PRIVATE KEY"));
}
db_test!(actor_document_has_every_field_mastodon_reads);

async fn actor_type_and_approval_come_from_the_settings(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.collective.actor_type = tribune::config::ActorType::Organization;
        s.collective.manually_approves_followers = true;
        s.collective.discoverable = false;
    })
    .await;
    let actor = app.get_activity_json("/actors/collectif").await;
    assert_eq!(actor["type"], "Organization");
    assert_eq!(actor["manuallyApprovesFollowers"], true);
    assert_eq!(actor["discoverable"], false);
    assert!(
        actor.get("icon").is_none(),
        "no icon configured, none served"
    );
}
db_test!(actor_type_and_approval_come_from_the_settings);

async fn content_negotiation_serves_json_to_servers_and_html_to_browsers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/actors/collectif", "/@collectif"] {
        let json = app.get(path, "application/activity+json").await;
        assert_eq!(json.status(), 200);
        assert_eq!(header(&json, "content-type"), "application/activity+json");
        assert_eq!(header(&json, "vary"), "Accept");

        let ld = app
            .get(
                path,
                r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#,
            )
            .await;
        assert_eq!(ld.status(), 200);
        assert_eq!(
            header(&ld, "content-type"),
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        );
        let body: Value = ld.json().await.expect("json");
        assert_eq!(body["preferredUsername"], "collectif");

        let html = app.get(path, ACCEPT_BROWSER).await;
        assert_eq!(html.status(), 200);
        assert!(
            header(&html, "content-type").starts_with("text/html"),
            "{path}"
        );
        // The page also varies by language (`Accept, Accept-Language`).
        assert!(
            header(&html, "vary")
                .split(',')
                .any(|v| v.trim() == "Accept"),
            "{path}: Vary names Accept"
        );
        let page = html.text().await.expect("html");
        assert!(page.contains("<html lang=\"fr\">"));
        assert!(page.contains("Collectif des travailleuses et travailleurs"));
        assert!(
            page.contains(&format!("@collectif@{}", app.domain())),
            "the handle to copy"
        );
        assert!(page.contains("<p>Une lettre ouverte.</p>"));
        assert!(page.contains("<strong>0</strong>"), "follower count");
        assert!(page.contains(r#"rel="alternate" type="application/activity+json""#));
    }
    // A collection asked for by a browser sends it to the profile page.
    let response = app.get("/actors/collectif/outbox", ACCEPT_BROWSER).await;
    assert_eq!(response.status(), 303);
    assert!(header(&response, "location").ends_with("/@collectif"));
}
db_test!(content_negotiation_serves_json_to_servers_and_html_to_browsers);

async fn collections_are_ordered_collections_with_counts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for name in ["outbox", "followers", "following", "featured"] {
        let path = format!("/actors/collectif/{name}");
        let collection = app.get_activity_json(&path).await;
        assert_eq!(collection["type"], "OrderedCollection", "{name}");
        assert_eq!(collection["id"], app.url(&path).as_str(), "{name}");
        assert_eq!(collection["totalItems"], 0, "{name}");
    }

    // Followers are counted from the database, accepted ones only, on the page and in JSON.
    let actor_id = app
        .count("SELECT id FROM local_actor WHERE username = 'collectif'")
        .await;
    for (n, state) in [(1, "accepted"), (2, "accepted"), (3, "pending")] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO follower (local_actor_id, actor_url, inbox_url, state, created_at) \
                 VALUES ({actor_id}, 'https://remote.example/users/u{n}', 'https://remote.example/users/u{n}/inbox', '{state}', CURRENT_TIMESTAMP)"
            ))
            .await
            .expect("insert follower");
    }
    let followers = app.get_activity_json("/actors/collectif/followers").await;
    assert_eq!(followers["totalItems"], 2);
    assert!(
        followers.get("orderedItems").is_none(),
        "the list itself is not public"
    );
    let page = app
        .get("/@collectif", ACCEPT_BROWSER)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<strong>2</strong>"),
        "follower count on the profile"
    );
}
db_test!(collections_are_ordered_collections_with_counts);

async fn unknown_actors_and_pages_are_404_with_a_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/actors/nobody",
        "/actors/nobody/outbox",
        "/@nobody",
        "/nodeinfo/3.0",
        "/no/such/page",
    ] {
        let response = app.get(path, ACCEPT_AS).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.expect("json");
        assert!(body["error"].is_string(), "{path}");
    }
}
db_test!(unknown_actors_and_pages_are_404_with_a_message);

async fn host_meta_points_to_webfinger(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let template = format!("{}.well-known/webfinger?resource={{uri}}", app.base);
    let xml = app.get("/.well-known/host-meta", "*/*").await;
    assert_eq!(xml.status(), 200);
    assert!(header(&xml, "content-type").starts_with("application/xrd+xml"));
    let text = xml.text().await.expect("xrd");
    assert!(text.contains(r#"<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">"#));
    assert!(
        text.contains(&format!(r#"<Link rel="lrdd" template="{template}"/>"#)),
        "{text}"
    );
    let json: Value = app
        .get("/.well-known/host-meta.json", "*/*")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(json["links"][0]["rel"], "lrdd");
    assert_eq!(json["links"][0]["template"], template);
}
db_test!(host_meta_points_to_webfinger);

async fn nodeinfo_documents_match_the_schemas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let discovery: Value = app
        .get("/.well-known/nodeinfo", "*/*")
        .await
        .json()
        .await
        .expect("json");
    let links = discovery["links"].as_array().expect("links");
    assert_eq!(links.len(), 2);
    for (version, link) in ["2.0", "2.1"].iter().zip(links) {
        assert_eq!(
            link["rel"],
            format!("http://nodeinfo.diaspora.software/ns/schema/{version}")
        );
        let response = app
            .client
            .get(link["href"].as_str().expect("href"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200);
        assert!(header(&response, "content-type").contains(&format!("schema/{version}#")));
        let text = response.text().await.expect("body");
        let (valid, out, err) = run_node("nodeinfo-validate.mjs", &[version], &text);
        assert!(valid, "NodeInfo {version} against its schema: {out} {err}");
        let doc: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(doc["software"]["name"], "tribune");
        assert_eq!(doc["software"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["protocols"][0], "activitypub");
        assert_eq!(doc["openRegistrations"], false);
        assert_eq!(doc["usage"]["users"]["total"], 1);
        assert_eq!(
            doc["metadata"]["nodeName"],
            "Collectif des travailleuses et travailleurs"
        );
    }
}
db_test!(nodeinfo_documents_match_the_schemas);

/// An independent JSON-LD processor (jsonld.js) expands the actor with the contexts shipped in
/// the repository and keeps every term: nothing becomes an undefined `_:` term, and the key
/// survives under the security vocabulary.
async fn actor_document_expands_under_json_ld_without_losing_terms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let actor = app.get_activity_json("/actors/collectif").await;
    let (ok, stdout, stderr) = run_node("jsonld-expand.mjs", &[], &actor.to_string());
    assert!(ok, "expansion failed: {stderr}");
    let expanded: Value = serde_json::from_str(&stdout).expect("expanded json");
    let node = &expanded[0];
    let key = &node["https://w3id.org/security#publicKey"][0];
    assert_eq!(
        key["@id"],
        format!("{}#main-key", actor["id"].as_str().expect("id"))
    );
    let pem = key["https://w3id.org/security#publicKeyPem"][0]["@value"]
        .as_str()
        .expect("pem kept");
    assert_eq!(
        pem,
        actor["publicKey"]["publicKeyPem"].as_str().expect("pem")
    );
    assert_eq!(
        key["https://w3id.org/security#owner"][0]["@id"],
        actor["id"]
    );
    for term in [
        "https://www.w3.org/ns/activitystreams#preferredUsername",
        "http://www.w3.org/ns/ldp#inbox",
        "https://www.w3.org/ns/activitystreams#outbox",
        "https://www.w3.org/ns/activitystreams#followers",
        "https://www.w3.org/ns/activitystreams#endpoints",
        "https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers",
        "http://joinmastodon.org/ns#featured",
        "http://joinmastodon.org/ns#discoverable",
        "http://joinmastodon.org/ns#indexable",
        "https://www.w3.org/ns/activitystreams#published",
    ] {
        assert!(
            node.get(term).is_some(),
            "{term} missing after expansion: {node}"
        );
    }
    assert!(
        !stdout.contains("\"_:"),
        "an undefined term was expanded to a blank node: {stdout}"
    );
}
db_test!(actor_document_expands_under_json_ld_without_losing_terms);

async fn health_check_reports_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/healthz", "*/*").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}
db_test!(health_check_reports_the_database);

/// Every response carries the protective headers; pages keep their own CSP.
async fn responses_carry_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (path, accept) in [
        ("/actors/collectif", ACCEPT_AS),
        ("/@collectif", ACCEPT_BROWSER),
        ("/.well-known/webfinger?resource=bad", "*/*"),
        ("/nowhere", "*/*"),
    ] {
        let response = app.get(path, accept).await;
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert_eq!(
            header(&response, "referrer-policy"),
            "strict-origin-when-cross-origin",
            "{path}"
        );
        let csp = header(&response, "content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
    }
}
db_test!(responses_carry_security_headers);
