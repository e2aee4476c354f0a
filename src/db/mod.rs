//! Storage: connecting to SQLite or PostgreSQL, running migrations, and one query module per
//! aggregate. Functions take `&impl ConnectionTrait` so callers choose the transaction.
//! This module never imports axum or the federation layer.

pub mod api;
pub mod cache;
pub mod comment;
pub mod entity;
pub mod follower;
pub mod group_commit;
pub mod local_actor;
pub mod notification;
pub mod post;
pub mod stats;
pub mod version;

use std::{
    ffi::c_int,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
    sqlx::sqlite::{LockedSqliteHandle, SqliteJournalMode, SqliteSynchronous},
};

use crate::config::{DatabaseKind, Settings, database_kind};

/// How long SQLite waits on a lock held by another connection or process before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many SQL statements a connection pool has run since it was opened (transactions
/// included), for `/metrics` and for tests that hold a page to a fixed number of queries.
/// Only `db` counts; everyone else may only read the total.
#[derive(Debug, Clone, Default)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    /// Statements run so far.
    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn count_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts the statements `db` runs from now on.
    fn attach(&self, db: &mut DatabaseConnection) {
        let counting = self.clone();
        db.set_metric_callback(move |_| counting.count_one());
    }
}

/// Opens the connection pool described by the settings. SQLite runs in WAL mode (readers never
/// block the writer) with a busy timeout (the CLI and the server may write at the same time).
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, sea_orm::DbErr> {
    Ok(connect_counted(settings).await?.0)
}

/// [`connect`], with the counter of the statements the pool runs (one relaxed atomic increment
/// per statement, through sea-orm's metric callback).
pub async fn connect_counted(
    settings: &Settings,
) -> Result<(DatabaseConnection, QueryCounter), sea_orm::DbErr> {
    let url = settings.database_url();
    let kind = database_kind(&url).map_err(|e| sea_orm::DbErr::Custom(e.reason))?;
    if kind == DatabaseKind::Sqlite {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            sea_orm::DbErr::Custom(format!(
                "cannot create data_dir {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let mut db = Database::connect(options(settings, settings.database.max_connections)).await?;
    let counter = QueryCounter::default();
    counter.attach(&mut db);
    // A pool connects lazily on some backends; make an unreachable database fail here, at start-up.
    db.ping().await?;
    Ok((db, counter))
}

/// The pool's options: `max_connections` connections, and on SQLite WAL mode, the busy timeout,
/// foreign keys, statement journals in memory, stable query plans and commits counted
/// (`version::count_commits`) on each connection.
fn options(settings: &Settings, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.database_url());
    options
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(
            settings.database.connect_timeout_seconds,
        ))
        .acquire_timeout(Duration::from_secs(
            settings.database.connect_timeout_seconds,
        ))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                // Statement journals (a multi-row insert inside a batch's transaction) in
                // memory: by default they spill to a temporary file past 64 KB, and those
                // writes were 9 % of SQLite's thread under inbox load.
                .pragma("temp_store", "memory")
        })
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|connection, _| {
                Box::pin(async move {
                    let mut handle = connection.lock_handle().await?;
                    stable_query_plans(&mut handle);
                    version::count_commits(&mut handle);
                    Ok(())
                })
            })
        });
    options
}

/// The connection the batch writers (`service::intake`, `delivery::recorder`) and the
/// delivery queue's statements (`delivery::worker`'s claims and outcomes) share, counted
/// with `counter`. On SQLite, a pool of its own holding one connection (~0.3 MB of idle RSS):
/// a connection keeps its page cache from one transaction to the next only while no other
/// connection has written, and the main pool hands its connections out in turn, so every
/// batch met a cold cache and read its pages back from the WAL (`pread`, ~10 % of SQLite's
/// thread under inbox load). SQLite has one writer at a time anyway. On PostgreSQL, and on an
/// in-memory SQLite database (another pool would open another database), the main pool.
pub async fn connect_batch_writer(
    settings: &Settings,
    main: &DatabaseConnection,
    counter: &QueryCounter,
) -> Result<DatabaseConnection, sea_orm::DbErr> {
    if main.get_database_backend() != DbBackend::Sqlite
        || sqlite_in_memory(&settings.database_url())
    {
        return Ok(main.clone());
    }
    let mut db = Database::connect(options(settings, 1)).await?;
    counter.attach(&mut db);
    Ok(db)
}

/// Whether the database at `url` is an SQLite database held in memory (`sqlite::memory:`,
/// `sqlite://:memory:`, `mode=memory`): another pool opened from the same URL would be another
/// database, and there is no file to open beside it. Read from the URL, since sqlx renames an
/// in-memory database to a `file:sqlx-in-memory-N` name and keeps the flag to itself.
pub fn sqlite_in_memory(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return false;
    };
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database.trim_start_matches("//") == ":memory:"
        || url::form_urlencoded::parse(params.as_bytes())
            .any(|(key, value)| key == "mode" && value == "memory")
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) on a
/// pooled connection: plans no longer depend on the values bound to a statement. Without it,
/// SQLite reads a bound `LIMIT ?` while planning and marks the statement expired whenever that
/// parameter is bound again, so every cached statement with one — each sea-orm `.one()`, the
/// delivery claim — was prepared again on every execution (22 % of SQLite's thread during a
/// fan-out, in `perf`). Tribune has no partial index nor `LIKE` lookup whose plan would need
/// the bound value.
fn stable_query_plans(handle: &mut LockedSqliteHandle<'_>) {
    let (status, _) = query_planner_stability(handle, 1);
    if status != rusqlite::ffi::SQLITE_OK {
        tracing::warn!(
            status,
            "SQLite refused the query planner stability option; statements with a bound LIMIT are prepared again on each use"
        );
    }
}

/// `SQLITE_DBCONFIG_ENABLE_QPSG` on the connection behind `handle`: `setting` 1 turns it on,
/// 0 off, -1 leaves it as it is. Returns SQLite's status and whether it is now on.
fn query_planner_stability(handle: &mut LockedSqliteHandle<'_>, setting: c_int) -> (c_int, bool) {
    use rusqlite::ffi;
    let mut on: c_int = 0;
    // SAFETY: the pointer is the open connection behind the locked handle, which keeps every
    // other use of it out until the handle is dropped; this option takes an int and a pointer
    // to an int that SQLite writes the resulting setting to.
    let status = unsafe {
        ffi::sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            setting,
            &mut on as *mut c_int,
        )
    };
    (status, on == 1)
}

/// Applies pending migrations. On PostgreSQL they run inside one transaction holding an
/// advisory lock, so processes that start together against one database wait for each other
/// instead of running the same migration twice (PostgreSQL DDL is transactional).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    const LOCK_KEY: i64 = 0x0074_7269_6275_6e65; // "tribune" in ASCII
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"),
    ))
    .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// `values` as an `IN (…)` list, padded to a power of two by repeating the last value (which
/// changes nothing in what `IN` matches). A statement's SQL text grows with its list, each new
/// text is prepared again and takes a place in the connection's statement cache (100 places):
/// batches of every size from 1 to 128 made nearly every batch statement a fresh prepare and
/// pushed the others out of the cache. Padded, a statement has at most eight texts.
pub fn in_list<T: Clone>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut list: Vec<T> = values.into_iter().collect();
    if let Some(last) = list.last().cloned() {
        list.resize(list.len().next_power_of_two(), last);
    }
    list
}

/// A cheap round trip for `/healthz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    db.ping().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default settings with the SQLite database in `dir`.
    fn settings_in(dir: &std::path::Path) -> Settings {
        Settings {
            data_dir: dir.to_path_buf(),
            ..Settings::default()
        }
    }

    #[tokio::test]
    async fn every_pooled_sqlite_connection_plans_without_bound_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings_in(dir.path());
        let db = connect(&settings).await.expect("opens");
        // Three connections held at once: three distinct connections, each checked.
        let pool = db.get_sqlite_connection_pool();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.acquire().await.expect("a pooled connection"));
        }
        for connection in &mut held {
            let mut handle = connection.lock_handle().await.expect("its handle");
            let (status, on) = query_planner_stability(&mut handle, -1);
            assert_eq!(status, rusqlite::ffi::SQLITE_OK);
            assert!(on, "every pooled connection plans without bound values");
        }
        drop(held);
        // A statement with a bound LIMIT still answers what it should.
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT value FROM json_each('[1,2,3]') LIMIT ?",
                [2i64.into()],
            ))
            .await
            .expect("query");
        assert_eq!(rows.len(), 2);
    }

    #[tokio::test]
    async fn the_batch_writers_have_one_sqlite_connection_of_their_own_on_the_same_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings_in(dir.path());
        let (main, counter) = connect_counted(&settings).await.expect("opens");
        let batch = connect_batch_writer(&settings, &main, &counter)
            .await
            .expect("opens");
        let pool = batch.get_sqlite_connection_pool();
        assert_eq!(pool.options().get_max_connections(), 1);
        let sql = |text: &str| Statement::from_string(DbBackend::Sqlite, text);
        let before = counter.total();
        batch
            .execute_raw(sql("CREATE TABLE t (x INTEGER)"))
            .await
            .expect("create");
        batch
            .execute_raw(sql("INSERT INTO t VALUES (42)"))
            .await
            .expect("insert");
        assert!(counter.total() >= before + 2, "its statements are counted");
        let seen = main
            .query_one_raw(sql("SELECT x FROM t"))
            .await
            .expect("select")
            .expect("a row");
        assert_eq!(
            seen.try_get::<i64>("", "x").expect("x"),
            42,
            "same database"
        );
        // Its connection has the main pool's settings.
        let mut connection = pool.acquire().await.expect("its connection");
        let mut handle = connection.lock_handle().await.expect("its handle");
        assert!(query_planner_stability(&mut handle, -1).1);
        drop(handle);
        drop(connection);
        let temp_store = batch
            .query_one_raw(sql("PRAGMA temp_store"))
            .await
            .expect("pragma")
            .expect("a row");
        assert_eq!(temp_store.try_get_by_index::<i64>(0).expect("value"), 2);
    }

    #[tokio::test]
    async fn on_an_in_memory_sqlite_database_the_batch_writers_use_the_main_pool() {
        let settings = Settings {
            database: crate::config::DatabaseSettings {
                url: "sqlite::memory:".into(),
                ..Default::default()
            },
            ..Settings::default()
        };
        let (main, counter) = connect_counted(&settings).await.expect("opens");
        let batch = connect_batch_writer(&settings, &main, &counter)
            .await
            .expect("opens");
        assert_eq!(
            batch
                .get_sqlite_connection_pool()
                .options()
                .get_max_connections(),
            main.get_sqlite_connection_pool()
                .options()
                .get_max_connections()
        );
        assert!(
            main.get_sqlite_connection_pool()
                .options()
                .get_max_connections()
                > 1
        );
    }

    #[test]
    fn in_memory_sqlite_urls_are_told_from_files() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
            "sqlite://tribune.db?cache=shared&mode=memory",
        ] {
            assert!(sqlite_in_memory(url), "{url}");
        }
        for url in [
            "sqlite:///var/lib/tribune/tribune.db?mode=rwc",
            "sqlite://memory.db",
            "postgres://postgres@127.0.0.1/test?mode=memory",
        ] {
            assert!(!sqlite_in_memory(url), "{url}");
        }
    }

    #[test]
    fn in_lists_are_padded_to_a_power_of_two_with_their_last_value() {
        assert_eq!(in_list(Vec::<i64>::new()), Vec::<i64>::new());
        assert_eq!(in_list([7]), vec![7]);
        assert_eq!(in_list([1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(in_list([1, 2, 3, 4]), vec![1, 2, 3, 4]);
        let padded = in_list(1..=17);
        assert_eq!(padded.len(), 32);
        assert!(padded[17..].iter().all(|v| *v == 17));
    }
}
