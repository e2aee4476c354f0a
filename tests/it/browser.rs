//! The admin panel and the public site in a real browser: headless Chromium, driven by
//! `tests/browser/admin-flow.mjs` (playwright-core), against the real server. An author logs in,
//! writes a post in Markdown, previews it (the page and Mastodon), submits it for review and
//! logs out; an editor finds it on the dashboard and publishes it; a reader finds it on the home
//! page, reads it, and finds it in the Atom feed. The script takes screenshots on a phone-sized
//! and a desktop viewport, kept under the target directory (the path is printed).

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::Value;
use tokio::process::Command;
use tribune::domain::member::Role;

use crate::{
    db_test,
    support::{Backend, TestApp, browser_dir, chromium},
};

const AUTHOR: &str = "alex";
const AUTHOR_PASSWORD: &str = "une phrase de passe d’autrice";
const EDITOR: &str = "sam";
const EDITOR_PASSWORD: &str = "la phrase de passe de l’éditeur";

/// Where this run's screenshots go: emptied at each run, kept afterwards to be looked at.
fn screenshot_dir(backend: &Backend) -> PathBuf {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-screenshots")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn an_author_writes_an_editor_publishes_and_readers_read(backend: Backend) {
    // Before anything else: without Chromium this test fails, it never passes silently.
    let chromium = chromium();
    let dir = browser_dir();
    let screenshots = screenshot_dir(&backend);
    let app = TestApp::spawn(backend).await;
    app.add_member(AUTHOR, Role::Author, AUTHOR_PASSWORD).await;
    app.add_member(EDITOR, Role::Editor, EDITOR_PASSWORD).await;

    let base = app.base.as_str().trim_end_matches('/').to_string();
    let child = Command::new("node")
        .arg(dir.join("admin-flow.mjs"))
        .current_dir(&dir)
        .env("TRIBUNE_BASE_URL", &base)
        .env("TRIBUNE_AUTHOR", AUTHOR)
        .env("TRIBUNE_AUTHOR_PASSWORD", AUTHOR_PASSWORD)
        .env("TRIBUNE_EDITOR", EDITOR)
        .env("TRIBUNE_EDITOR_PASSWORD", EDITOR_PASSWORD)
        .env("TRIBUNE_CHROMIUM", &chromium)
        .env("TRIBUNE_SCREENSHOT_DIR", &screenshots)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed to run the browser tests");
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the browser flow finished within 3 minutes")
        .expect("node ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!(
                "admin-flow.mjs printed no JSON report ({}).\nstdout:\n{stdout}\nstderr:\n{stderr}",
                output.status
            )
        });
    assert!(
        output.status.success() && report["ok"] == true,
        "the browser flow failed at the step “{}”: {}\nscreenshots: {}\n({}; stderr above)",
        report["step"].as_str().unwrap_or("?"),
        report["error"].as_str().unwrap_or("?"),
        report["screenshots"],
        output.status,
    );
    println!("browser screenshots: {}", screenshots.display());

    // What the browser did is what the database holds.
    let id = report["publicId"].as_str().expect("publicId");
    assert_eq!(report["postUrl"], format!("{base}/posts/{id}"));
    let post = tribune::db::post::find_by_public_id(&app.db, id)
        .await
        .expect("query")
        .expect("the post the browser wrote");
    assert_eq!(post.status, "published");
    assert_eq!(post.title.as_deref(), report["title"].as_str());
    assert!(post.body_markdown.contains("**grève générale**"));
    let author = tribune::service::member::find(&app.db, AUTHOR)
        .await
        .expect("query")
        .expect("author");
    assert_eq!(
        post.author_id, author.id,
        "credited to the author, not the editor"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Create'")
            .await,
        1
    );
    for shot in report["screenshots"].as_array().expect("screenshots") {
        let path = PathBuf::from(shot.as_str().expect("path"));
        assert!(path.starts_with(&screenshots), "{}", path.display());
        let size = std::fs::metadata(&path).expect("screenshot written").len();
        assert!(size > 1000, "{} is empty", path.display());
    }
}
db_test!(an_author_writes_an_editor_publishes_and_readers_read);
