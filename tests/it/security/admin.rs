//! The admin panel and the OAuth consent page: CSRF on every form, sessions (login required,
//! id rotated at login), roles, no open redirect, cookies and security headers on every kind of
//! response, OAuth redirect URIs.

use serde_json::Value;
use tribune::domain::member::Role;

use super::{assert_refused, published};
use crate::{
    db_test,
    support::{
        ACCEPT_AS, ACCEPT_BROWSER, Backend, Browser, TestApp, assert_unchanged, header,
        input_value, location,
    },
};

const PASSWORD: &str = "un mot de passe solide";
const CSRF_MESSAGE: &str = "rien n’a été modifié";

async fn logged_in(app: &TestApp, username: &str, role: Role) -> Browser {
    app.add_member(username, role, PASSWORD).await;
    let browser = app.browser();
    browser.login_ok(username, PASSWORD).await;
    browser
}

/// An app with an admin's browser, a published post, another member and an OAuth app; returns
/// the browser and every state-changing form of the panel with fields that would change
/// something if the form were accepted.
async fn panel(backend: Backend) -> (TestApp, Browser, Vec<(String, Vec<(String, String)>)>) {
    let app = TestApp::spawn(backend).await;
    let browser = logged_in(&app, "camille", Role::Admin).await;
    app.add_member("dominique", Role::Author, PASSWORD).await;
    let (_, post) = published(&app, "Un billet").await;
    let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let post_fields = f(&[
        ("title", "Titre"),
        ("body_markdown", "Corps forgé"),
        ("language", "fr"),
        ("action", "publish"),
    ]);
    let forms = vec![
        ("/admin/logout".to_string(), f(&[])),
        ("/admin/posts/new".into(), post_fields.clone()),
        ("/admin/posts/preview".into(), post_fields.clone()),
        (format!("/admin/posts/{post}/edit"), post_fields.clone()),
        (format!("/admin/posts/{post}/pin"), f(&[("pinned", "true")])),
        (format!("/admin/posts/{post}/delete"), f(&[])),
        (
            "/admin/members".into(),
            f(&[
                ("username", "mallory"),
                ("role", "admin"),
                ("password", PASSWORD),
            ]),
        ),
        (
            "/admin/members/dominique/role".into(),
            f(&[("role", "admin")]),
        ),
        (
            "/admin/members/dominique/access".into(),
            f(&[("disabled", "true")]),
        ),
        ("/admin/followers/1/approve".into(), f(&[])),
        ("/admin/followers/1/reject".into(), f(&[])),
        ("/admin/followers/1/remove".into(), f(&[])),
        ("/admin/comments/1/approve".into(), f(&[])),
        (
            "/admin/blocks".into(),
            f(&[("target", "victim.example"), ("reason", "x")]),
        ),
        ("/admin/blocks/1/remove".into(), f(&[])),
        (
            "/admin/settings".into(),
            f(&[("replies", "open"), ("allowlist_mode", "true")]),
        ),
        (
            "/admin/delivery/retry".into(),
            f(&[("host", "victim.example")]),
        ),
        ("/admin/tokens/1/revoke".into(), f(&[])),
        (
            "/admin/account/password".into(),
            f(&[
                ("current", PASSWORD),
                ("new", "un autre mot de passe"),
                ("confirm", "un autre mot de passe"),
            ]),
        ),
        ("/admin/account/language".into(), f(&[("language", "en")])),
        (
            "/oauth/authorize".into(),
            f(&[
                ("client_id", "x"),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
                ("decision", "approve"),
            ]),
        ),
    ];
    (app, browser, forms)
}

async fn every_form_without_a_token_is_refused(backend: Backend) {
    let (app, browser, forms) = panel(backend).await;
    let before = app.db_snapshot().await;
    for (path, fields) in &forms {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = browser.post_form(path, &fields).await;
        assert_refused(response, 403, CSRF_MESSAGE).await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(every_form_without_a_token_is_refused);

async fn every_form_with_a_wrong_token_is_refused(backend: Backend) {
    let (app, browser, forms) = panel(backend).await;
    // Another member's valid token, an empty one, one almost right, a forged one.
    let other = logged_in(&app, "bernard", Role::Editor).await;
    let theirs = other.csrf().await;
    let mine = browser.csrf().await;
    let mut almost = mine.clone();
    almost.pop();
    almost.push(if mine.ends_with('A') { 'B' } else { 'A' });
    let before = app.db_snapshot().await;
    for token in [theirs.as_str(), "", almost.as_str(), "forged"] {
        for (path, fields) in &forms {
            let mut all: Vec<(&str, &str)> = vec![("csrf", token)];
            all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            assert_refused(browser.post_form(path, &all).await, 403, CSRF_MESSAGE).await;
        }
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(every_form_with_a_wrong_token_is_refused);

async fn without_a_session_every_page_and_form_leads_to_login(backend: Backend) {
    let (app, browser, forms) = panel(backend).await;
    let token = browser.csrf().await;
    let stranger = app.browser();
    let before = app.db_snapshot().await;
    for (path, fields) in &forms {
        // Even with a token that was valid for someone's session.
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let response = stranger.post_form(path, &all).await;
        assert_eq!(response.status(), 303, "{path}");
        assert!(
            location(&response).starts_with("/admin/login"),
            "{path}: {}",
            location(&response)
        );
    }
    for path in [
        "/admin",
        "/admin/posts",
        "/admin/posts/new",
        "/admin/members",
        "/admin/followers",
        "/admin/comments",
        "/admin/blocks",
        "/admin/settings",
        "/admin/delivery",
        "/admin/account",
        "/admin/tokens",
        "/admin/notifications",
    ] {
        let response = stranger.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert!(
            location(&response).starts_with("/admin/login?next="),
            "{path}"
        );
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(without_a_session_every_page_and_form_leads_to_login);

async fn an_author_cannot_publish_moderate_or_manage(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, post) = published(&app, "Le billet d'une autre").await;
    let author = logged_in(&app, "dominique", Role::Author).await;
    let before = app.db_snapshot().await;
    for (path, fields) in [
        (
            "/admin/members".to_string(),
            vec![
                ("username", "mallory"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        ),
        ("/admin/members/eve/role".into(), vec![("role", "author")]),
        (
            "/admin/members/dominique/role".into(),
            vec![("role", "admin")],
        ),
        ("/admin/settings".into(), vec![("replies", "open")]),
        (
            "/admin/blocks".into(),
            vec![("target", "victim.example"), ("reason", "")],
        ),
        ("/admin/comments/1/approve".into(), vec![]),
        ("/admin/followers/1/approve".into(), vec![]),
        (format!("/admin/posts/{post}/pin"), vec![("pinned", "true")]),
        (format!("/admin/posts/{post}/delete"), vec![]),
        (
            format!("/admin/posts/{post}/edit"),
            vec![
                ("body_markdown", "Réécrit"),
                ("language", "fr"),
                ("action", "publish"),
            ],
        ),
    ] {
        let response = author.submit(&path, &fields).await;
        let status = response.status().as_u16();
        assert!(status == 403 || status == 404, "{path}: {status}");
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(an_author_cannot_publish_moderate_or_manage);

fn session_cookie_value(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tribune_session="))
        .map(|v| {
            v.trim_start_matches("tribune_session=")
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        })
}

async fn the_session_id_is_new_at_each_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    // Session fixation: a value planted in the victim's browser before login.
    let planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let browser = app.browser();
    let (_, html) = browser.page("/admin/login").await;
    let csrf = input_value(&html, "csrf").expect("csrf");
    let login = |cookie: String| {
        app.client
            .post(app.url("/admin/login"))
            .header("Cookie", cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "csrf={csrf}&username=camille&password={}",
                PASSWORD.replace(' ', "+")
            ))
            .send()
    };
    let first = login(format!(
        "tribune_login_csrf={csrf}; tribune_session={planted}"
    ))
    .await
    .expect("login");
    assert_eq!(first.status(), 303);
    let first_id = session_cookie_value(&first).expect("a session cookie");
    assert_ne!(first_id, planted, "the planted value is not adopted");
    // Logging in again, while logged in, opens another session.
    let second = login(format!(
        "tribune_login_csrf={csrf}; tribune_session={first_id}"
    ))
    .await
    .expect("login");
    let second_id = session_cookie_value(&second).expect("a session cookie");
    assert_ne!(second_id, first_id);
    let before = app.db_snapshot().await;
    let with_planted = app
        .client
        .get(app.url("/admin"))
        .header("Cookie", format!("tribune_session={planted}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        with_planted.status(),
        303,
        "the planted value opens nothing"
    );
    assert!(location(&with_planted).starts_with("/admin/login"));
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(the_session_id_is_new_at_each_login);

const OFF_SITE: [&str; 12] = [
    "https://evil.example/admin",
    "//evil.example/admin",
    "///evil.example/admin",
    "/\\evil.example",
    "\\\\evil.example",
    "/admin//evil.example",
    "/admin/..//evil.example",
    "javascript:alert(1)",
    "/admin\r\nLocation: https://evil.example",
    "\t//evil.example",
    "https:evil.example",
    "/oauth/authorize/../..//evil.example",
];

async fn next_never_leads_off_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = logged_in(&app, "camille", Role::Admin).await;
    let before = app.db_snapshot().await;
    for next in OFF_SITE {
        let path = format!(
            "/admin/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish()
        );
        let response = browser.get(&path).await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/admin", "{next:?}");
    }
    assert_unchanged(&before, &app.db_snapshot().await);

    // The same values in the login form itself (each login opens a session: not compared).
    for next in OFF_SITE {
        let fresh = app.browser();
        let (_, html) = fresh.page("/admin/login").await;
        let csrf = input_value(&html, "csrf").expect("csrf");
        let response = fresh
            .post_form(
                "/admin/login",
                &[
                    ("csrf", &csrf),
                    ("username", "camille"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/admin", "{next:?}");
    }
}
db_test!(next_never_leads_off_site);

async fn cookies_are_scoped_and_http_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    let browser = app.browser();
    let page = browser.get("/admin/login").await;
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let login_csrf = cookies
        .iter()
        .find(|c| c.starts_with("tribune_login_csrf="))
        .expect("login csrf cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/admin", "Max-Age="] {
        assert!(login_csrf.contains(flag), "{flag} in {login_csrf}");
    }
    let before = app.db_snapshot().await;
    // Public pages and the federation set no cookie at all.
    for (path, accept) in [
        ("/", ACCEPT_BROWSER),
        ("/actors/collectif", ACCEPT_AS),
        ("/feed.atom", "*/*"),
    ] {
        let response = app.get(path, accept).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path} sets a cookie"
        );
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(cookies_are_scoped_and_http_only);

/// Asserts the headers every response carries, and a CSP without inline scripts.
fn assert_hardened(response: &reqwest::Response, what: &str) {
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(response, "x-frame-options"), "DENY", "{what}");
    let referrer = header(response, "referrer-policy");
    assert!(
        [
            "same-origin",
            "strict-origin-when-cross-origin",
            "no-referrer"
        ]
        .contains(&referrer.as_str()),
        "{what}: referrer-policy {referrer:?}"
    );
    let csp = header(response, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    let scripts = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .or_else(|| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with("default-src"))
        })
        .unwrap_or("");
    assert!(
        !scripts.contains('*') && !scripts.contains("data:") && !scripts.contains("http"),
        "{what}: {csp}"
    );
}

async fn every_kind_of_response_is_hardened(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, post) = published(&app, "Un billet").await;
    let browser = logged_in(&app, "camille", Role::Admin).await;
    let before = app.db_snapshot().await;
    for (path, accept) in [
        ("/", ACCEPT_BROWSER),
        (&format!("/posts/{post}") as &str, ACCEPT_BROWSER),
        (&format!("/posts/{post}"), ACCEPT_AS),
        ("/@collectif", ACCEPT_BROWSER),
        ("/actors/collectif", ACCEPT_AS),
        ("/actors/collectif/outbox", ACCEPT_AS),
        (
            "/.well-known/webfinger?resource=acct:collectif@localhost",
            "*/*",
        ),
        ("/.well-known/webfinger?resource=nonsense", "*/*"),
        ("/nodeinfo/2.1", "*/*"),
        ("/api/v1/instance", "application/json"),
        ("/api/v1/accounts/verify_credentials", "application/json"),
        ("/feed.atom", "*/*"),
        ("/feed.rss", "*/*"),
        ("/static/tribune.css", "text/css"),
        ("/static/admin.css", "text/css"),
        ("/static/admin.js", "*/*"),
        ("/healthz", "*/*"),
        ("/metrics", "*/*"),
        ("/nowhere", ACCEPT_BROWSER),
        ("/posts/nothing-here", ACCEPT_BROWSER),
        ("/admin/login", ACCEPT_BROWSER),
    ] {
        let response = app.get(path, accept).await;
        assert_hardened(&response, &format!("GET {path} ({})", response.status()));
    }
    for path in [
        "/admin",
        "/admin/posts/new",
        "/admin/settings",
        "/admin/members",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_hardened(&response, path);
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
    }
    let refused = app
        .client
        .post(app.url("/inbox"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 401);
    assert_hardened(&refused, "POST /inbox (401)");
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(every_kind_of_response_is_hardened);

async fn oauth_refuses_an_unregistered_redirect_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = logged_in(&app, "camille", Role::Admin).await;
    let registered: Value = app
        .client
        .post(app.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Appli"),
            ("redirect_uris", "https://app.example/callback"),
            ("scopes", "read write"),
        ])
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let client_id = registered["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let csrf = browser.csrf().await;
    let before = app.db_snapshot().await;
    for redirect in [
        "https://evil.example/callback",
        "https://app.example/callback/../evil",
        "https://app.example/callback?x=1",
        "https://app.example.evil.example/callback",
        "http://app.example/callback",
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "read")
            .finish();
        let page = browser.get(&format!("/oauth/authorize?{query}")).await;
        assert_refused(page, 400, "redirect_uri").await;
        let decided = browser
            .post_form(
                "/oauth/authorize",
                &[
                    ("csrf", &csrf),
                    ("response_type", "code"),
                    ("client_id", &client_id),
                    ("redirect_uri", redirect),
                    ("scope", "read"),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert!(location(&decided).is_empty(), "no redirect to {redirect}");
        assert_refused(decided, 400, "redirect_uri").await;
    }
    assert_unchanged(&before, &app.db_snapshot().await);
}
db_test!(oauth_refuses_an_unregistered_redirect_uri);
