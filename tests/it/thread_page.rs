//! The conversation on a post's public page: replies nested in threads (indentation capped),
//! only approved ones, tombstones, likes, boosts and boosters, remote avatars only when the
//! admin chose them, the per-post Atom feed of replies, the number of queries a 200-reply
//! thread costs, and an XSS corpus (`tests/fixtures/xss/payloads.txt`) sent through the real
//! inbox as contents, warnings, names and usernames.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use scraper::{ElementRef, Html};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use tribune::{
    config::ReplyPolicy,
    db::entity::{comment, reaction, remote_actor},
    domain::{member::Role, post::PostInput, sanitize},
    service,
};

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer, send},
    site::{assert_accessible, attr, browse, sel, texts, validate_html},
    support::{Backend, TestApp, header},
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn note(body: &str) -> PostInput {
    PostInput {
        title: Some("Lettre ouverte".into()),
        summary: None,
        content_warning: None,
        language: "fr".into(),
        body_markdown: body.into(),
        tags: vec![],
    }
}

/// A published post: (its URL, its public id, its row id).
async fn published(app: &TestApp) -> (String, String, i64) {
    let editor = match service::member::find(&app.db, "eve").await.expect("q") {
        Some(m) => m,
        None => {
            app.add_member("eve", Role::Editor, "un mot de passe solide")
                .await
        }
    };
    let id = app.publish_post(&editor, note("Qu'en pensez-vous ?")).await;
    let row = app
        .count(&format!("SELECT id FROM post WHERE public_id = '{id}'"))
        .await;
    (app.url(&format!("/posts/{id}")).to_string(), id, row)
}

/// A stand-in server whose actor has this name and username.
async fn person(name: &str, username: &str) -> RemoteServer {
    let server = RemoteServer::start(Behaviour::Ok).await;
    server.set_actor_fields(json!({
        "name": name,
        "preferredUsername": username,
        "url": format!("{}/@{username}", server.base),
    }));
    server
}

/// Sends a reply (`name` on the server) to `in_reply_to`, published `minutes` after 10:00.
async fn reply_to(
    app: &TestApp,
    server: &RemoteServer,
    name: &str,
    in_reply_to: &str,
    content: &str,
    minutes: i64,
    extra: Value,
) -> String {
    let mut object = server.reply(name, in_reply_to, content);
    object["published"] = json!(at(minutes).to_rfc3339());
    if let (Value::Object(object), Value::Object(extra)) = (&mut object, extra) {
        object.extend(extra);
    }
    let id = object["id"].as_str().expect("id").to_string();
    assert_eq!(
        send(
            app,
            server,
            &server.activity("Create", &format!("create-{name}"), object)
        )
        .await,
        202,
        "reply {name}"
    );
    id
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
        .single()
        .expect("date")
        + Duration::minutes(minutes)
}

/// A remote actor stored directly (for threads too big to send one by one).
async fn stored_actor(db: &DatabaseConnection, n: usize, icon: Option<&str>) -> i64 {
    let actor = format!("https://m{n}.example/users/u{n}");
    remote_actor::Entity::insert(remote_actor::ActiveModel {
        actor_url: Set(actor.clone()),
        kind: Set("Person".into()),
        host: Set(format!("m{n}.example")),
        preferred_username: Set(format!("u{n}")),
        name: Set(Some(format!("Personne {n}"))),
        inbox_url: Set(format!("{actor}/inbox")),
        shared_inbox_url: Set(None),
        profile_url: Set(Some(format!("https://m{n}.example/@u{n}"))),
        icon_url: Set(icon.map(str::to_string)),
        key_id: Set(format!("{actor}#main-key")),
        public_key_pem: Set("-----BEGIN PUBLIC KEY-----".into()),
        fetched_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("actor stored")
    .last_insert_id
}

/// A comment stored directly; returns its id.
async fn stored_comment(
    db: &DatabaseConnection,
    post_id: i64,
    author_id: i64,
    parent_id: Option<i64>,
    state: &str,
    content: &str,
    minutes: i64,
) -> i64 {
    let n = uuid::Uuid::new_v4().simple().to_string();
    comment::Entity::insert(comment::ActiveModel {
        object_url: Set(format!("https://m.example/notes/{n}")),
        post_id: Set(post_id),
        parent_id: Set(parent_id),
        in_reply_to_url: Set(String::new()),
        author_id: Set(author_id),
        content_html: Set(sanitize::remote_html(content)),
        summary: Set(None),
        sensitive: Set(false),
        language: Set(Some("fr".into())),
        url: Set(Some(format!("https://m.example/@u/{n}"))),
        published_at: Set(at(minutes)),
        updated_at: Set(None),
        state: Set(state.to_string()),
        depth: Set(1),
        received_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("comment stored")
    .last_insert_id
}

async fn stored_reaction(db: &DatabaseConnection, post_id: i64, actor_id: i64, kind: &str) {
    reaction::Entity::insert(reaction::ActiveModel {
        kind: Set(kind.to_string()),
        post_id: Set(post_id),
        actor_id: Set(actor_id),
        activity_url: Set(format!(
            "https://m.example/activities/{}",
            uuid::Uuid::new_v4()
        )),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("reaction stored");
}

async fn page_in(app: &TestApp, path: &str, language: &str) -> Html {
    let (status, body) = browse(app, path, Some(language)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    Html::parse_document(&body)
}

/// The text of each reply's body, in page order.
fn bodies(doc: &Html) -> Vec<String> {
    texts(doc, "article.comment .comment-body")
}

/// How many lists each reply sits in (1 = an answer to the post), in page order.
fn levels(doc: &Html) -> Vec<usize> {
    doc.select(&sel("article.comment"))
        .map(|a| {
            a.ancestors()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().name() == "ol")
                .count()
        })
        .collect()
}

/// The `img-src` of the page's content security policy.
fn img_src(response_csp: &str) -> String {
    response_csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("img-src "))
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Threads

async fn replies_nest_in_threads_oldest_first(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = person("Alice Martin", "alice").await;
    let bob = person("Bob", "bob").await;
    let carol = person("Carol", "carol").await;
    let (post_url, id, _) = published(&app).await;
    let a1 = reply_to(
        &app,
        &alice,
        "a1",
        &post_url,
        "<p>Premier</p>",
        0,
        json!({}),
    )
    .await;
    let b1 = reply_to(&app, &bob, "b1", &a1, "<p>Réponse de Bob</p>", 5, json!({})).await;
    // Sent after, written before: threads are ordered by publication.
    reply_to(
        &app,
        &carol,
        "c1",
        &post_url,
        "<p>Caché</p>",
        2,
        json!({"summary": "Divulgâchage", "contentMap": {"en": "<p>Caché</p>"}}),
    )
    .await;
    reply_to(
        &app,
        &alice,
        "a2",
        &b1,
        "<p>Sensible</p>",
        10,
        json!({"sensitive": true}),
    )
    .await;

    let path = format!("/posts/{id}");
    let doc = page_in(&app, &path, "fr").await;
    assert_accessible(&doc, app.base.as_str(), "post with replies");
    assert_eq!(
        bodies(&doc),
        vec!["Premier", "Réponse de Bob", "Sensible", "Caché"]
    );
    assert_eq!(levels(&doc), vec![1, 2, 3, 1]);
    assert_eq!(doc.select(&sel("ol.thread > li")).count(), 2, "two threads");
    assert_eq!(
        texts(&doc, "#replies-heading"),
        vec!["4 réponses"],
        "tombstones aside, every reply counts"
    );
    assert_eq!(
        texts(&doc, ".comment-author > a"),
        vec!["Alice Martin", "Bob", "Alice Martin", "Carol"]
    );
    let port = url::Url::parse(&bob.base)
        .expect("url")
        .port()
        .expect("port");
    assert!(
        texts(&doc, ".comment-author .handle").contains(&format!("@bob@localhost:{port}")),
        "{:?}",
        texts(&doc, ".comment-author .handle")
    );
    assert_eq!(
        attr(&doc, ".comment-author > a", "href"),
        Some(format!("{}/@alice", alice.base)),
        "the author's profile"
    );
    // The date links to the original, as user content.
    let original = doc
        .select(&sel("a.original"))
        .find(|a| a.value().attr("href") == Some(b1.as_str()))
        .expect("a link to bob's original");
    let rel: HashSet<&str> = original
        .value()
        .attr("rel")
        .unwrap_or_default()
        .split(' ')
        .collect();
    for token in ["nofollow", "noopener", "noreferrer", "ugc"] {
        assert!(rel.contains(token), "rel {rel:?}");
    }
    let time = original
        .select(&sel("time"))
        .next()
        .expect("a <time> in the link");
    assert_eq!(time.value().attr("datetime"), Some("2026-11-29T10:05:00Z"));
    assert_eq!(time.text().collect::<String>(), "29 novembre 2026");
    // Warnings: the author's, and a generic one for a reply only marked sensitive.
    assert_eq!(
        texts(&doc, "article.comment details.cw > summary"),
        vec![
            "Avertissement de contenu : contenu sensible",
            "Avertissement de contenu : Divulgâchage"
        ]
    );
    assert_eq!(
        attr(&doc, "details.cw .comment-body[lang]", "lang").as_deref(),
        Some("en"),
        "the reply's language"
    );

    let doc = page_in(&app, &path, "en").await;
    assert_eq!(texts(&doc, "#replies-heading"), vec!["4 replies"]);
    assert!(
        texts(&doc, "article.comment details.cw > summary")
            .contains(&"Content warning: sensitive content".to_string())
    );
    assert_eq!(
        doc.select(&sel("time"))
            .find(|t| t.value().attr("datetime") == Some("2026-11-29T10:05:00Z"))
            .map(|t| t.text().collect::<String>()),
        Some("November 29, 2026".into())
    );
}
db_test!(replies_nest_in_threads_oldest_first);

async fn deep_threads_are_shown_flat_past_six_levels(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, id, post_id) = published(&app).await;
    let mut parent = None;
    let mut ids = Vec::new();
    for n in 1..=9 {
        let author = stored_actor(&app.db, n, None).await;
        let comment = stored_comment(
            &app.db,
            post_id,
            author,
            parent,
            comment::APPROVED,
            &format!("<p>Niveau {n}</p>"),
            n as i64,
        )
        .await;
        ids.push(comment);
        parent = Some(comment);
    }
    let path = format!("/posts/{id}");
    let doc = page_in(&app, &path, "fr").await;
    assert_accessible(&doc, app.base.as_str(), "deep thread");
    assert_eq!(levels(&doc), vec![1, 2, 3, 4, 5, 6, 6, 6, 6]);
    let answered: Vec<(String, String)> = doc
        .select(&sel(".in-reply-to"))
        .map(|span| {
            let link = span.select(&sel("a")).next().expect("a link to the parent");
            (
                span.text().collect::<String>(),
                link.value().attr("href").unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        answered,
        vec![
            (
                "en réponse à Personne 6".into(),
                format!("#comment-{}", ids[5])
            ),
            (
                "en réponse à Personne 7".into(),
                format!("#comment-{}", ids[6])
            ),
            (
                "en réponse à Personne 8".into(),
                format!("#comment-{}", ids[7])
            ),
        ]
    );
    assert!(
        doc.select(&sel(&format!("li#comment-{}", ids[5])))
            .next()
            .is_some(),
        "the anchors exist"
    );
    let doc = page_in(&app, &path, "en").await;
    assert_eq!(
        texts(&doc, ".in-reply-to")[0],
        "in reply to Personne 6".to_string()
    );
}
db_test!(deep_threads_are_shown_flat_past_six_levels);

async fn only_approved_replies_show_and_tombstones_keep_their_answers(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = person("Alice", "alice").await;
    let bob = person("Bob", "bob").await;
    let (post_url, id, post_id) = published(&app).await;
    // Through the inbox: alice writes, bob answers, alice deletes hers.
    let a1 = reply_to(
        &app,
        &alice,
        "a1",
        &post_url,
        "<p>Texte retiré</p>",
        0,
        json!({}),
    )
    .await;
    reply_to(&app, &bob, "b1", &a1, "<p>Réponse restée</p>", 1, json!({})).await;
    let lonely = reply_to(&app, &alice, "a2", &post_url, "<p>Seule</p>", 2, json!({})).await;
    for (n, object) in [("d1", &a1), ("d2", &lonely)] {
        assert_eq!(
            send(
                &app,
                &alice,
                &alice.activity("Delete", n, json!({"id": object, "type": "Tombstone"}))
            )
            .await,
            202
        );
    }
    // Held, refused and hidden replies never show; nor a tombstone whose answers are held.
    let author = stored_actor(&app.db, 1, None).await;
    for (state, text) in [
        (comment::PENDING, "EN-ATTENTE"),
        (comment::REJECTED, "REFUSÉ"),
        (comment::HIDDEN, "MASQUÉ"),
    ] {
        stored_comment(&app.db, post_id, author, None, state, text, 3).await;
    }
    let gone = stored_comment(&app.db, post_id, author, None, comment::DELETED, "", 4).await;
    stored_comment(
        &app.db,
        post_id,
        author,
        Some(gone),
        comment::PENDING,
        "EN-ATTENTE-SOUS-TOMBE",
        5,
    )
    .await;
    // An approved answer to a held reply starts a thread of its own.
    let held = stored_comment(
        &app.db,
        post_id,
        author,
        None,
        comment::PENDING,
        "PARENT-EN-ATTENTE",
        6,
    )
    .await;
    stored_comment(
        &app.db,
        post_id,
        author,
        Some(held),
        comment::APPROVED,
        "<p>Orpheline</p>",
        7,
    )
    .await;

    let path = format!("/posts/{id}");
    let (_, html) = browse(&app, &path, Some("fr")).await;
    for hidden in [
        "Texte retiré",
        "Seule",
        "EN-ATTENTE",
        "REFUSÉ",
        "MASQUÉ",
        "PARENT-EN-ATTENTE",
    ] {
        assert!(!html.contains(hidden), "{hidden} must not show");
    }
    let doc = Html::parse_document(&html);
    assert_eq!(bodies(&doc), vec!["Réponse restée", "Orpheline"]);
    assert_eq!(levels(&doc), vec![2, 1]);
    let tombstones = texts(&doc, "li > p.tombstone");
    assert_eq!(tombstones, vec!["message supprimé"], "one tombstone only");
    assert!(
        doc.select(&sel(
            "ol.thread > li > p.tombstone + ol.replies article.comment"
        ))
        .next()
        .is_some(),
        "bob's answer hangs under the tombstone"
    );
    assert_eq!(texts(&doc, "#replies-heading"), vec!["2 réponses"]);
    let doc = page_in(&app, &path, "en").await;
    assert_eq!(texts(&doc, "li > p.tombstone"), vec!["message deleted"]);
    assert_eq!(texts(&doc, "#replies-heading"), vec!["2 replies"]);
}
db_test!(only_approved_replies_show_and_tombstones_keep_their_answers);

// ---------------------------------------------------------------------------------------------
// Reactions

async fn likes_boosts_and_boosters_are_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (post_url, id, _) = published(&app).await;
    let path = format!("/posts/{id}");
    let doc = page_in(&app, &path, "fr").await;
    assert_eq!(texts(&doc, ".reactions .likes"), vec!["0 j’aime"]);
    assert_eq!(texts(&doc, ".reactions .boosts"), vec!["0 partage"]);
    assert_eq!(texts(&doc, "#replies-heading"), vec!["0 réponse"]);
    assert_eq!(
        texts(&doc, ".conversation .empty"),
        vec!["Pas encore de réponse."]
    );
    assert!(doc.select(&sel(".boosters")).next().is_none());
    let doc = page_in(&app, &path, "en").await;
    assert_eq!(texts(&doc, ".reactions .likes"), vec!["0 likes"]);
    assert_eq!(texts(&doc, "#replies-heading"), vec!["0 replies"]);

    let alice = person("Alice", "alice").await;
    let bob = person("Bob", "bob").await;
    let carol = person("Carol", "carol").await;
    for (server, what, n) in [
        (&alice, "Like", "l1"),
        (&bob, "Like", "l2"),
        (&alice, "Announce", "b1"),
        (&carol, "Announce", "b2"),
    ] {
        assert_eq!(
            send(&app, server, &server.activity(what, n, json!(post_url))).await,
            202
        );
    }
    let doc = page_in(&app, &path, "fr").await;
    assert_eq!(texts(&doc, ".reactions .likes"), vec!["2 j’aime"]);
    assert_eq!(texts(&doc, ".reactions .boosts"), vec!["2 partages"]);
    assert_eq!(texts(&doc, ".boosters > p"), vec!["Partagé par :"]);
    let boosters: Vec<(String, String, String)> = doc
        .select(&sel(".boosters li a"))
        .map(|a| {
            (
                a.text().collect(),
                a.value().attr("href").unwrap_or_default().to_string(),
                a.value().attr("rel").unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(boosters.len(), 2, "{boosters:?}");
    let names: HashSet<&str> = boosters.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, HashSet::from(["Alice", "Carol"]));
    for (name, href, rel) in &boosters {
        let server = if name == "Alice" { &alice } else { &carol };
        assert_eq!(href, &format!("{}/@{}", server.base, name.to_lowercase()));
        let rel: HashSet<&str> = rel.split(' ').collect();
        assert!(rel.contains("nofollow") && rel.contains("ugc"), "{rel:?}");
    }
    let handles = texts(&doc, ".boosters li .handle");
    assert!(
        handles
            .iter()
            .all(|h| h.starts_with("@alice@localhost:") || h.starts_with("@carol@localhost:")),
        "{handles:?}"
    );
    let doc = page_in(&app, &path, "en").await;
    assert_eq!(texts(&doc, ".reactions .likes"), vec!["2 likes"]);
    assert_eq!(texts(&doc, ".reactions .boosts"), vec!["2 boosts"]);
    assert_eq!(texts(&doc, ".boosters > p"), vec!["Boosted by:"]);

    // Undone, a boost and its booster go.
    send(
        &app,
        &carol,
        &carol.activity("Undo", "u1", json!(carol.id("b2"))),
    )
    .await;
    let doc = page_in(&app, &path, "en").await;
    assert_eq!(texts(&doc, ".reactions .boosts"), vec!["1 boost"]);
    assert_eq!(texts(&doc, ".boosters li a"), vec!["Alice"]);
}
db_test!(likes_boosts_and_boosters_are_shown);

async fn remote_avatars_load_only_when_the_admin_chose_them(backend: Backend) {
    for show in [false, true] {
        let app = TestApp::spawn_with(backend.clone(), |s| {
            s.moderation.replies = ReplyPolicy::Open;
            s.moderation.show_remote_avatars = show;
        })
        .await;
        let alice = person("Alice", "alice").await;
        let icon = format!("{}/avatars/alice.png", alice.base);
        alice.set_actor_fields(json!({"icon": {"type": "Image", "url": icon}}));
        let mallory = person("Mallory", "mallory").await;
        mallory.set_actor_fields(json!({"icon": {"type": "Image", "url": "javascript:alert(1)"}}));
        let (post_url, id, post_id) = published(&app).await;
        reply_to(
            &app,
            &alice,
            "a1",
            &post_url,
            "<p>Bonjour</p>",
            0,
            json!({}),
        )
        .await;
        reply_to(
            &app,
            &mallory,
            "m1",
            &post_url,
            "<p>Salut</p>",
            1,
            json!({}),
        )
        .await;
        send(
            &app,
            &alice,
            &alice.activity("Announce", "b1", json!(post_url)),
        )
        .await;
        // Stored by an older version, or by hand: still never shown.
        let sneaky =
            stored_actor(&app.db, 1, Some("data:image/svg+xml,<svg onload=alert(1)>")).await;
        stored_comment(
            &app.db,
            post_id,
            sneaky,
            None,
            comment::APPROVED,
            "<p>Data</p>",
            2,
        )
        .await;

        let response = app
            .client
            .get(app.url(&format!("/posts/{id}")))
            .header("Accept", crate::support::ACCEPT_BROWSER)
            .send()
            .await
            .expect("request");
        let csp = header(&response, "content-security-policy");
        let html = response.text().await.expect("body");
        let doc = Html::parse_document(&html);
        let sources: Vec<String> = doc
            .select(&sel("img"))
            .map(|i| i.value().attr("src").unwrap_or_default().to_string())
            .collect();
        if show {
            assert_eq!(
                sources,
                vec![icon.clone(), icon.clone()],
                "reply and booster"
            );
            for img in doc.select(&sel("img")) {
                assert_eq!(img.value().attr("alt"), Some(""));
                assert_eq!(img.value().attr("referrerpolicy"), Some("no-referrer"));
            }
            assert_eq!(img_src(&csp), format!("'self' {}", alice.base), "{csp}");
        } else {
            assert!(sources.is_empty(), "no remote image: {sources:?}");
            assert!(!html.contains("alice.png"));
            assert_eq!(img_src(&csp), "'self'", "{csp}");
            assert_accessible(&doc, app.base.as_str(), "post page without avatars");
        }
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    }
}
db_test!(remote_avatars_load_only_when_the_admin_chose_them);

// ---------------------------------------------------------------------------------------------
// Feed

async fn each_post_has_a_feed_of_its_approved_replies(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
    let alice = person("Alice", "alice").await;
    let (post_url, id, post_id) = published(&app).await;
    let first = reply_to(
        &app,
        &alice,
        "a1",
        &post_url,
        "<p>Premier <b>gras</b></p>",
        0,
        json!({}),
    )
    .await;
    let second = reply_to(
        &app,
        &alice,
        "a2",
        &post_url,
        "<p>Second</p>",
        5,
        json!({"summary": "Attention <b>&amp; prudence</b>"}),
    )
    .await;
    let author = stored_actor(&app.db, 1, None).await;
    for state in [
        comment::PENDING,
        comment::REJECTED,
        comment::HIDDEN,
        comment::DELETED,
    ] {
        stored_comment(
            &app.db,
            post_id,
            author,
            None,
            state,
            "<p>NON-PUBLIC</p>",
            9,
        )
        .await;
    }

    let path = format!("/posts/{id}/comments.atom");
    let response = app.get(&path, "application/atom+xml").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("application/atom+xml"));
    let body = response.bytes().await.expect("body");
    assert!(!String::from_utf8_lossy(&body).contains("NON-PUBLIC"));
    let feed = atom_syndication::Feed::read_from(&body[..]).expect("a valid Atom feed");
    assert_eq!(feed.id, app.url(&path).to_string());
    assert_eq!(feed.title.value, "Réponses à « Lettre ouverte »");
    assert!(
        feed.links
            .iter()
            .any(|l| l.rel == "self" && l.href == app.url(&path).as_str())
    );
    assert!(
        feed.links
            .iter()
            .any(|l| l.rel == "alternate" && l.href == post_url)
    );
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![second.as_str(), first.as_str()],
        "newest first, approved only"
    );
    let newest = &feed.entries[0];
    assert_eq!(
        newest.title.value, "Attention & prudence",
        "the warning names it"
    );
    let content = newest
        .content
        .as_ref()
        .and_then(|c| c.value.clone())
        .expect("content");
    assert!(
        content.starts_with("<p><strong>Avertissement de contenu : Attention &amp; prudence</strong></p><p>Second</p>"),
        "{content}"
    );
    assert_eq!(newest.links[0].href, second);
    assert!(
        newest.authors[0]
            .name
            .starts_with("Alice (@alice@localhost:")
    );
    assert_eq!(feed.entries[1].title.value, "Réponse de Alice");

    // Linked from the post's page.
    let doc = page_in(&app, &format!("/posts/{id}"), "fr").await;
    assert_eq!(
        attr(
            &doc,
            r#"head link[rel=alternate][type="application/atom+xml"][href$="/comments.atom"]"#,
            "href"
        ),
        Some(app.url(&path).to_string())
    );

    // Only for published posts.
    let editor = service::member::find(&app.db, "eve")
        .await
        .expect("q")
        .expect("eve");
    let draft = service::post::create(&app.state, &editor, note("Brouillon"))
        .await
        .expect("draft")
        .public_id;
    let deleted = app.publish_post(&editor, note("Retiré")).await;
    service::post::delete(&app.state, &editor, &deleted)
        .await
        .expect("deleted");
    for other in [draft.as_str(), deleted.as_str(), "nope"] {
        assert_eq!(
            app.get(&format!("/posts/{other}/comments.atom"), "*/*")
                .await
                .status(),
            404,
            "{other}"
        );
    }
}
db_test!(each_post_has_a_feed_of_its_approved_replies);

// ---------------------------------------------------------------------------------------------
// Cost

async fn a_200_reply_thread_renders_in_a_handful_of_queries(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.publishing.scheduler_interval_seconds = 3600;
        s.moderation.show_remote_avatars = true;
    })
    .await;
    let (_, id, post_id) = published(&app).await;
    let mut actors = Vec::new();
    for n in 0..5 {
        let icon = format!("https://m{n}.example/avatar.png");
        actors.push(stored_actor(&app.db, n, Some(&icon)).await);
    }
    let mut comments: Vec<i64> = Vec::new();
    for n in 0..200usize {
        // Threads of four: a reply to the post, then answers to the one before.
        let parent = (n % 4 != 0).then(|| comments[n - 1]);
        let state = if n == 8 {
            comment::DELETED
        } else {
            comment::APPROVED
        };
        comments.push(
            stored_comment(
                &app.db,
                post_id,
                actors[n % actors.len()],
                parent,
                state,
                &format!("<p>Réponse {n}</p>"),
                n as i64,
            )
            .await,
        );
    }
    for &actor in &actors {
        stored_reaction(&app.db, post_id, actor, reaction::LIKE).await;
        stored_reaction(&app.db, post_id, actor, reaction::ANNOUNCE).await;
    }

    let path = format!("/posts/{id}");
    let mut counts = Vec::new();
    let mut html = String::new();
    for _ in 0..3 {
        let before = app.state.db_queries.total();
        let (status, body) = browse(&app, &path, Some("fr")).await;
        counts.push(app.state.db_queries.total() - before);
        assert_eq!(status, 200);
        html = body;
    }
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("article.comment")).count(), 199);
    assert_eq!(doc.select(&sel("p.tombstone")).count(), 1);
    assert_eq!(texts(&doc, "#replies-heading"), vec!["199 réponses"]);
    assert_eq!(doc.select(&sel(".boosters li")).count(), 5);
    let queries = counts.iter().copied().min().unwrap_or(u64::MAX);
    eprintln!("post page with 200 replies: {queries} database queries ({counts:?})");
    assert!(queries <= 9, "{queries} queries for one page: {counts:?}");

    let metrics = app
        .get("/metrics", "text/plain")
        .await
        .text()
        .await
        .expect("metrics");
    let total: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tribune_db_queries_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("tribune_db_queries_total in /metrics");
    assert!(total >= counts.iter().sum::<u64>(), "{total}");
}
db_test!(a_200_reply_thread_renders_in_a_handful_of_queries);

// ---------------------------------------------------------------------------------------------
// XSS

fn payloads() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/xss/payloads.txt"
    );
    let corpus = std::fs::read_to_string(path).expect("the XSS corpus");
    let payloads: Vec<String> = corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(payloads.len() >= 30, "{} payloads", payloads.len());
    payloads
}

/// What remote HTML may become (`domain::sanitize`).
const ALLOWED_TAGS: [&str; 16] = [
    "p",
    "br",
    "a",
    "span",
    "del",
    "pre",
    "code",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
];
const ALLOWED_CLASSES: [&str; 6] = [
    "mention",
    "hashtag",
    "u-url",
    "h-card",
    "invisible",
    "ellipsis",
];

/// Never anywhere on a page of ours.
const FORBIDDEN_ELEMENTS: [&str; 27] = [
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "style",
    "svg",
    "math",
    "base",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "template",
    "noscript",
    "video",
    "audio",
    "source",
    "track",
    "plaintext",
    "xmp",
    "isindex",
    "portal",
    "canvas",
];
const URL_ATTRIBUTES: [&str; 13] = [
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "background",
    "poster",
    "cite",
    "srcset",
    "ping",
    "codebase",
    "dynsrc",
];

/// A URL as a browser reads its scheme: trimmed of spaces and controls, tabs and newlines
/// removed, lower case.
fn scheme_view(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn dangerous_url(url: &str) -> bool {
    let url = scheme_view(url);
    ["javascript:", "data:", "vbscript:", "livescript:"]
        .iter()
        .any(|s| url.starts_with(s))
}

/// Nothing in `root` runs, loads from elsewhere or restyles the page.
fn assert_inert(root: ElementRef<'_>, what: &str) {
    for element in root.descendants().filter_map(ElementRef::wrap) {
        let name = element.value().name();
        assert!(
            !FORBIDDEN_ELEMENTS.contains(&name),
            "{what}: <{name}> in {}",
            element.html()
        );
        if name == "meta" {
            assert!(
                element.value().attr("http-equiv").is_none(),
                "{what}: meta http-equiv"
            );
        }
        for (attribute, value) in element.value().attrs() {
            let attribute = attribute.to_ascii_lowercase();
            assert!(
                !attribute.starts_with("on"),
                "{what}: {attribute} on <{name}>"
            );
            assert!(
                !["style", "srcdoc", "formaction"].contains(&attribute.as_str()),
                "{what}: {attribute} on <{name}>"
            );
            if URL_ATTRIBUTES.contains(&attribute.as_str()) {
                assert!(
                    !dangerous_url(value),
                    "{what}: {attribute}={value:?} on <{name}>"
                );
            }
        }
    }
}

/// Sanitized remote HTML holds only the allowlist: tags, attributes, classes, http(s) links.
fn assert_allowlisted(root: ElementRef<'_>, what: &str) {
    for element in root.descendants().filter_map(ElementRef::wrap).skip(1) {
        let name = element.value().name();
        assert!(
            ALLOWED_TAGS.contains(&name),
            "{what}: <{name}> outside the allowlist"
        );
        for (attribute, value) in element.value().attrs() {
            match (name, attribute) {
                ("a", "href") => assert!(
                    value.starts_with("http://") || value.starts_with("https://"),
                    "{what}: href {value:?}"
                ),
                ("a", "rel") => assert_eq!(value, "nofollow noopener noreferrer ugc", "{what}"),
                ("ol", "start") => assert!(
                    value.chars().all(|c| c.is_ascii_digit() || c == '-'),
                    "{what}: start {value:?}"
                ),
                (_, "class") => assert!(
                    value
                        .split_whitespace()
                        .all(|c| ALLOWED_CLASSES.contains(&c)),
                    "{what}: class {value:?}"
                ),
                _ => panic!("{what}: attribute {attribute}={value:?} on <{name}>"),
            }
        }
    }
}

#[test]
fn the_sanitizer_neutralizes_the_xss_corpus() {
    for payload in payloads() {
        let clean = sanitize::remote_html(&payload);
        let fragment = Html::parse_fragment(&clean);
        let root = fragment.root_element();
        assert_inert(root, &payload);
        assert_allowlisted(root, &payload);
        // Stable: what is stored parses back to itself (no mutation on a second parse).
        assert_eq!(sanitize::remote_html(&clean), clean, "{payload}");
        // Warnings are plain text, never markup.
        let text = sanitize::remote_text(&payload, 500);
        assert!(!text.contains('\u{0}'), "{payload}");
    }
}

async fn the_xss_corpus_is_inert_end_to_end(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = ReplyPolicy::Open;
        s.moderation.show_remote_avatars = true;
    })
    .await;
    let (post_url, id, _) = published(&app).await;
    let payloads = payloads();
    let bad_urls = [
        "javascript:alert(1)",
        "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
        "vbscript:msgbox(1)",
        " JaVaScRiPt:alert(1)",
    ];
    let mut previous: Option<String> = None;
    let mut names = Vec::new();
    for (n, payload) in payloads.iter().enumerate() {
        let server = RemoteServer::start(Behaviour::Ok).await;
        let bad = bad_urls[n % bad_urls.len()];
        server.set_actor_fields(json!({
            "name": payload,
            "preferredUsername": payload,
            "url": bad,
            "icon": {"type": "Image", "url": if n % 2 == 0 { bad.to_string() } else { format!("{}/a.png", server.base) }},
        }));
        names.push(payload.split_whitespace().collect::<Vec<_>>().join(" "));
        // Every other reply answers the one before, so names show in "in reply to" too.
        let parent = match (&previous, n % 2) {
            (Some(p), 1) => p.clone(),
            _ => post_url.clone(),
        };
        let mut extra = json!({"summary": payload, "url": bad});
        if n == 0 {
            extra["contentMap"] = json!({"fr\" onclick=\"alert(1)": payload});
        }
        previous = Some(
            reply_to(
                &app,
                &server,
                &format!("x{n}"),
                &parent,
                payload,
                n as i64,
                extra,
            )
            .await,
        );
        if n % 10 == 0 {
            send(
                &app,
                &server,
                &server.activity("Announce", &format!("b{n}"), json!(post_url)),
            )
            .await;
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comment WHERE state = 'approved'")
            .await,
        payloads.len() as i64,
        "every payload stored and approved"
    );

    for language in ["fr", "en"] {
        let response = app
            .client
            .get(app.url(&format!("/posts/{id}")))
            .header("Accept", crate::support::ACCEPT_BROWSER)
            .header("Accept-Language", language)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let csp = header(&response, "content-security-policy");
        let html = response.text().await.expect("body");
        let doc = Html::parse_document(&html);
        assert_inert(doc.root_element(), "page");
        for image in doc.select(&sel("img")) {
            let src = image.value().attr("src").unwrap_or_default();
            assert!(src.starts_with("http://localhost:"), "image {src}");
        }
        // The avatars' origins, or their scheme when there are too many to list.
        for source in img_src(&csp).split_whitespace().skip(1) {
            assert!(
                source.starts_with("http://localhost:") || source == "http:",
                "img-src {source}"
            );
        }
        // The page's own structure holds: every reply in its place, nothing broke out.
        let replies: Vec<ElementRef<'_>> = doc.select(&sel("article.comment")).collect();
        assert_eq!(replies.len(), payloads.len(), "{language}");
        assert_eq!(
            doc.select(&sel("section.conversation ol.thread article.comment"))
                .count(),
            payloads.len()
        );
        assert_eq!(doc.select(&sel("main")).count(), 1);
        assert_eq!(doc.select(&sel("section.conversation")).count(), 1);
        for body in doc.select(&sel(".comment-body")) {
            assert_allowlisted(body, "comment body");
            if let Some(lang) = body.value().attr("lang") {
                assert!(
                    lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "{lang}"
                );
            }
        }
        // Names and usernames are shown as text, exactly.
        let shown: HashSet<String> = texts(&doc, ".comment-author bdi").into_iter().collect();
        for name in &names {
            assert!(shown.contains(name), "name {name:?} shown as text");
        }
        for link in doc.select(&sel("section.conversation a[href]")) {
            let href = link.value().attr("href").unwrap_or_default();
            assert!(
                href.starts_with("http://")
                    || href.starts_with("https://")
                    || href.starts_with('#'),
                "{href}"
            );
        }
        let lower = html.to_ascii_lowercase();
        for needle in [
            "<script", "<iframe", "<svg", "<math", "<style", "<object", "<embed", "<base",
        ] {
            assert!(!lower.contains(needle), "{needle} in the page");
        }
    }

    // The comments feed carries the same sanitized HTML and escaped text.
    let body = app
        .get(
            &format!("/posts/{id}/comments.atom"),
            "application/atom+xml",
        )
        .await
        .bytes()
        .await
        .expect("feed");
    let feed = atom_syndication::Feed::read_from(&body[..]).expect("a well-formed feed");
    assert_eq!(feed.entries.len(), payloads.len().min(50));
    for entry in &feed.entries {
        let html = entry
            .content
            .as_ref()
            .and_then(|c| c.value.clone())
            .unwrap_or_default();
        let fragment = Html::parse_fragment(&html);
        assert_inert(fragment.root_element(), "feed entry");
        for link in &entry.links {
            assert!(!dangerous_url(&link.href), "{}", link.href);
        }
        if let Some(uri) = entry.authors.first().and_then(|a| a.uri.as_deref()) {
            assert!(!dangerous_url(uri), "{uri}");
        }
    }
}
db_test!(the_xss_corpus_is_inert_end_to_end);

// ---------------------------------------------------------------------------------------------
// Validity

async fn a_post_page_with_a_conversation_passes_the_nu_html_checker(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = ReplyPolicy::Open;
        s.moderation.show_remote_avatars = true;
    })
    .await;
    let alice = person("Alice « A » Martin", "alice").await;
    alice.set_actor_fields(
        json!({"icon": {"type": "Image", "url": format!("{}/a.png", alice.base)}}),
    );
    let bob = person("Bob", "bob").await;
    let (post_url, id, post_id) = published(&app).await;
    let a1 = reply_to(
        &app,
        &alice,
        "a1",
        &post_url,
        r#"<p><span class="h-card"><a href="https://c.example/@collectif" class="u-url mention">@<span>collectif</span></a></span> Bravo ! <a href="https://m.example/tags/greve" class="mention hashtag" rel="tag">#<span>greve</span></a></p><blockquote><p>cité</p></blockquote><ul><li>un</li></ul><pre><code>code</code></pre>"#,
        0,
        json!({"summary": "Politique", "contentMap": {"fr": "x"}}),
    )
    .await;
    let b1 = reply_to(
        &app,
        &bob,
        "b1",
        &a1,
        "<p>D’accord</p>",
        1,
        json!({"sensitive": true}),
    )
    .await;
    reply_to(
        &app,
        &alice,
        "a2",
        &b1,
        "<p>Merci<br>à toi</p>",
        2,
        json!({}),
    )
    .await;
    send(
        &app,
        &bob,
        &bob.activity("Announce", "boost", json!(post_url)),
    )
    .await;
    send(
        &app,
        &alice,
        &alice.activity("Like", "like", json!(post_url)),
    )
    .await;
    // A deep thread (flat past six levels) under a tombstone.
    let author = stored_actor(&app.db, 1, None).await;
    let mut parent =
        Some(stored_comment(&app.db, post_id, author, None, comment::DELETED, "", 3).await);
    for n in 0..8 {
        parent = Some(
            stored_comment(
                &app.db,
                post_id,
                author,
                parent,
                comment::APPROVED,
                &format!("<p>Niveau {n}</p>"),
                4 + n,
            )
            .await,
        );
    }

    let mut pages = Vec::new();
    for language in ["fr", "en"] {
        let (status, html) = browse(&app, &format!("/posts/{id}"), Some(language)).await;
        assert_eq!(status, 200);
        let doc = Html::parse_document(&html);
        assert!(doc.select(&sel("p.tombstone")).next().is_some());
        assert!(doc.select(&sel(".in-reply-to")).next().is_some());
        assert!(doc.select(&sel("img.avatar-small")).next().is_some());
        pages.push((language, html));
    }
    let named: Vec<(&str, String)> = pages
        .into_iter()
        .map(|(language, html)| {
            (
                if language == "fr" {
                    "post with a conversation (fr)"
                } else {
                    "post with a conversation (en)"
                },
                html,
            )
        })
        .collect();
    validate_html(&named);
}
db_test!(a_post_page_with_a_conversation_passes_the_nu_html_checker);
