//! The administration commands against the same database as a running (or stopped) server.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

use crate::{
    db_test,
    support::{ACCEPT_AS, Backend, Storage, TestApp},
};

/// Runs `tribune ARGS` on the test app's database and base URL, with `stdin` piped in.
fn tribune(settings: &tribune::config::Settings, args: &[&str], stdin: &str) -> Output {
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
    // The command may exit before reading (e.g. on a bad argument): a closed pipe is fine.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("tribune ran")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn members_are_managed_from_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = &app.settings;
    let added = stdout(&tribune(
        s,
        &[
            "member",
            "add",
            "alice",
            "--role",
            "editor",
            "--display-name",
            "Alice Martin",
        ],
        "un mot de passe solide\n",
    ));
    assert!(
        added.contains("member alice added with role editor"),
        "{added}"
    );
    let generated = stdout(&tribune(
        s,
        &[
            "member",
            "add",
            "bob",
            "--role",
            "author",
            "--generate-password",
        ],
        "",
    ));
    let password = generated
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .expect("the generated password is printed once");
    assert_eq!(password.len(), 20);
    let bob = tribune::service::member::find(&app.db, "bob")
        .await
        .expect("query")
        .expect("bob exists");
    assert!(tribune::service::member::verify_password(
        password,
        &bob.password_hash
    ));

    let list = stdout(&tribune(s, &["member", "list"], ""));
    assert!(
        list.contains("alice") && list.contains("editor") && list.contains("Alice Martin"),
        "{list}"
    );
    assert!(list.contains("bob") && list.contains("author"), "{list}");

    stdout(&tribune(
        s,
        &["member", "set-password", "bob"],
        "un autre mot de passe\n",
    ));
    let bob = tribune::service::member::find(&app.db, "bob")
        .await
        .expect("query")
        .expect("bob");
    assert!(tribune::service::member::verify_password(
        "un autre mot de passe",
        &bob.password_hash
    ));

    // Bad input: clear messages, nothing changed.
    let bad_role = tribune(
        s,
        &["member", "add", "carol", "--role", "chief"],
        "un mot de passe solide\n",
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("use admin, editor or author"));
    let short = tribune(
        s,
        &["member", "add", "carol", "--role", "author"],
        "court\n",
    );
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let taken = tribune(
        s,
        &["member", "add", "collectif", "--role", "author"],
        "un mot de passe solide\n",
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already taken"));
    assert!(
        tribune::service::member::find(&app.db, "carol")
            .await
            .expect("query")
            .is_none()
    );

    stdout(&tribune(s, &["member", "remove", "bob"], ""));
    assert!(
        tribune::service::member::find(&app.db, "bob")
            .await
            .expect("query")
            .is_none()
    );
}
db_test!(members_are_managed_from_the_command_line);

async fn a_post_published_from_the_command_line_federates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.settings.clone();
    stdout(&tribune(
        &s,
        &[
            "member",
            "add",
            "alice",
            "--role",
            "author",
            "--display-name",
            "Alice Martin",
        ],
        "un mot de passe solide\n",
    ));
    let file = app.storage.dir.path().join("lettre.md");
    std::fs::write(
        &file,
        "Nous, travailleuses et travailleurs de la tech, **signons**.\n\n#Lettre",
    )
    .expect("write");
    let url = stdout(&tribune(
        &s,
        &[
            "post",
            "publish",
            "--author",
            "alice",
            "--title",
            "Lettre ouverte",
            "--lang",
            "fr",
            "--tags",
            "tech",
            file.to_str().expect("utf8"),
        ],
        "",
    ));
    let url = url.trim();
    assert!(url.starts_with(&format!("{}posts/", app.base)), "{url}");
    let object: Value = app
        .client
        .get(url)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(object["type"], "Article");
    assert_eq!(object["name"], "Lettre ouverte");
    assert!(
        object["content"]
            .as_str()
            .expect("content")
            .contains("<strong>signons</strong>")
    );
    let tags: Vec<&str> = object["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tags.contains(&"#Lettre") && tags.contains(&"#tech"),
        "{tags:?}"
    );

    // From standard input, untitled: a Note.
    let note_url = stdout(&tribune(
        &s,
        &["post", "publish", "--author", "alice", "-"],
        "Un message court.\n",
    ));
    let note: Value = app
        .client
        .get(note_url.trim())
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(note["type"], "Note");

    let list = stdout(&tribune(&s, &["post", "list"], ""));
    assert!(
        list.contains("Lettre ouverte") && list.contains("published"),
        "{list}"
    );
    assert!(list.contains("Un message court."), "{list}");

    stdout(&tribune(&s, &["post", "delete", url], ""));
    let gone = app
        .client
        .get(url)
        .header("Accept", ACCEPT_AS)
        .send()
        .await
        .expect("get");
    assert_eq!(gone.status(), 410);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM activity WHERE kind = 'Delete'")
            .await,
        1
    );

    let missing = tribune(&s, &["post", "publish", "--author", "nobody", "-"], "x");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no member named \"nobody\""));
    let empty = tribune(&s, &["post", "publish", "--author", "alice", "-"], "   \n");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("body: must not be empty"));
}
db_test!(a_post_published_from_the_command_line_federates);

/// The command line works while the server is stopped; the server then serves what it wrote.
async fn the_command_line_works_while_the_server_is_stopped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let settings = app.settings.clone();
    let storage: Storage = app.stop().await;
    stdout(&tribune(
        &settings,
        &["member", "add", "alice", "--role", "editor"],
        "un mot de passe solide\n",
    ));
    let url = stdout(&tribune(
        &settings,
        &["post", "publish", "--author", "alice", "-"],
        "Publié serveur arrêté.\n",
    ));
    assert_eq!(
        tribune::db::post::count_published(&tribune::db::connect(&settings).await.expect("db"))
            .await
            .expect("count"),
        1
    );
    let app = TestApp::start(storage, |_| {}).await;
    let path = url
        .trim()
        .rsplit_once("/posts/")
        .map(|(_, id)| format!("/posts/{id}"))
        .expect("post path");
    let object = app.get_activity_json(&path).await;
    assert!(
        object["content"]
            .as_str()
            .expect("content")
            .contains("Publié serveur arrêté.")
    );
}
db_test!(the_command_line_works_while_the_server_is_stopped);
