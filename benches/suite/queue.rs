//! The queue-row write, measured in-process against the bare inserts of the same SQLite
//! database (the `queue` role, pinned to Tribune's core): 10,000 followers on 1,000 instances,
//! then a bare 1,000-row insert transaction, single-row insert transactions per second,
//! `service::outbox::emit` of one activity (its follower read and its 1,000 delivery rows) and a
//! whole `service::post::publish_now`.

use std::time::Instant;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::json;
use tribune::{
    config::Settings,
    domain::{member::Role, post::PostInput},
    service::outbox::{self, Emitted, Recipients},
};
use url::Url;

pub const INSTANCES: usize = 1_000;
pub const FOLLOWERS_PER_INSTANCE: usize = 10;

async fn exec(db: &impl ConnectionTrait, sql: String) {
    db.execute_unprepared(&sql).await.expect("sql");
}

/// The admin member the bench publishes as.
pub async fn bench_member(db: &DatabaseConnection) -> tribune::db::entity::member::Model {
    tribune::service::member::add(
        db,
        "bench",
        "Bench",
        Role::Admin,
        "a long bench password",
        &[],
    )
    .await
    .expect("member")
}

/// Inserts `per_instance` accepted followers for each shared inbox base URL
/// (`http://host:port`), a thousand rows per statement.
pub async fn insert_followers(
    db: &DatabaseConnection,
    actor_id: i64,
    bases: &[String],
    per_instance: usize,
) {
    let rows: Vec<String> = bases
        .iter()
        .flat_map(|base| {
            (0..per_instance).map(move |i| {
                format!(
                    "({actor_id}, '{base}/users/u{i}', '{base}/users/u{i}/inbox', '{base}/inbox', 'accepted', CURRENT_TIMESTAMP)"
                )
            })
        })
        .collect();
    for chunk in rows.chunks(1000) {
        exec(
            db,
            format!(
                "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) VALUES {}",
                chunk.join(",")
            ),
        )
        .await;
    }
}

fn insert_sql(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO received_activity (activity_url, kind, actor_url, received_at) VALUES ($1, 'X', 'x', CURRENT_TIMESTAMP)"
        }
        _ => {
            "INSERT INTO received_activity (activity_url, kind, actor_url, received_at) VALUES (?, 'X', 'x', CURRENT_TIMESTAMP)"
        }
    }
}

pub async fn measure(args: &[String]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        ..Settings::default()
    };
    settings.federation.allow_private_network = true;
    settings.delivery.workers = false;
    if let Some(url) = crate::roles::arg(args, "--database-url") {
        settings.database.url = url;
    }
    let state = tribune::app::prepare(settings).await.expect("prepare");
    let db = &state.db;
    let backend = db.get_database_backend();
    let bases: Vec<String> = (0..INSTANCES)
        .map(|i| format!("http://localhost:{}", 20_000 + i))
        .collect();
    insert_followers(db, state.collective.id, &bases, FOLLOWERS_PER_INSTANCE).await;

    // Baseline: a bare 1,000-row insert, one prepared single-row INSERT per row, one transaction.
    let sql = insert_sql(db);
    let txn = db.begin().await.expect("txn");
    let started = Instant::now();
    for i in 0..INSTANCES {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [format!("https://b.example/{i}").into()],
        ))
        .await
        .expect("insert");
    }
    txn.commit().await.expect("commit");
    let bare_insert_ms = started.elapsed().as_secs_f64() * 1e3;

    // Baseline: single-row insert transactions per second (each row committed on its own).
    let n = 2_000;
    let started = Instant::now();
    for i in 0..n {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [format!("https://single.example/{i}").into()],
        ))
        .await
        .expect("insert");
    }
    let insert_tx_per_s = f64::from(n) / started.elapsed().as_secs_f64();

    // The queue-row write alone: one activity, its follower inboxes read, 1,000 delivery rows.
    // Measured in the steady state of a running server: one emit rolled back first warms the
    // page cache and the statement cache, as the bare inserts above were warmed by the followers'.
    let payload = json!({"type": "Create", "object": {"content": "x".repeat(1500)}});
    let mut emit_ms = 0.0;
    for commit in [false, true] {
        let id = Url::parse(&format!("http://localhost:9/activities/bench-{commit}")).expect("url");
        let txn = db.begin().await.expect("txn");
        let started = Instant::now();
        outbox::emit(
            &txn,
            Emitted {
                id: &id,
                kind: "Create",
                actor_id: state.collective.id,
                object: &id,
                post_id: None,
                payload: &payload,
                at: Utc::now(),
                to: Recipients::Followers {
                    also_followers_of: None,
                    and: vec![],
                },
            },
        )
        .await
        .expect("emit");
        if commit {
            txn.commit().await.expect("commit");
        } else {
            txn.rollback().await.expect("rollback");
        }
        emit_ms = started.elapsed().as_secs_f64() * 1e3;
    }

    // A whole publication: the post, its Create, the queue rows, one transaction.
    let member = bench_member(db).await;
    let draft = tribune::service::post::create(
        &state,
        &member,
        PostInput {
            title: None,
            summary: None,
            content_warning: None,
            language: "fr".into(),
            body_markdown: "Un message pour dix mille abonné·es.".into(),
            tags: vec![],
        },
    )
    .await
    .expect("draft");
    let started = Instant::now();
    tribune::service::post::publish_now(&state, &member, &draft.public_id)
        .await
        .expect("publish");
    let publish_ms = started.elapsed().as_secs_f64() * 1e3;
    let pending = tribune::delivery::queue::counts(db, None)
        .await
        .expect("counts")
        .pending;
    assert_eq!(pending, 2 * INSTANCES as u64, "one row per shared inbox");
    println!(
        "{}",
        json!({
            "bare_insert_ms": bare_insert_ms,
            "insert_tx_per_s": insert_tx_per_s,
            "emit_ms": emit_ms,
            "publish_ms": publish_ms,
        })
    );
}
