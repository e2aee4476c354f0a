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
