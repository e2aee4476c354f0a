//! Posts as ActivityStreams objects, and the activities that carry them (Create, Update, Delete).
//!
//! The representation is chosen for what a Mastodon user sees (see ARCHITECTURE.md):
//! - an untitled post is a `Note`: Mastodon shows its content in full;
//! - a titled post is an `Article` with `name`, a `summary` lede and the full `content`: Mastodon
//!   shows the title, the lede and a link to the page, while Lemmy, Misskey, Friendica… show the
//!   whole article;
//! - a post with a content warning is always a `Note` (title as the first line), because Mastodon
//!   only honours `summary` as a content warning on Notes.
//!
//! The author is credited in every form: a closing "— Name" line in a Note, the byline in an
//! Article's lede.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use url::Url;

use crate::{
    db::post::PostBundle,
    domain::{post::is_titled, urls::Urls},
};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The conversation around a post as its object shows it: counts, and the first page of
/// approved replies (embedded, so that Mastodon does not fetch the collection on every Create).
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub replies: u64,
    pub likes: u64,
    pub shares: u64,
    pub first_replies: Vec<String>,
}

/// The JSON-LD context of objects and activities: ActivityStreams plus the terms Mastodon
/// defines (`sensitive`, `Hashtag`), so a JSON-LD processor keeps them.
pub fn object_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        {
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
        }
    ])
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The ActivityStreams type a post federates as.
pub fn object_type(bundle: &PostBundle) -> &'static str {
    let post = &bundle.post;
    if post.content_warning.is_some() || !is_titled(post.title.as_deref()) {
        "Note"
    } else {
        "Article"
    }
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// The byline in the post's language.
fn byline(language: &str, name: &str) -> String {
    match language {
        "fr" => format!("Par {}", escape(name)),
        _ => format!("By {}", escape(name)),
    }
}

/// The lede of an Article (its `summary`, which Mastodon shows under the title): the author's
/// summary or, failing that, the first paragraph of the text, cut at a word boundary. Public so
/// the admin preview shows exactly what Mastodon will receive.
pub fn lede(bundle: &PostBundle) -> String {
    let post = &bundle.post;
    let text = match &post.summary {
        Some(summary) => summary.clone(),
        None => {
            // The first block of the rendered body, as plain text.
            let first = post
                .body_html
                .split("</p>")
                .map(|block| ammonia::Builder::empty().clean(block).to_string())
                .map(|text| text.trim().to_string())
                .find(|text| !text.is_empty())
                .unwrap_or_default();
            let decoded = html_escape::decode_html_entities(&first).into_owned();
            truncate_words(&decoded, 400)
        }
    };
    format!(
        "<p>{}</p><p>{}</p>",
        escape(&text),
        byline(&post.language, &bundle.author.display_name)
    )
}

fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// The HTML `content` of the object.
pub fn content_html(bundle: &PostBundle) -> String {
    let post = &bundle.post;
    let credit = format!("<p>— {}</p>", escape(&bundle.author.display_name));
    match (object_type(bundle), &post.title) {
        ("Note", Some(title)) if !title.trim().is_empty() => {
            format!(
                "<p><strong>{}</strong></p>{}{}",
                escape(title),
                post.body_html,
                credit
            )
        }
        ("Note", _) => format!("{}{}", post.body_html, credit),
        _ => post.body_html.clone(),
    }
}

/// The object of a published post, as served at its id and embedded in activities.
/// `attributed_to` is the actor credited (the collective, or the member's own actor);
/// `followers` the collection addressed in `cc`.
pub fn post_object(
    bundle: &PostBundle,
    urls: &Urls,
    attributed_to: &Url,
    followers: &Url,
    counts: Counts,
) -> Value {
    let post = &bundle.post;
    let id = urls.post(&post.public_id);
    let kind = object_type(bundle);
    let content = content_html(bundle);
    let mut cc = vec![json!(followers)];
    cc.extend(bundle.mentions.iter().map(|m| json!(m.actor_url)));
    let mut tags: Vec<Value> = bundle
        .tags
        .iter()
        .map(|t| json!({"type": "Hashtag", "href": urls.tag(&t.tag), "name": format!("#{}", t.display)}))
        .collect();
    tags.extend(bundle.mentions.iter().map(
        |m| json!({"type": "Mention", "href": m.actor_url, "name": format!("@{}", m.handle)}),
    ));
    let mut object = json!({
        "id": id,
        "type": kind,
        "attributedTo": attributed_to,
        "content": content,
        "contentMap": { post.language.clone(): content },
        "source": { "content": post.body_markdown, "mediaType": "text/markdown" },
        "published": post.published_at.map(timestamp),
        "url": id,
        "to": [PUBLIC],
        "cc": cc,
        "tag": tags,
        "sensitive": post.content_warning.is_some(),
        "replies": {
            "id": urls.post_replies(&post.public_id),
            "type": "Collection",
            "totalItems": counts.replies,
            "first": {
                "id": format!("{}?page=1", urls.post_replies(&post.public_id)),
                "type": "CollectionPage",
                "partOf": urls.post_replies(&post.public_id),
                "items": counts.first_replies,
            },
        },
        "likes": { "id": urls.post_likes(&post.public_id), "type": "Collection", "totalItems": counts.likes },
        "shares": { "id": urls.post_shares(&post.public_id), "type": "Collection", "totalItems": counts.shares },
    });
    if let Some(map) = object.as_object_mut() {
        if let Some(edited) = post.edited_at {
            map.insert("updated".into(), json!(timestamp(edited)));
        }
        match kind {
            "Article" => {
                map.insert("name".into(), json!(post.title));
                map.insert("summary".into(), json!(lede(bundle)));
            }
            _ => {
                if let Some(cw) = &post.content_warning {
                    map.insert("summary".into(), json!(cw));
                }
            }
        }
    }
    object
}

/// Wraps an object in an activity with the object's addressing.
pub fn activity(
    kind: &str,
    id: &Url,
    actor: &Url,
    object: Value,
    published: DateTime<Utc>,
) -> Value {
    let to = object.get("to").cloned().unwrap_or_else(|| json!([PUBLIC]));
    let cc = object.get("cc").cloned().unwrap_or_else(|| json!([]));
    json!({
        "@context": object_context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "published": timestamp(published),
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// The `Tombstone` left where a deleted post was.
pub fn tombstone(id: &Url, former_type: &str, deleted: DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": timestamp(deleted),
    })
}

/// An object served on its own, with its context.
pub fn with_context(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        let mut out = serde_json::Map::new();
        out.insert("@context".into(), object_context());
        out.extend(std::mem::take(map));
        return Value::Object(out);
    }
    object
}
