//! The database's committed state as a token that changes whenever anything is committed, by
//! any connection of any process: what a cached read is checked against before it is served.
//!
//! The point is to be much cheaper than the queries a cache saves. On SQLite, commits by this
//! process's pooled connections are counted in memory, by a WAL hook on each connection
//! (SQLite calls it once the commit is visible to readers): one atomic load. Commits by other
//! processes (the command line) are seen through `PRAGMA data_version` on a plain connection
//! of our own, read in-line (a query through sqlx is a hop to the connection's worker thread
//! and back) and at most once per [`OTHER_PROCESSES_WINDOW`]: the read takes SQLite's
//! WAL-index locks (two `fcntl` calls), 14 % of a cached read when it was read on every one.
//! On PostgreSQL it is one small query: the current snapshot, which changes when any
//! transaction that wrote commits.

use std::{
    collections::HashMap,
    ffi::{CStr, c_char, c_int, c_void},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement,
    sqlx::sqlite::LockedSqliteHandle,
};

/// How long a read of `PRAGMA data_version` stands for commits made by *other processes* on
/// the same SQLite file: a cached public read may show what such a commit replaced for at
/// most this long. Commits by this process are seen at once (they are counted as they land).
pub const OTHER_PROCESSES_WINDOW: Duration = Duration::from_millis(1);

/// The WAL length, in frames, past which a commit checkpoints: SQLite's own default
/// (`SQLITE_DEFAULT_WAL_AUTOCHECKPOINT`). Installing a WAL hook replaces SQLite's
/// auto-checkpoint, which is a WAL hook too, so [`count_commits`]'s hook does its work.
const AUTOCHECKPOINT_FRAMES: c_int = 1000;

/// The count of commits made to the SQLite file at `path` by this process's pooled
/// connections, each counted once it is visible to readers. One counter per file for the life
/// of the process (eight bytes each; a server opens one file, a test binary one per test).
fn commits_to(path: &str) -> &'static AtomicU64 {
    static COUNTERS: OnceLock<Mutex<HashMap<String, &'static AtomicU64>>> = OnceLock::new();
    let mut counters = COUNTERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    counters
        .entry(path.to_owned())
        .or_insert_with(|| Box::leak(Box::new(AtomicU64::new(0))))
}

/// A point in the database's history: equal tokens mean nothing was committed in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(Token);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Sqlite {
        /// This process's commits to the file ([`commits_to`]) when read.
        commits: u64,
        /// `PRAGMA data_version` on the side connection, as last read.
        data_version: i64,
    },
    Postgres(String),
}

impl Version {
    #[cfg(test)]
    pub(crate) fn for_tests(n: i64) -> Version {
        Version(Token::Sqlite {
            commits: 0,
            data_version: n,
        })
    }
}

/// Reads the current [`Version`].
pub struct DataVersion(Source);

enum Source {
    Sqlite {
        /// This process's commits to the file.
        commits: &'static AtomicU64,
        side: Mutex<SideConnection>,
        /// How long a `data_version` read stands: [`OTHER_PROCESSES_WINDOW`], or zero when
        /// the database is not in WAL mode (no WAL hook is called: every read goes to SQLite).
        window: Duration,
    },
    Postgres(DatabaseConnection),
    /// No way to tell (an in-memory database, or the side connection could not be opened):
    /// nothing is cached.
    Unknown,
}

/// A connection that never writes: `PRAGMA data_version` changes on it whenever another
/// connection (the pool's, the CLI's) commits.
struct SideConnection {
    connection: rusqlite::Connection,
    /// The last `data_version` read, and when.
    last: Option<(Instant, i64)>,
}

const PG_SNAPSHOT: &str = "SELECT pg_current_snapshot()::text";

impl DataVersion {
    /// The reader for `db`, opened from `url`. Never fails: without a way to read versions,
    /// reads go uncached.
    pub fn for_database(db: &DatabaseConnection, url: &str) -> DataVersion {
        Self::with_window(db, url, OTHER_PROCESSES_WINDOW)
    }

    fn with_window(db: &DatabaseConnection, url: &str, window: Duration) -> DataVersion {
        match db.get_database_backend() {
            DatabaseBackend::Postgres => DataVersion(Source::Postgres(db.clone())),
            DatabaseBackend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let path = options.get_filename();
                if path.as_os_str().is_empty() || super::sqlite_in_memory(url) {
                    return DataVersion(Source::Unknown);
                }
                match open_sqlite(path) {
                    Ok((connection, wal)) => DataVersion(Source::Sqlite {
                        // The path as SQLite names it, as `count_commits` reads it.
                        commits: commits_to(connection.path().unwrap_or_default()),
                        side: Mutex::new(SideConnection {
                            connection,
                            last: None,
                        }),
                        window: if wal { window } else { Duration::ZERO },
                    }),
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
            Source::Sqlite {
                commits,
                side,
                window,
            } => {
                let commits = commits.load(Ordering::Acquire);
                let mut side = side.lock().ok()?;
                let now = Instant::now();
                let data_version = match side.last {
                    Some((read_at, version)) if now.duration_since(read_at) < *window => version,
                    _ => {
                        let version = side
                            .connection
                            .prepare_cached("PRAGMA data_version")
                            .ok()?
                            .query_row([], |row| row.get::<_, i64>(0))
                            .ok()?;
                        side.last = Some((now, version));
                        version
                    }
                };
                Some(Version(Token::Sqlite {
                    commits,
                    data_version,
                }))
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

/// Makes every commit on the pooled connection behind `handle` count in [`commits_to`] its
/// file, and keeps SQLite's automatic checkpoints (which this hook replaces). Called on each
/// new connection.
pub(super) fn count_commits(handle: &mut LockedSqliteHandle<'_>) {
    let connection = handle.as_raw_handle().as_ptr();
    // SAFETY: `connection` is the open connection behind the locked handle, which keeps every
    // other use of it out meanwhile; SQLite returns its file's absolute path (empty for an
    // in-memory database), valid while the connection is open, and copied at once.
    let path = unsafe {
        let name = rusqlite::ffi::sqlite3_db_filename(connection, c"main".as_ptr());
        if name.is_null() {
            String::new()
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    };
    let counter: &'static AtomicU64 = commits_to(&path);
    // SAFETY: as above for `connection`. The hook is a plain function; its user data is a
    // counter that lives as long as the process, so longer than the connection.
    unsafe {
        rusqlite::ffi::sqlite3_wal_hook(
            connection,
            Some(after_commit),
            counter as *const AtomicU64 as *mut c_void,
        );
    }
}

/// SQLite's WAL hook: called after a commit is written to the WAL and the write lock released,
/// so a reader that sees the new count also sees the commit.
unsafe extern "C" fn after_commit(
    counter: *mut c_void,
    db: *mut rusqlite::ffi::sqlite3,
    database_name: *const c_char,
    wal_frames: c_int,
) -> c_int {
    // SAFETY: the user data `count_commits` registered: a `&'static AtomicU64`.
    let counter = unsafe { &*(counter as *const AtomicU64) };
    counter.fetch_add(1, Ordering::Release);
    if wal_frames >= AUTOCHECKPOINT_FRAMES {
        // SAFETY: SQLite passes its own open connection and database name, valid for this
        // call; checkpointing from the WAL hook is what SQLite's own auto-checkpoint does. A
        // checkpoint that cannot finish (readers in the way) is tried again at a later commit.
        unsafe {
            rusqlite::ffi::sqlite3_wal_checkpoint(db, database_name);
        }
    }
    rusqlite::ffi::SQLITE_OK
}

/// The side connection, and whether the database is in WAL mode.
fn open_sqlite(path: &std::path::Path) -> rusqlite::Result<(rusqlite::Connection, bool)> {
    use rusqlite::OpenFlags;
    // Read-write without create: the pool made the file; WAL readers may need to write the
    // shared-memory index, which a read-only connection cannot.
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Runs on an async thread: never wait long for a lock (a miss is only a cache miss).
    conn.busy_timeout(std::time::Duration::from_millis(50))?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    Ok((conn, mode.eq_ignore_ascii_case("wal")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    async fn file_database(dir: &std::path::Path) -> (DatabaseConnection, String) {
        let settings = Settings {
            data_dir: dir.to_path_buf(),
            ..Settings::default()
        };
        let db = super::super::connect(&settings).await.expect("opens");
        let sql = "CREATE TABLE t (x BLOB)";
        db.execute_unprepared(sql).await.expect("create");
        (db, settings.database_url())
    }

    async fn insert(db: &DatabaseConnection, bytes: usize) {
        db.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "INSERT INTO t VALUES (?)",
            [vec![7u8; bytes].into()],
        ))
        .await
        .expect("insert");
    }

    /// A connection to `db`'s file without the commit hook, as the command line's process has.
    fn unhooked_connection(db: &DatabaseConnection) -> rusqlite::Connection {
        let options = db.get_sqlite_connection_pool().connect_options();
        rusqlite::Connection::open(options.get_filename()).expect("opens")
    }

    #[tokio::test]
    async fn a_commit_by_this_process_changes_the_version_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, url) = file_database(dir.path()).await;
        // A window far longer than the test: only the commit count can tell.
        let versions = DataVersion::with_window(&db, &url, Duration::from_secs(600));
        let before = versions.current().await.expect("a version");
        assert_eq!(
            versions.current().await,
            Some(before.clone()),
            "nothing committed"
        );
        insert(&db, 1).await;
        let after = versions.current().await.expect("a version");
        assert_ne!(after, before, "the pool's commit is seen at once");
    }

    #[tokio::test]
    async fn a_commit_by_another_process_is_seen_once_the_window_has_passed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, url) = file_database(dir.path()).await;
        let window = Duration::from_millis(100);
        let versions = DataVersion::with_window(&db, &url, window);
        let other = unhooked_connection(&db);
        let read_at = Instant::now();
        let before = versions.current().await.expect("a version");
        other
            .execute("INSERT INTO t VALUES (x'00')", [])
            .expect("insert");
        if read_at.elapsed() < window / 2 {
            assert_eq!(
                versions.current().await,
                Some(before.clone()),
                "within the window, the last read stands"
            );
        }
        tokio::time::sleep(window).await;
        let after = versions.current().await.expect("a version");
        assert_ne!(after, before, "the other process's commit is seen");
    }

    #[tokio::test]
    async fn without_wal_every_version_is_read_from_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, url) = file_database(dir.path()).await;
        // Leaving WAL needs the file to itself: close the pool first.
        db.clone().close().await.expect("closes");
        let other = unhooked_connection(&db);
        let mode: String = other
            .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
            .expect("leaves WAL");
        assert_eq!(mode, "delete");
        let versions = DataVersion::with_window(&db, &url, Duration::from_secs(600));
        let before = versions.current().await.expect("a version");
        other
            .execute("INSERT INTO t VALUES (x'00')", [])
            .expect("insert");
        let after = versions.current().await.expect("a version");
        assert_ne!(after, before, "no window without the WAL hook");
    }

    #[tokio::test]
    async fn the_pooled_connections_still_checkpoint_the_wal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = file_database(dir.path()).await;
        // 2,000 commits of a page each: past 1,000 frames a commit checkpoints and the next
        // one writes the WAL from its start again, so the file stays near 1,000 frames of
        // 4 KB. Unchecked, it would hold every one of them (over 8 MB).
        for _ in 0..2000 {
            insert(&db, 3000).await;
        }
        let wal = dir.path().join("tribune.db-wal");
        let size = std::fs::metadata(&wal).expect("the WAL file").len();
        assert!(size < 6_000_000, "the WAL grew to {size} bytes");
    }
}
