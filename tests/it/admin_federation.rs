//! The admin panel's federation pages as editors use them: followers by instance, follow
//! requests approved or rejected, followers removed (each answered to the stand-in server), and
//! the delivery page with its counts and "Retry now" for a parked host. Real forms, real CSRF.

use std::time::Duration;

use tribune::domain::member::Role;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::note,
    support::{Backend, Browser, TestApp, input_value, location},
};

const PASSWORD: &str = "correct horse battery";

async fn logged_in(app: &TestApp, username: &str, role: Role) -> Browser {
    app.add_member(username, role, PASSWORD).await;
    let browser = app.browser();
    browser.login_ok(username, PASSWORD).await;
    browser
}

async fn logged_in_english(app: &TestApp, username: &str, role: Role) -> Browser {
    app.add_member(username, role, PASSWORD).await;
    let browser = app.browser_in("en");
    browser.login_ok(username, PASSWORD).await;
    browser
}

fn actor_url(app: &TestApp) -> String {
    app.url("/actors/collectif").to_string()
}

/// `localhost:PORT`: the instance of a stand-in server.
fn instance(server: &RemoteServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Adds `n` accepted followers on `server`, never fetched (no cached actor).
async fn add_followers(app: &TestApp, server: &RemoteServer, n: usize) {
    use sea_orm::ConnectionTrait;
    let actor_id = app
        .count("SELECT id FROM local_actor WHERE username = 'collectif'")
        .await;
    for i in 0..n {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) \
                 VALUES ({actor_id}, '{b}/users/u{i}', '{b}/users/u{i}/inbox', '{b}/inbox', 'accepted', CURRENT_TIMESTAMP)",
                b = server.base
            ))
            .await
            .expect("insert follower");
    }
}

/// `server`'s alice follows the collective through the inbox, with a signed Follow.
async fn follow(app: &TestApp, server: &RemoteServer, n: &str) {
    let response = server
        .post(
            &app.client,
            app.url("/inbox").as_str(),
            &server.follow(&actor_url(app), n),
        )
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
}

async fn follower_id(app: &TestApp, server: &RemoteServer) -> i64 {
    app.count(&format!(
        "SELECT id FROM follower WHERE actor_url = '{}'",
        server.actor
    ))
    .await
}

async fn followers_in(app: &TestApp, state: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM follower WHERE state = '{state}'"
    ))
    .await
}

fn kinds(server: &RemoteServer) -> Vec<String> {
    server
        .received()
        .iter()
        .map(|r| r.body["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn followers_are_listed_by_instance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let big = RemoteServer::start(Behaviour::Ok).await;
    let small = RemoteServer::start(Behaviour::Ok).await;
    add_followers(&app, &big, 3).await;
    add_followers(&app, &small, 1).await;
    follow(&app, &small, "1").await;
    let editor = logged_in(&app, "sam", Role::Editor).await;

    let (status, html) = editor.page("/admin/followers").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Abonné·es</h1>"), "{html}");
    assert!(html.contains("id=\"followers-total\">5<"), "5 followers");
    // A cached actor shows as a handle; one never fetched as its URL.
    assert!(
        html.contains(&format!("alice@{}", instance(&small))),
        "handle of a cached actor"
    );
    assert!(
        html.contains(&format!("{}/users/u2", big.base)),
        "actor URL"
    );
    // The summary: instance → count, most followers first.
    let big_row = format!(
        "<th scope=\"row\">{}</th><td class=\"num\">3</td>",
        instance(&big)
    );
    let small_row = format!(
        "<th scope=\"row\">{}</th><td class=\"num\">2</td>",
        instance(&small)
    );
    let (at_big, at_small) = (
        html.find(&big_row).expect("big instance row"),
        html.find(&small_row).expect("small instance row"),
    );
    assert!(at_big < at_small, "sorted by count");
    // Each follower can be removed, after a confirmation page.
    let alice = follower_id(&app, &small).await;
    assert!(html.contains(&format!("href=\"/admin/followers/{alice}/remove\"")));
    // No requests section when the collective accepts followers at once.
    assert!(!html.contains("id=\"requests-title\""));

    // Linked from the navigation and the dashboard.
    let (_, dashboard) = editor.page("/admin").await;
    assert!(dashboard.contains("href=\"/admin/followers\""));
    assert!(dashboard.contains("href=\"/admin/delivery\""));
    assert!(!dashboard.contains("id=\"pending-requests\""));

    // English.
    let english = logged_in_english(&app, "camille", Role::Admin).await;
    let (status, html) = english.page("/admin/followers").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\">") && html.contains("By instance"));
    assert!(html.contains("Who follows the collective"));
}
db_test!(followers_are_listed_by_instance);

async fn follow_requests_are_approved_or_rejected_from_the_page(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |s| s.collective.manually_approves_followers = true).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    follow(&app, &alice, "1").await;
    follow(&app, &bob, "1").await;
    assert_eq!(followers_in(&app, "pending").await, 2);
    let editor = logged_in(&app, "sam", Role::Editor).await;

    let (_, dashboard) = editor.page("/admin").await;
    assert!(
        dashboard.contains("2 demandes d’abonnement attendent votre décision."),
        "{dashboard}"
    );
    let (status, html) = editor.page("/admin/followers").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"requests-title\""));
    assert!(html.contains("id=\"pending-total\">2<"));
    let (alice_id, bob_id) = (
        follower_id(&app, &alice).await,
        follower_id(&app, &bob).await,
    );
    let approve = format!("/admin/followers/{alice_id}/approve");
    let reject = format!("/admin/followers/{bob_id}/reject");
    assert!(html.contains(&format!("action=\"{approve}\"")));
    assert!(html.contains(&format!("action=\"{reject}\"")));
    assert!(html.contains(&format!("alice@{}", instance(&alice))));

    // Without the session's token: refused, nothing changed, nothing sent.
    for path in [&approve, &reject] {
        let response = editor.post_form(path, &[]).await;
        assert_eq!(response.status(), 403, "{path}");
        let response = editor.post_form(path, &[("csrf", "forged")]).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    assert_eq!(followers_in(&app, "pending").await, 2);
    app.deliver().await;
    assert!(alice.received().is_empty() && bob.received().is_empty());

    // Approved: a follower, and an Accept delivered.
    let response = editor.submit(&approve, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/followers?done=follower_approved"
    );
    let (_, html) = editor.page(&location(&response)).await;
    assert!(html.contains("Demande acceptée"), "confirmation");
    assert_eq!(followers_in(&app, "accepted").await, 1);

    // Rejected: the request goes, and a Reject is delivered.
    let response = editor.submit(&reject, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/followers?done=follower_rejected"
    );
    assert_eq!(followers_in(&app, "pending").await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM follower WHERE actor_url = '{}'",
            bob.actor
        ))
        .await,
        0
    );

    app.deliver().await;
    assert_eq!(kinds(&alice), vec!["Accept"]);
    assert_eq!(alice.received()[0].body["object"]["actor"], alice.actor);
    assert_eq!(kinds(&bob), vec!["Reject"]);

    // A request that no longer exists: 404.
    assert_eq!(editor.submit(&reject, &[]).await.status(), 404);
    assert_eq!(
        editor
            .submit("/admin/followers/not-a-number/approve", &[])
            .await
            .status(),
        404
    );
    let (_, dashboard) = editor.page("/admin").await;
    assert!(!dashboard.contains("id=\"pending-requests\""));

    // English.
    follow(&app, &bob, "2").await;
    let english = logged_in_english(&app, "camille", Role::Admin).await;
    let (_, dashboard) = english.page("/admin").await;
    assert!(dashboard.contains("1 follow request awaits your decision."));
    let (_, html) = english.page("/admin/followers").await;
    assert!(html.contains("Follow requests") && html.contains(">Approve<"));
}
db_test!(follow_requests_are_approved_or_rejected_from_the_page);

async fn removing_a_follower_asks_first_and_tells_their_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    follow(&app, &alice, "1").await;
    app.deliver().await;
    assert_eq!(kinds(&alice), vec!["Accept"]);
    let admin = logged_in(&app, "camille", Role::Admin).await;
    let id = follower_id(&app, &alice).await;
    let remove = format!("/admin/followers/{id}/remove");

    // The link leads to a confirmation page, not to the action.
    let (status, html) = admin.page(&remove).await;
    assert_eq!(status, 200);
    assert!(html.contains("Retirer cet·te abonné·e ?"));
    assert!(html.contains(&format!("alice@{}", instance(&alice))));
    assert!(html.contains(&format!("action=\"{remove}\"")));
    assert!(input_value(&html, "csrf").is_some_and(|c| !c.is_empty()));

    // Without the token: refused, the follower stays, nothing sent.
    assert_eq!(admin.post_form(&remove, &[]).await.status(), 403);
    assert_eq!(followers_in(&app, "accepted").await, 1);
    app.deliver().await;
    assert_eq!(kinds(&alice), vec!["Accept"]);

    let response = admin.submit(&remove, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/followers?done=follower_removed"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM follower").await, 0);
    app.deliver().await;
    assert_eq!(kinds(&alice), vec!["Accept", "Reject"]);
    let reject = &alice.received()[1].body;
    assert_eq!(reject["actor"], actor_url(&app));
    assert_eq!(reject["object"]["type"], "Follow");

    // Gone: its confirmation page is a 404 now.
    assert_eq!(admin.page(&remove).await.0, 404);
    let english = logged_in_english(&app, "sam", Role::Editor).await;
    follow(&app, &alice, "2").await;
    let id = follower_id(&app, &alice).await;
    let (status, html) = english.page(&format!("/admin/followers/{id}/remove")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Remove this follower?") && html.contains("Yes, remove"));
}
db_test!(removing_a_follower_asks_first_and_tells_their_server);

async fn authors_see_neither_followers_nor_delivery(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |s| s.collective.manually_approves_followers = true).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    follow(&app, &alice, "1").await;
    let id = follower_id(&app, &alice).await;
    let author = logged_in(&app, "alex", Role::Author).await;

    for path in [
        "/admin/followers".to_string(),
        "/admin/delivery".to_string(),
        format!("/admin/followers/{id}/remove"),
    ] {
        let (status, html) = author.page(&path).await;
        assert_eq!(status, 403, "{path}");
        assert!(
            html.contains("Seules les personnes éditrices et administratrices"),
            "{path}"
        );
    }
    for path in [
        format!("/admin/followers/{id}/approve"),
        format!("/admin/followers/{id}/reject"),
        format!("/admin/followers/{id}/remove"),
    ] {
        assert_eq!(author.submit(&path, &[]).await.status(), 403, "{path}");
    }
    assert_eq!(
        author
            .submit("/admin/delivery/retry", &[("host", &instance(&alice))])
            .await
            .status(),
        403
    );
    assert_eq!(followers_in(&app, "pending").await, 1);
    let (_, dashboard) = author.page("/admin").await;
    assert!(
        !dashboard.contains("href=\"/admin/followers\""),
        "no menu entry"
    );
    assert!(!dashboard.contains("href=\"/admin/delivery\""));
    assert!(
        !dashboard.contains("id=\"pending-requests\""),
        "requests are not an author's business"
    );

    // In English too.
    let english = logged_in_english(&app, "blaise", Role::Author).await;
    let (status, html) = english.page("/admin/delivery").await;
    assert_eq!(status, 403);
    assert!(html.contains("Only editors and administrators can see this page."));
}
db_test!(authors_see_neither_followers_nor_delivery);

async fn delivery_page_shows_counts_and_retries_a_parked_host(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.unreachable_after_hours = 0.1 / 3600.0;
    })
    .await;
    let fine = RemoteServer::start(Behaviour::Ok).await;
    let dead = RemoteServer::start(Behaviour::Always(503)).await;
    add_followers(&app, &fine, 2).await;
    add_followers(&app, &dead, 1).await;
    let author = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let post = app.publish_post(&author, note("Résiste")).await;
    app.deliver().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.deliver_until_settled(Duration::from_secs(5)).await;
    let dead_host = instance(&dead);
    let parked_sql =
        format!("SELECT COUNT(*) FROM delivery WHERE host = '{dead_host}' AND state = 'parked'");
    assert_eq!(
        app.count(&parked_sql).await,
        1,
        "the dead host is parked\n{}",
        app.queue_report().await
    );

    let editor = logged_in(&app, "sam", Role::Editor).await;
    let (status, html) = editor.page("/admin/delivery").await;
    assert_eq!(status, 200);
    for (id, n) in [
        ("queue-pending", 0),
        ("queue-delivered", 1),
        ("queue-failed", 0),
        ("queue-parked", 1),
    ] {
        assert!(html.contains(&format!("id=\"{id}\">{n}<")), "{id} = {n}");
    }
    // The parked host: unreachable, its failures, the last error, a retry button.
    let at = html
        .find(&format!("id=\"host-{dead_host}\""))
        .expect("dead host listed");
    let dead_item = &html[at..at + html[at..].find("</li>").expect("end of item")];
    assert!(dead_item.contains("Injoignable"), "{dead_item}");
    assert!(dead_item.contains("503"), "last error: {dead_item}");
    assert!(dead_item.contains("action=\"/admin/delivery/retry\""));
    assert!(dead_item.contains(&format!("name=\"host\" value=\"{dead_host}\"")));
    let at = html
        .find(&format!("id=\"host-{}\"", instance(&fine)))
        .expect("fine host listed");
    let fine_item = &html[at..at + html[at..].find("</li>").expect("end of item")];
    assert!(fine_item.contains("Joignable") && !fine_item.contains("/admin/delivery/retry"));
    assert!(
        html.find(&format!("id=\"host-{dead_host}\"")) < Some(at),
        "unreachable first"
    );
    // The post's deliveries: delivered, pending, failed, parked.
    assert!(
        html.contains(&format!("href=\"/admin/posts/{post}/edit\"")),
        "the post is listed"
    );
    assert!(html.contains(
        "<td class=\"num\">1</td>\n      <td class=\"num\">0</td>\n      <td class=\"num\">0</td>\n      <td class=\"num\">1</td>"
    ));
    // Also on the post's edit page.
    let (_, html) = editor.page(&format!("/admin/posts/{post}/edit")).await;
    assert!(html.contains("id=\"post-deliveries\""), "{html}");
    assert!(html.contains("1 distribués") && html.contains("1 mis de côté"));

    // "Retry now" without the token: refused, still parked.
    let response = editor
        .post_form("/admin/delivery/retry", &[("host", &dead_host)])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count(&parked_sql).await, 1);

    let response = editor
        .submit("/admin/delivery/retry", &[("host", &dead_host)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/delivery?done=host_retried");
    assert_eq!(app.count(&parked_sql).await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM delivery WHERE host = '{dead_host}' AND state = 'pending'"
        ))
        .await,
        1,
        "back to pending"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM remote_host WHERE host = '{dead_host}'"
        ))
        .await,
        "reachable"
    );
    let (_, html) = editor.page("/admin/delivery?done=host_retried").await;
    assert!(html.contains("id=\"queue-pending\">1<") && html.contains("id=\"queue-parked\">0<"));
    assert!(html.contains("réessayée tout de suite"));

    // The host answers again: the retried delivery goes out.
    dead.set_behaviour(Behaviour::Ok);
    app.deliver().await;
    assert_eq!(kinds(&dead), vec!["Create"]);

    // The grouped query agrees with the per-post count, post by post.
    let second = app.publish_post(&author, note("Encore")).await;
    let mut ids = Vec::new();
    for public_id in [&post, &second] {
        let row = tribune::db::post::find_by_public_id(&app.db, public_id)
            .await
            .expect("query")
            .expect("post");
        ids.push(row.id);
    }
    let grouped = tribune::delivery::queue::counts_by_post(&app.db, &ids)
        .await
        .expect("grouped counts");
    for id in &ids {
        let one = tribune::delivery::queue::counts(&app.db, Some(*id))
            .await
            .expect("counts");
        assert_eq!(
            grouped.get(id).copied().unwrap_or_default(),
            one,
            "post {id}"
        );
    }
    assert_eq!(
        grouped[&ids[1]].pending, 2,
        "the second post is queued for both hosts"
    );

    // English.
    let english = logged_in_english(&app, "camille", Role::Admin).await;
    let (status, html) = english.page("/admin/delivery").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Delivery</h1>") && html.contains("Reachable"));
    assert!(html.contains("id=\"queue-delivered\">2<") && html.contains("id=\"queue-pending\">2<"));
    assert!(html.contains("Encore") && html.contains("Résiste"));
}
db_test!(delivery_page_shows_counts_and_retries_a_parked_host);
