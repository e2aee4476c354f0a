//! The actor's collections (outbox, followers, following, featured) as `OrderedCollection`s.

use serde::Serialize;
use url::Url;

/// An `OrderedCollection`; `orderedItems` is omitted when only the count is public.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    #[serde(rename = "@context")]
    pub context: &'static str,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub total_items: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered_items: Option<Vec<serde_json::Value>>,
}

impl OrderedCollection {
    /// A collection listing `items` in full.
    pub fn listing(id: Url, items: Vec<serde_json::Value>) -> Self {
        OrderedCollection {
            context: "https://www.w3.org/ns/activitystreams",
            id,
            kind: "OrderedCollection",
            total_items: items.len() as u64,
            ordered_items: Some(items),
        }
    }

    /// A collection that shows its size only (e.g. followers, whose list is private).
    pub fn count_only(id: Url, total_items: u64) -> Self {
        OrderedCollection {
            context: "https://www.w3.org/ns/activitystreams",
            id,
            kind: "OrderedCollection",
            total_items,
            ordered_items: None,
        }
    }
}

/// A paged `OrderedCollection`'s first document: its size and where its pages start and end.
pub fn paged_index(id: &Url, total: u64, per_page: u64) -> serde_json::Value {
    serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": format!("{id}?page=1"),
        "last": format!("{id}?page={}", total.div_ceil(per_page.max(1)).max(1)),
    })
}

/// Page `page` (from 1) of a paged `OrderedCollection`, with `next`/`prev` links.
pub fn page_of(
    id: &Url,
    page: u64,
    per_page: u64,
    total: u64,
    items: Vec<serde_json::Value>,
) -> serde_json::Value {
    let mut body = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{id}?page={page}"),
        "type": "OrderedCollectionPage",
        "partOf": id,
        "totalItems": total,
        "orderedItems": items,
    });
    if page * per_page < total {
        body["next"] = serde_json::json!(format!("{id}?page={}", page + 1));
    }
    if page > 1 {
        body["prev"] = serde_json::json!(format!("{id}?page={}", page - 1));
    }
    body
}
