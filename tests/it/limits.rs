//! Resource limits, against the real server: slow clients are disconnected, connections are
//! capped, the inbox, the login form and the OAuth endpoints are rate limited per client address
//! (forwarded by a trusted proxy, or the peer), deep JSON and oversized bodies are refused — and
//! whatever is refused leaves the database as it was.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tribune::{config::RateLimit, domain::member::Role};

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp, header, input_value},
};

const PASSWORD: &str = "correct horse battery staple";

fn addr(app: &TestApp) -> String {
    format!("127.0.0.1:{}", app.base.port().expect("port"))
}

fn actor_url(app: &TestApp) -> String {
    app.url("/actors/collectif").to_string()
}

/// Everything an inbox POST could change.
async fn inbox_snapshot(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) FROM follower").await,
        app.count("SELECT COUNT(*) FROM received_activity").await,
        app.count("SELECT COUNT(*) FROM activity").await,
        app.count("SELECT COUNT(*) FROM delivery").await,
    )
}

/// Failed logins recorded, and sessions opened.
async fn login_snapshot(app: &TestApp) -> (i64, i64) {
    (
        app.count("SELECT COALESCE(SUM(failures), 0) FROM login_throttle")
            .await,
        app.count("SELECT COUNT(*) FROM session").await,
    )
}

/// Reads until the server closes the connection, for at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(limit, stream.read_to_end(&mut sink)).await,
        Ok(Ok(_)) | Ok(Err(_))
    )
}

async fn slow_clients_are_disconnected_while_others_are_served(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.header_read_timeout_seconds = 1).await;
    // Half a request, then nothing: the headers never end.
    let mut slow = TcpStream::connect(addr(&app)).await.expect("connect");
    let partial = format!(
        "POST /api/v1/apps HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slow: ",
        app.domain()
    );
    slow.write_all(partial.as_bytes()).await.expect("write");
    // A connection that never says anything is closed too.
    let mut silent = TcpStream::connect(addr(&app)).await.expect("connect");
    let started = Instant::now();

    // Meanwhile others are served.
    for _ in 0..3 {
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "served at once"
    );

    assert!(
        closed_within(&mut slow, Duration::from_secs(5)).await,
        "the stalled request's connection is closed"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "closed after the 1 s header timeout, not before: {elapsed:?}"
    );
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 0);
    // The server still serves (a new connection: the shared client's pooled one sat idle past
    // the 1 s timeout, and the server rightly closed it — reusing it would race that close).
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
db_test!(slow_clients_are_disconnected_while_others_are_served);

/// Sends `head` and the start of a body it promises to be 1,000 bytes long, then a byte every
/// 300 ms — never the whole body; returns what the server answered before it closed the
/// connection (empty if it had not within `limit`).
async fn trickled_body(app: &TestApp, head: &str, limit: Duration) -> String {
    let stream = TcpStream::connect(addr(app)).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.expect("write");
    let trickle = tokio::spawn(async move {
        while write.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(limit, read.read_to_end(&mut answer)).await;
    trickle.abort();
    if closed.is_err() {
        answer.clear();
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that sends its headers and then trickles its body cannot hold a connection: once
/// `body_read_timeout_seconds` has passed since its headers, it is answered 408 with the
/// reason and disconnected, on the inbox as on any other route, and nothing is stored.
async fn a_trickled_body_is_cut_off_with_a_408(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.body_read_timeout_seconds = 1).await;
    let before = inbox_snapshot(&app).await;
    let inbox = format!(
        "POST /inbox HTTP/1.1\r\nHost: {}\r\nContent-Type: application/activity+json\r\nContent-Length: 1000\r\n\r\n{{\"type\":",
        app.domain()
    );
    let form = format!(
        "POST /api/v1/apps HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nclient_name=",
        app.domain()
    );
    // The deadline only keeps a server that never answers from hanging the test.
    let (inbox_answer, form_answer) = tokio::join!(
        trickled_body(&app, &inbox, Duration::from_secs(15)),
        trickled_body(&app, &form, Duration::from_secs(15)),
    );
    for answer in [&inbox_answer, &form_answer] {
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "answered 408 and closed: {answer:?}"
        );
        assert!(
            answer.contains("body_read_timeout_seconds"),
            "says why: {answer:?}"
        );
    }
    assert_eq!(inbox_snapshot(&app).await, before);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 0);
    // A body sent at once is read as before.
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Tusky"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
}
db_test!(a_trickled_body_is_cut_off_with_a_408);

async fn connections_beyond_the_cap_wait_for_a_free_slot(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.max_connections = 2).await;
    let first = TcpStream::connect(addr(&app)).await.expect("connect");
    let _second = TcpStream::connect(addr(&app)).await.expect("connect");
    // A third client: connected by the kernel, but not served while both slots are taken.
    let fresh = || {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let waiting = fresh().get(app.url("/healthz")).send();
    let waited = tokio::time::timeout(Duration::from_millis(800), waiting).await;
    assert!(waited.is_err(), "not served while two connections are open");
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 0);

    // A slot frees up: the next client is served.
    drop(first);
    let started = Instant::now();
    let response = fresh().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
}
db_test!(connections_beyond_the_cap_wait_for_a_free_slot);

async fn inbox_posts_beyond_the_burst_get_429_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.rate_limits.inbox = RateLimit {
            per_minute: 1,
            burst: 2,
        }
    })
    .await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let inbox = app.url("/actors/collectif/inbox").to_string();
    for n in ["1", "2"] {
        let response = remote
            .post(&app.client, &inbox, &remote.follow(&actor_url(&app), n))
            .await;
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
    }
    let before = inbox_snapshot(&app).await;
    let fetches = remote.calls();

    // The third, to either inbox: refused before anything is checked or fetched.
    for (n, url) in [("3", inbox.clone()), ("4", app.url("/inbox").to_string())] {
        let response = remote
            .post(&app.client, &url, &remote.follow(&actor_url(&app), n))
            .await;
        assert_eq!(response.status(), 429);
        let retry: u64 = header(&response, "retry-after").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("Too many inbox deliveries"),
            "{body}"
        );
    }
    assert_eq!(inbox_snapshot(&app).await, before, "nothing stored");
    assert_eq!(remote.calls(), fetches, "nothing fetched");
    // Other endpoints are not limited by it.
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
db_test!(inbox_posts_beyond_the_burst_get_429_and_change_nothing);

/// A browser whose every request carries `X-Forwarded-For: forwarded`.
fn browser_from(forwarded: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn login(app: &TestApp, browser: &reqwest::Client, password: &str) -> reqwest::Response {
    let html = browser
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = input_value(&html, "csrf").expect("csrf");
    browser
        .post(app.url("/admin/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "camille"),
            ("password", password),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
}

const TWO_LOGINS: RateLimit = RateLimit {
    per_minute: 1,
    burst: 2,
};

async fn logins_are_limited_per_forwarded_client_behind_a_trusted_proxy(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.rate_limits.login = TWO_LOGINS;
    })
    .await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    // The client forged the first entry; the proxy (us, 127.0.0.1) appended the real one.
    let guesser = browser_from("192.0.2.66, 203.0.113.1");
    for _ in 0..2 {
        assert_eq!(login(&app, &guesser, "guess").await.status(), 401);
    }
    let before = login_snapshot(&app).await;
    assert_eq!(
        before,
        (4, 0),
        "two failures, each counted per account and per address"
    );
    let response = login(&app, &guesser, PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() >= 1);
    let text = response.text().await.unwrap();
    assert!(text.contains("Too many login attempts"), "{text}");
    assert_eq!(
        login_snapshot(&app).await,
        before,
        "nothing recorded, no session"
    );

    // The login throttle counted the forwarded client, not the proxy.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle WHERE key = 'address:203.0.113.1'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle WHERE key LIKE 'address:127.%'")
            .await,
        0
    );

    // Another client behind the same proxy has its own allowance.
    let other = browser_from("203.0.113.2");
    assert_eq!(login(&app, &other, PASSWORD).await.status(), 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 1);
}
db_test!(logins_are_limited_per_forwarded_client_behind_a_trusted_proxy);

async fn forwarded_headers_from_an_untrusted_peer_change_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.rate_limits.login = TWO_LOGINS).await;
    app.add_member("camille", Role::Admin, PASSWORD).await;
    // Each request claims another address; the peer is the same, and that is what counts.
    for n in 1..=2 {
        let spoofer = browser_from(&format!("203.0.113.{n}"));
        assert_eq!(login(&app, &spoofer, "guess").await.status(), 401);
    }
    let before = login_snapshot(&app).await;
    let response = login(&app, &browser_from("203.0.113.3"), PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert_eq!(login_snapshot(&app).await, before);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle WHERE key LIKE 'address:203.%'")
            .await,
        0,
        "the forged addresses were never used"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_throttle WHERE key = 'address:127.0.0.1'")
            .await,
        1
    );
}
db_test!(forwarded_headers_from_an_untrusted_peer_change_nothing);

async fn the_oauth_endpoints_share_a_per_address_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.rate_limits.oauth = RateLimit {
            per_minute: 1,
            burst: 3,
        }
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Limited"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let registered: Value = response.json().await.unwrap();
    let credentials = [
        ("grant_type", "client_credentials"),
        ("client_id", registered["client_id"].as_str().unwrap()),
        (
            "client_secret",
            registered["client_secret"].as_str().unwrap(),
        ),
        ("scope", "read"),
    ];
    let token = || {
        app.client
            .post(app.url("/oauth/token"))
            .form(&credentials)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(token().await.unwrap().status(), 200);
    }
    let tokens = app.count("SELECT COUNT(*) FROM oauth_token").await;
    assert_eq!(tokens, 2);

    let response = token().await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() >= 1);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Too many OAuth requests"),
        "{body}"
    );
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Another"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_token").await, tokens);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 1);
    // Reading the API is not limited.
    let response = app
        .client
        .get(app.url("/api/v1/instance"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
db_test!(the_oauth_endpoints_share_a_per_address_limit);

fn deep_json(depth: usize) -> Vec<u8> {
    let mut body = "[".repeat(depth);
    body.push_str(&"]".repeat(depth));
    body.into_bytes()
}

async fn deeply_nested_json_is_a_400_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    let body = deep_json(100_000);
    assert!(body.len() < app.settings.federation.max_inbox_body_bytes);
    let before = inbox_snapshot(&app).await;

    // Signed, so that it gets past every check before the JSON is parsed.
    let inbox = app.url("/actors/collectif/inbox").to_string();
    let mut request = app.client.post(&inbox);
    for (name, value) in remote.signed_headers(&inbox, &body, None) {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let response = request.body(body).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("recursion limit"), "{text}");
    assert_eq!(inbox_snapshot(&app).await, before);

    // The client API, with and without a token. Its parameters are typed: a deep value where a
    // string is expected is refused at its first `[`, and serde_json skips values of unknown
    // fields without recursing, so depth never reaches the stack there either.
    let member = app.add_member("edith", Role::Editor, PASSWORD).await;
    let token = tribune::service::oauth::create_personal_token(&app.db, &member, "write", "t")
        .await
        .unwrap()
        .token;
    let in_field = |name: &str| {
        let mut body = format!(r#"{{"{name}": "#).into_bytes();
        body.extend(deep_json(100_000));
        body.push(b'}');
        body
    };
    for (path, body, token, status) in [
        ("/api/v1/apps", deep_json(100_000), None, 400),
        ("/api/v1/statuses", in_field("status"), Some(&token), 400),
        // Skipped: the request is then judged on the rest (no client_name).
        ("/api/v1/apps", in_field("unknown"), None, 422),
    ] {
        let mut request = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].is_string(), "{error}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200, "still up");
}
db_test!(deeply_nested_json_is_a_400_and_stores_nothing);

async fn oversized_bodies_are_a_413_and_store_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let too_big = tribune::app::MAX_BODY_BYTES + 1024;
    let text = "a".repeat(too_big);

    // The API (form and JSON).
    let member = app.add_member("edith", Role::Editor, PASSWORD).await;
    let token = tribune::service::oauth::create_personal_token(&app.db, &member, "write", "t")
        .await
        .unwrap()
        .token;
    let response = app
        .client
        .post(app.url("/api/v1/statuses"))
        .bearer_auth(&token)
        .form(&[("status", text.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("too large"));
    let response = app
        .client
        .post(app.url("/api/v1/apps"))
        .json(&serde_json::json!({ "client_name": text, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // The admin panel: a post form, and the login form.
    let browser = app.browser();
    browser.login_ok("edith", PASSWORD).await;
    let response = browser
        .submit(
            "/admin/posts/new",
            &[
                ("title", ""),
                ("language", "fr"),
                ("body", text.as_str()),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), 413);
    let before = login_snapshot(&app).await;
    let response = app
        .browser()
        .post_form(
            "/admin/login",
            &[("username", "edith"), ("password", text.as_str())],
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(login_snapshot(&app).await, before);

    assert_eq!(app.count("SELECT COUNT(*) FROM post").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_app").await, 0);
}
db_test!(oversized_bodies_are_a_413_and_store_nothing);
