//! Durability with the real binary: posts queued while the server is stopped go out when it
//! starts; a server killed with SIGKILL in the middle of a fan-out finishes it after a restart,
//! resending at most what was in flight.

use std::{
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, Storage, TestApp, tribune_command},
};

/// Starts `tribune serve` on the storage of a stopped test app, delivery workers on.
/// A `tribune serve` process, killed (SIGKILL) when dropped, so that a failed assertion does not
/// leave it running (holding the test's output open).
struct Served(Child);

impl Served {
    fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()?;
        self.0.wait().map(|_| ())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn serve(settings: &tribune::config::Settings, max_concurrency: usize) -> Served {
    let child = tribune_command(settings)
        .arg("serve")
        .env("RUST_LOG", "warn")
        .env(
            "TRIBUNE__SERVER__LISTEN",
            settings.server.listen.to_string(),
        )
        .env("TRIBUNE__FEDERATION__ALLOW_PRIVATE_NETWORK", "true")
        .env("TRIBUNE__DELIVERY__WORKERS", "true")
        .env(
            "TRIBUNE__DELIVERY__MAX_CONCURRENCY",
            max_concurrency.to_string(),
        )
        .env("TRIBUNE__DELIVERY__LEASE_SECONDS", "3")
        .env("TRIBUNE__DELIVERY__REQUEST_TIMEOUT_SECONDS", "2")
        .env("TRIBUNE__DELIVERY__STALLED_AFTER_SECONDS", "1")
        .env("TRIBUNE__DELIVERY__POLL_INTERVAL_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tribune serve");
    Served(child)
}

fn publish_with_cli(settings: &tribune::config::Settings, text: &str) {
    use std::io::Write;
    let run = |args: &[&str], stdin: &str| {
        let mut child = tribune_command(settings)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tribune");
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        let out = child.wait_with_output().expect("ran");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        &["member", "add", "eve", "--role", "editor"],
        "un mot de passe solide\n",
    );
    run(&["post", "publish", "--author", "eve", "-"], text);
}

async fn insert_followers(
    db: &sea_orm::DatabaseConnection,
    servers: &[RemoteServer],
    per_server: usize,
) {
    let backend = db.get_database_backend();
    let actor_id: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT id FROM local_actor".to_string(),
        ))
        .await
        .expect("q")
        .expect("row")
        .try_get_by_index(0)
        .expect("id");
    for server in servers {
        let values: Vec<String> = (0..per_server)
            .map(|i| {
                format!(
                    "({actor_id}, '{b}/users/u{i}', '{b}/users/u{i}/inbox', NULL, 'accepted', CURRENT_TIMESTAMP)",
                    b = server.base
                )
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) VALUES {}",
            values.join(",")
        ))
        .await
        .expect("insert followers");
    }
}

async fn delivered(db: &sea_orm::DatabaseConnection) -> i64 {
    let backend = db.get_database_backend();
    db.query_one_raw(sea_orm::Statement::from_string(
        backend,
        "SELECT COUNT(*) FROM delivery WHERE state = 'delivered'".to_string(),
    ))
    .await
    .expect("q")
    .expect("row")
    .try_get_by_index(0)
    .expect("count")
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_post_queued_while_stopped_goes_out_when_the_server_starts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let remote = RemoteServer::start(Behaviour::Ok).await;
    insert_followers(&app.db, std::slice::from_ref(&remote), 1).await;
    let settings = app.settings.clone();
    let storage: Storage = app.stop().await;
    publish_with_cli(&settings, "Écrit pendant l'arrêt.");
    assert!(remote.received().is_empty());
    let mut server = serve(&settings, 8);
    let db = tribune::db::connect(&settings).await.expect("db");
    wait_for("the queued Create", Duration::from_secs(30), async || {
        !remote.received().is_empty()
    })
    .await;
    assert_eq!(remote.received()[0].body["type"], "Create");
    // Recorded once the answer is back (a moment after the remote saw the request).
    wait_for(
        "the delivery recorded",
        Duration::from_secs(10),
        async || delivered(&db).await == 1,
    )
    .await;
    server.kill().ok();
    drop(storage);
}
db_test!(a_post_queued_while_stopped_goes_out_when_the_server_starts);

async fn a_fan_out_survives_sigkill(backend: Backend) {
    const SERVERS: usize = 10;
    const PER_SERVER: usize = 100;
    const IN_FLIGHT: usize = 16;
    let app = TestApp::spawn(backend).await;
    let mut servers = Vec::new();
    for _ in 0..SERVERS {
        servers.push(RemoteServer::start(Behaviour::Slow(40)).await);
    }
    insert_followers(&app.db, &servers, PER_SERVER).await;
    let settings = app.settings.clone();
    let storage: Storage = app.stop().await;
    let total = SERVERS * PER_SERVER;
    let received =
        |servers: &[RemoteServer]| servers.iter().map(|s| s.received().len()).sum::<usize>();

    let mut first = serve(&settings, IN_FLIGHT);
    publish_with_cli(&settings, "Diffusé malgré la panne.");
    wait_for(
        "the fan-out to start",
        Duration::from_secs(30),
        async || received(&servers) >= total / 5,
    )
    .await;
    first.kill().expect("SIGKILL");
    let before_restart = received(&servers);
    assert!(
        before_restart < total,
        "killed in the middle ({before_restart}/{total})"
    );

    let mut second = serve(&settings, IN_FLIGHT);
    let db = tribune::db::connect(&settings).await.expect("db");
    wait_for("every delivery", Duration::from_secs(60), async || {
        delivered(&db).await == total as i64
    })
    .await;
    second.kill().ok();

    let mut missing = 0;
    let mut duplicates = 0;
    for server in &servers {
        let mut counts = std::collections::HashMap::new();
        for r in server.received() {
            *counts.entry(r.path.clone()).or_insert(0usize) += 1;
        }
        missing += PER_SERVER - counts.len();
        duplicates += counts.values().map(|n| n - 1).sum::<usize>();
    }
    eprintln!(
        "SIGKILL test: {before_restart}/{total} received before the kill, {duplicates} sent twice"
    );
    assert_eq!(missing, 0, "every inbox got the post");
    assert!(
        duplicates <= IN_FLIGHT,
        "at most the in-flight deliveries were sent twice: {duplicates}"
    );
    drop(storage);
}
db_test!(a_fan_out_survives_sigkill);
