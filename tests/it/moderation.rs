//! Moderation as editors and admins do it: replies arrive through the real inbox, wait in the
//! queue of the admin panel, are approved, rejected, hidden or deleted there; authors and
//! instances are blocked from the queue or the blocks page; the reply policy and allowlist mode
//! are changed from the settings page; notifications list what happened. Real forms, real CSRF,
//! both languages; and the same decisions from the command line.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::json;
use tribune::domain::{member::Role, post::PostInput};

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer, send},
    support::{Backend, Browser, TestApp, location},
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

/// A published post; returns (its URL, its public id, its row id).
async fn published(app: &TestApp, body: &str) -> (String, String, i64) {
    let editor = match tribune::service::member::find(&app.db, "eve")
        .await
        .expect("query")
    {
        Some(m) => m,
        None => app.add_member("eve", Role::Editor, PASSWORD).await,
    };
    let input = PostInput {
        language: "fr".into(),
        body_markdown: body.into(),
        ..PostInput::default()
    };
    let id = app.publish_post(&editor, input).await;
    let row = app
        .count(&format!("SELECT id FROM post WHERE public_id = '{id}'"))
        .await;
    (app.url(&format!("/posts/{id}")).to_string(), id, row)
}

/// `remote` replies `content` to `post_url` (note `name`); returns the comment's id.
async fn reply(
    app: &TestApp,
    remote: &RemoteServer,
    post_url: &str,
    name: &str,
    content: &str,
) -> i64 {
    let note = remote.reply(name, post_url, content);
    let status = send(
        app,
        remote,
        &remote.activity("Create", &format!("create-{name}"), note),
    )
    .await;
    assert_eq!(status, 202, "reply {name}");
    app.count(&format!(
        "SELECT id FROM comment WHERE object_url = '{}'",
        remote.note_url(name)
    ))
    .await
}

async fn state_of(app: &TestApp, id: i64) -> String {
    app.text(&format!("SELECT state FROM comment WHERE id = {id}"))
        .await
}

async fn public_thread(app: &TestApp, post: i64) -> Vec<String> {
    tribune::db::comment::public_thread(&app.db, post)
        .await
        .expect("thread")
        .into_iter()
        .map(|c| c.comment.object_url)
        .collect()
}

/// `localhost:PORT`: the instance of a stand-in server, as handles show it.
fn instance(server: &RemoteServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Submits a form of the queue (with the page's own token), returning the redirect target.
async fn act(browser: &Browser, id: i64, action: &str, back: &str) -> String {
    let response = browser
        .submit(&format!("/admin/comments/{id}/{action}"), &[("back", back)])
        .await;
    assert_eq!(response.status(), 303, "{action} {id}");
    location(&response)
}

async fn a_reply_is_approved_from_the_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await; // default policy: review
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, public_id, _) = published(&app, "Qu’en pensez-vous ?").await;
    let mut note = alice.reply("r1", &post_url, "<p>Bravo <b>!</b></p>");
    note["summary"] = json!("Divulgâchage");
    assert_eq!(
        send(&app, &alice, &alice.activity("Create", "c1", note)).await,
        202
    );
    let id = app.count("SELECT id FROM comment").await;
    assert_eq!(state_of(&app, id).await, "pending");
    let editor = logged_in(&app, "sam", Role::Editor).await;

    // The dashboard says a reply waits, with a link; the menu has the queue.
    let (_, dashboard) = editor.page("/admin").await;
    assert!(
        dashboard.contains("1 réponse attend d’être modérée."),
        "{dashboard}"
    );
    assert!(dashboard.contains("id=\"pending-replies\""));
    assert!(dashboard.contains("href=\"/admin/comments\""));

    let (status, html) = editor.page("/admin/comments").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Réponses</h1>"), "{html}");
    assert!(html.contains("aria-current=\"page\" id=\"tab-pending\">À modérer (1)"));
    assert!(html.contains(&format!("id=\"comment-{id}\"")));
    assert!(html.contains("Alice Remote"));
    assert!(
        html.contains(&format!("alice@{}", instance(&alice))),
        "handle with the port"
    );
    assert!(html.contains(&format!("<a href=\"{post_url}\">Qu’en pensez-vous ?</a>")));
    assert!(html.contains("Divulgâchage"), "the content warning");
    assert!(
        html.contains("<p>Bravo <b>!</b></p>"),
        "sanitized content shown as HTML"
    );
    assert!(html.contains(&format!("href=\"{}\"", alice.note_url("r1"))));
    for action in [
        "approve",
        "reject",
        "hide",
        "delete",
        "block-author",
        "block-instance",
    ] {
        assert!(
            html.contains(&format!("action=\"/admin/comments/{id}/{action}\"")),
            "{action}"
        );
    }
    let collection = app
        .get_activity_json(&format!("/posts/{public_id}/replies"))
        .await;
    assert_eq!(collection["totalItems"], 0);

    // Approved from the page: public, in the replies collection, out of the queue.
    let back = act(&editor, id, "approve", "pending").await;
    assert_eq!(back, "/admin/comments?state=pending&done=comment_approved");
    let (_, html) = editor.page(&back).await;
    assert!(html.contains("Réponse acceptée"), "confirmation");
    assert!(html.contains("Aucune réponse à modérer."));
    assert_eq!(state_of(&app, id).await, "approved");
    let collection = app
        .get_activity_json(&format!("/posts/{public_id}/replies"))
        .await;
    assert_eq!(collection["totalItems"], 1);
    let page = app
        .get_activity_json(&format!("/posts/{public_id}/replies?page=1"))
        .await;
    assert_eq!(page["items"][0], alice.note_url("r1"));
    let (_, approved) = editor.page("/admin/comments?state=approved").await;
    assert!(approved.contains(&format!("id=\"comment-{id}\"")));
    assert!(
        !approved.contains(&format!("action=\"/admin/comments/{id}/approve\"")),
        "no approving twice"
    );
    let (_, dashboard) = editor.page("/admin").await;
    assert!(!dashboard.contains("id=\"pending-replies\""));

    // English.
    reply(&app, &alice, &post_url, "r2", "<p>Encore</p>").await;
    let english = logged_in_english(&app, "camille", Role::Admin).await;
    let (_, dashboard) = english.page("/admin").await;
    assert!(
        dashboard.contains("1 reply awaits moderation."),
        "{dashboard}"
    );
    let (_, html) = english.page("/admin/comments").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Awaiting review (1)"));
    assert!(html.contains(">Approve<") && html.contains("See the original"));
}
db_test!(a_reply_is_approved_from_the_queue);

async fn replies_are_rejected_hidden_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _, post) = published(&app, "Un texte").await;
    let first = reply(&app, &alice, &post_url, "n1", "<p>Un</p>").await;
    let second = reply(&app, &alice, &post_url, "n2", "<p>Deux</p>").await;
    let third = reply(&app, &alice, &post_url, "n3", "<p>Trois</p>").await;
    let editor = logged_in(&app, "sam", Role::Editor).await;

    // Rejected: off the site, in its tab, can be approved after all.
    assert_eq!(
        act(&editor, first, "reject", "pending").await,
        "/admin/comments?state=pending&done=comment_rejected"
    );
    assert_eq!(state_of(&app, first).await, "rejected");
    let (_, html) = editor.page("/admin/comments?state=rejected").await;
    assert!(html.contains(&format!("id=\"comment-{first}\"")));
    assert!(html.contains("Refusées (1)"));

    // An approved reply hidden from the public site, kept, shown again later.
    act(&editor, second, "approve", "pending").await;
    assert_eq!(public_thread(&app, post).await, vec![alice.note_url("n2")]);
    assert_eq!(
        act(&editor, second, "hide", "approved").await,
        "/admin/comments?state=approved&done=comment_hidden"
    );
    assert_eq!(state_of(&app, second).await, "hidden");
    assert!(public_thread(&app, post).await.is_empty());
    let (_, html) = editor.page("/admin/comments?state=hidden").await;
    assert!(html.contains(&format!("id=\"comment-{second}\"")));
    assert!(html.contains("Afficher de nouveau"));
    act(&editor, second, "approve", "hidden").await;
    assert_eq!(public_thread(&app, post).await.len(), 1);

    // Deleted: gone from Tribune.
    assert_eq!(
        act(&editor, third, "delete", "pending").await,
        "/admin/comments?state=pending&done=comment_deleted"
    );
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM comment WHERE id = {third}"))
            .await,
        0
    );
    // Gone, unknown or malformed: 404; an unknown tab falls back to the queue.
    let missing = editor
        .submit(&format!("/admin/comments/{third}/approve"), &[])
        .await;
    assert_eq!(missing.status(), 404);
    for path in [
        format!("/admin/comments/{first}/publish"),
        "/admin/comments/abc/approve".to_string(),
    ] {
        assert_eq!(editor.submit(&path, &[]).await.status(), 404, "{path}");
    }
    assert_eq!(
        act(&editor, first, "approve", "nonsense").await,
        "/admin/comments?state=pending&done=comment_approved"
    );
}
db_test!(replies_are_rejected_hidden_and_deleted);

async fn blocking_from_the_queue_refuses_and_hides(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.moderation.replies = tribune::config::ReplyPolicy::Open
    })
    .await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _, post) = published(&app, "Un texte").await;
    let from_alice = reply(&app, &alice, &post_url, "a1", "<p>Alice</p>").await;
    let from_bob = reply(&app, &bob, &post_url, "b1", "<p>Bob</p>").await;
    assert_eq!(public_thread(&app, post).await.len(), 2);
    let editor = logged_in(&app, "sam", Role::Editor).await;

    // Blocking the author: her activities are refused, her replies leave the thread and the
    // queue; bob (same host, another account) is unaffected.
    let response = editor
        .submit(
            &format!("/admin/comments/{from_alice}/block-author"),
            &[("back", "approved"), ("reason", "harcèlement")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/comments?state=approved&done=author_blocked"
    );
    assert_eq!(
        app.text("SELECT reason FROM block WHERE kind = 'actor'")
            .await,
        "harcèlement"
    );
    assert_eq!(
        app.text("SELECT target FROM block WHERE kind = 'actor'")
            .await,
        alice.actor
    );
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l1", json!(post_url))).await,
        403
    );
    assert_eq!(public_thread(&app, post).await, vec![bob.note_url("b1")]);
    let (_, html) = editor.page("/admin/comments?state=approved").await;
    assert!(!html.contains(&format!("id=\"comment-{from_alice}\"")));
    assert!(html.contains(&format!("id=\"comment-{from_bob}\"")));
    assert_eq!(
        send(&app, &bob, &bob.activity("Like", "l1", json!(post_url))).await,
        202
    );

    // Blocking bob's instance: its host, whatever the port.
    let response = editor
        .submit(
            &format!("/admin/comments/{from_bob}/block-instance"),
            &[("back", "approved")],
        )
        .await;
    assert_eq!(
        location(&response),
        "/admin/comments?state=approved&done=instance_blocked"
    );
    assert_eq!(
        app.text("SELECT target FROM block WHERE kind = 'domain'")
            .await,
        "localhost"
    );
    assert_eq!(
        send(
            &app,
            &bob,
            &bob.activity("Create", "c2", bob.reply("b2", &post_url, "<p>Encore</p>"))
        )
        .await,
        403
    );
    assert!(public_thread(&app, post).await.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM comment").await, 2, "kept");

    // The blocks page lists both; lifting the instance block brings bob back.
    let admin = logged_in(&app, "camille", Role::Admin).await;
    let (_, blocks) = admin.page("/admin/blocks").await;
    assert!(blocks.contains(&alice.actor) && blocks.contains("harcèlement"));
    let rule = app
        .count("SELECT id FROM block WHERE kind = 'domain'")
        .await;
    let response = admin
        .submit(&format!("/admin/blocks/{rule}/remove"), &[])
        .await;
    assert_eq!(location(&response), "/admin/blocks?done=block_removed");
    assert_eq!(public_thread(&app, post).await, vec![bob.note_url("b1")]);
}
db_test!(blocking_from_the_queue_refuses_and_hides);

async fn the_reply_policy_is_changed_from_the_settings_page(backend: Backend) {
    let app = TestApp::spawn(backend).await; // configured: review
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, public_id, _) = published(&app, "Un texte").await;
    let admin = logged_in(&app, "camille", Role::Admin).await;

    let (status, html) = admin.page("/admin/settings").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Réglages</h1>"), "{html}");
    assert!(
        html.contains("value=\"review\" checked"),
        "the configured policy"
    );
    assert!(html.contains("Chaque réponse attend qu’une personne éditrice l’accepte."));
    assert!(html.contains("name=\"allowlist_mode\""));
    assert!(!html.contains("name=\"allowlist_mode\" value=\"on\" checked"));
    let first = reply(&app, &alice, &post_url, "n1", "<p>Un</p>").await;
    assert_eq!(state_of(&app, first).await, "pending");

    // Open: the next reply is published at once.
    let response = admin
        .submit("/admin/settings", &[("replies", "open")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/settings?done=settings_saved");
    let (_, html) = admin.page(&location(&response)).await;
    assert!(html.contains("Réglages enregistrés"));
    assert!(html.contains("value=\"open\" checked"));
    let second = reply(&app, &alice, &post_url, "n2", "<p>Deux</p>").await;
    assert_eq!(state_of(&app, second).await, "approved");

    // Trusted: alice was approved before, a newcomer waits.
    admin
        .submit("/admin/settings", &[("replies", "trusted")])
        .await;
    let bob = RemoteServer::start(Behaviour::Ok).await;
    let third = reply(&app, &alice, &post_url, "n3", "<p>Trois</p>").await;
    assert_eq!(state_of(&app, third).await, "approved");
    let from_bob = reply(&app, &bob, &post_url, "b1", "<p>Bob</p>").await;
    assert_eq!(state_of(&app, from_bob).await, "pending");

    // The setting survives a restart, over the configuration file's value.
    let app = app.restart().await;
    let post_url = app.url(&format!("/posts/{public_id}")).to_string();
    let from_bob_again = reply(&app, &bob, &post_url, "b2", "<p>Bob encore</p>").await;
    assert_eq!(state_of(&app, from_bob_again).await, "pending", "trusted");
    let admin = app.browser();
    admin.login_ok("camille", PASSWORD).await;

    // Allowlist mode: only allowed instances federate.
    admin
        .submit(
            "/admin/settings",
            &[("replies", "review"), ("allowlist_mode", "on")],
        )
        .await;
    let (_, html) = admin.page("/admin/settings").await;
    assert!(html.contains("name=\"allowlist_mode\" value=\"on\" checked"));
    let like = alice.activity("Like", "like-1", json!(post_url));
    assert_eq!(send(&app, &alice, &like).await, 403);
    let (_, blocks) = admin.page("/admin/blocks").await;
    assert!(blocks.contains("id=\"allowlist-on\""));
    admin
        .submit(
            "/admin/blocks",
            &[("target", "localhost"), ("kind", "allow")],
        )
        .await;
    assert_eq!(send(&app, &alice, &like).await, 202);
    let fourth = reply(&app, &alice, &post_url, "n4", "<p>Quatre</p>").await;
    assert_eq!(state_of(&app, fourth).await, "pending", "review");

    // A policy that does not exist: refused, nothing changed.
    let response = admin
        .submit("/admin/settings", &[("replies", "anything")])
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.text("SELECT value FROM instance_setting WHERE key = 'moderation.replies'")
            .await,
        "review"
    );

    // English.
    let english = logged_in_english(&app, "robin", Role::Admin).await;
    let (_, html) = english.page("/admin/settings").await;
    assert!(html.contains("<h1>Settings</h1>"));
    assert!(html.contains("Every reply waits until an editor approves it."));
    assert!(html.contains("Federate only with allowed instances"));
}
db_test!(the_reply_policy_is_changed_from_the_settings_page);

async fn blocks_are_added_and_removed_from_the_blocks_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _, _) = published(&app, "Un texte").await;
    let admin = logged_in(&app, "camille", Role::Admin).await;
    let (status, html) = admin.page("/admin/blocks").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Blocages</h1>"));
    assert!(html.contains("href=\"/admin/blocks\""), "in the menu");
    assert!(!html.contains("id=\"allowlist-on\""));

    // An instance, any spelling.
    let response = admin
        .submit(
            "/admin/blocks",
            &[("target", "Spam.Example."), ("reason", "publicité")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/blocks?done=block_added");
    // An account: its activities are refused at once.
    admin
        .submit(
            "/admin/blocks",
            &[("target", &alice.actor), ("kind", "block")],
        )
        .await;
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l1", json!(post_url))).await,
        403
    );
    // An allowed instance.
    let response = admin
        .submit(
            "/admin/blocks",
            &[("target", "amis.example"), ("kind", "allow")],
        )
        .await;
    assert_eq!(location(&response), "/admin/blocks?done=allow_added");
    let (_, html) = admin.page("/admin/blocks?done=block_added").await;
    assert!(html.contains("Blocage ajouté."));
    let blocked_instances = &html[html.find("id=\"blocked-instances\"").expect("instances")..];
    assert!(blocked_instances.contains("<code>spam.example</code>"));
    assert!(html.contains("publicité"));
    let allowed = &html[html.find("id=\"allowed-instances\"").expect("allowed")..];
    assert!(allowed.contains("<code>amis.example</code>"));
    assert_eq!(app.count("SELECT COUNT(*) FROM block").await, 3);

    // Not a target: the form comes back with the reason, nothing added.
    let response = admin
        .submit(
            "/admin/blocks",
            &[("target", "pas une adresse"), ("reason", "x")],
        )
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"error-summary\""));
    assert!(html.contains("value=\"pas une adresse\""));
    let response = admin
        .submit(
            "/admin/blocks",
            &[("target", &alice.actor), ("kind", "allow")],
        )
        .await;
    assert_eq!(response.status(), 400, "only instances are allowed");
    assert_eq!(app.count("SELECT COUNT(*) FROM block").await, 3);

    // Removing the account's block lets it in again.
    let rule = app.count("SELECT id FROM block WHERE kind = 'actor'").await;
    let response = admin
        .submit(&format!("/admin/blocks/{rule}/remove"), &[])
        .await;
    assert_eq!(location(&response), "/admin/blocks?done=block_removed");
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l2", json!(post_url))).await,
        202
    );
    assert_eq!(
        admin
            .submit(&format!("/admin/blocks/{rule}/remove"), &[])
            .await
            .status(),
        404
    );

    // English.
    let english = logged_in_english(&app, "robin", Role::Admin).await;
    let (_, html) = english.page("/admin/blocks").await;
    assert!(html.contains("<h1>Blocks</h1>") && html.contains("Blocked instances"));
}
db_test!(blocks_are_added_and_removed_from_the_blocks_page);

async fn forms_need_the_token_and_the_right_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _, _) = published(&app, "Un texte").await;
    let id = reply(&app, &alice, &post_url, "n1", "<p>Un</p>").await;
    let editor = logged_in(&app, "sam", Role::Editor).await;

    // Without the session's token: 403, nothing changed.
    for action in [
        "approve",
        "reject",
        "hide",
        "delete",
        "block-author",
        "block-instance",
    ] {
        let path = format!("/admin/comments/{id}/{action}");
        assert_eq!(editor.post_form(&path, &[]).await.status(), 403, "{path}");
        let forged = editor.post_form(&path, &[("csrf", "forged")]).await;
        assert_eq!(forged.status(), 403, "{path}");
    }
    assert_eq!(state_of(&app, id).await, "pending");
    assert_eq!(app.count("SELECT COUNT(*) FROM block").await, 0);
    let admin = logged_in(&app, "camille", Role::Admin).await;
    let response = admin
        .post_form("/admin/settings", &[("replies", "open")])
        .await;
    assert_eq!(response.status(), 403);
    let response = admin
        .post_form("/admin/blocks", &[("target", "spam.example")])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM instance_setting").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM block").await, 0);

    // Authors: neither the queue nor notifications, blocks or settings.
    let author = logged_in(&app, "ana", Role::Author).await;
    for page in [
        "/admin/comments",
        "/admin/notifications",
        "/admin/blocks",
        "/admin/settings",
    ] {
        let (status, html) = author.page(page).await;
        assert_eq!(status, 403, "{page}");
        assert!(html.contains("Action non autorisée"), "{page}");
    }
    let response = author
        .submit(&format!("/admin/comments/{id}/approve"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(state_of(&app, id).await, "pending");
    let (_, dashboard) = author.page("/admin").await;
    assert!(!dashboard.contains("href=\"/admin/comments\""));
    assert!(!dashboard.contains("id=\"pending-replies\""));

    // Editors moderate, but blocks and settings are for admins.
    for page in ["/admin/blocks", "/admin/settings"] {
        let (status, html) = editor.page(page).await;
        assert_eq!(status, 403, "{page}");
        assert!(html.contains("Seules les personnes administratrices peuvent voir cette page."));
    }
    let response = editor
        .submit("/admin/settings", &[("replies", "open")])
        .await;
    assert_eq!(response.status(), 403);
    let response = editor
        .submit("/admin/blocks", &[("target", "spam.example")])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM block").await, 0);
    let (_, html) = editor.page("/admin").await;
    assert!(!html.contains("href=\"/admin/settings\""));

    // Not logged in: to the login page.
    let anonymous = app.browser();
    let response = anonymous.get("/admin/comments").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/admin/login"));
}
db_test!(forms_need_the_token_and_the_right_role);

async fn notifications_list_what_happened(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, _, _) = published(&app, "Un texte à aimer").await;
    let collective = app.url("/actors/collectif").to_string();
    assert_eq!(
        send(&app, &alice, &alice.follow(&collective, "1")).await,
        202
    );
    send(&app, &alice, &alice.activity("Like", "l1", json!(post_url))).await;
    send(
        &app,
        &alice,
        &alice.activity("Announce", "b1", json!(post_url)),
    )
    .await;
    let id = reply(&app, &alice, &post_url, "r1", "<p>Réponse</p>").await;
    let mention = json!({
        "id": alice.note_url("m1"),
        "type": "Note",
        "attributedTo": alice.actor,
        "content": "<p>@collectif bonjour</p>",
        "published": "2026-11-29T10:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "tag": [{"type": "Mention", "href": collective}],
    });
    send(&app, &alice, &alice.activity("Create", "m1", mention)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM notification").await, 5);

    let editor = logged_in(&app, "sam", Role::Editor).await;
    let (status, html) = editor.page("/admin/notifications").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Notifications</h1>"), "{html}");
    let order: Vec<usize> = [
        "a mentionné le collectif",
        "a répondu à",
        "a partagé",
        "a aimé",
        "suit désormais le collectif",
    ]
    .iter()
    .map(|what| html.find(what).unwrap_or_else(|| panic!("{what}: {html}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first");
    assert!(html.contains(&format!("alice@{}", instance(&alice))));
    assert!(html.contains(&format!("<a href=\"{post_url}\">Un texte à aimer</a>")));
    assert!(html.contains(&format!("href=\"{}\"", alice.note_url("m1"))));
    assert!(html.contains(&format!(
        "href=\"/admin/comments?state=pending#comment-{id}\""
    )));

    let english = logged_in_english(&app, "robin", Role::Admin).await;
    let (_, html) = english.page("/admin/notifications").await;
    assert!(html.contains("mentioned the collective") && html.contains("boosted"));
    assert!(html.contains("now follows the collective"));
}
db_test!(notifications_list_what_happened);

/// Runs `tribune ARGS` on the test app's database and base URL.
fn tribune(settings: &tribune::config::Settings, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tribune"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TRIBUNE__DATA_DIR", &settings.data_dir)
        .env("TRIBUNE__DATABASE__URL", &settings.database.url)
        .env(
            "TRIBUNE__INSTANCE__BASE_URL",
            settings.instance.base_url.as_str(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tribune");
    let _ = child.stdin.take().expect("stdin").write_all(b"");
    child.wait_with_output().expect("tribune ran")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The ids in the first column of `comment list`.
fn listed_ids(list: &str) -> Vec<i64> {
    list.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

async fn comments_and_blocks_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = RemoteServer::start(Behaviour::Ok).await;
    let (post_url, public_id, post) = published(&app, "Un texte").await;
    let first = reply(&app, &alice, &post_url, "n1", "<p>Premier avis</p>").await;
    let second = reply(&app, &alice, &post_url, "n2", "<p>Second avis</p>").await;
    let s = &app.settings;

    let list = stdout(&tribune(s, &["comment", "list", "--pending"]));
    assert!(list.starts_with("id "), "{list}");
    let mut ids = listed_ids(&list);
    ids.sort_unstable();
    assert_eq!(ids, vec![first, second], "{list}");
    assert!(
        list.contains(&public_id) && list.contains("Premier avis"),
        "{list}"
    );
    assert!(list.contains("alice@localhost"), "{list}");

    let approved = stdout(&tribune(s, &["comment", "approve", &first.to_string()]));
    assert!(approved.contains(&format!("comment {first} approved")));
    let rejected = stdout(&tribune(s, &["comment", "reject", &second.to_string()]));
    assert!(rejected.contains(&format!("comment {second} rejected")));
    assert_eq!(state_of(&app, first).await, "approved");
    assert_eq!(state_of(&app, second).await, "rejected");
    assert!(listed_ids(&stdout(&tribune(s, &["comment", "list", "--pending"]))).is_empty());
    let all = stdout(&tribune(s, &["comment", "list"]));
    assert_eq!(listed_ids(&all).len(), 2, "{all}");
    assert_eq!(public_thread(&app, post).await, vec![alice.note_url("n1")]);
    let unknown = tribune(s, &["comment", "approve", "999999"]);
    assert!(!unknown.status.success());

    // Blocks: the running server refuses at once, the thread hides the author's replies.
    let added = stdout(&tribune(
        s,
        &["block", "add", &alice.actor, "--reason", "spam"],
    ));
    assert!(
        added.contains(&format!("blocked {}", alice.actor)),
        "{added}"
    );
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l1", json!(post_url))).await,
        403
    );
    assert!(public_thread(&app, post).await.is_empty());
    stdout(&tribune(s, &["block", "add", "Spam.Example."]));
    let allowed = stdout(&tribune(s, &["block", "allow", "amis.example"]));
    assert!(allowed.contains("allowed amis.example"));
    let list = stdout(&tribune(s, &["block", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("actor") && l.contains(&alice.actor) && l.contains("spam")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("domain") && l.contains("spam.example")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("allow") && l.contains("amis.example")),
        "{list}"
    );
    let removed = stdout(&tribune(s, &["block", "remove", &alice.actor]));
    assert!(removed.contains("unblocked"), "{removed}");
    assert_eq!(
        send(&app, &alice, &alice.activity("Like", "l2", json!(post_url))).await,
        202
    );
    assert_eq!(public_thread(&app, post).await.len(), 1);
    let not_blocked = tribune(s, &["block", "remove", "nobody.example"]);
    assert!(!not_blocked.status.success());
    assert!(String::from_utf8_lossy(&not_blocked.stderr).contains("was not blocked"));
    let bad = tribune(s, &["block", "add", "pas une adresse"]);
    assert!(!bad.status.success());
}
db_test!(comments_and_blocks_from_the_command_line);
