//! Storage across restarts: migrations, the key pair generated once.

use serde_json::Value;

use crate::{
    db_test,
    support::{Backend, TestApp},
};

async fn key_pair_survives_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before: Value = app.get_activity_json("/actors/collectif").await;
    let private_before = private_key(&app).await;
    let app = app.restart().await;
    let after: Value = app.get_activity_json("/actors/collectif").await;
    assert_eq!(
        before["publicKey"]["publicKeyPem"],
        after["publicKey"]["publicKeyPem"]
    );
    assert_eq!(private_before, private_key(&app).await);
    assert_eq!(app.count("SELECT COUNT(*) FROM local_actor").await, 1);
    assert!(private_before.starts_with("-----BEGIN PRIVATE KEY-----"));
}
db_test!(key_pair_survives_a_restart);

async fn private_key(app: &TestApp) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tribune::db::entity::local_actor;
    local_actor::Entity::find()
        .filter(local_actor::Column::Username.eq("collectif"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the collective exists")
        .private_key_pem
}

async fn migrations_are_idempotent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Running them again (as `tribune migrate` would on a migrated database) changes nothing.
    let applied = app.count("SELECT COUNT(*) FROM seaql_migrations").await;
    assert!(applied >= 2, "{applied}");
    tribune::db::migrate(&app.db).await.expect("second run");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM seaql_migrations").await,
        applied
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM local_actor").await, 1);
}
db_test!(migrations_are_idempotent);

/// On SQLite the database is a file in `data_dir`, in WAL mode.
#[tokio::test]
async fn sqlite_lives_in_data_dir_in_wal_mode() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(app.settings.data_dir.join("tribune.db").is_file());
    use sea_orm::ConnectionTrait;
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA journal_mode".to_string(),
        ))
        .await
        .expect("pragma")
        .expect("row");
    assert_eq!(row.try_get_by_index::<String>(0).expect("mode"), "wal");
}

/// Several processes may share one PostgreSQL database and start together: migrations are
/// serialised and the collective's key is created once, whoever wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_together_on_postgres_share_one_key() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let storage = crate::support::Storage::new(&backend).await;
    let starts = (0..4).map(|i| tribune::app::prepare(storage.settings(40000 + i)));
    let states = futures_util::future::join_all(starts).await;
    let keys: Vec<String> = states
        .into_iter()
        .map(|state| {
            state
                .expect("each process starts")
                .collective
                .private_key_pem
                .clone()
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key for all");
    let db = tribune::db::connect(&storage.settings(40000))
        .await
        .expect("connect");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        tribune::db::entity::local_actor::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        1
    );
    db.close().await.ok();
}
