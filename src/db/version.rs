//! The database's committed state as a token that changes whenever anything is committed, by
//! any connection of any process: what a cached read is checked against before it is served.
//!
//! The point is to be much cheaper than the queries a cache saves. On SQLite a query through
//! sqlx is a hop to the connection's worker thread and back (two context switches, measured as
//! the dominant cost of a post read); so the version is read in-line, on a plain connection of
//! our own, with `PRAGMA data_version` (a read of SQLite's shared-memory WAL index, about a
//! microsecond). On PostgreSQL it is one small query: the current snapshot, which changes when
//! any transaction that wrote commits.

use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// A point in the database's history: equal tokens mean nothing was committed in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(Token);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Sqlite(i64),
    Postgres(String),
}

impl Version {
    #[cfg(test)]
    pub(crate) fn for_tests(n: i64) -> Version {
        Version(Token::Sqlite(n))
    }
}

/// Reads the current [`Version`].
pub struct DataVersion(Source);

enum Source {
    /// A connection that never writes: `PRAGMA data_version` changes on it whenever another
    /// connection (the pool's, the CLI's) commits.
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(DatabaseConnection),
    /// No way to tell (an in-memory database, or the side connection could not be opened):
    /// nothing is cached.
    Unknown,
}

const PG_SNAPSHOT: &str = "SELECT pg_current_snapshot()::text";

impl DataVersion {
    /// The reader for `db`, opened from `url`. Never fails: without a way to read versions,
    /// reads go uncached.
    pub fn for_database(db: &DatabaseConnection, url: &str) -> DataVersion {
        match db.get_database_backend() {
            DatabaseBackend::Postgres => DataVersion(Source::Postgres(db.clone())),
            DatabaseBackend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let path = options.get_filename();
                if path.as_os_str().is_empty() || super::sqlite_in_memory(url) {
                    return DataVersion(Source::Unknown);
                }
                match open_sqlite(path) {
                    Ok(conn) => DataVersion(Source::Sqlite(Mutex::new(conn))),
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot open a side connection to read the database version: public reads are not cached");
                        DataVersion(Source::Unknown)
                    }
                }
            }
            _ => DataVersion(Source::Unknown),
        }
    }

    /// The version now, or `None` when it cannot be told (then nothing may be served from a
    /// cache). Read it *before* computing what will be cached: a commit that lands meanwhile
    /// then makes the entry stale at once.
    pub async fn current(&self) -> Option<Version> {
        match &self.0 {
            Source::Sqlite(conn) => {
                let conn = conn.lock().ok()?;
                let mut statement = conn.prepare_cached("PRAGMA data_version").ok()?;
                let version = statement.query_row([], |row| row.get::<_, i64>(0)).ok()?;
                Some(Version(Token::Sqlite(version)))
            }
            Source::Postgres(db) => {
                let row = db
                    .query_one_raw(Statement::from_string(
                        DatabaseBackend::Postgres,
                        PG_SNAPSHOT,
                    ))
                    .await
                    .ok()??;
                let snapshot = row.try_get_by_index::<String>(0).ok()?;
                Some(Version(Token::Postgres(snapshot)))
            }
            Source::Unknown => None,
        }
    }
}

fn open_sqlite(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    // Read-write without create: the pool made the file; WAL readers may need to write the
    // shared-memory index, which a read-only connection cannot.
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Runs on an async thread: never wait long for a lock (a miss is only a cache miss).
    conn.busy_timeout(std::time::Duration::from_millis(50))?;
    Ok(conn)
}
