//! The public site as visitors and feed readers see it: the home page, post pages, member and
//! tag pages, the feeds, the interface language, and what must never show (drafts, posts in
//! review, scheduled posts). Pages are parsed with a real HTML5 parser (`scraper`) and checked
//! by an independent validator (the Nu Html Checker) when Java is available.

use std::{path::PathBuf, process::Command};

use chrono::{Duration, Utc};
use scraper::{Html, Selector};
use serde_json::Value;
use tribune::{
    db::entity::member,
    domain::{member::Role, post::PostInput},
    service,
};

use crate::{
    db_test,
    support::{ACCEPT_AS, ACCEPT_BROWSER, Backend, TestApp, header, interop_dir},
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn post(title: Option<&str>, body: &str) -> PostInput {
    PostInput {
        title: title.map(str::to_string),
        summary: None,
        content_warning: None,
        language: "fr".into(),
        body_markdown: body.into(),
        tags: Vec::new(),
    }
}

async fn member(app: &TestApp, username: &str, display_name: &str) -> member::Model {
    service::member::add(
        &app.db,
        username,
        display_name,
        Role::Editor,
        "correct horse battery",
        &["collectif"],
    )
    .await
    .expect("member added")
}

async fn draft(app: &TestApp, author: &member::Model, input: PostInput) -> String {
    service::post::create(&app.state, author, input)
        .await
        .expect("draft")
        .public_id
}

/// A GET as a browser, with an optional `Accept-Language`; returns (status, body).
pub(crate) async fn browse(app: &TestApp, path: &str, language: Option<&str>) -> (u16, String) {
    let mut request = app
        .client
        .get(app.url(path))
        .header("Accept", ACCEPT_BROWSER);
    if let Some(language) = language {
        request = request.header("Accept-Language", language);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A page that must answer 200 as HTML.
async fn page(app: &TestApp, path: &str) -> Html {
    let (status, body) = browse(app, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    Html::parse_document(&body)
}

pub(crate) fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("selector")
}

pub(crate) fn texts(doc: &Html, css: &str) -> Vec<String> {
    doc.select(&sel(css))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

pub(crate) fn attr(doc: &Html, css: &str, name: &str) -> Option<String> {
    doc.select(&sel(css))
        .next()
        .and_then(|e| e.value().attr(name))
        .map(str::to_string)
}

fn meta(doc: &Html, property: &str) -> Option<String> {
    attr(doc, &format!(r#"meta[property="{property}"]"#), "content")
        .or_else(|| attr(doc, &format!(r#"meta[name="{property}"]"#), "content"))
}

/// What every page of the site must have: one `<h1>`, headings that never skip a level, a skip
/// link to `<main>`, the landmarks, alt text on images, the feeds in the head, and nothing
/// loaded from elsewhere or run as a script.
pub(crate) fn assert_accessible(doc: &Html, base: &str, what: &str) {
    assert_eq!(doc.select(&sel("h1")).count(), 1, "{what}: one h1");
    let mut previous = 0;
    for heading in doc.select(&sel("h1, h2, h3, h4, h5, h6")) {
        let level: usize = heading.value().name()[1..].parse().expect("level");
        assert!(
            level <= previous + 1,
            "{what}: heading h{level} follows h{previous}"
        );
        previous = level;
    }
    let skip = attr(doc, "body > a.skip-link", "href").expect("a skip link first in body");
    assert_eq!(
        attr(doc, &format!("main{skip}"), "id").as_deref(),
        Some(&skip[1..])
    );
    for landmark in ["header", "nav", "main", "footer"] {
        assert!(
            doc.select(&sel(landmark)).next().is_some(),
            "{what}: <{landmark}>"
        );
    }
    for img in doc.select(&sel("img")) {
        assert!(img.value().attr("alt").is_some(), "{what}: img without alt");
    }
    assert_eq!(doc.select(&sel("script")).count(), 0, "{what}: no script");
    for (css, name) in [
        ("link[rel=stylesheet]", "href"),
        ("img", "src"),
        ("iframe", "src"),
    ] {
        for element in doc.select(&sel(css)) {
            let url = element.value().attr(name).unwrap_or_default();
            assert!(
                url.starts_with('/') || url.starts_with(base),
                "{what}: third-party resource {url}"
            );
        }
    }
    assert!(
        attr(
            doc,
            r#"link[rel=alternate][type="application/atom+xml"]"#,
            "href"
        )
        .is_some_and(|h| h.ends_with("/feed.atom")),
        "{what}: Atom alternate"
    );
    assert!(
        attr(
            doc,
            r#"link[rel=alternate][type="application/rss+xml"]"#,
            "href"
        )
        .is_some_and(|h| h.ends_with("/feed.rss")),
        "{what}: RSS alternate"
    );
    assert!(
        attr(doc, r#"meta[name=viewport]"#, "content").is_some(),
        "{what}: viewport"
    );
}

/// The Nu Html Checker (`vnu-jar` in tests/interop), run once over several pages. Skipped
/// with a note when Java is missing, except under CI, where `.ci/run` installs it.
pub(crate) fn validate_html(pages: &[(&str, String)]) {
    if Command::new("java").arg("-version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Java to run the HTML validator"
        );
        eprintln!("java not found: HTML validation skipped");
        return;
    }
    let dir = interop_dir();
    let jar = dir.join("node_modules/vnu-jar/build/dist/vnu.jar");
    if !jar.is_file() {
        // node_modules predates the checker: bring it up to date with the lock file.
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm");
        assert!(status.success(), "npm ci in tests/interop failed");
    }
    let pages_dir = tempfile::tempdir().expect("temp dir");
    let files: Vec<PathBuf> = pages
        .iter()
        .enumerate()
        .map(|(n, (_, html))| {
            let path = pages_dir.path().join(format!("page{n}.html"));
            std::fs::write(&path, html).expect("write page");
            path
        })
        .collect();
    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "json", "--also-check-css"])
        .args(&files)
        .output()
        .expect("run vnu.jar");
    let report: Value = serde_json::from_slice(&output.stderr).unwrap_or_else(|e| {
        panic!(
            "vnu output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let problems: Vec<String> = report["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["type"] != "info")
        .map(|m| {
            let url = m["url"].as_str().unwrap_or_default();
            let page = files
                .iter()
                .position(|f| url.ends_with(&*f.file_name().unwrap_or_default().to_string_lossy()))
                .map_or("?", |n| pages[n].0);
            format!(
                "{page}: {} line {}: {} [{}]",
                m["type"],
                m["lastLine"],
                m["message"],
                m["extract"].as_str().unwrap_or_default()
            )
        })
        .collect();
    eprintln!(
        "Nu Html Checker: {} pages, {} messages",
        pages.len(),
        report["messages"].as_array().map_or(0, Vec::len)
    );
    assert!(
        problems.is_empty(),
        "the Nu Html Checker found problems:\n{}",
        problems.join("\n")
    );

    let stylesheet = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/tribune.css");
    let css = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--css", "--format", "gnu"])
        .arg(&stylesheet)
        .output()
        .expect("run vnu.jar on the stylesheet");
    assert!(
        css.status.success(),
        "static/tribune.css: {}",
        String::from_utf8_lossy(&css.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Home

async fn home_lists_published_posts_newest_first_in_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.publishing.page_size = 2).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let mut ids = Vec::new();
    for title in ["Premier", "Deuxième", "Troisième"] {
        ids.push(
            app.publish_post(&alice, post(Some(title), &format!("Texte {title}.")))
                .await,
        );
    }

    let home = page(&app, "/").await;
    assert_accessible(&home, app.base.as_str(), "home");
    assert_eq!(
        texts(&home, "h1"),
        vec!["Collectif des travailleuses et travailleurs"]
    );
    assert!(
        texts(&home, ".summary p").contains(&"Une lettre ouverte.".to_string()),
        "the collective's summary"
    );
    assert_eq!(
        attr(&home, "input#handle", "value"),
        Some(format!("@collectif@{}", app.domain())),
        "the handle to copy"
    );
    assert_eq!(
        texts(&home, "article .card-title"),
        vec!["Troisième", "Deuxième"],
        "newest first, one page"
    );
    let next = attr(&home, "a[rel=next]", "href").expect("a link to older posts");
    assert!(next.ends_with("/?page=2"), "{next}");
    assert!(home.select(&sel("a[rel=prev]")).next().is_none());

    let second = page(&app, "/?page=2").await;
    assert_eq!(texts(&second, "article .card-title"), vec!["Premier"]);
    assert!(
        attr(&second, "a[rel=prev]", "href").is_some_and(|h| h.ends_with('/')),
        "a link back to newer posts"
    );
    assert!(second.select(&sel("a[rel=next]")).next().is_none());
    let (status, _) = browse(&app, "/?page=3", None).await;
    assert_eq!(status, 404, "past the last page");

    // A pinned post comes first, marked, and is not listed twice.
    service::post::set_pinned(&app.state, &alice, &ids[0], true)
        .await
        .expect("pinned");
    let home = page(&app, "/").await;
    assert_accessible(&home, app.base.as_str(), "home with a pinned post");
    assert_eq!(
        texts(&home, "article .card-title"),
        vec!["Premier", "Troisième", "Deuxième"]
    );
    assert_eq!(texts(&home, "article.pinned .card-title"), vec!["Premier"]);
    assert_eq!(texts(&home, "article.pinned .pin"), vec!["Épinglé"]);
}
db_test!(home_lists_published_posts_newest_first_in_pages);

// ---------------------------------------------------------------------------------------------
// Post page

async fn post_page_shows_the_post_with_its_metadata(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let id = app
        .publish_post(
            &alice,
            PostInput {
                summary: Some("Why we strike.".into()),
                language: "en".into(),
                tags: vec!["Salaires".into()],
                ..post(
                    Some("Open letter"),
                    "We are on **strike** for #Grève.\n\nSecond paragraph <script>alert(1)</script>.",
                )
            },
        )
        .await;
    let url = app.url(&format!("/posts/{id}")).to_string();
    let (status, html) = browse(&app, &format!("/posts/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "the body is sanitized");
    let doc = Html::parse_document(&html);
    assert_accessible(&doc, app.base.as_str(), "post page");

    assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("fr"));
    assert_eq!(texts(&doc, "article h1"), vec!["Open letter"]);
    assert_eq!(attr(&doc, "article h1", "lang").as_deref(), Some("en"));
    assert_eq!(attr(&doc, ".post-body", "lang").as_deref(), Some("en"));
    assert_eq!(
        texts(&doc, ".post-body strong"),
        vec!["strike"],
        "body HTML rendered, not escaped"
    );
    assert_eq!(
        texts(&doc, ".byline a[href$='/members/alice']"),
        vec!["Alice Martin"]
    );
    let datetime = attr(&doc, ".byline time", "datetime").expect("<time datetime>");
    chrono::DateTime::parse_from_rfc3339(&datetime).expect("an RFC 3339 datetime");
    let tag_links: Vec<String> = doc
        .select(&sel("ul.tags a[rel=tag]"))
        .map(|a| a.value().attr("href").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        tag_links,
        vec![
            app.url("/tags/gr%C3%A8ve").to_string(),
            app.url("/tags/salaires").to_string()
        ]
    );

    assert_eq!(meta(&doc, "og:title").as_deref(), Some("Open letter"));
    assert_eq!(
        meta(&doc, "og:description").as_deref(),
        Some("Why we strike.")
    );
    assert_eq!(meta(&doc, "og:url"), Some(url.clone()));
    assert_eq!(meta(&doc, "og:type").as_deref(), Some("article"));
    let published = meta(&doc, "article:published_time").expect("published time");
    assert_eq!(published, datetime);
    assert_eq!(
        meta(&doc, "fediverse:creator"),
        Some(format!("@collectif@{}", app.domain()))
    );
    assert_eq!(
        attr(
            &doc,
            r#"link[rel=alternate][type="application/activity+json"]"#,
            "href"
        ),
        Some(url.clone())
    );
    assert_eq!(attr(&doc, "link[rel=canonical]", "href"), Some(url));
}
db_test!(post_page_shows_the_post_with_its_metadata);

async fn content_warnings_fold_the_text_without_script(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let id = app
        .publish_post(
            &alice,
            PostInput {
                content_warning: Some("Violence policière".into()),
                ..post(None, "Le récit détaillé de la manifestation.")
            },
        )
        .await;
    let doc = page(&app, &format!("/posts/{id}")).await;
    assert_accessible(&doc, app.base.as_str(), "untitled post with a warning");
    let summary = texts(&doc, "article details.cw > summary");
    assert_eq!(summary.len(), 1, "a <details> with its <summary>");
    assert!(summary[0].contains("Violence policière"), "{summary:?}");
    assert!(
        texts(&doc, "article details.cw .post-body")[0].contains("Le récit détaillé"),
        "the text is inside the folded details"
    );
    assert_eq!(attr(&doc, "article details", "open"), None, "folded");
    let description = meta(&doc, "og:description").expect("og:description");
    assert!(
        description.contains("Violence policière") && !description.contains("récit"),
        "previews show the warning, not the text: {description}"
    );
    assert_eq!(
        meta(&doc, "og:title").as_deref(),
        Some("Violence policière")
    );

    // On the home page too, folded.
    let home = page(&app, "/").await;
    assert!(texts(&home, "article details.cw > summary")[0].contains("Violence policière"));
}
db_test!(content_warnings_fold_the_text_without_script);

async fn a_deleted_post_leaves_a_localized_gone_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let id = app
        .publish_post(&alice, post(Some("Retiré"), "Bientôt supprimé."))
        .await;
    service::post::delete(&app.state, &alice, &id)
        .await
        .expect("deleted");

    let (status, html) = browse(&app, &format!("/posts/{id}"), None).await;
    assert_eq!(status, 410);
    let doc = Html::parse_document(&html);
    assert_accessible(&doc, app.base.as_str(), "gone page");
    assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("fr"));
    assert_eq!(texts(&doc, "h1"), vec!["Publication supprimée"]);

    let (status, html) = browse(&app, &format!("/posts/{id}"), Some("en-GB,en;q=0.9")).await;
    assert_eq!(status, 410);
    let doc = Html::parse_document(&html);
    assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("en"));
    assert_eq!(texts(&doc, "h1"), vec!["Post deleted"]);

    for path in ["/", "/feed.atom", "/feed.rss", "/members/alice"] {
        let (_, body) = browse(&app, path, None).await;
        assert!(
            !body.contains("Retiré"),
            "{path} still shows the deleted post"
        );
    }
}
db_test!(a_deleted_post_leaves_a_localized_gone_page);

// ---------------------------------------------------------------------------------------------
// Nothing unpublished, anywhere

async fn anonymous_visitors_never_see_drafts_reviews_or_scheduled_posts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    app.publish_post(&alice, post(Some("Public"), "Texte public. #Lutte"))
        .await;
    let draft_id = draft(
        &app,
        &alice,
        post(Some("SecretBrouillon"), "Brouillon. #Lutte #Cachée"),
    )
    .await;
    let review_id = draft(
        &app,
        &alice,
        post(Some("SecretRelecture"), "Relecture. #Lutte"),
    )
    .await;
    service::post::submit_for_review(&app.state, &alice, &review_id)
        .await
        .expect("in review");
    let scheduled_id = draft(
        &app,
        &alice,
        post(Some("SecretProgramme"), "Programmé. #Lutte"),
    )
    .await;
    service::post::schedule(
        &app.state,
        &alice,
        &scheduled_id,
        Utc::now() + Duration::days(1),
    )
    .await
    .expect("scheduled");
    let hidden_ids = [&draft_id, &review_id, &scheduled_id];
    let mut forbidden: Vec<String> = ["SecretBrouillon", "SecretRelecture", "SecretProgramme"]
        .map(String::from)
        .to_vec();
    forbidden.extend(hidden_ids.iter().map(|id| id.to_string()));

    for path in [
        "/",
        "/feed.atom",
        "/feed.rss",
        "/tags/lutte",
        "/members/alice",
        "/@collectif",
    ] {
        let (status, body) = browse(&app, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("Public") || path == "/@collectif",
            "{path} lists the public post"
        );
        for secret in &forbidden {
            assert!(!body.contains(secret.as_str()), "{path} shows {secret}");
        }
    }
    let (status, _) = browse(&app, "/tags/cach%C3%A9e", None).await;
    assert_eq!(status, 404, "a tag only drafts carry has no page");

    let outbox = app
        .get_activity_json("/actors/collectif/outbox?page=1")
        .await;
    assert_eq!(outbox["orderedItems"].as_array().expect("items").len(), 1);
    let outbox_text = outbox.to_string();
    for secret in &forbidden {
        assert!(
            !outbox_text.contains(secret.as_str()),
            "the outbox shows {secret}"
        );
    }
    let collection = app.get_activity_json("/actors/collectif/outbox").await;
    assert_eq!(collection["totalItems"], 1);

    // The post URL answers exactly as for an id that never existed.
    for accept in [ACCEPT_BROWSER, ACCEPT_AS] {
        let unknown = app.get("/posts/nosuchpost000000", accept).await;
        let unknown_status = unknown.status();
        let unknown_body = unknown.text().await.expect("body");
        assert_eq!(unknown_status, 404);
        for id in hidden_ids {
            let response = app.get(&format!("/posts/{id}"), accept).await;
            assert_eq!(response.status(), 404, "{id} with {accept}");
            assert_eq!(response.text().await.expect("body"), unknown_body);
            for suffix in ["activity", "replies", "likes", "shares"] {
                let response = app.get(&format!("/posts/{id}/{suffix}"), accept).await;
                assert_eq!(response.status(), 404, "{id}/{suffix}");
            }
        }
    }
}
db_test!(anonymous_visitors_never_see_drafts_reviews_or_scheduled_posts);

// ---------------------------------------------------------------------------------------------
// Feeds

async fn feeds_parse_back_with_the_right_items_and_authors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let bob = member(&app, "bob", "Bob Durand").await;
    let first = app
        .publish_post(
            &alice,
            PostInput {
                summary: Some("Le chapeau.".into()),
                ..post(Some("Lettre ouverte"), "Nous sommes **en grève**. #Grève")
            },
        )
        .await;
    let second = app
        .publish_post(
            &bob,
            post(
                None,
                "Une note sans titre, assez longue pour être coupée proprement quelque part avant la fin du texte qui continue.",
            ),
        )
        .await;
    draft(&app, &alice, post(Some("Brouillon caché"), "Non.")).await;

    // Atom
    let response = app.get("/feed.atom", "*/*").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("application/atom+xml"));
    let xml = response.bytes().await.expect("atom");
    let feed = atom_syndication::Feed::read_from(&xml[..]).expect("Atom parses");
    assert_eq!(
        feed.title().as_str(),
        "Collectif des travailleuses et travailleurs"
    );
    assert_eq!(feed.id(), app.url("/feed.atom").as_str());
    assert!(
        feed.links()
            .iter()
            .any(|l| l.rel() == "self" && l.href() == app.url("/feed.atom").as_str())
    );
    let entries = feed.entries();
    assert_eq!(entries.len(), 2, "published posts only");
    let (untitled, titled) = (&entries[0], &entries[1]);
    assert_eq!(untitled.id(), app.url(&format!("/posts/{second}")).as_str());
    assert!(
        untitled.title().as_str().starts_with("Une note sans titre")
            && untitled.title().as_str().ends_with('…'),
        "an untitled post is named by a short excerpt: {}",
        untitled.title().as_str()
    );
    assert_eq!(untitled.authors()[0].name(), "Bob Durand");
    assert_eq!(titled.title().as_str(), "Lettre ouverte");
    assert_eq!(titled.authors()[0].name(), "Alice Martin");
    assert_eq!(
        titled.authors()[0].uri(),
        Some(app.url("/members/alice").as_str())
    );
    assert_eq!(
        titled.links()[0].href(),
        app.url(&format!("/posts/{first}")).as_str()
    );
    let content = titled.content().expect("content");
    assert_eq!(content.content_type(), Some("html"));
    assert!(
        content
            .value()
            .expect("value")
            .contains("<strong>en grève</strong>")
    );
    assert_eq!(titled.summary().map(|s| s.as_str()), Some("Le chapeau."));
    assert!(titled.published().is_some());
    assert!(titled.updated() >= titled.published().expect("published"));
    assert_eq!(titled.categories()[0].term(), "grève");
    assert_eq!(titled.categories()[0].label(), Some("Grève"));

    // RSS
    let response = app.get("/feed.rss", "*/*").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("application/rss+xml"));
    let xml = response.bytes().await.expect("rss");
    let channel = rss::Channel::read_from(&xml[..]).expect("RSS parses");
    rss::validation::Validate::validate(&channel).expect("valid RSS 2.0");
    assert_eq!(
        channel.title(),
        "Collectif des travailleuses et travailleurs"
    );
    assert_eq!(channel.link(), app.base.as_str());
    let items = channel.items();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].title(), Some("Lettre ouverte"));
    assert_eq!(
        items[1].link(),
        Some(app.url(&format!("/posts/{first}")).as_str())
    );
    assert_eq!(
        items[1].guid().map(|g| (g.value(), g.is_permalink())),
        Some((app.url(&format!("/posts/{first}")).as_str(), true))
    );
    assert!(
        items[1]
            .description()
            .expect("description")
            .contains("<strong>en grève</strong>")
    );
    let creators = |item: &rss::Item| {
        item.dublin_core_ext()
            .map(|dc| dc.creators().to_vec())
            .unwrap_or_default()
    };
    assert_eq!(creators(&items[0]), vec!["Bob Durand"]);
    assert_eq!(creators(&items[1]), vec!["Alice Martin"]);
    assert_eq!(items[1].categories()[0].name(), "Grève");
    chrono::DateTime::parse_from_rfc2822(items[1].pub_date().expect("pubDate"))
        .expect("an RFC 2822 date");

    // Every page announces both feeds; NodeInfo says the site has them.
    let home = page(&app, "/").await;
    assert_accessible(&home, app.base.as_str(), "home");
    let nodeinfo: Value = app
        .get("/nodeinfo/2.1", "*/*")
        .await
        .json()
        .await
        .expect("nodeinfo");
    assert_eq!(
        nodeinfo["services"]["outbound"],
        serde_json::json!(["atom1.0", "rss2.0"])
    );
}
db_test!(feeds_parse_back_with_the_right_items_and_authors);

// ---------------------------------------------------------------------------------------------
// Tag and member pages

async fn tag_pages_list_the_posts_carrying_the_tag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    app.publish_post(&alice, post(Some("Avec"), "Pour la #Grève générale."))
        .await;
    app.publish_post(&alice, post(Some("Sans"), "Rien à voir."))
        .await;

    let doc = page(&app, "/tags/gr%C3%A8ve").await;
    assert_accessible(&doc, app.base.as_str(), "tag page");
    assert_eq!(texts(&doc, "h1"), vec!["#Grève"]);
    assert_eq!(texts(&doc, "article .card-title"), vec!["Avec"]);
    assert_eq!(
        attr(&doc, "link[rel=canonical]", "href"),
        Some(app.url("/tags/gr%C3%A8ve").to_string())
    );
    // Keys are lowercase; another case finds the same posts.
    let upper = page(&app, "/tags/GR%C3%88VE").await;
    assert_eq!(texts(&upper, "article .card-title"), vec!["Avec"]);

    let (status, html) = browse(&app, "/tags/inconnu", None).await;
    assert_eq!(status, 404);
    let doc = Html::parse_document(&html);
    assert_eq!(texts(&doc, "h1"), vec!["Page introuvable"]);
}
db_test!(tag_pages_list_the_posts_carrying_the_tag);

async fn member_pages_list_their_published_posts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let bob = member(&app, "bob", "Bob Durand").await;
    app.publish_post(&alice, post(Some("D’Alice"), "Texte."))
        .await;
    app.publish_post(&bob, post(Some("De Bob"), "Texte.")).await;
    draft(&app, &alice, post(Some("Brouillon d’Alice"), "Non.")).await;

    let doc = page(&app, "/members/alice").await;
    assert_accessible(&doc, app.base.as_str(), "member page");
    assert_eq!(texts(&doc, "h1"), vec!["Alice Martin"]);
    assert_eq!(texts(&doc, "article .card-title"), vec!["D’Alice"]);

    // A member without published posts has a page, saying so.
    member(&app, "carol", "Carol").await;
    let doc = page(&app, "/members/carol").await;
    assert_eq!(texts(&doc, "p.empty").len(), 1);

    let (status, _) = browse(&app, "/members/nobody", None).await;
    assert_eq!(status, 404);
    service::member::set_disabled(&app.db, "bob", true)
        .await
        .expect("disabled");
    let (status, _) = browse(&app, "/members/bob", None).await;
    assert_eq!(status, 404, "a disabled member has no public page");
}
db_test!(member_pages_list_their_published_posts);

// ---------------------------------------------------------------------------------------------
// Language, layout, validity

async fn the_interface_follows_the_browser_language_french_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let id = app
        .publish_post(&alice, post(Some("Titre"), "Texte."))
        .await;
    let post_path = format!("/posts/{id}");
    for path in [
        "/",
        post_path.as_str(),
        "/@collectif",
        "/members/alice",
        "/members/nobody",
    ] {
        let (_, french) = browse(&app, path, None).await;
        let doc = Html::parse_document(&french);
        assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("fr"), "{path}");
        assert_eq!(
            texts(&doc, "a.skip-link"),
            vec!["Aller au contenu"],
            "{path}"
        );

        let (_, english) = browse(&app, path, Some("en-US,en;q=0.9,fr;q=0.5")).await;
        let doc = Html::parse_document(&english);
        assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("en"), "{path}");
        assert_eq!(
            texts(&doc, "a.skip-link"),
            vec!["Skip to content"],
            "{path}"
        );
    }
    let (_, english_post) = browse(&app, &post_path, Some("en")).await;
    let doc = Html::parse_document(&english_post);
    assert!(texts(&doc, ".byline")[0].starts_with("By Alice Martin"));
    let response = app.get("/", ACCEPT_BROWSER).await;
    assert!(header(&response, "vary").contains("Accept-Language"));
    assert!(header(&response, "content-security-policy").contains("default-src 'none'"));

    // The instance's default applies when the browser names no supported language.
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.instance.default_locale = "en".into()).await;
    let (_, html) = browse(&app, "/", Some("de")).await;
    let doc = Html::parse_document(&html);
    assert_eq!(attr(&doc, "html", "lang").as_deref(), Some("en"));
}
db_test!(the_interface_follows_the_browser_language_french_by_default);

async fn pages_pass_the_nu_html_checker(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.publishing.page_size = 2;
        s.collective.icon_url = "/static/avatar.png".into();
    })
    .await;
    let alice = member(&app, "alice", "Alice Martin").await;
    let titled = app
        .publish_post(
            &alice,
            PostInput {
                summary: Some("Le chapeau.".into()),
                tags: vec!["Salaires".into()],
                ..post(
                    Some("Lettre ouverte"),
                    "# Un titre dans le texte\n\nNous sommes *en grève* pour la #Grève.\n\n- un\n- deux\n\n> cité\n\n```\ncode\n```\n\n[lien](https://example.org)",
                )
            },
        )
        .await;
    let untitled = app
        .publish_post(
            &alice,
            PostInput {
                content_warning: Some("Violence".into()),
                language: "en".into(),
                ..post(None, "A note.")
            },
        )
        .await;
    app.publish_post(&alice, post(None, "Une note simple."))
        .await;
    service::post::set_pinned(&app.state, &alice, &titled, true)
        .await
        .expect("pinned");
    let deleted = app.publish_post(&alice, post(Some("Retiré"), "Non.")).await;
    service::post::delete(&app.state, &alice, &deleted)
        .await
        .expect("deleted");

    let mut pages = Vec::new();
    for (name, path, expected) in [
        ("home", "/".to_string(), 200),
        ("home page 2", "/?page=2".to_string(), 200),
        ("titled post", format!("/posts/{titled}"), 200),
        (
            "untitled post with a warning",
            format!("/posts/{untitled}"),
            200,
        ),
        ("profile", "/@collectif".to_string(), 200),
        ("member", "/members/alice".to_string(), 200),
        ("tag", "/tags/gr%C3%A8ve".to_string(), 200),
        ("not found", "/members/nobody".to_string(), 404),
        ("gone", format!("/posts/{deleted}"), 410),
    ] {
        let (status, html) = browse(&app, &path, None).await;
        assert_eq!(status, expected, "{name}");
        let doc = Html::parse_document(&html);
        assert_accessible(&doc, app.base.as_str(), name);
        pages.push((name, html));
    }
    let (_, english) = browse(&app, "/", Some("en")).await;
    pages.push(("home in English", english));
    validate_html(&pages);
}
db_test!(pages_pass_the_nu_html_checker);
