//! Proptest strategies for remote input (test builds only): ActivityStreams-like JSON made of
//! the field names and values the parsers look at, nested, in every shape servers send.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names the parsers read, and a few they do not.
pub fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "id", "type", "actor", "object", "to", "cc", "bto", "tag", "inReplyTo", "href", "url",
            "attributedTo", "content", "contentMap", "summary", "published", "updated",
            "publicKey", "owner", "publicKeyPem", "inbox", "outbox", "endpoints", "sharedInbox",
            "preferredUsername", "name", "icon", "sensitive", "@context",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z@:]{1,10}",
    ]
}

/// Strings as they appear in documents: URLs good and bad, public addresses, types, text.
pub fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "https://a.example/users/alice",
            "https://a.example/users/alice#main-key",
            "https://A.EXAMPLE:443/notes/1",
            "http://b.example:8080/inbox",
            "https://b.example/users/bob",
            "https://évil.example./x",
            "https://[::1]/x",
            "https://0.0.0.0/x",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "https://www.w3.org/ns/activitystreams#Public",
            "as:Public",
            "Public",
            "Person",
            "Note",
            "Create",
            "Follow",
            "Undo",
            "",
            "https://",
            "https://a.example/%",
        ])
        .prop_map(str::to_string),
        ".{0,24}",
    ]
}

/// Nested JSON values built from [`field_name`] and [`text_value`].
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text_value().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A JSON object (a document), whose fields are those of [`json_value`].
pub fn json_document() -> impl Strategy<Value = Value> {
    prop::collection::vec((field_name(), json_value()), 0..12)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

/// HTML-ish text made of dangerous and ordinary fragments, in any order and nesting.
pub fn html_fragments() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        3 => prop::sample::select(vec![
            "<p>", "</p>", "<a href=\"https://a.example/x\">", "<a href=\"javascript:alert(1)\">",
            "<a href=\" JaVaScRiPt:alert(1)\">", "<a href='data:text/html,x'>", "</a>", "<script>",
            "</script>", "alert(1)", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
            "<iframe src=//evil.example>", "<style>p{}</style>", "<blockquote>", "</blockquote>",
            "<span class=\"h-card\">", "</span>", "<ol start=\"1 onclick=x\">", "<ol start=3>",
            "<li>", "<br>", "<b onmouseover=x>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;",
            "&lt;script&gt;", "\"", "'", "<", ">", "=", "&", "<math><mi xlink:href=javascript:x>",
            "<form action=javascript:x>", "<input onfocus=x autofocus>", "<p style=\"x\">",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        ])
        .prop_map(str::to_string),
        1 => ".{0,12}",
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// What in `html` could run once parsed as a browser would (text that merely looks like markup,
/// escaped, is fine): a scripting or embedding element, an event handler or style attribute, a
/// link or source that is neither http(s) nor a same-page fragment.
pub fn live_danger(html: &str) -> Option<String> {
    live_danger_beside(html, &[])
}

/// [`live_danger`], where links may also start with one of `also_allowed` (`mailto:` in what
/// members write: CommonMark makes `<name@host>` an email link).
pub fn live_danger_beside(html: &str, also_allowed: &[&str]) -> Option<String> {
    let fragment = scraper::Html::parse_fragment(html);
    for node in fragment.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name();
        if [
            "script", "iframe", "object", "embed", "svg", "math", "style", "form", "input", "img",
            "noscript", "base", "frame", "link", "meta",
        ]
        .contains(&name)
        {
            return Some(format!("a <{name}> element"));
        }
        for (attribute, value) in element.attrs() {
            let attribute = attribute.to_ascii_lowercase();
            if attribute.starts_with("on") || attribute == "style" || attribute == "srcdoc" {
                return Some(format!("attribute {attribute} on <{name}>"));
            }
            if ["href", "src", "action", "formaction", "xlink:href"].contains(&attribute.as_str()) {
                let value = value.trim().to_ascii_lowercase();
                if !(value.starts_with("https://")
                    || value.starts_with("http://")
                    || value.starts_with('#')
                    || also_allowed.iter().any(|prefix| value.starts_with(prefix)))
                {
                    return Some(format!("{attribute}={value} on <{name}>"));
                }
            }
        }
    }
    None
}
