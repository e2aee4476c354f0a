//! Content negotiation: does a request's `Accept` header ask for ActivityStreams JSON or for HTML?

/// What representation to serve for a URL that has both an ActivityPub and an HTML form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// `application/activity+json` (also the answer to plain `application/json`).
    ActivityJson,
    /// `application/ld+json` with the ActivityStreams profile, answered in the same type.
    LdJson,
    Html,
}

/// The media type Tribune answers ActivityPub requests with.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// The JSON-LD form of the same, which Mastodon and others also send in `Accept`.
pub const LD_JSON_AS: &str =
    r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;

/// Chooses by quality value between the ActivityStreams types (`application/activity+json`,
/// `application/ld+json`, and plain `application/json`) and `text/html`. Ties and unknown
/// headers go to HTML: a person with a browser is the safe default, and every fediverse server
/// names an ActivityStreams type explicitly.
pub fn choose(accept: Option<&str>) -> Representation {
    let Some(accept) = accept else {
        return Representation::Html;
    };
    let mut best_json = 0.0_f32;
    let mut json_kind = Representation::ActivityJson;
    let mut best_html = 0.0_f32;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        match media.as_str() {
            "application/activity+json" | "application/ld+json" | "application/json"
                if q > best_json =>
            {
                best_json = q;
                json_kind = if media == "application/ld+json" {
                    Representation::LdJson
                } else {
                    Representation::ActivityJson
                };
            }
            "text/html" | "application/xhtml+xml" => best_html = best_html.max(q),
            _ => {}
        }
    }
    if best_json > 0.0 && best_json > best_html {
        json_kind
    } else {
        Representation::Html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fediverse_accept_headers_get_json() {
        assert_eq!(choose(Some(ACTIVITY_JSON)), Representation::ActivityJson);
        assert_eq!(choose(Some(LD_JSON_AS)), Representation::LdJson);
        // What Mastodon sends when it fetches a resource.
        assert_eq!(
            choose(Some(
                r#"application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1"#
            )),
            Representation::ActivityJson
        );
        assert_eq!(
            choose(Some("application/json")),
            Representation::ActivityJson
        );
    }

    #[test]
    fn browsers_and_unknown_clients_get_html() {
        assert_eq!(
            choose(Some(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            )),
            Representation::Html
        );
        assert_eq!(choose(None), Representation::Html);
        assert_eq!(choose(Some("*/*")), Representation::Html);
        assert_eq!(
            choose(Some("application/activity+json;q=0")),
            Representation::Html
        );
        assert_eq!(
            choose(Some("text/html, application/activity+json")),
            Representation::Html
        );
    }
}
