//! Usernames and `acct:` handles: what a valid local username is and how WebFinger resources parse.

/// Longest username accepted (Mastodon allows 30).
pub const MAX_USERNAME_LEN: usize = 30;

/// A username is 1–30 of `a-z`, `0-9` and `_`: the subset every fediverse server accepts in a handle
/// and that is safe in a URL path without escaping.
pub fn validate_username(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(format!(
            "must be at most {MAX_USERNAME_LEN} characters, got {}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "may only contain lowercase letters a-z, digits and _ (found {bad:?})"
        ));
    }
    Ok(())
}

/// A WebFinger `resource` after parsing: an account handle or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `acct:user@host` (also accepted without the `acct:` scheme and with a leading `@`).
    Account { user: String, host: String },
    /// An `http(s)://` URL, e.g. an actor id.
    Url(url::Url),
}

/// Why a WebFinger resource could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("the resource parameter is empty")]
    Empty,
    #[error("the resource is too long (at most 512 characters)")]
    TooLong,
    #[error("expected acct:user@host or an http(s) URL")]
    Malformed,
}

/// Parses a WebFinger `resource` parameter. The user part is lowercased (handles are
/// case-insensitive, as on Mastodon); the host is lowercased as DNS is.
pub fn parse_resource(resource: &str) -> Result<Resource, ResourceError> {
    let resource = resource.trim();
    if resource.is_empty() {
        return Err(ResourceError::Empty);
    }
    if resource.len() > 512 {
        return Err(ResourceError::TooLong);
    }
    if resource.starts_with("http://") || resource.starts_with("https://") {
        return url::Url::parse(resource)
            .map(Resource::Url)
            .map_err(|_| ResourceError::Malformed);
    }
    let handle = resource
        .strip_prefix("acct:")
        .unwrap_or(resource)
        .trim_start_matches('@');
    let (user, host) = handle.rsplit_once('@').ok_or(ResourceError::Malformed)?;
    // Trailing dots are dropped before the emptiness check: `user@.` names no host.
    let host = host.trim_end_matches('.');
    if user.is_empty() || host.is_empty() || user.contains('@') {
        return Err(ResourceError::Malformed);
    }
    if host
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        return Err(ResourceError::Malformed);
    }
    Ok(Resource::Account {
        user: user.to_lowercase(),
        host: host.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_fediverse_subset() {
        assert!(validate_username("collectif").is_ok());
        assert!(validate_username("le_collectif_2").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("Collectif").is_err());
        assert!(validate_username("col lectif").is_err());
        assert!(validate_username("collectif-fr").is_err());
        assert!(validate_username(&"a".repeat(31)).is_err());
    }

    #[test]
    fn acct_resources_parse_in_every_common_form() {
        let expected = Resource::Account {
            user: "collectif".into(),
            host: "example.org".into(),
        };
        assert_eq!(
            parse_resource("acct:collectif@example.org"),
            Ok(expected.clone())
        );
        assert_eq!(
            parse_resource("collectif@example.org"),
            Ok(expected.clone())
        );
        assert_eq!(
            parse_resource("@Collectif@Example.org"),
            Ok(expected.clone())
        );
        assert_eq!(parse_resource("acct:collectif@example.org."), Ok(expected));
    }

    #[test]
    fn ports_are_kept_in_the_host() {
        assert_eq!(
            parse_resource("acct:collectif@localhost:8080"),
            Ok(Resource::Account {
                user: "collectif".into(),
                host: "localhost:8080".into()
            })
        );
    }

    #[test]
    fn malformed_resources_are_refused() {
        assert_eq!(parse_resource(""), Err(ResourceError::Empty));
        assert_eq!(parse_resource("acct:"), Err(ResourceError::Malformed));
        assert_eq!(parse_resource("acct:nobody"), Err(ResourceError::Malformed));
        assert_eq!(
            parse_resource("acct:@example.org"),
            Err(ResourceError::Malformed)
        );
        assert_eq!(parse_resource("acct:a@b@c"), Err(ResourceError::Malformed));
        assert_eq!(
            parse_resource("acct:a@exa mple.org"),
            Err(ResourceError::Malformed)
        );
        assert_eq!(
            parse_resource(&"a".repeat(600)),
            Err(ResourceError::TooLong)
        );
    }
}

/// Properties of the WebFinger resource and username parsers on arbitrary input.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Found by `resources_parse_without_panic`: the host was emptied after the check.
    #[test]
    fn a_host_of_dots_is_no_host() {
        assert_eq!(
            parse_resource("acct:alice@."),
            Err(ResourceError::Malformed)
        );
        assert_eq!(parse_resource("alice@..."), Err(ResourceError::Malformed));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn resources_parse_without_panic(resource in prop_oneof![
            ".{0,80}",
            "(acct:)?@?[a-zA-Z0-9_.@-]{0,20}@[a-zA-Z0-9.:\\[\\]-]{0,20}",
            "https?://.{0,40}",
        ]) {
            match parse_resource(&resource) {
                Ok(Resource::Account { user, host }) => {
                    prop_assert!(!user.is_empty() && !host.is_empty(), "{:?}", resource);
                    prop_assert!(!user.contains('@'));
                    prop_assert_eq!(host.clone(), host.to_ascii_lowercase());
                    prop_assert!(!host.ends_with('.'));
                }
                Ok(Resource::Url(url)) => prop_assert!(matches!(url.scheme(), "http" | "https")),
                Err(_) => {}
            }
        }

        #[test]
        fn long_resources_are_refused(resource in "acct:[a-z]{600,700}@a.example") {
            prop_assert_eq!(parse_resource(&resource), Err(ResourceError::TooLong));
        }

        #[test]
        fn valid_usernames_are_url_safe(name in ".{0,40}") {
            if validate_username(&name).is_ok() {
                prop_assert!(!name.is_empty() && name.len() <= MAX_USERNAME_LEN);
                prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            }
        }
    }
}
