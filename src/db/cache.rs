//! Read-through caches of what public reads compute from the database (NodeInfo's counts; posts
//! are not cached: see `federation::post_routes::post`). An entry is served only while no write
//! has gone through this process's pool since it was computed (`QueryCounter::writes`) and for at most its time to live, which
//! bounds what the write counter cannot see: another process's writes (the CLI) and a reader
//! that computed an entry while a transaction was still uncommitted.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long an entry may be served without a write since; also the longest a change made by
/// another process (the CLI) can take to show.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(2);

struct Entry<V> {
    value: V,
    /// The pool's write count when computing the entry began.
    writes: u64,
    at: Instant,
}

/// One cache: keys to values, bounded in entries (emptied when full: entries are cheap to
/// recompute and a hot key is back on the next request).
pub struct FreshCache<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    capacity: usize,
}

impl<V: Clone> FreshCache<V> {
    pub fn new(capacity: usize) -> Self {
        FreshCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value of `key` if it was computed after the last write (`writes_now` is the pool's
    /// current write count) and within the time to live.
    pub fn get(&self, key: &str, writes_now: u64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.writes == writes_now && entry.at.elapsed() < TIME_TO_LIVE)
            .then(|| entry.value.clone())
    }

    /// Keeps `value` for `key`; `writes_before` is the write count read *before* the value
    /// was computed, so a write that happened meanwhile makes the entry stale at once.
    pub fn put(&self, key: String, value: V, writes_before: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    value,
                    writes: writes_before,
                    at: Instant::now(),
                },
            );
        }
    }
}

/// The caches of one application state.
pub struct ReadCaches {
    /// NodeInfo's usage counts.
    pub usage: FreshCache<super::stats::Usage>,
    /// The collective's actor document, serialized: it depends only on the settings and the
    /// actor row, both fixed for the life of the process.
    pub collective: std::sync::OnceLock<bytes::Bytes>,
}

impl Default for ReadCaches {
    fn default() -> Self {
        ReadCaches {
            usage: FreshCache::new(2),
            collective: std::sync::OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_since_the_entry_makes_it_stale() {
        let cache = FreshCache::new(4);
        cache.put("a".into(), 1, 7);
        assert_eq!(cache.get("a", 7), Some(1));
        assert_eq!(cache.get("a", 8), None, "a write happened since");
        assert_eq!(cache.get("b", 7), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = FreshCache::new(2);
        cache.put("a".into(), 1, 0);
        cache.put("b".into(), 2, 0);
        cache.put("c".into(), 3, 0);
        assert_eq!(cache.get("a", 0), None);
        assert_eq!(cache.get("c", 0), Some(3));
        assert!(cache.entries.lock().map(|e| e.len()).unwrap_or(0) <= 2);
    }
}
