//! Remote and member content on the public pages (Mastodon CVE-2023-36459: XSS through
//! remote fields). Every field a remote server controls — content, warning, language, name,
//! username, URLs, avatar — reaches the page inert; accepted requests store only sanitized
//! rows (checked on every row they added).

use scraper::{Html, Selector};
use serde_json::{Value, json};
use tribune::{config::ReplyPolicy, domain::member::Role};

use super::{published, send, warm};
use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{ACCEPT_BROWSER, Backend, DbSnapshot, TestApp, header, note},
};

/// What must never be found in a stored row or executable on a page.
const DANGEROUS: [&str; 6] = [
    "<script",
    "javascript:",
    "onerror",
    "onload",
    "<iframe",
    "<svg",
];

async fn open_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.moderation.replies = ReplyPolicy::Open;
        s.moderation.show_remote_avatars = true;
        s.federation.max_inbox_body_bytes = 4 * 1024 * 1024;
    })
    .await
}

/// Asserts that no row added since `before` holds anything dangerous.
async fn stored_rows_are_clean(app: &TestApp, before: &DbSnapshot) {
    let added = before.added_in(&app.db_snapshot().await);
    assert!(!added.is_empty(), "the accepted activity stored something");
    for row in added {
        // The actor's key and the activity log are not rendered; comments and actors are.
        if row.starts_with("received_activity:") {
            continue;
        }
        let lower = row.to_lowercase();
        for bad in DANGEROUS {
            assert!(!lower.contains(bad), "{bad} stored: {row}");
        }
    }
}

/// GETs `path` as a browser and asserts nothing on it can run: no inline script, no event
/// handler or style attribute, no `javascript:`/`data:` link, no frame, object or SVG, and a
/// CSP without 'unsafe-inline'.
async fn page_is_inert(app: &TestApp, path: &str) -> String {
    let response = app.get(path, ACCEPT_BROWSER).await;
    assert_eq!(response.status(), 200, "{path}");
    let csp = header(&response, "content-security-policy");
    assert!(
        !csp.is_empty() && !csp.contains("unsafe-inline"),
        "{path}: {csp}"
    );
    let html = response.text().await.expect("html");
    let doc = Html::parse_document(&html);
    let all = Selector::parse("*").expect("selector");
    for element in doc.select(&all) {
        let name = element.value().name();
        assert!(
            ![
                "script", "iframe", "object", "embed", "svg", "style", "frame", "base", "form"
            ]
            .contains(&name)
                || (name == "script" && element.value().attr("src").is_some()),
            "{path}: a <{name}> element: {}",
            element.html()
        );
        for (attribute, value) in element.value().attrs() {
            let attribute = attribute.to_ascii_lowercase();
            assert!(
                !attribute.starts_with("on") && attribute != "style" && attribute != "srcdoc",
                "{path}: attribute {attribute} on <{name}>"
            );
            if [
                "href",
                "src",
                "action",
                "formaction",
                "xlink:href",
                "poster",
            ]
            .contains(&attribute.as_str())
            {
                let scheme: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                assert!(
                    !scheme.starts_with("javascript:")
                        && !scheme.starts_with("vbscript:")
                        && !scheme.starts_with("data:"),
                    "{path}: {attribute}={value} on <{name}>"
                );
            }
        }
    }
    html
}

/// A reply by `remote` to `post_url` made of `object_fields` over a plain reply.
async fn reply_with(app: &TestApp, remote: &RemoteServer, post_url: &str, fields: Value) {
    let mut reply = remote.reply("n1", post_url, "<p>Une réponse</p>");
    if let (Value::Object(reply), Value::Object(fields)) = (&mut reply, fields) {
        reply.extend(fields);
    }
    let response = send(app, remote, &remote.activity("Create", "c1", reply)).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comment").await,
        1,
        "the reply is stored"
    );
}

async fn scripts_and_handlers_in_a_reply_are_inert(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    let content = r#"<p>Texte visible</p><script>alert(1)</script><img src=x onerror=alert(2)>
        <a href="javascript:alert(3)">lien</a><a href="data:text/html;base64,PHNjcmlwdD4=">d</a>
        <iframe src="https://evil.example"></iframe><svg onload=alert(4)><circle/></svg>
        <p style="position:fixed;top:0">recouvre</p><a href=" JaVaScRiPt:alert(5)">x</a>
        <math><mi xlink:href="javascript:alert(6)">m</mi></math><form action="https://evil.example"><button>ok</button></form>"#;
    reply_with(&app, &remote, &post_url, json!({"content": content})).await;
    stored_rows_are_clean(&app, &before).await;
    let html = page_is_inert(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Texte visible"), "the text itself is shown");
}
db_test!(scripts_and_handlers_in_a_reply_are_inert);

async fn a_content_warning_with_markup_is_plain_text(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    let summary = r#"<img src=x onerror=alert(1)><b>Attention</b><script>alert(2)</script>"#;
    reply_with(&app, &remote, &post_url, json!({"summary": summary})).await;
    stored_rows_are_clean(&app, &before).await;
    assert_eq!(app.text("SELECT summary FROM comment").await, "Attention");
    page_is_inert(&app, &format!("/posts/{id}")).await;
}
db_test!(a_content_warning_with_markup_is_plain_text);

async fn hostile_actor_names_are_escaped_text(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    remote.set_actor_fields(json!({
        "name": "<img src=x onerror=alert(1)>Alice</a><script>alert(2)</script>",
        "preferredUsername": "alice\"><svg onload=alert(3)>",
    }));
    let (post_url, id) = published(&app, "Un billet").await;
    reply_with(&app, &remote, &post_url, json!({})).await;
    let html = page_is_inert(&app, &format!("/posts/{id}")).await;
    // Escaped text, isolated in <bdi> (the name and the handle alike).
    assert!(
        html.contains("<bdi>&#60;img src=x onerror=alert(1)&#62;Alice&#60;/a&#62;"),
        "the name is shown as text"
    );
    assert!(
        html.contains("<bdi>@alice&#34;&#62;&#60;svg onload=alert(3)&#62;@"),
        "the handle too"
    );
}
db_test!(hostile_actor_names_are_escaped_text);

async fn non_http_actor_urls_and_avatars_are_dropped(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    remote.set_actor_fields(json!({
        "url": "javascript:alert(1)",
        "icon": {"type": "Image", "url": "data:image/svg+xml,<svg onload=alert(2)>"},
    }));
    let (post_url, id) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    reply_with(&app, &remote, &post_url, json!({})).await;
    stored_rows_are_clean(&app, &before).await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM remote_actor WHERE profile_url IS NULL AND icon_url IS NULL"
        )
        .await,
        1
    );
    page_is_inert(&app, &format!("/posts/{id}")).await;
}
db_test!(non_http_actor_urls_and_avatars_are_dropped);

async fn a_reply_url_that_is_not_its_own_is_replaced_by_its_id(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    reply_with(
        &app,
        &remote,
        &post_url,
        json!({"url": ["javascript:alert(1)", "https://phishing.example/login"]}),
    )
    .await;
    stored_rows_are_clean(&app, &before).await;
    assert_eq!(
        app.text("SELECT url FROM comment").await,
        remote.note_url("n1")
    );
    let html = page_is_inert(&app, &format!("/posts/{id}")).await;
    assert!(!html.contains("phishing.example"));
}
db_test!(a_reply_url_that_is_not_its_own_is_replaced_by_its_id);

async fn a_language_tag_cannot_inject_attributes(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    let before = app.db_snapshot().await;
    let mut reply = remote.reply("n1", &post_url, "<p>x</p>");
    reply.as_object_mut().expect("object").remove("content");
    reply["contentMap"] = json!({"fr\" onmouseover=\"alert(1)\" x=\"": "<p>Bonjour</p>"});
    assert_eq!(
        send(&app, &remote, &remote.activity("Create", "c1", reply))
            .await
            .status(),
        202
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 1);
    let added = before.added_in(&app.db_snapshot().await);
    assert!(added.iter().any(|row| row.contains("Bonjour")), "{added:?}");
    let html = page_is_inert(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Bonjour"));
}
db_test!(a_language_tag_cannot_inject_attributes);

async fn content_over_the_cap_is_cut(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    let content = format!("<p>{}</p>", "mot ".repeat(100_000));
    reply_with(&app, &remote, &post_url, json!({"content": content})).await;
    let stored = app.text("SELECT content_html FROM comment").await;
    assert!(
        stored.len() <= tribune::domain::sanitize::MAX_REMOTE_HTML + 64,
        "stored {} bytes",
        stored.len()
    );
    page_is_inert(&app, &format!("/posts/{id}")).await;
}
db_test!(content_over_the_cap_is_cut);

async fn deeply_nested_markup_is_flattened(backend: Backend) {
    let app = open_app(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    warm(&app, &remote).await;
    let (post_url, id) = published(&app, "Un billet").await;
    // Within the 64 KiB cap, so that the flattening (not the cut) is what is tested.
    let depth = 2000;
    let content = format!(
        "{}profond<img src=x onerror=alert(1)>{}",
        "<blockquote><span>".repeat(depth),
        "</span></blockquote>".repeat(depth)
    );
    reply_with(&app, &remote, &post_url, json!({"content": content})).await;
    let stored = app.text("SELECT content_html FROM comment").await;
    assert!(
        stored.matches("<blockquote").count() <= tribune::domain::sanitize::MAX_DEPTH,
        "{} levels kept",
        stored.matches("<blockquote").count()
    );
    assert!(
        stored.contains("profond"),
        "the text is kept: {stored:.200}"
    );
    page_is_inert(&app, &format!("/posts/{id}")).await;
}
db_test!(deeply_nested_markup_is_flattened);

async fn member_markdown_with_raw_html_and_script_links_is_inert(backend: Backend) {
    let app = open_app(backend).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let body = "Bonjour <script>alert(1)</script> <img src=x onerror=alert(2)>\n\n\
        [cliquez](javascript:alert(3)) [encore](JAVASCRIPT:alert(4)) \
        [data](data:text/html,<script>alert(5)</script>) <a href=\"javascript:alert(6)\">brut</a>\n\n\
        ![image](javascript:alert(7)) <iframe src=\"https://evil.example\"></iframe>";
    let id = app.publish_post(&editor, note(body)).await;
    let html = page_is_inert(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Bonjour"));
    page_is_inert(&app, "/").await;
    // Feeds carry the HTML escaped: no raw element, no live link.
    for path in ["/feed.atom", "/feed.rss"] {
        let response = app.get(path, "*/*").await;
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.expect("body");
        if let Some(at) = text.find("<script") {
            panic!(
                "{path} carries a raw script: {}",
                &text[at.saturating_sub(300)..(at + 200).min(text.len())]
            );
        }
        assert!(
            !text.to_lowercase().contains("<a href=\"javascript:"),
            "{path}"
        );
    }
}
db_test!(member_markdown_with_raw_html_and_script_links_is_inert);
