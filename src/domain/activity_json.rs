//! Reading ActivityStreams JSON as real servers send it: a property may be a string, an object
//! or an array of either (`tag`, `to`, `url`, `attributedTo`…), so every accessor here accepts
//! one-or-many and string-or-object.

use serde_json::Value;
use url::Url;

/// The values of a property that may be absent, one value or an array.
pub fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    }
}

/// A string property.
pub fn str_field<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// A URL given as a string, or as an object with `href` (a Link) or `id`.
pub fn link_href(value: &Value) -> Option<Url> {
    let text = match value {
        Value::String(s) => s.as_str(),
        Value::Object(map) => map
            .get("href")
            .or_else(|| map.get("id"))
            .and_then(Value::as_str)?,
        _ => return None,
    };
    Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// A property holding one URL (or a Link or an object with an id; the first of an array).
pub fn url_field(doc: &Value, key: &str) -> Option<Url> {
    one_or_many(doc.get(key)).into_iter().find_map(link_href)
}

/// Every URL of a property (e.g. `to`, `cc`).
pub fn urls_field(doc: &Value, key: &str) -> Vec<Url> {
    one_or_many(doc.get(key))
        .into_iter()
        .filter_map(link_href)
        .collect()
}

/// The document's `id`.
pub fn id_of(doc: &Value) -> Option<Url> {
    str_field(doc, "id").and_then(|s| Url::parse(s).ok())
}

/// The public collection in any of the forms servers use.
pub fn is_public_address(value: &str) -> bool {
    matches!(
        value,
        "https://www.w3.org/ns/activitystreams#Public" | "as:Public" | "Public"
    )
}

/// Whether `to` or `cc` address the public.
pub fn is_public(doc: &Value) -> bool {
    ["to", "cc"].iter().any(|key| {
        one_or_many(doc.get(*key))
            .into_iter()
            .filter_map(Value::as_str)
            .any(is_public_address)
    })
}

/// Two URLs on the same host (ports and case ignored): the origin rule of ActivityPub.
pub fn same_host(a: &Url, b: &Url) -> bool {
    match (a.host_str(), b.host_str()) {
        (Some(x), Some(y)) => {
            x.eq_ignore_ascii_case(y) && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_or_many_accepts_every_shape() {
        let doc = json!({"a": "x", "b": ["x", "y"], "c": null});
        assert_eq!(one_or_many(doc.get("a")).len(), 1);
        assert_eq!(one_or_many(doc.get("b")).len(), 2);
        assert!(one_or_many(doc.get("c")).is_empty());
        assert!(one_or_many(doc.get("d")).is_empty());
    }

    #[test]
    fn urls_come_from_strings_links_and_objects() {
        let doc = json!({
            "url": [{"type": "Link", "href": "https://a.example/@x", "mediaType": "text/html"}],
            "actor": {"id": "https://a.example/users/x", "type": "Person"},
            "inbox": "https://a.example/inbox",
            "bad": "javascript:alert(1)",
        });
        assert_eq!(
            url_field(&doc, "url").map(|u| u.to_string()),
            Some("https://a.example/@x".into())
        );
        assert_eq!(
            url_field(&doc, "actor").map(|u| u.to_string()),
            Some("https://a.example/users/x".into())
        );
        assert_eq!(
            url_field(&doc, "inbox").map(|u| u.to_string()),
            Some("https://a.example/inbox".into())
        );
        assert_eq!(url_field(&doc, "bad"), None);
    }

    #[test]
    fn public_is_recognised_in_its_three_spellings() {
        for public in [
            "https://www.w3.org/ns/activitystreams#Public",
            "as:Public",
            "Public",
        ] {
            assert!(is_public(&json!({"to": public})));
            assert!(is_public(
                &json!({"cc": ["https://x.example/followers", public]})
            ));
        }
        assert!(!is_public(&json!({"to": ["https://x.example/users/a"]})));
    }

    #[test]
    fn same_host_compares_host_and_port() {
        let u = |s: &str| Url::parse(s).expect("url");
        assert!(same_host(
            &u("https://A.example/x"),
            &u("https://a.example:443/y")
        ));
        assert!(!same_host(
            &u("https://a.example/x"),
            &u("https://b.example/x")
        ));
        assert!(!same_host(
            &u("http://127.0.0.1:1/x"),
            &u("http://127.0.0.1:2/x")
        ));
    }
}

/// Properties of the accessors on arbitrary ActivityStreams-like JSON: no panic, only http(s)
/// URLs come out, the origin rule is symmetric.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::domain::test_json::{field_name, json_document};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn accessors_accept_any_document(doc in json_document(), key in field_name()) {
            let values = one_or_many(doc.get(&key));
            let urls = urls_field(&doc, &key);
            prop_assert!(urls.len() <= values.len());
            prop_assert!(urls.iter().all(|u| matches!(u.scheme(), "http" | "https")));
            if let Some(url) = url_field(&doc, &key) {
                prop_assert!(matches!(url.scheme(), "http" | "https"));
            }
            let _ = (str_field(&doc, &key), id_of(&doc), is_public(&doc));
            if let (Some(id), Some(actor)) = (id_of(&doc), url_field(&doc, "actor")) {
                prop_assert_eq!(same_host(&id, &actor), same_host(&actor, &id));
                if actor.host_str().is_some() {
                    prop_assert!(same_host(&actor, &actor));
                }
            }
        }
    }
}
