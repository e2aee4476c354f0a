//! The admin panel as members use it: a browser with cookies, real forms, the real server.

use chrono::{Duration, Utc};
use tribune::{
    db::{self, entity::member},
    domain::{member::Role, post::PostInput},
};

use crate::{
    db_test,
    support::{
        ACCEPT_AS, Backend, Browser, TestApp, header, input_value, location, textarea_value,
    },
};

const PASSWORD: &str = "correct horse battery";

/// Adds a member and logs them in with a fresh browser.
async fn logged_in(app: &TestApp, username: &str, role: Role) -> (Browser, member::Model) {
    let model = app.add_member(username, role, PASSWORD).await;
    let browser = app.browser();
    browser.login_ok(username, PASSWORD).await;
    (browser, model)
}

/// The fields of the compose form, with `extra` added or replacing defaults.
fn post_fields<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("title", ""),
        ("summary", ""),
        ("content_warning", ""),
        ("language", "fr"),
        ("body", "Bonjour à **toutes et tous**."),
        ("tags", ""),
        ("scheduled_at", ""),
        ("action", "save"),
    ];
    for (name, value) in extra {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

/// The public id in a redirect to `/admin/posts/{id}/edit?done=…`.
fn public_id_in(response: &reqwest::Response) -> String {
    let target = location(response);
    target
        .strip_prefix("/admin/posts/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("not a post edit redirect: {target}"))
        .to_string()
}

async fn stored(app: &TestApp, public_id: &str) -> tribune::db::entity::post::Model {
    db::post::find_by_public_id(&app.db, public_id)
        .await
        .expect("query")
        .expect("the post exists")
}

async fn draft_by(app: &TestApp, author: &member::Model, body: &str) -> String {
    tribune::service::post::create(
        &app.state,
        author,
        PostInput {
            language: "fr".into(),
            body_markdown: body.into(),
            ..PostInput::default()
        },
    )
    .await
    .expect("draft")
    .public_id
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tribune_session="))
        .expect("a session cookie")
        .to_string()
}

async fn login_and_logout_with_a_safe_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    let browser = app.browser();

    // A page of the panel sends to the login form, which will bring the member back.
    let response = browser.get("/admin/posts?status=review").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/login?next=%2Fadmin%2Fposts%3Fstatus%3Dreview"
    );
    let (status, html) = browser.page(&location(&response)).await;
    assert_eq!(status, 200);
    assert_eq!(
        input_value(&html, "next").as_deref(),
        Some("/admin/posts?status=review")
    );

    // A wrong password is refused with a clear message.
    let response = browser.login("camille", "not my password").await;
    assert_eq!(response.status(), 401);
    assert!(
        response.text().await.expect("body").contains("incorrect"),
        "message"
    );

    let csrf = input_value(&html, "csrf").expect("csrf");
    let response = browser
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("username", "camille"),
                ("password", PASSWORD),
                ("next", "/admin/posts?status=review"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/posts?status=review");
    let cookie = session_cookie(&response);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let token = cookie
        .trim_start_matches("tribune_session=")
        .split(';')
        .next()
        .expect("token")
        .to_string();
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 1);
    let (status, html) = browser.page("/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Tableau de bord"));
    assert!(
        html.contains("id=\"followers-count\">0<"),
        "followers count"
    );

    // Logging out ends the session in the database: the old cookie is worth nothing.
    let response = browser.submit("/admin/logout", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/login?done=logged_out");
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);
    assert_eq!(browser.get("/admin").await.status(), 303);
    let replayed = app
        .client
        .get(app.url("/admin"))
        .header("Cookie", format!("tribune_session={token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(replayed.status(), 303);

    // `next` only ever leads inside the panel (no open redirect).
    let (_, html) = browser
        .page("/admin/login?next=https%3A%2F%2Fevil.example%2Fadmin")
        .await;
    assert_eq!(input_value(&html, "next").as_deref(), Some(""));
    let csrf = input_value(&html, "csrf").expect("csrf");
    let response = browser
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("username", "camille"),
                ("password", PASSWORD),
                ("next", "//evil.example/admin"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin");

    // A disabled member cannot log in, even with the right password.
    app.add_member("dominique", Role::Editor, PASSWORD).await;
    tribune::service::member::set_disabled(&app.db, "dominique", true)
        .await
        .expect("disabled");
    let response = app.browser().login("dominique", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.expect("body").contains("désactivé"));
}
db_test!(login_and_logout_with_a_safe_cookie);

async fn cookies_are_secure_when_the_site_is_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        let _ = settings.instance.base_url.set_scheme("https");
    })
    .await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    // The server itself speaks http behind its (imagined) TLS proxy.
    let port = app.settings.server.listen.port();
    let plain = format!("http://127.0.0.1:{port}");
    let page = app
        .client
        .get(format!("{plain}/admin/login"))
        .send()
        .await
        .expect("login page");
    let login_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tribune_login_csrf="))
        .expect("login csrf cookie")
        .to_string();
    assert!(login_cookie.contains("Secure"), "{login_cookie}");
    let value = login_cookie
        .trim_start_matches("tribune_login_csrf=")
        .split(';')
        .next()
        .expect("value")
        .to_string();
    let html = page.text().await.expect("html");
    let csrf = input_value(&html, "csrf").expect("csrf");
    assert_eq!(
        csrf, value,
        "double submit: the same token in cookie and form"
    );
    let response = app
        .client
        .post(format!("{plain}/admin/login"))
        .header("Cookie", format!("tribune_login_csrf={value}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("csrf", csrf.as_str()),
                    ("username", "camille"),
                    ("password", PASSWORD),
                ])
                .finish(),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 303);
    let cookie = session_cookie(&response);
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}
db_test!(cookies_are_secure_when_the_site_is_https);

async fn sessions_survive_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, _) = logged_in(&app, "camille", Role::Editor).await;
    let app = app.restart().await;
    browser.base = app.base.clone();
    let (status, html) = browser.page("/admin").await;
    assert_eq!(status, 200, "still logged in after the restart");
    assert!(html.contains("camille"));
}
db_test!(sessions_survive_a_restart);

async fn failed_logins_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    app.add_member("dominique", Role::Author, PASSWORD).await;
    let browser = app.browser();
    for _ in 0..5 {
        assert_eq!(browser.login("camille", "guess").await.status(), 401);
    }
    // The account is now locked for a while, even with the right password.
    let response = browser.login("camille", PASSWORD).await;
    assert_eq!(response.status(), 429);
    let html = response.text().await.expect("body");
    assert!(html.contains("Trop de tentatives"), "a clear message");
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);

    // Other accounts are not locked by someone guessing camille's password…
    app.browser().login_ok("dominique", PASSWORD).await;
    // …until this address has failed too often, whatever the names tried.
    for i in 0..15 {
        let name = format!("nobody{i}");
        assert_eq!(browser.login(&name, "guess").await.status(), 401);
    }
    assert_eq!(
        app.browser().login("dominique", PASSWORD).await.status(),
        429
    );
}
db_test!(failed_logins_are_throttled);

async fn forms_without_the_session_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = logged_in(&app, "camille", Role::Admin).await;
    app.add_member("dominique", Role::Author, PASSWORD).await;
    let fields = post_fields(&[]);

    // Missing.
    let response = browser.post_form("/admin/posts/new", &fields).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.expect("body").contains("expiré"));
    // Forged.
    let mut forged = fields.clone();
    forged.push(("csrf", "forged"));
    assert_eq!(
        browser
            .post_form("/admin/posts/new", &forged)
            .await
            .status(),
        403
    );
    // Stale: the token of a session that has ended.
    let old = browser.csrf().await;
    assert_eq!(browser.submit("/admin/logout", &[]).await.status(), 303);
    browser.login_ok("camille", PASSWORD).await;
    let mut stale = fields.clone();
    stale.push(("csrf", &old));
    assert_eq!(
        browser.post_form("/admin/posts/new", &stale).await.status(),
        403
    );
    let response = browser
        .post_form(
            "/admin/members/dominique/role",
            &[("csrf", &old), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 403);

    // Nothing changed.
    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);
    let dominique = tribune::service::member::find(&app.db, "dominique")
        .await
        .expect("query")
        .expect("member");
    assert_eq!(dominique.role, "author");

    // The login form has its own token: a form posted without its cookie is refused.
    let (_, html) = app.browser().page("/admin/login").await;
    let csrf = input_value(&html, "csrf").expect("csrf");
    let response = app
        .browser()
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("username", "camille"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
}
db_test!(forms_without_the_session_token_are_refused);

async fn each_role_may_do_what_it_should(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (author, _) = logged_in(&app, "alex", Role::Author).await;
    let (editor, editor_model) = logged_in(&app, "sam", Role::Editor).await;
    let (admin, _) = logged_in(&app, "camille", Role::Admin).await;

    // An author cannot publish or schedule: refused before anything is saved.
    let in_an_hour = (Utc::now() + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    for extra in [
        vec![("action", "publish")],
        vec![
            ("action", "schedule"),
            ("scheduled_at", in_an_hour.as_str()),
        ],
    ] {
        let response = author
            .submit("/admin/posts/new", &post_fields(&extra))
            .await;
        assert_eq!(response.status(), 403, "{extra:?}");
        let html = response.text().await.expect("body");
        assert!(
            html.contains("Proposez plutôt votre texte à la relecture"),
            "{html}"
        );
        assert_eq!(
            textarea_value(&html, "body").as_deref(),
            Some("Bonjour à **toutes et tous**."),
            "the text is kept"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);

    // An author's draft cannot be published by its author from the edit form either.
    let response = author.submit("/admin/posts/new", &post_fields(&[])).await;
    assert_eq!(response.status(), 303);
    let draft = public_id_in(&response);
    let edit = format!("/admin/posts/{draft}/edit");
    let (_, html) = author.page(&edit).await;
    assert!(
        !html.contains("value=\"publish\""),
        "no publish button for authors"
    );
    let version = input_value(&html, "version").expect("version");
    let response = author
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("action", "publish")]),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(stored(&app, &draft).await.status, "draft");

    // Pinning is for editors.
    let published = app
        .publish_post(
            &editor_model,
            PostInput {
                language: "fr".into(),
                body_markdown: "Communiqué.".into(),
                ..PostInput::default()
            },
        )
        .await;
    let pin = format!("/admin/posts/{published}/pin");
    assert_eq!(author.submit(&pin, &[("pinned", "1")]).await.status(), 403);
    assert!(stored(&app, &published).await.pinned_at.is_none());
    assert_eq!(editor.submit(&pin, &[("pinned", "1")]).await.status(), 303);
    assert!(stored(&app, &published).await.pinned_at.is_some());
    assert_eq!(editor.submit(&pin, &[("pinned", "0")]).await.status(), 303);
    assert!(stored(&app, &published).await.pinned_at.is_none());

    // An author cannot edit a published post, even their own.
    let (_, html) = editor.page(&edit).await;
    let version = input_value(&html, "version").expect("version");
    let response = editor
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("action", "publish")]),
        )
        .await;
    assert_eq!(
        response.status(),
        303,
        "an editor publishes the author's draft"
    );
    assert_eq!(stored(&app, &draft).await.status, "published");
    let (status, html) = author.page(&edit).await;
    assert_eq!(status, 200);
    assert!(html.contains("seules les personnes éditrices peuvent la modifier"));
    let version = input_value(&html, "version").expect("version");
    let response = author
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("body", "Changé par l’auteur.")]),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        stored(&app, &draft).await.body_markdown,
        "Bonjour à **toutes et tous**."
    );

    // Members are managed by admins only.
    let members_before = app.count("SELECT COUNT(*) FROM member").await;
    for browser in [&author, &editor] {
        let (status, html) = browser.page("/admin/members").await;
        assert_eq!(status, 403);
        assert!(html.contains("Seules les personnes administratrices"));
        let response = browser
            .submit(
                "/admin/members",
                &[
                    ("username", "intruder"),
                    ("display_name", ""),
                    ("role", "admin"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), 403);
        let response = browser
            .submit("/admin/members/alex/role", &[("role", "admin")])
            .await;
        assert_eq!(response.status(), 403);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM member").await,
        members_before
    );
    let (status, html) = admin.page("/admin/members").await;
    assert_eq!(status, 200);
    assert!(html.contains("alex") && html.contains("sam"));
    let (_, html) = author.page("/admin").await;
    assert!(!html.contains("href=\"/admin/members\""), "no menu entry");
}
db_test!(each_role_may_do_what_it_should);

async fn authors_see_only_their_own_posts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (alex, alex_model) = logged_in(&app, "alex", Role::Author).await;
    let (_, blaise_model) = logged_in(&app, "blaise", Role::Author).await;
    let (editor, _) = logged_in(&app, "sam", Role::Editor).await;
    draft_by(&app, &alex_model, "Le brouillon d’Alex").await;
    let theirs = draft_by(&app, &blaise_model, "Le brouillon de Blaise").await;

    let (status, html) = alex.page("/admin/posts").await;
    assert_eq!(status, 200);
    assert!(html.contains("Le brouillon d’Alex"));
    assert!(!html.contains("Le brouillon de Blaise"));
    let (status, _) = alex.page(&format!("/admin/posts/{theirs}/edit")).await;
    assert_eq!(
        status, 404,
        "someone else's draft does not exist for an author"
    );
    let response = alex
        .submit(
            &format!("/admin/posts/{theirs}/edit"),
            &post_fields(&[("version", "1"), ("body", "Effacé !")]),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        alex.submit(&format!("/admin/posts/{theirs}/delete"), &[])
            .await
            .status(),
        403
    );
    assert_eq!(
        stored(&app, &theirs).await.body_markdown,
        "Le brouillon de Blaise"
    );

    let (_, html) = editor.page("/admin/posts").await;
    assert!(html.contains("Le brouillon d’Alex") && html.contains("Le brouillon de Blaise"));
    let (_, html) = editor.page("/admin/posts?status=published").await;
    assert!(!html.contains("Le brouillon"));
}
db_test!(authors_see_only_their_own_posts);

async fn compose_preview_submit_and_publish(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (author, _) = logged_in(&app, "alex", Role::Author).await;
    let (editor, _) = logged_in(&app, "sam", Role::Editor).await;
    let article = [
        ("title", "Lettre ouverte"),
        ("summary", "Nous demandons le retrait du projet."),
        (
            "body",
            "Bonjour à **toutes et tous**.\n\nSecond paragraphe. #grève",
        ),
        ("tags", "retraites"),
    ];

    // The preview shows the public page and what Mastodon will show; nothing is saved.
    let mut fields = article.to_vec();
    fields.push(("action", "preview"));
    let response = author
        .submit("/admin/posts/new", &post_fields(&fields))
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(html.contains("class=\"preview-site\""), "{html}");
    assert!(html.contains("class=\"preview-mastodon\""), "{html}");
    assert!(
        html.contains("<strong>toutes et tous</strong>"),
        "the page renders the text"
    );
    assert!(html.contains("data-kind=\"Article\""));
    assert!(
        html.contains("<h2>Lettre ouverte</h2><p>Nous demandons le retrait du projet.</p>"),
        "Mastodon shows the title and the lede: {html}"
    );
    assert!(html.contains("Par alex"), "the byline in the lede");
    assert!(html.contains("#retraites"));
    assert_eq!(
        textarea_value(&html, "body").as_deref(),
        Some("Bonjour à **toutes et tous**.\n\nSecond paragraphe. #grève")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);

    // With a content warning it is a Note: Mastodon shows the whole text behind the warning.
    let mut fields = article.to_vec();
    fields.extend([
        ("content_warning", "Violences policières"),
        ("action", "preview"),
    ]);
    let html = author
        .submit("/admin/posts/new", &post_fields(&fields))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-kind=\"Note\""));
    assert!(html.contains("<details class=\"cw\">"));
    assert!(html.contains("Violences policières"));
    assert!(
        html.contains("<p><strong>Lettre ouverte</strong></p>"),
        "{html}"
    );

    // The live preview (JavaScript) gets the same, as a fragment.
    let mut fields = article.to_vec();
    fields.push(("action", "preview"));
    let response = author
        .submit("/admin/posts/preview", &post_fields(&fields))
        .await;
    assert_eq!(response.status(), 200);
    let fragment = response.text().await.expect("fragment");
    assert!(fragment.contains("preview-mastodon") && !fragment.contains("<html"));
    let response = author
        .submit("/admin/posts/preview", &post_fields(&[("body", "")]))
        .await;
    assert_eq!(response.status(), 422);

    // Submitted for review…
    let mut fields = article.to_vec();
    fields.push(("action", "submit"));
    let response = author
        .submit("/admin/posts/new", &post_fields(&fields))
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("/edit?done=submitted"));
    let id = public_id_in(&response);
    assert_eq!(stored(&app, &id).await.status, "review");
    assert_eq!(
        app.get(&format!("/posts/{id}"), ACCEPT_AS).await.status(),
        404
    );

    // …it waits on the editor's dashboard…
    let (_, dashboard) = editor.page("/admin").await;
    assert!(dashboard.contains("Lettre ouverte"), "{dashboard}");
    // …who publishes it.
    let edit = format!("/admin/posts/{id}/edit");
    let (_, html) = editor.page(&edit).await;
    let version = input_value(&html, "version").expect("version");
    let mut fields = article.to_vec();
    fields.extend([("version", version.as_str()), ("action", "publish")]);
    let response = editor.submit(&edit, &post_fields(&fields)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("{edit}?done=published"));
    let (_, html) = editor.page(&location(&response)).await;
    assert!(html.contains("Publié !"));

    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["type"], "Article");
    assert_eq!(object["name"], "Lettre ouverte");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Create'")
            .await,
        1
    );
}
db_test!(compose_preview_submit_and_publish);

async fn editing_sends_an_update_and_deleting_a_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (editor, editor_model) = logged_in(&app, "sam", Role::Editor).await;
    let id = app
        .publish_post(
            &editor_model,
            PostInput {
                language: "fr".into(),
                body_markdown: "Première version.".into(),
                ..PostInput::default()
            },
        )
        .await;
    let edit = format!("/admin/posts/{id}/edit");
    let (_, html) = editor.page(&edit).await;
    let version = input_value(&html, "version").expect("version");
    let response = editor
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("body", "Version corrigée.")]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("{edit}?done=updated"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Update'")
            .await,
        1
    );
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert!(
        object["content"]
            .as_str()
            .expect("content")
            .contains("Version corrigée.")
    );

    // Deleting asks first (no JavaScript needed), then tombstones and sends a Delete.
    let (status, html) = editor.page(&format!("/admin/posts/{id}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Oui, supprimer"));
    let response = editor
        .submit(&format!("/admin/posts/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/posts?done=deleted");
    assert_eq!(
        app.get(&format!("/posts/{id}"), ACCEPT_AS).await.status(),
        410
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Delete'")
            .await,
        1
    );
    let (status, _) = editor.page(&edit).await;
    assert_eq!(status, 410);
}
db_test!(editing_sends_an_update_and_deleting_a_delete);

async fn a_stale_version_is_refused_and_nothing_is_overwritten(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (editor, editor_model) = logged_in(&app, "sam", Role::Editor).await;
    let id = draft_by(&app, &editor_model, "Texte initial.").await;
    let edit = format!("/admin/posts/{id}/edit");
    // Two tabs open on the same version.
    let (_, html) = editor.page(&edit).await;
    let version = input_value(&html, "version").expect("version");

    let first = editor
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("body", "Texte du premier onglet.")]),
        )
        .await;
    assert_eq!(first.status(), 303);
    let second = editor
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("body", "Texte du second onglet.")]),
        )
        .await;
    assert_eq!(second.status(), 409);
    let html = second.text().await.expect("html");
    assert!(
        html.contains("Quelqu’un a enregistré cette publication"),
        "{html}"
    );
    assert_eq!(
        textarea_value(&html, "body").as_deref(),
        Some("Texte du second onglet."),
        "the user's text is kept"
    );
    assert!(html.contains("Texte du premier onglet."), "theirs is shown");
    assert_eq!(
        stored(&app, &id).await.body_markdown,
        "Texte du premier onglet."
    );

    // Saving again from the conflict page is a deliberate choice, and works.
    let newer = input_value(&html, "version").expect("version");
    assert_ne!(newer, version);
    let response = editor
        .submit(
            &edit,
            &post_fields(&[("version", &newer), ("body", "Texte du second onglet.")]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        stored(&app, &id).await.body_markdown,
        "Texte du second onglet."
    );
}
db_test!(a_stale_version_is_refused_and_nothing_is_overwritten);

/// Fields typed, the field at fault, the message expected next to it.
type BadInput<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

async fn bad_input_is_explained_next_to_its_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (editor, editor_model) = logged_in(&app, "sam", Role::Editor).await;
    let long_title = "t".repeat(214);
    let long_summary = "s".repeat(1001);
    let long_warning = "w".repeat(501);
    let cases: Vec<BadInput> = vec![
        (vec![("body", "   ")], "body", "Ce champ doit être rempli."),
        (
            vec![("title", &long_title)],
            "title",
            "200 caractères au maximum (214 saisis).",
        ),
        (
            vec![("title", "!!! ???")],
            "title",
            "pas seulement de la ponctuation",
        ),
        (
            vec![("tags", "grève, ...")],
            "tags",
            "« ... » n’est pas un mot-clé valable",
        ),
        (
            vec![("language", "xx")],
            "language",
            "Langue inconnue « xx »",
        ),
        (
            vec![("summary", &long_summary)],
            "summary",
            "1000 caractères au maximum (1001 saisis).",
        ),
        (
            vec![("content_warning", &long_warning)],
            "content_warning",
            "500 caractères au maximum (501 saisis).",
        ),
        (
            vec![("action", "schedule"), ("scheduled_at", "2020-01-01T10:00")],
            "scheduled_at",
            "Cette date est passée",
        ),
        (
            vec![("action", "schedule"), ("scheduled_at", "demain midi")],
            "scheduled_at",
            "Indiquez une date et une heure",
        ),
    ];
    for (extra, field, message) in &cases {
        let mut fields = extra.clone();
        if !extra.iter().any(|(name, _)| *name == "body") {
            fields.push(("body", "Mon texte, à garder."));
        }
        let response = editor
            .submit("/admin/posts/new", &post_fields(&fields))
            .await;
        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.expect("html");
        assert!(html.contains(message), "{field}: {message} in {html}");
        assert!(
            html.contains(&format!("<a href=\"#f-{field}\">")),
            "{field}: linked from the summary"
        );
        assert!(
            html.contains(&format!("id=\"e-{field}\"")),
            "{field}: shown next to the field"
        );
        assert!(html.contains("aria-invalid=\"true\""), "{field}");
        if *field != "body" {
            assert_eq!(
                textarea_value(&html, "body").as_deref(),
                Some("Mon texte, à garder."),
                "{field}: what was typed is kept"
            );
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);

    // The same in English, and on the edit form, where nothing is overwritten either.
    let english = app.browser_in("en");
    english.login_ok("sam", PASSWORD).await;
    let id = draft_by(&app, &editor_model, "Texte enregistré.").await;
    let edit = format!("/admin/posts/{id}/edit");
    let (_, html) = english.page(&edit).await;
    let version = input_value(&html, "version").expect("version");
    let response = english
        .submit(
            &edit,
            &post_fields(&[("version", &version), ("title", &long_title)]),
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("html");
    assert!(html.contains("At most 200 characters (got 214)."), "{html}");
    assert_eq!(stored(&app, &id).await.body_markdown, "Texte enregistré.");
}
db_test!(bad_input_is_explained_next_to_its_field);

async fn scheduled_posts_are_published_when_due_even_after_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (editor, _) = logged_in(&app, "sam", Role::Editor).await;
    let at = (Utc::now() + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let response = editor
        .submit(
            "/admin/posts/new",
            &post_fields(&[
                ("body", "À publier dans une heure."),
                ("action", "schedule"),
                ("scheduled_at", &at),
            ]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("done=scheduled"));
    let id = public_id_in(&response);
    let post = stored(&app, &id).await;
    assert_eq!(post.status, "scheduled");
    assert_eq!(
        post.scheduled_at
            .expect("scheduled")
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        at,
        "the time typed is read as UTC"
    );
    let (_, html) = editor.page("/admin").await;
    assert!(
        html.contains("À publier dans une heure."),
        "on the dashboard"
    );

    assert_eq!(
        tribune::service::post::publish_due(&app.state, Utc::now())
            .await
            .expect("run"),
        0
    );
    assert_eq!(
        app.get(&format!("/posts/{id}"), ACCEPT_AS).await.status(),
        404
    );

    let app = app.restart().await;
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(
        tribune::service::post::publish_due(&app.state, later)
            .await
            .expect("run"),
        1
    );
    let object = app.get_activity_json(&format!("/posts/{id}")).await;
    assert_eq!(object["type"], "Note");
}
db_test!(scheduled_posts_are_published_when_due_even_after_a_restart);

async fn admins_manage_members(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = logged_in(&app, "camille", Role::Admin).await;
    let members = "SELECT COUNT(*) FROM member";
    let before = app.count(members).await;

    let add = |username: &'static str, password: &'static str| {
        let admin = &admin;
        async move {
            admin
                .submit(
                    "/admin/members",
                    &[
                        ("username", username),
                        ("display_name", "Dominique Dupont"),
                        ("role", "editor"),
                        ("password", password),
                    ],
                )
                .await
        }
    };
    let response = add("dominique", "court").await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("entre 10 et 256 caractères (5 saisis)"),
        "{html}"
    );
    assert_eq!(input_value(&html, "username").as_deref(), Some("dominique"));
    let response = add("dominique dupont", PASSWORD).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("Lettres minuscules")
    );
    assert_eq!(app.count(members).await, before);

    let response = add("dominique", PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count(members).await, before + 1);
    let response = add("dominique", PASSWORD).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.expect("html").contains("déjà pris"));
    let dominique = app.browser();
    dominique.login_ok("dominique", PASSWORD).await;

    // Roles change; the last admin cannot be demoted or disabled.
    let role = |username: &str, value: &'static str| {
        let admin = &admin;
        let path = format!("/admin/members/{username}/role");
        async move { admin.submit(&path, &[("role", value)]).await }
    };
    assert_eq!(role("dominique", "author").await.status(), 303);
    let response = role("camille", "editor").await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("camille est la dernière personne administratrice active")
    );
    let response = admin
        .submit("/admin/members/camille/access", &[("disabled", "1")])
        .await;
    assert_eq!(response.status(), 409);
    let camille = tribune::service::member::find(&app.db, "camille")
        .await
        .expect("query")
        .expect("member");
    assert_eq!((camille.role.as_str(), camille.disabled), ("admin", false));

    // Disabling ends the member's sessions and prevents logging in; enabling restores access.
    let response = admin
        .submit("/admin/members/dominique/access", &[("disabled", "1")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(dominique.get("/admin").await.status(), 303, "session ended");
    assert_eq!(
        app.browser().login("dominique", PASSWORD).await.status(),
        403
    );
    let response = admin
        .submit("/admin/members/dominique/access", &[("disabled", "0")])
        .await;
    assert_eq!(response.status(), 303);
    app.browser().login_ok("dominique", PASSWORD).await;
    let (_, html) = admin.page("/admin/members?done=enabled").await;
    assert!(html.contains("Compte réactivé."));
}
db_test!(admins_manage_members);

async fn members_change_their_password_and_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = logged_in(&app, "alex", Role::Author).await;
    let new = "une nouvelle phrase de passe";
    let password = "/admin/account/password";
    let cases = [
        ("pas le bon", new, new, "pas votre mot de passe actuel"),
        (
            PASSWORD,
            "court",
            "court",
            "entre 10 et 256 caractères (5 saisis)",
        ),
        (PASSWORD, new, "une autre phrase", "ne sont pas identiques"),
    ];
    for (current, first, second, message) in cases {
        let response = browser
            .submit(
                password,
                &[("current", current), ("new", first), ("confirm", second)],
            )
            .await;
        assert_eq!(response.status(), 422, "{message}");
        assert!(
            response.text().await.expect("html").contains(message),
            "{message}"
        );
    }
    let response = browser
        .submit(
            password,
            &[("current", PASSWORD), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, html) = browser.page(&location(&response)).await;
    assert_eq!(status, 200, "this browser stays logged in");
    assert!(html.contains("Mot de passe changé."));
    assert_eq!(app.browser().login("alex", PASSWORD).await.status(), 401);
    app.browser().login_ok("alex", new).await;

    // The interface language: the member's choice wins over the browser's.
    let response = browser
        .submit("/admin/account/language", &[("locale", "en")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = browser.page("/admin/account").await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("My account"));
    assert!(html.contains("Interface language saved.") || html.contains("Change password"));
    let response = browser
        .submit("/admin/account/language", &[("locale", "klingon")])
        .await;
    assert_eq!(response.status(), 422);
    browser
        .submit("/admin/account/language", &[("locale", "")])
        .await;
    let (_, html) = browser.page("/admin/account").await;
    assert!(html.contains("<html lang=\"fr\">"));
}
db_test!(members_change_their_password_and_language);

async fn the_interface_is_french_by_default_and_english_on_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("alex", Role::Author, PASSWORD).await;

    let (status, html) = app.browser().page("/admin/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("<h1>Connexion</h1>"));
    assert!(html.contains("<label for=\"f-username\">Nom d’utilisateur</label>"));

    let english = app.browser_in("en-GB,en;q=0.9,fr;q=0.5");
    let (_, html) = english.page("/admin/login").await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<h1>Log in</h1>"));
    english.login_ok("alex", PASSWORD).await;
    let (_, html) = english.page("/admin").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Dashboard"));
    let (_, html) = english.page("/admin/posts/new").await;
    assert!(html.contains("Submit for review") && !html.contains("Publish now"));
    let (status, html) = english.page("/admin/members").await;
    assert_eq!(status, 403);
    assert!(html.contains("Only administrators can manage members."));

    // Admin pages carry a strict policy: no inline scripts, no third-party resources.
    let response = english.get("/admin").await;
    let csp = header(&response, "content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(header(&response, "cache-control"), "no-store");
    let html = response.text().await.expect("html");
    assert!(!html.contains("<script>") && !html.contains("style=\""));
    assert!(!html.contains("https://"), "no third-party resources");
    let script = english.get("/static/admin.js").await;
    assert_eq!(script.status(), 200);
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    assert_eq!(english.get("/static/admin.css").await.status(), 200);
}
db_test!(the_interface_is_french_by_default_and_english_on_request);
