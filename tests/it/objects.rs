//! Posts as ActivityStreams objects, field by field, and as an independent JSON-LD processor
//! reads them; the outbox and featured collections; what the public never sees.

use serde_json::Value;
use tribune::domain::{member::Role, post::PostInput};

use crate::{
    db_test,
    support::{ACCEPT_AS, Backend, TestApp, header, run_node},
};

fn input(title: Option<&str>, body: &str) -> PostInput {
    PostInput {
        title: title.map(str::to_string),
        summary: None,
        content_warning: None,
        language: "fr".into(),
        body_markdown: body.into(),
        tags: vec![],
    }
}

async fn an_untitled_post_is_a_note_shown_in_full(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let id = app
        .publish_post(
            &alice,
            PostInput {
                tags: vec!["Numérique".into()],
                ..input(None, "Nous **signons**. #Solidarité")
            },
        )
        .await;
    let base = app.base.as_str().trim_end_matches('/');
    let note = app.get_activity_json(&format!("/posts/{id}")).await;
    let url = format!("{base}/posts/{id}");
    assert_eq!(note["@context"][0], "https://www.w3.org/ns/activitystreams");
    assert_eq!(note["id"], url);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["attributedTo"], format!("{base}/actors/collectif"));
    let content = note["content"].as_str().expect("content");
    assert!(content.contains("<strong>signons</strong>"), "{content}");
    assert!(
        content.contains("— alice"),
        "the author is credited: {content}"
    );
    assert_eq!(note["contentMap"]["fr"], note["content"]);
    assert_eq!(note["source"]["mediaType"], "text/markdown");
    assert_eq!(note["source"]["content"], "Nous **signons**. #Solidarité");
    assert_eq!(note["url"], url);
    assert_eq!(
        note["to"],
        serde_json::json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    assert_eq!(note["cc"][0], format!("{base}/actors/collectif/followers"));
    assert_eq!(note["sensitive"], false);
    assert!(note.get("summary").is_none(), "no CW, no summary on a Note");
    assert!(note.get("name").is_none());
    assert!(note.get("updated").is_none(), "never edited");
    chrono::DateTime::parse_from_rfc3339(note["published"].as_str().expect("published"))
        .expect("RFC 3339");
    let tags = note["tag"].as_array().expect("tag");
    assert!(
        tags.iter().any(|t| t["type"] == "Hashtag"
            && t["name"] == "#Solidarité"
            && t["href"] == format!("{base}/tags/solidarit%C3%A9")),
        "{tags:?}"
    );
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Hashtag" && t["name"] == "#Numérique"),
        "{tags:?}"
    );
    assert_eq!(note["replies"]["type"], "Collection");
    assert_eq!(note["replies"]["first"]["type"], "CollectionPage");
    assert_eq!(note["replies"]["first"]["items"], serde_json::json!([]));
    assert_eq!(note["likes"]["totalItems"], 0);
    assert_eq!(note["shares"]["totalItems"], 0);

    // The Create that published it, at its stable id.
    let create = app
        .get_activity_json(&format!("/posts/{id}/activity"))
        .await;
    assert_eq!(create["type"], "Create");
    assert_eq!(create["id"], format!("{url}/activity"));
    assert_eq!(create["actor"], format!("{base}/actors/collectif"));
    assert_eq!(create["object"]["id"], url);
    assert_eq!(create["to"], note["to"]);
    assert_eq!(create["cc"], note["cc"]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Create'")
            .await,
        1
    );
}
db_test!(an_untitled_post_is_a_note_shown_in_full);

async fn a_titled_post_is_an_article_with_a_lede(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let id = app
        .publish_post(
            &alice,
            input(
                Some("Lettre ouverte"),
                "Premier paragraphe, le chapeau.\n\nSecond paragraphe.",
            ),
        )
        .await;
    let article = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(article["type"], "Article");
    assert_eq!(article["name"], "Lettre ouverte");
    let summary = article["summary"].as_str().expect("summary");
    assert!(
        summary.contains("Premier paragraphe, le chapeau."),
        "lede from the first paragraph: {summary}"
    );
    assert!(
        summary.contains("Par alice"),
        "byline in the post's language: {summary}"
    );
    assert!(!summary.contains("Second paragraphe"));
    let content = article["content"].as_str().expect("content");
    assert!(
        content.contains("Second paragraphe."),
        "full content for software that shows it"
    );
    assert_eq!(article["sensitive"], false);
}
db_test!(a_titled_post_is_an_article_with_a_lede);

async fn a_content_warning_makes_a_sensitive_note(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app
        .add_member("alice", Role::Admin, "un mot de passe solide")
        .await;
    let id = app
        .publish_post(
            &alice,
            PostInput {
                content_warning: Some("Violences au travail".into()),
                ..input(Some("Témoignages"), "Des récits difficiles.")
            },
        )
        .await;
    let note = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(note["type"], "Note", "Mastodon honours a CW only on Notes");
    assert_eq!(note["sensitive"], true);
    assert_eq!(note["summary"], "Violences au travail");
    let content = note["content"].as_str().expect("content");
    assert!(
        content.starts_with("<p><strong>Témoignages</strong></p>"),
        "title kept as first line: {content}"
    );
}
db_test!(a_content_warning_makes_a_sensitive_note);

async fn editing_and_deleting_a_post_emit_update_and_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&alice, input(None, "Version une.")).await;
    let post = tribune::db::post::find_by_public_id(&app.db, &id)
        .await
        .expect("q")
        .expect("post");
    tribune::service::post::update(
        &app.state,
        &alice,
        &id,
        post.version,
        input(None, "Version deux."),
    )
    .await
    .expect("edit");
    let note = app.get_activity_json(&format!("/posts/{id}")).await;
    assert!(
        note["content"]
            .as_str()
            .expect("content")
            .contains("Version deux.")
    );
    let updated = note["updated"].as_str().expect("updated after an edit");
    assert!(updated >= note["published"].as_str().expect("published"));

    let update_url: String = stored_activity(&app, "Update").await;
    let update = app
        .client
        .get(&update_url)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get");
    assert_eq!(update.status(), 200);
    let update: Value = update.json().await.expect("json");
    assert_eq!(update["type"], "Update");
    assert_eq!(update["object"]["id"], note["id"]);
    assert!(
        update["object"]["content"]
            .as_str()
            .expect("content")
            .contains("Version deux.")
    );

    // A stale version is refused and changes nothing.
    let stale = tribune::service::post::update(
        &app.state,
        &alice,
        &id,
        post.version,
        input(None, "Écrasé ?"),
    )
    .await;
    assert!(
        matches!(stale, Err(tribune::service::post::PostError::Conflict)),
        "{stale:?}"
    );

    tribune::service::post::delete(&app.state, &alice, &id)
        .await
        .expect("delete");
    let gone = app.get(&format!("/posts/{id}"), ACCEPT_AS).await;
    assert_eq!(gone.status(), 410);
    assert!(header(&gone, "content-type").starts_with("application/activity+json"));
    let tombstone: Value = gone.json().await.expect("json");
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], note["id"]);
    assert_eq!(tombstone["formerType"], "Note");
    let delete_url = stored_activity(&app, "Delete").await;
    let delete: Value = app
        .client
        .get(&delete_url)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(delete["type"], "Delete");
    assert_eq!(delete["object"]["type"], "Tombstone");
    assert_eq!(
        delete["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    // A deleted post's Create is gone too.
    assert_eq!(
        app.get(&format!("/posts/{id}/activity"), ACCEPT_AS)
            .await
            .status(),
        404
    );
}
db_test!(editing_and_deleting_a_post_emit_update_and_delete);

async fn stored_activity(app: &TestApp, kind: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    tribune::db::entity::activity::Entity::find()
        .filter(tribune::db::entity::activity::Column::Kind.eq(kind))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the activity was stored")
        .activity_url
}

async fn the_public_never_sees_unpublished_posts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bob = app
        .add_member("bob", Role::Author, "un mot de passe solide")
        .await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let draft = tribune::service::post::create(
        &app.state,
        &bob,
        input(Some("Brouillon secret"), "Pas encore."),
    )
    .await
    .expect("draft");
    let review = tribune::service::post::create(&app.state, &bob, input(None, "En relecture."))
        .await
        .expect("draft");
    tribune::service::post::submit_for_review(&app.state, &bob, &review.public_id)
        .await
        .expect("submit");
    let scheduled = tribune::service::post::create(&app.state, &bob, input(None, "Plus tard."))
        .await
        .expect("draft");
    tribune::service::post::schedule(
        &app.state,
        &editor,
        &scheduled.public_id,
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .expect("schedule");
    // An author cannot publish.
    let refused = tribune::service::post::publish_now(&app.state, &bob, &draft.public_id).await;
    assert!(
        matches!(
            refused,
            Err(tribune::service::post::PostError::Forbidden(_))
        ),
        "{refused:?}"
    );

    for public_id in [&draft.public_id, &review.public_id, &scheduled.public_id] {
        for path in [
            format!("/posts/{public_id}"),
            format!("/posts/{public_id}/activity"),
            format!("/posts/{public_id}/replies"),
        ] {
            for accept in [ACCEPT_AS, "text/html"] {
                assert_eq!(
                    app.get(&path, accept).await.status(),
                    404,
                    "{path} {accept}"
                );
            }
        }
    }
    assert_eq!(
        app.get("/posts/doesnotexist", ACCEPT_AS).await.status(),
        404
    );
    let outbox = app.get_activity_json("/actors/collectif/outbox").await;
    assert_eq!(outbox["totalItems"], 0);
    let page = app
        .get_activity_json("/actors/collectif/outbox?page=1")
        .await;
    assert_eq!(page["orderedItems"], serde_json::json!([]));
    let everything = format!("{outbox}{page}");
    assert!(!everything.contains("Brouillon") && !everything.contains("relecture"));
}
db_test!(the_public_never_sees_unpublished_posts);

async fn outbox_pages_and_featured_list_public_posts(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.publishing.page_size = 2).await;
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            app.publish_post(&alice, input(None, &format!("Message {n}")))
                .await,
        );
    }
    let outbox = app.get_activity_json("/actors/collectif/outbox").await;
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 3);
    let first = app
        .get_activity_json("/actors/collectif/outbox?page=1")
        .await;
    assert_eq!(first["type"], "OrderedCollectionPage");
    let items = first["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "Create");
    assert!(
        items[0]["object"]["content"]
            .as_str()
            .expect("c")
            .contains("Message 3"),
        "newest first"
    );
    let next = first["next"].as_str().expect("next page");
    let second: Value = app
        .client
        .get(next)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(second["orderedItems"].as_array().expect("items").len(), 1);
    assert!(second.get("next").is_none());

    tribune::service::post::set_pinned(&app.state, &alice, &ids[0], true)
        .await
        .expect("pin");
    let featured = app.get_activity_json("/actors/collectif/featured").await;
    assert_eq!(featured["totalItems"], 1);
    assert!(
        featured["orderedItems"][0]["content"]
            .as_str()
            .expect("c")
            .contains("Message 1")
    );
    tribune::service::post::set_pinned(&app.state, &alice, &ids[0], false)
        .await
        .expect("unpin");
    assert_eq!(
        app.get_activity_json("/actors/collectif/featured").await["totalItems"],
        0
    );
}
db_test!(outbox_pages_and_featured_list_public_posts);

/// jsonld.js expands a Note and an Article (and the Create) without dropping a term.
async fn objects_expand_under_json_ld_without_losing_terms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app
        .add_member("alice", Role::Editor, "un mot de passe solide")
        .await;
    let note_id = app
        .publish_post(
            &alice,
            PostInput {
                content_warning: Some("cw".into()),
                ..input(None, "Une note #tag")
            },
        )
        .await;
    let article_id = app
        .publish_post(&alice, input(Some("Titre"), "Un article."))
        .await;
    for path in [
        format!("/posts/{note_id}"),
        format!("/posts/{article_id}"),
        format!("/posts/{article_id}/activity"),
    ] {
        let doc = app.get_activity_json(&path).await;
        let (ok, expanded, err) = run_node("jsonld-expand.mjs", &[], &doc.to_string());
        assert!(ok, "{path}: {err}");
        assert!(
            !expanded.contains("\"_:"),
            "{path}: a term was not defined: {expanded}"
        );
        let expanded: Value = serde_json::from_str(&expanded).expect("json");
        let node = &expanded[0];
        let object = if path.ends_with("/activity") {
            &node["https://www.w3.org/ns/activitystreams#object"][0]
        } else {
            node
        };
        for term in [
            "https://www.w3.org/ns/activitystreams#content",
            "https://www.w3.org/ns/activitystreams#attributedTo",
            "https://www.w3.org/ns/activitystreams#published",
            "https://www.w3.org/ns/activitystreams#to",
            "https://www.w3.org/ns/activitystreams#cc",
            "https://www.w3.org/ns/activitystreams#replies",
            "https://www.w3.org/ns/activitystreams#source",
            "https://www.w3.org/ns/activitystreams#sensitive",
            "https://www.w3.org/ns/activitystreams#likes",
            "https://www.w3.org/ns/activitystreams#shares",
        ] {
            assert!(
                object.get(term).is_some(),
                "{path}: {term} dropped: {object}"
            );
        }
    }
}
db_test!(objects_expand_under_json_ld_without_losing_terms);
