//! Read-through caches of what public reads compute from the database (public responses, kept
//! by `web::cached`: a post's object and page, NodeInfo). An entry is served only while the
//! database's [`Version`] is the one read before it was computed: anything committed since —
//! by this process, the CLI or another server on the same database — makes every entry stale
//! at once, so a cache never shows a deleted or edited post.

use std::{collections::HashMap, sync::Mutex};

use super::version::Version;

struct Entry<V> {
    value: V,
    /// The database's version read before the entry was computed.
    version: Version,
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

    /// The value of `key` if nothing was committed since it was computed (`now` is the
    /// database's current version).
    pub fn get(&self, key: &str, now: &Version) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.version == *now).then(|| entry.value.clone())
    }

    /// Keeps `value` for `key`; `before` is the version read *before* the value was
    /// computed, so a commit that landed meanwhile makes the entry stale at once.
    pub fn put(&self, key: String, value: V, before: Version) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    value,
                    version: before,
                },
            );
        }
    }
}

/// The caches of one application state.
pub struct ReadCaches {
    /// The collective's actor document, serialized: it depends only on the settings and the
    /// actor row, both fixed for the life of the process.
    pub collective: std::sync::OnceLock<bytes::Bytes>,
}

impl Default for ReadCaches {
    fn default() -> Self {
        ReadCaches {
            collective: std::sync::OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: i64) -> Version {
        Version::for_tests(n)
    }

    #[test]
    fn a_commit_since_the_entry_makes_it_stale() {
        let cache = FreshCache::new(4);
        cache.put("a".into(), 1, version(7));
        assert_eq!(cache.get("a", &version(7)), Some(1));
        assert_eq!(cache.get("a", &version(8)), None, "a commit happened since");
        assert_eq!(cache.get("b", &version(7)), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = FreshCache::new(2);
        cache.put("a".into(), 1, version(0));
        cache.put("b".into(), 2, version(0));
        cache.put("c".into(), 3, version(0));
        assert_eq!(cache.get("a", &version(0)), None);
        assert_eq!(cache.get("c", &version(0)), Some(3));
        assert!(cache.entries.lock().map(|e| e.len()).unwrap_or(0) <= 2);
    }
}
