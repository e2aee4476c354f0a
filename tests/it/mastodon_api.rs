//! The Mastodon client API with a real HTTP client against the real server: OAuth with PKCE
//! and the consent page, statuses published like the admin panel's, and every bad input
//! refused with Mastodon's status and error body — with nothing published.

use serde_json::{Value, json};
use tribune::domain::member::Role;

use crate::{
    db_test,
    support::{ACCEPT_AS, Backend, Browser, TestApp, input_value, location},
};

const PASSWORD: &str = "correct horse battery";
const CALLBACK: &str = "https://app.example/callback";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
/// RFC 7636's verifier and its S256 challenge, computed independently with Python's hashlib.
const VERIFIER: &str = "dBjftJeZ4CVP-1Q4rJOUbxKBmkB3-ha3QW5R3VgJ0kc";
const CHALLENGE: &str = "g4__u9YTI1jPsacHWBPHgy5ZUKF8noTyPo5rTtwN_no";

struct RegisteredApp {
    client_id: String,
    client_secret: String,
}

async fn register_app(app: &TestApp, scopes: &str) -> RegisteredApp {
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Test app"),
            ("redirect_uris", &format!("{CALLBACK}\n{OOB}")),
            ("scopes", scopes),
            ("website", "https://app.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Test app");
    assert_eq!(body["redirect_uris"], json!([CALLBACK, OOB]));
    RegisteredApp {
        client_id: body["client_id"].as_str().unwrap().into(),
        client_secret: body["client_secret"].as_str().unwrap().into(),
    }
}

fn authorize_query(client: &RegisteredApp, redirect: &str, scope: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "xyz")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish()
}

/// The member logs in from the consent link, approves, and the code comes back.
async fn consent(browser: &Browser, client: &RegisteredApp, redirect: &str, scope: &str) -> String {
    let path = format!(
        "/oauth/authorize?{}",
        authorize_query(client, redirect, scope)
    );
    let (status, html) = browser.page(&path).await;
    assert_eq!(status, 200, "consent page: {html}");
    let csrf = input_value(&html, "csrf").expect("consent form csrf");
    assert!(html.contains("Test app"), "{html}");
    // A form without the session's token is refused and issues nothing.
    let forged = browser
        .post_form(
            "/oauth/authorize",
            &[("client_id", &client.client_id), ("decision", "approve")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let fields = [
        ("csrf", csrf.as_str()),
        ("response_type", "code"),
        ("client_id", &client.client_id),
        ("redirect_uri", redirect),
        ("scope", scope),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("decision", "approve"),
    ];
    let response = browser.post_form("/oauth/authorize", &fields).await;
    if redirect == OOB {
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        let start = html.find("<code>").unwrap() + "<code>".len();
        let end = start + html[start..].find("</code>").unwrap();
        return html[start..end].to_string();
    }
    assert_eq!(response.status(), 303);
    let target = url::Url::parse(&location(&response)).unwrap();
    assert!(target.as_str().starts_with(CALLBACK), "{target}");
    let pairs: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some("xyz"));
    pairs["code"].clone()
}

async fn exchange(
    app: &TestApp,
    client: &RegisteredApp,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

async fn token_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if !form.is_empty() {
        request = request.form(form);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn posts(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM post").await
}

async fn activities(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM activity").await
}

async fn oauth_flow_publishes_edits_and_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("edith", Role::Editor, PASSWORD).await;
    let client = register_app(&app, "read write").await;
    let browser = app.browser_in("en");

    // Not logged in: the consent link goes through the login page and comes back.
    let path = format!(
        "/oauth/authorize?{}",
        authorize_query(&client, CALLBACK, "read write")
    );
    let response = browser.get(&path).await;
    assert_eq!(response.status(), 303);
    let login = location(&response);
    assert!(
        login.starts_with("/admin/login?next=%2Foauth%2Fauthorize"),
        "{login}"
    );
    let (_, html) = browser.page(&login).await;
    let csrf = input_value(&html, "csrf").unwrap();
    let next = input_value(&html, "next").unwrap();
    assert_eq!(next, path);
    let response = browser
        .post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("username", "edith"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), path);

    let code = consent(&browser, &client, CALLBACK, "read write").await;
    // PKCE: a wrong verifier is refused.
    let wrong = exchange(
        &app,
        &client,
        &code,
        CALLBACK,
        "not-the-verifier-at-all-not-the-verifier",
    )
    .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // Another redirect URI than the code's is refused.
    let other = exchange(&app, &client, &code, OOB, VERIFIER).await;
    assert_eq!(other.status(), 400);
    let token = token_of(exchange(&app, &client, &code, CALLBACK, VERIFIER).await).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_token").await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM oauth_token WHERE token_hash = '{token}'"
        ))
        .await,
        0,
        "tokens are stored hashed"
    );
    let (status, me) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/verify_credentials",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "edith");
    assert_eq!(me["source"]["privacy"], "public");

    // A replayed code is refused, and the token it gave is revoked.
    let replay = exchange(&app, &client, &code, CALLBACK, VERIFIER).await;
    assert_eq!(replay.status(), 400);
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/verify_credentials",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "The access token is invalid");

    // Out of band: the code is shown on a page.
    let code = consent(&browser, &client, OOB, "read write").await;
    let token = token_of(exchange(&app, &client, &code, OOB, VERIFIER).await).await;

    // Posting, retried with the same Idempotency-Key: published once.
    let post = |key: &'static str| {
        app.client
            .post(app.url("/api/v1/statuses"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .form(&[
                ("status", "Hello from an **app**"),
                ("spoiler_text", "app test"),
                ("language", "en"),
                ("visibility", "public"),
            ])
            .send()
    };
    let first: Value = post("k1").await.unwrap().json().await.unwrap();
    let second: Value = post("k1").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(posts(&app).await, 1);
    assert_eq!(first["spoiler_text"], "app test");
    assert_eq!(first["sensitive"], true);
    assert_eq!(first["language"], "en");
    assert_eq!(first["account"]["id"], "collective");
    let id = first["id"].as_str().unwrap().to_string();
    let url = first["url"].as_str().unwrap().to_string();
    let page = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>app</strong>"), "{page}");
    let object = app
        .get_activity_json(url::Url::parse(&url).unwrap().path())
        .await;
    assert_eq!(object["summary"], "app test");

    // Edit: an Update, and the history shows both versions.
    let (status, edited) = call(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{id}"),
        Some(&token),
        &[
            ("status", "Hello again"),
            ("spoiler_text", "app test"),
            ("language", "en"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["edited_at"].is_string());
    let object = app
        .get_activity_json(url::Url::parse(&url).unwrap().path())
        .await;
    assert!(object["content"].as_str().unwrap().contains("Hello again"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Update'")
            .await,
        1
    );
    let (_, history) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/statuses/{id}/history"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    let (_, timeline) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/timelines/home",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(timeline[0]["id"], id.as_str());
    let (status, context) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/statuses/{id}/context"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(context["descendants"], json!([]));

    // Delete: the status comes back with its text; a Delete goes out; the page is gone.
    let (status, deleted) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{id}"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["text"], "Hello again");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Delete'")
            .await,
        1
    );
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/statuses/{id}"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    let gone = app
        .get(url::Url::parse(&url).unwrap().path(), ACCEPT_AS)
        .await;
    assert_eq!(gone.status(), 410);
}
db_test!(oauth_flow_publishes_edits_and_deletes);

/// A personal token (as `tribune token create` makes) with the given scopes.
async fn personal_token(app: &TestApp, username: &str, role: Role, scopes: &str) -> String {
    let member = app.add_member(username, role, PASSWORD).await;
    tribune::service::oauth::create_personal_token(&app.db, &member, scopes, "test")
        .await
        .unwrap()
        .token
}

async fn bad_inputs_are_refused_and_publish_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let writer = personal_token(&app, "edith", Role::Editor, "read write").await;
    let reader = personal_token(&app, "rita", Role::Editor, "read").await;
    let author = personal_token(&app, "aline", Role::Author, "read write").await;
    let status = |text: &'static str| vec![("status", text), ("language", "fr")];
    let post = reqwest::Method::POST;

    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        None,
        &status("Bonjour"),
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (401, Some("The access token is invalid"))
    );
    let (code, _) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some("not-a-token"),
        &status("Bonjour"),
    )
    .await;
    assert_eq!(code, 401);
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some(&reader),
        &status("Bonjour"),
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("This action is outside the authorized scopes"))
    );
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some(&author),
        &status("Bonjour"),
    )
    .await;
    assert_eq!(code, 403);
    assert!(body["error"].as_str().unwrap().contains("review"), "{body}");
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some(&writer),
        &status("   "),
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("Validation failed: Text can't be blank"))
    );
    let long = "a".repeat(tribune::domain::post::MAX_BODY + 1);
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some(&writer),
        &[("status", &long)],
    )
    .await;
    assert_eq!(code, 422);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Validation failed: Text character limit"),
        "{body}"
    );
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/statuses",
        Some(&writer),
        &[("status", "Secret"), ("visibility", "direct")],
    )
    .await;
    assert_eq!(code, 422);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Validation failed: Visibility")
    );
    for extra in [
        ("in_reply_to_id", "5"),
        ("scheduled_at", "2030-01-01T00:00:00Z"),
        ("media_ids[]", "1"),
    ] {
        let (code, body) = call(
            &app,
            post.clone(),
            "/api/v1/statuses",
            Some(&writer),
            &[("status", "Bonjour"), extra],
        )
        .await;
        assert_eq!(code, 422, "{extra:?}");
        assert!(
            body["error"].as_str().unwrap().contains("not supported"),
            "{body}"
        );
    }
    assert_eq!(posts(&app).await, 0, "nothing published on any error");
    assert_eq!(activities(&app).await, 0);

    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let (code, body) = call(
            &app,
            method.clone(),
            "/api/v1/statuses/999",
            Some(&writer),
            &status("x"),
        )
        .await;
        assert_eq!(
            (code, body["error"].as_str()),
            (404, Some("Record not found")),
            "{method}"
        );
    }
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/999",
        Some(&writer),
        &[],
    )
    .await;
    assert_eq!(code, 404);

    // A revoked token no longer works.
    let client = register_app(&app, "read write").await;
    let app_token = {
        let response = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
                ("client_secret", &client.client_secret),
                ("scope", "read"),
            ])
            .send()
            .await
            .unwrap();
        token_of(response).await
    };
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/timelines/public",
        Some(&app_token),
        &[],
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = call(
        &app,
        post.clone(),
        "/oauth/revoke",
        None,
        &[
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("token", &app_token),
        ],
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/timelines/public",
        Some(&app_token),
        &[],
    )
    .await;
    assert_eq!(code, 401);

    // OAuth errors: wrong secret, unknown grant, unregistered redirect URI, unknown scope.
    let (code, body) = call(
        &app,
        post.clone(),
        "/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (code, body) = call(
        &app,
        post.clone(),
        "/oauth/token",
        None,
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let browser = app.browser_in("fr");
    browser.login_ok("edith", PASSWORD).await;
    let (code, html) = browser
        .page(&format!(
            "/oauth/authorize?{}",
            authorize_query(&client, "https://evil.example/cb", "read")
        ))
        .await;
    assert_eq!(code, 400);
    assert!(html.contains("redirect_uri"), "{html}");
    let (code, _) = browser
        .page(&format!(
            "/oauth/authorize?{}",
            authorize_query(&client, CALLBACK, "admin:read")
        ))
        .await;
    assert_eq!(code, 400);
    let (code, body) = call(
        &app,
        post.clone(),
        "/api/v1/apps",
        None,
        &[("client_name", "x"), ("redirect_uris", "")],
    )
    .await;
    assert_eq!(code, 422, "{body}");
    for (uris, site) in [
        ("javascript:alert(1)", ""),
        (CALLBACK, "javascript:alert(1)"),
    ] {
        let (code, _) = call(
            &app,
            post.clone(),
            "/api/v1/apps",
            None,
            &[
                ("client_name", "x"),
                ("redirect_uris", uris),
                ("website", site),
            ],
        )
        .await;
        assert_eq!(code, 422, "{uris} {site}");
    }
    // JSON is accepted too, with redirect_uris as a list.
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .json(&json!({"client_name": "J", "redirect_uris": [CALLBACK], "scopes": "read write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["redirect_uri"], CALLBACK);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_code").await, 0);
}
db_test!(bad_inputs_are_refused_and_publish_nothing);

async fn instance_accounts_timelines_and_paging(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = personal_token(&app, "edith", Role::Editor, "read write").await;
    for text in ["un", "deux", "trois"] {
        let (code, _) = call(
            &app,
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(&token),
            &[("status", text)],
        )
        .await;
        assert_eq!(code, 200);
    }
    let (_, v1) = call(&app, reqwest::Method::GET, "/api/v1/instance", None, &[]).await;
    assert_eq!(
        v1["configuration"]["statuses"]["max_characters"],
        tribune::domain::post::MAX_BODY
    );
    assert!(
        v1["version"]
            .as_str()
            .unwrap()
            .starts_with("4.2.0 (compatible; Tribune")
    );
    assert_eq!(v1["registrations"], false);
    let (_, v2) = call(&app, reqwest::Method::GET, "/api/v2/instance", None, &[]).await;
    assert_eq!(v2["domain"], app.domain());
    assert_eq!(v2["contact"]["account"]["id"], "collective");
    let (_, collective) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/collective",
        None,
        &[],
    )
    .await;
    assert_eq!(collective["statuses_count"], 3);

    let response = app
        .client
        .get(app.url("/api/v1/timelines/public?limit=2"))
        .header("Origin", "https://web.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let link = response.headers()["link"].to_str().unwrap().to_string();
    let page: Value = response.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert!(link.contains("rel=\"next\""), "{link}");
    let next = link.split(['<', '>']).nth(1).unwrap().to_string();
    let older: Value = app
        .client
        .get(&next)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert!(older[0]["content"].as_str().unwrap().contains("un"));
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/notifications",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/notifications",
        None,
        &[],
    )
    .await;
    assert_eq!(code, 401);
}
db_test!(instance_accounts_timelines_and_paging);

async fn tokens_from_the_command_line_are_listed_and_revocable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("edith", Role::Editor, PASSWORD).await;
    app.add_member("adam", Role::Admin, PASSWORD).await;
    let s = &app.settings;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tribune"))
        .args([
            "token",
            "create",
            "edith",
            "--scopes",
            "read write:statuses",
            "--name",
            "script",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TRIBUNE__DATA_DIR", &s.data_dir)
        .env("TRIBUNE__DATABASE__URL", &s.database.url)
        .env("TRIBUNE__INSTANCE__BASE_URL", s.instance.base_url.as_str())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let token = printed.lines().last().unwrap().trim().to_string();
    let (code, me) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/verify_credentials",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(code, 200, "{printed}");
    assert_eq!(me["username"], "edith");
    let (code, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/statuses",
        Some(&token),
        &[("status", "Par script")],
    )
    .await;
    assert_eq!(code, 200);

    // The member sees it in the panel; an admin sees it too and revokes it.
    let edith = app.browser_in("en");
    edith.login_ok("edith", PASSWORD).await;
    let (code, html) = edith.page("/admin/tokens").await;
    assert_eq!(code, 200);
    assert!(
        html.contains("script") && html.contains("write:statuses"),
        "{html}"
    );
    let adam = app.browser_in("fr");
    adam.login_ok("adam", PASSWORD).await;
    let (_, html) = adam.page("/admin/tokens").await;
    assert!(html.contains("edith"), "{html}");
    let id = app
        .count("SELECT MAX(id) FROM oauth_token")
        .await
        .to_string();
    let response = adam
        .submit(&format!("/admin/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/accounts/verify_credentials",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(code, 401);
}
db_test!(tokens_from_the_command_line_are_listed_and_revocable);

/// Mastodon.py, a real client, through the whole flow; each step is checked here on Tribune's
/// public page and ActivityPub objects, and a reply arrives through the real inbox.
async fn mastodon_py_posts_edits_reads_the_conversation_and_deletes(backend: Backend) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let python = crate::support::python_clients();
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = tribune::config::ReplyPolicy::Open;
    })
    .await;
    app.add_member("edith", Role::Editor, PASSWORD).await;
    let remote = crate::remote::RemoteServer::start(crate::remote::Behaviour::Ok).await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mastodon_py_flow.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .args([app.base.as_str().trim_end_matches('/'), "edith", PASSWORD])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut post_path = String::new();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the client answers in time")
            .unwrap()
            .expect("the client went on until done");
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        match event["step"].as_str().unwrap() {
            "verified" => {
                assert_eq!(event["username"], "edith");
                assert_eq!(event["source"], "public");
            }
            "instance" => assert_eq!(event["title"], app.settings.collective.name.as_str()),
            "posted" => {
                assert_eq!(event["sensitive"], true);
                assert_eq!(event["spoiler_text"], "Essai");
                assert_eq!(event["language"], "en");
                assert_eq!(posts(&app).await, 1, "the retried post was published once");
                let url = url::Url::parse(event["url"].as_str().unwrap()).unwrap();
                post_path = url.path().to_string();
                let page = app
                    .client
                    .get(url.clone())
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(page.contains("<strong>Mastodon.py</strong>"), "{page}");
                let object = app.get_activity_json(&post_path).await;
                assert_eq!(object["summary"], "Essai");
                assert!(object["contentMap"]["en"].is_string(), "{object}");
                // Someone answers from another server, through the real inbox.
                let reply = remote.reply("r1", url.as_str(), "<p>Belle réponse</p>");
                let status = remote
                    .post(
                        &app.client,
                        app.url("/inbox").as_str(),
                        &remote.activity("Create", "c1", reply),
                    )
                    .await
                    .status();
                assert_eq!(status, 202);
            }
            "edited" => {
                assert_eq!(event["versions"], 2);
                let object = app.get_activity_json(&post_path).await;
                assert!(
                    object["content"].as_str().unwrap().contains("Modifié"),
                    "{object}"
                );
                assert!(object["updated"].is_string());
            }
            "conversation" => {
                let replies = event["replies"].as_array().unwrap();
                assert_eq!(replies.len(), 1, "{event}");
                assert!(replies[0]["acct"].as_str().unwrap().contains('@'));
                assert!(
                    replies[0]["content"]
                        .as_str()
                        .unwrap()
                        .contains("Belle réponse")
                );
                assert!(
                    event["notifications"]
                        .as_array()
                        .unwrap()
                        .contains(&json!("mention")),
                    "{event}"
                );
                assert!(
                    event["mentions"][0]
                        .as_str()
                        .unwrap()
                        .contains("Belle réponse")
                );
            }
            "deleted" => {
                assert!(event["text"].as_str().unwrap().contains("Modifié"));
                let gone = app.get(&post_path, ACCEPT_AS).await;
                assert_eq!(gone.status(), 410);
                assert_eq!(
                    app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Delete'")
                        .await,
                    1
                );
            }
            "done" => break,
            other => panic!("unknown step {other}"),
        }
        stdin.write_all(b"ok\n").await.unwrap();
        stdin.flush().await.unwrap();
    }
    assert!(child.wait().await.unwrap().success());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_token WHERE revoked_at IS NULL")
            .await,
        0,
        "the client revoked its token"
    );
}
db_test!(mastodon_py_posts_edits_reads_the_conversation_and_deletes);

async fn codes_expire_denials_redirect_and_browsers_may_call(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_member("edith", Role::Editor, PASSWORD).await;
    let client = register_app(&app, "read write").await;
    let browser = app.browser_in("fr");
    browser.login_ok("edith", PASSWORD).await;

    // Ten minutes later, a code no longer works.
    let code = consent(&browser, &client, CALLBACK, "read").await;
    app.count("SELECT COUNT(*) FROM oauth_code").await;
    let backend = app.db.get_database_backend();
    use sea_orm::ConnectionTrait;
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            backend,
            "UPDATE oauth_code SET expires_at = created_at".to_string(),
        ))
        .await
        .unwrap();
    let expired = exchange(&app, &client, &code, CALLBACK, VERIFIER).await;
    assert_eq!(expired.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_token").await, 0);

    // Denying sends the app an access_denied error, and no code.
    let path = format!(
        "/oauth/authorize?{}",
        authorize_query(&client, CALLBACK, "read")
    );
    let (_, html) = browser.page(&path).await;
    assert!(
        html.contains("Autoriser une application"),
        "the consent page is in French"
    );
    let csrf = input_value(&html, "csrf").unwrap();
    let response = browser
        .post_form(
            "/oauth/authorize",
            &[
                ("csrf", &csrf),
                ("response_type", "code"),
                ("client_id", &client.client_id),
                ("redirect_uri", CALLBACK),
                ("scope", "read"),
                ("state", "xyz"),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(
        target.contains("error=access_denied") && !target.contains("code="),
        "{target}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_code").await, 1);

    // A browser app's preflight, and the server metadata.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/statuses"))
        .header("Origin", "https://web.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let (_, metadata) = call(
        &app,
        reqwest::Method::GET,
        "/.well-known/oauth-authorization-server",
        None,
        &[],
    )
    .await;
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
}
db_test!(codes_expire_denials_redirect_and_browsers_may_call);

async fn likes_and_boosts_are_notifications_with_remote_accounts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = personal_token(&app, "edith", Role::Editor, "read write").await;
    let (_, status) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/statuses",
        Some(&token),
        &[("status", "Aimez-moi")],
    )
    .await;
    let url = status["url"].as_str().unwrap().to_string();
    let remote = crate::remote::RemoteServer::start(crate::remote::Behaviour::Ok).await;
    let collective = app.url("/actors/collectif").to_string();
    for activity in [
        remote.follow(&collective, "1"),
        remote.activity("Like", "like-1", json!(url)),
        remote.activity("Announce", "boost-1", json!(url)),
    ] {
        let sent = remote
            .post(&app.client, app.url("/inbox").as_str(), &activity)
            .await;
        assert_eq!(sent.status(), 202);
    }
    let (code, notes) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/notifications",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(code, 200);
    let kinds: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reblog", "favourite", "follow"], "{notes}");
    for note in notes.as_array().unwrap() {
        assert!(note["account"]["id"].as_str().unwrap().starts_with('r'));
        assert!(note["account"]["acct"].as_str().unwrap().contains('@'));
        if note["type"] == "follow" {
            assert!(note["status"].is_null());
        } else {
            assert_eq!(note["status"]["id"], status["id"]);
        }
    }
    let (_, again) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/statuses/{}", status["id"].as_str().unwrap()),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (
            again["favourites_count"].as_u64(),
            again["reblogs_count"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let remote_id = notes[0]["account"]["id"].as_str().unwrap().to_string();
    let (code, account) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/accounts/{remote_id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(account["id"], remote_id.as_str());
    // A read-only scope that is not notifications cannot read them.
    let statuses_only = {
        let member = tribune::service::member::find(&app.db, "edith")
            .await
            .unwrap()
            .unwrap();
        tribune::service::oauth::create_personal_token(&app.db, &member, "read:statuses", "x")
            .await
            .unwrap()
            .token
    };
    let (code, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/notifications",
        Some(&statuses_only),
        &[],
    )
    .await;
    assert_eq!(code, 403);
}
db_test!(likes_and_boosts_are_notifications_with_remote_accounts);

async fn an_idempotency_key_holds_across_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = personal_token(&app, "edith", Role::Editor, "write").await;
    let post = |app: &TestApp, key: &str| {
        app.client
            .post(app.url("/api/v1/statuses"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .form(&[("status", "Une seule fois")])
            .send()
    };
    let first: Value = post(&app, "same").await.unwrap().json().await.unwrap();
    // Another process over the same database (the key lives in the database, not in memory).
    let app = app.restart().await;
    let retried: Value = post(&app, "same").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], retried["id"]);
    assert_eq!(posts(&app).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Create'")
            .await,
        1
    );
    // Another key is another status; the same key with another token too.
    let other: Value = post(&app, "other").await.unwrap().json().await.unwrap();
    assert_ne!(other["id"], first["id"]);
    assert_eq!(posts(&app).await, 2);
}
db_test!(an_idempotency_key_holds_across_a_restart);
