//! Public reads served from the cache (`web::cached`): a cached post costs no query on SQLite,
//! and whatever another process commits — the CLI
//! deleting, another connection editing — shows on the very next request.

use sea_orm::ConnectionTrait;
use tribune::domain::member::Role;

use crate::{
    db_test,
    support::{Backend, TestApp, note, tribune_command},
};

const JSON: &str = "application/activity+json";

/// Queries the server ran for one GET, and its status and body.
async fn costed_get(app: &TestApp, path: &str, accept: &str) -> (u64, u16, String) {
    let before = app.state.db_queries.total();
    let response = app.get(path, accept).await;
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    (app.state.db_queries.total() - before, status, body)
}

async fn a_cached_post_costs_no_query_and_shows_other_processes_writes_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&editor, note("Premier jet.")).await;
    let path = format!("/posts/{id}");
    // On PostgreSQL the version is the cluster's snapshot, which other tests' writes move: the
    // cost is only checked on SQLite there; correctness is checked on both.
    let sqlite = app.db.get_database_backend() == sea_orm::DbBackend::Sqlite;

    for accept in [JSON, "text/html"] {
        let (first, status, body) = costed_get(&app, &path, accept).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            first > 1,
            "{accept}: the first read computes ({first} queries)"
        );
        let (again, status, same) = costed_get(&app, &path, accept).await;
        assert_eq!((status, &same), (200, &body), "{accept}: the same response");
        if sqlite {
            assert_eq!(
                again, 0,
                "{accept}: served from the cache ({again} queries)"
            );
        }
    }

    // Another connection edits the post (as a second server on the same database would).
    let other = sea_orm::Database::connect(app.settings.database_url())
        .await
        .expect("a second connection");
    other
        .execute_unprepared(&format!(
            "UPDATE post SET body_html = '<p>Texte corrigé.</p>' WHERE public_id = '{id}'"
        ))
        .await
        .expect("edit");
    let (_, _, body) = costed_get(&app, &path, JSON).await;
    assert!(
        body.contains("Texte corrigé."),
        "the edit shows at once: {body}"
    );
    let (_, _, page) = costed_get(&app, &path, "text/html").await;
    assert!(page.contains("Texte corrigé."), "the edit shows at once");

    // The command line, another process, deletes it: 410 on the next request.
    let out = tribune_command(&app.settings)
        .args(["post", "delete", &id])
        .output()
        .expect("tribune post delete");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, status, body) = costed_get(&app, &path, JSON).await;
    assert_eq!(status, 410, "deleted by another process: {body}");
    let (_, status, _) = costed_get(&app, &path, "text/html").await;
    assert_eq!(status, 410);
}
db_test!(a_cached_post_costs_no_query_and_shows_other_processes_writes_at_once);

async fn pages_are_cached_per_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = app
        .add_member("eve", Role::Editor, "un mot de passe solide")
        .await;
    let id = app.publish_post(&editor, note("Bonjour.")).await;
    let page = |lang: &'static str| {
        let url = app.url(&format!("/posts/{id}"));
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .header("Accept", "text/html")
                .header("Accept-Language", lang)
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("body")
        }
    };
    let french = page("fr").await;
    let english = page("en").await;
    assert!(french.contains("lang=\"fr\""), "{french}");
    assert!(english.contains("lang=\"en\""), "{english}");
    assert_eq!(page("fr").await, french);
    assert_eq!(page("en").await, english);
}
db_test!(pages_are_cached_per_language);
