//! OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, `profile` and the
//! granular `read:…`/`write:…` forms. A top-level scope implies its granular ones (`read` ⊇
//! `read:statuses`); `follow` and `push` are accepted and grant nothing Tribune offers.

use std::fmt;

/// Every scope a client may ask for.
pub const KNOWN: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// A set of granted scopes, in the order given, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-separated list (`+` also separates, as some clients send it). Empty means
    /// Mastodon's default, `read`. Unknown scopes are an error naming them.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in text.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
            if !KNOWN.contains(&scope) {
                return Err(scope.to_string());
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_string());
            }
        }
        if scopes.is_empty() {
            scopes.push("read".into());
        }
        Ok(Scopes(scopes))
    }

    /// Whether these scopes grant `required` (a granular scope such as `read:statuses`, or
    /// `profile`): granted by itself or by its top-level scope. `profile` is also granted by
    /// `read` and `read:accounts`.
    pub fn allows(&self, required: &str) -> bool {
        let has = |s: &str| self.0.iter().any(|mine| mine == s);
        if has(required) {
            return true;
        }
        if required == "profile" {
            return has("read") || has("read:accounts");
        }
        match required.split_once(':') {
            Some((top, _)) => has(top),
            None => false,
        }
    }

    /// Whether every scope of `asked` is among these (what an app registered for bounds what
    /// it may request).
    pub fn contains_all(&self, asked: &Scopes) -> bool {
        asked.0.iter().all(|s| self.0.contains(s) || self.allows(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_scopes_imply_granular_ones() {
        let read = Scopes::parse("read").unwrap_or_default();
        assert!(read.allows("read:statuses"));
        assert!(read.allows("read:notifications"));
        assert!(read.allows("profile"));
        assert!(!read.allows("write:statuses"));
        let granular = Scopes::parse("write:statuses read:accounts").unwrap_or_default();
        assert!(granular.allows("write:statuses"));
        assert!(!granular.allows("read:statuses"));
        assert!(granular.allows("profile"));
        assert!(!granular.allows("write:media"));
    }

    #[test]
    fn parsing_defaults_dedups_and_rejects_unknown() {
        assert_eq!(Scopes::parse("").map(|s| s.to_string()), Ok("read".into()));
        assert_eq!(
            Scopes::parse("read+write read follow").map(|s| s.to_string()),
            Ok("read write follow".into())
        );
        assert_eq!(Scopes::parse("read admin:all"), Err("admin:all".into()));
    }

    #[test]
    fn an_app_bounds_what_it_may_ask() {
        let app = Scopes::parse("read write").unwrap_or_default();
        assert!(app.contains_all(&Scopes::parse("read:statuses write").unwrap_or_default()));
        assert!(!app.contains_all(&Scopes::parse("read follow").unwrap_or_default()));
    }
}
