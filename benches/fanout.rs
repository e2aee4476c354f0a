//! Fan-out benchmark: one post to 10,000 followers on 1,000 instances (stand-in shared inboxes on
//! loopback that read the whole body), measured against baselines taken in the same run:
//! signing 1,000 requests with the same key and signer, and a bare 1,000-row insert.
//!
//! Run: `cargo bench --bench fanout` (add `-- --hanging 10` to make 10 % of the inboxes hang).
//! `TRIBUNE_BENCH_POSTGRES_URL=postgres://…` runs it on PostgreSQL instead of SQLite.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use tribune::{
    config::Settings,
    delivery::worker::Worker,
    domain::{member::Role, post::PostInput},
};
use url::Url;

const INSTANCES: usize = 1_000;
const FOLLOWERS_PER_INSTANCE: usize = 10;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts `n` stand-in instances on their own runtime thread; `hanging` of them never answer.
fn stand_ins(n: usize, hanging: usize, posts: Arc<AtomicUsize>) -> Vec<u16> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("stand-in runtime");
        runtime.block_on(async move {
            let mut ports = Vec::new();
            for i in 0..n {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                ports.push(listener.local_addr().expect("addr").port());
                let posts = posts.clone();
                let hang = i < hanging;
                let router = Router::new().route(
                    "/inbox",
                    post(move |body: Bytes| {
                        let posts = posts.clone();
                        async move {
                            if hang {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            // Read the whole body, as a real inbox must before it answers.
                            std::hint::black_box(body.len());
                            posts.fetch_add(1, Ordering::Relaxed);
                            axum::http::StatusCode::ACCEPTED
                        }
                    }),
                );
                tokio::spawn(async move { axum::serve(listener, router).await });
            }
            tx.send(ports).expect("ports");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("stand-ins started")
}

async fn exec(db: &impl ConnectionTrait, sql: String) {
    db.execute_unprepared(&sql).await.expect("sql");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hanging_percent: usize = args
        .iter()
        .position(|a| a == "--hanging")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let threads: usize = std::env::var("TRIBUNE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(hanging_percent, threads));
}

async fn run(hanging_percent: usize, threads: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        ..Settings::default()
    };
    settings.federation.allow_private_network = true;
    settings.delivery.workers = false;
    settings.delivery.max_concurrency = 128;
    settings.delivery.request_timeout_seconds = 5;
    settings.delivery.lease_seconds = 30;
    settings.instance.base_url = Url::parse("http://localhost:9").expect("url");
    if let Ok(url) = std::env::var("TRIBUNE_BENCH_POSTGRES_URL") {
        settings.database.url = url;
    }
    let state = tribune::app::prepare(settings).await.expect("prepare");
    let db = &state.db;
    let backend = db.get_database_backend();

    let posts = Arc::new(AtomicUsize::new(0));
    let hanging = INSTANCES * hanging_percent / 100;
    let ports = stand_ins(INSTANCES, hanging, posts.clone());

    // Followers: ten per instance, sharing the instance's shared inbox.
    let actor_id = state.collective.id;
    for chunk in ports.chunks(100) {
        let values: Vec<String> = chunk
            .iter()
            .flat_map(|port| {
                (0..FOLLOWERS_PER_INSTANCE).map(move |i| {
                    format!(
                        "({actor_id}, 'http://localhost:{port}/users/u{i}', 'http://localhost:{port}/users/u{i}/inbox', 'http://localhost:{port}/inbox', 'accepted', CURRENT_TIMESTAMP)"
                    )
                })
            })
            .collect();
        exec(db, format!(
            "INSERT INTO follower (local_actor_id, actor_url, inbox_url, shared_inbox_url, state, created_at) VALUES {}",
            values.join(",")
        ))
        .await;
    }

    // Baseline 1: a bare 1,000-row insert in one transaction.
    let txn = db.begin().await.expect("txn");
    let started = Instant::now();
    for i in 0..INSTANCES {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO received_activity (activity_url, kind, actor_url, received_at) VALUES ($1, 'X', 'x', CURRENT_TIMESTAMP)"
            }
            _ => {
                "INSERT INTO received_activity (activity_url, kind, actor_url, received_at) VALUES (?, 'X', 'x', CURRENT_TIMESTAMP)"
            }
        };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [format!("https://b.example/{i}").into()],
        ))
        .await
        .expect("insert");
    }
    txn.commit().await.expect("commit");
    let bare_insert = started.elapsed();

    // Baseline 2: signing 1,000 requests with the same key and signer, concurrently as the
    // workers do.
    let body = Bytes::from(vec![b'x'; 2048]);
    let inbox = Url::parse("http://localhost:9/inbox").expect("url");
    let started = Instant::now();
    let mut signing = tokio::task::JoinSet::new();
    for _ in 0..INSTANCES {
        let federation = state.federation.clone();
        let (inbox, body) = (inbox.clone(), body.clone());
        signing.spawn(async move { federation.signed_post(&inbox, body).await.map(|_| ()) });
    }
    while let Some(done) = signing.join_next().await {
        done.expect("join").expect("sign");
    }
    let sign_only = started.elapsed();

    // The scenario: publish (queue rows written in the publishing transaction), then drain.
    let member = tribune::service::member::add(
        db,
        "bench",
        "Bench",
        Role::Admin,
        "a long bench password",
        &[],
    )
    .await
    .expect("member");
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
    let enqueue = started.elapsed();
    let rows = tribune::delivery::queue::counts(db, None)
        .await
        .expect("counts")
        .pending;

    let healthy = INSTANCES - hanging;
    let started = Instant::now();
    let worker = Worker::new(state.clone());
    let drain = tokio::spawn(async move { worker.drain().await });
    while posts.load(Ordering::Relaxed) < healthy {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let healthy_done = started.elapsed();
    if hanging == 0 {
        drain.await.expect("join").expect("drain");
    } else {
        drain.abort();
    }
    let delivered = posts.load(Ordering::Relaxed);

    println!(
        "Tribune fan-out benchmark ({threads} worker threads, {:?})",
        backend
    );
    println!("| measure | value | baseline | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| queue rows written at publish ({rows} rows) | {:.1} ms | bare {INSTANCES}-row insert {:.1} ms | {:.2} | ≤ 2 |",
        enqueue.as_secs_f64() * 1e3,
        bare_insert.as_secs_f64() * 1e3,
        enqueue.as_secs_f64() / bare_insert.as_secs_f64()
    );
    println!(
        "| {healthy} healthy inboxes delivered{} | {:.0} ms ({:.0}/s) | signing {INSTANCES} requests {:.0} ms | {:.2} | ≤ 1.5 |",
        if hanging > 0 {
            format!(" ({hanging} hanging)")
        } else {
            String::new()
        },
        healthy_done.as_secs_f64() * 1e3,
        healthy as f64 / healthy_done.as_secs_f64(),
        sign_only.as_secs_f64() * 1e3,
        healthy_done.as_secs_f64() / sign_only.as_secs_f64()
    );
    println!(
        "| POSTs received | {delivered} | {healthy} shared inboxes | {:.2} | = 1 |",
        delivered as f64 / healthy as f64
    );
    println!(
        "| peak memory (whole process, stand-ins included) | {:.1} MB | | | < 100 MB |",
        peak_rss_mb()
    );
}
