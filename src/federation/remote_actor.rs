//! Remote actors: fetched (signed), checked, cached in `remote_actor`, refreshed when stale or
//! when their key no longer verifies a signature (key rotation).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub use super::client::FetchContext;
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::Value;
use url::Url;

use crate::{db::entity::remote_actor, domain::activity_json as aj, state::AppState};

/// Why a remote actor cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("cannot fetch the actor {0}: {1}")]
    Fetch(String, String),
    #[error("the actor document is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The actor types Mastodon accepts.
const ACTOR_TYPES: [&str; 5] = ["Person", "Service", "Group", "Organization", "Application"];

/// What Tribune keeps of an actor document, after checking it belongs together: the inboxes
/// and the key are on the actor's own host, the key's owner is the actor.
pub fn parse_actor(doc: &Value, expected_id: &Url) -> Result<ParsedActor, ActorError> {
    let invalid = |why: &str| ActorError::Invalid(format!("{expected_id}: {why}"));
    let id = aj::id_of(doc).ok_or_else(|| invalid("no id"))?;
    if id != *expected_id {
        return Err(invalid("its id is not the URL it was fetched from"));
    }
    let kind = aj::str_field(doc, "type").ok_or_else(|| invalid("no type"))?;
    if !ACTOR_TYPES.contains(&kind) {
        return Err(invalid("not an actor type"));
    }
    let host = id
        .host_str()
        .ok_or_else(|| invalid("no host"))?
        .to_ascii_lowercase();
    let same_host = |url: &Url| {
        url.host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(&host))
    };
    let preferred_username = aj::str_field(doc, "preferredUsername")
        .filter(|u| !u.is_empty() && u.len() <= 255)
        .ok_or_else(|| invalid("no preferredUsername"))?;
    let inbox = aj::url_field(doc, "inbox").ok_or_else(|| invalid("no inbox"))?;
    if !same_host(&inbox) {
        return Err(invalid("its inbox is on another host"));
    }
    let shared_inbox = doc
        .get("endpoints")
        .and_then(|e| aj::url_field(e, "sharedInbox"))
        .filter(|u| same_host(u));
    let key = aj::one_or_many(doc.get("publicKey"))
        .into_iter()
        .find(|k| aj::url_field(k, "owner").is_none_or(|owner| owner == id))
        .ok_or_else(|| invalid("no public key owned by the actor"))?;
    let key_id = aj::str_field(key, "id").ok_or_else(|| invalid("the key has no id"))?;
    let key_url = Url::parse(key_id).map_err(|_| invalid("the key id is not a URL"))?;
    if !same_host(&key_url) {
        return Err(invalid("its key is on another host"));
    }
    let pem = aj::str_field(key, "publicKeyPem").ok_or_else(|| invalid("the key has no PEM"))?;
    let name = aj::str_field(doc, "name").map(|n| n.chars().take(500).collect());
    let profile = aj::one_or_many(doc.get("url"))
        .into_iter()
        .find_map(aj::link_href)
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let icon = aj::one_or_many(doc.get("icon"))
        .into_iter()
        .find_map(|i| {
            aj::one_or_many(i.get("url"))
                .into_iter()
                .find_map(aj::link_href)
                .or_else(|| aj::link_href(i))
        })
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    Ok(ParsedActor {
        id,
        kind: kind.to_string(),
        host,
        preferred_username: preferred_username.to_string(),
        name,
        inbox,
        shared_inbox,
        profile,
        icon,
        key_id: key_id.to_string(),
        public_key_pem: pem.to_string(),
    })
}

/// A checked actor document.
#[derive(Debug, Clone)]
pub struct ParsedActor {
    pub id: Url,
    pub kind: String,
    pub host: String,
    pub preferred_username: String,
    pub name: Option<String>,
    pub inbox: Url,
    pub shared_inbox: Option<Url>,
    pub profile: Option<Url>,
    pub icon: Option<Url>,
    pub key_id: String,
    pub public_key_pem: String,
}

/// The cached actor, if any.
pub async fn cached(
    db: &impl ConnectionTrait,
    actor: &Url,
) -> Result<Option<remote_actor::Model>, DbErr> {
    remote_actor::Entity::find()
        .filter(remote_actor::Column::ActorUrl.eq(actor.as_str()))
        .one(db)
        .await
}

/// Stores (or refreshes) an actor.
pub async fn store(
    db: &impl ConnectionTrait,
    parsed: &ParsedActor,
) -> Result<remote_actor::Model, DbErr> {
    let row = remote_actor::ActiveModel {
        actor_url: Set(parsed.id.to_string()),
        kind: Set(parsed.kind.clone()),
        host: Set(parsed.host.clone()),
        preferred_username: Set(parsed.preferred_username.clone()),
        name: Set(parsed.name.clone()),
        inbox_url: Set(parsed.inbox.to_string()),
        shared_inbox_url: Set(parsed.shared_inbox.as_ref().map(Url::to_string)),
        profile_url: Set(parsed.profile.as_ref().map(Url::to_string)),
        icon_url: Set(parsed.icon.as_ref().map(Url::to_string)),
        key_id: Set(parsed.key_id.clone()),
        public_key_pem: Set(parsed.public_key_pem.clone()),
        fetched_at: Set(Utc::now()),
        ..Default::default()
    };
    use remote_actor::Column as C;
    remote_actor::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::ActorUrl)
                .update_columns([
                    C::Kind,
                    C::Host,
                    C::PreferredUsername,
                    C::Name,
                    C::InboxUrl,
                    C::SharedInboxUrl,
                    C::ProfileUrl,
                    C::IconUrl,
                    C::KeyId,
                    C::PublicKeyPem,
                    C::FetchedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    cached(db, &parsed.id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(parsed.id.to_string()))
}

/// Actors read or fetched lately, kept in memory so that the next activities of an active
/// sender verify without a database read (`federation::inbox`'s batched path).
///
/// An entry is used for at most [`RecentActors::KEPT_FOR`]: another process sharing the
/// database may have refreshed or deleted the row meanwhile. Neither is harmful for that long:
/// a rotated key fails verification and makes the inbox fetch the actor again, and a deleted
/// row makes the batch that names it fail and its activities take the ordinary path.
#[derive(Default)]
pub struct RecentActors {
    entries: Mutex<HashMap<String, (Instant, Arc<remote_actor::Model>)>>,
}

impl RecentActors {
    /// How long an entry is used after it was read from the database or fetched.
    pub const KEPT_FOR: Duration = Duration::from_secs(300);
    /// At most this many actors are kept (each about 1 KB, its key included).
    pub const CAPACITY: usize = 4096;

    /// The actor, if kept, recent, and its document not older than `refresh_hours`.
    pub fn get(&self, actor: &Url, refresh_hours: i64) -> Option<Arc<remote_actor::Model>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (kept_at, model) = entries.get(actor.as_str())?;
        let fresh = kept_at.elapsed() < Self::KEPT_FOR
            && Utc::now() - model.fetched_at < chrono::Duration::hours(refresh_hours);
        fresh.then(|| Arc::clone(model))
    }

    pub fn put(&self, model: &remote_actor::Model) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY && !entries.contains_key(&model.actor_url) {
            entries.retain(|_, (kept_at, _)| kept_at.elapsed() < Self::KEPT_FOR);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            model.actor_url.clone(),
            (Instant::now(), Arc::new(model.clone())),
        );
    }

    /// Forgets an actor (deleted, or its row in doubt).
    pub fn forget(&self, actor_url: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(actor_url);
    }
}

/// The actor, from the cache when fresh enough, else fetched (signed) and stored.
/// `force` fetches even a fresh one (a signature did not verify: the key may have rotated).
pub async fn get(
    state: &AppState,
    context: &FetchContext,
    actor: &Url,
    force: bool,
) -> Result<remote_actor::Model, ActorError> {
    if !force && let Some(found) = cached(&state.db, actor).await? {
        let age = Utc::now() - found.fetched_at;
        if age < chrono::Duration::hours(state.settings.federation.actor_refresh_hours) {
            state.recent_actors.put(&found);
            return Ok(found);
        }
    }
    // The actor URL comes from the activity: say plainly when it is one Tribune never
    // requests (private or loopback address, plain http, credentials…).
    state
        .federation
        .check_url(actor)
        .map_err(|e| ActorError::Fetch(actor.to_string(), e.to_string()))?;
    let doc = state
        .federation
        .fetch(context, actor)
        .await
        .map_err(|e| ActorError::Fetch(actor.to_string(), e.to_string()))?;
    let parsed = parse_actor(&doc, actor)?;
    let stored = store(&state.db, &parsed).await?;
    state.recent_actors.put(&stored);
    Ok(stored)
}

/// Properties of the actor-document parser on arbitrary JSON: no panic, and whatever it
/// accepts belongs together (same id, inbox and key on the actor's host, key owned by it).
#[cfg(test)]
mod properties {
    use super::*;
    use crate::domain::test_json::{json_document, json_value};
    use proptest::prelude::*;
    use serde_json::json;

    /// Mostly plausible actor documents with some fields replaced by arbitrary values.
    fn actor_document() -> impl Strategy<Value = Value> {
        let base = json!({
            "id": "https://a.example/users/alice",
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": "https://a.example/users/alice/inbox",
            "publicKey": {
                "id": "https://a.example/users/alice#main-key",
                "owner": "https://a.example/users/alice",
                "publicKeyPem": "PEM",
            },
        });
        prop_oneof![
            json_document(),
            (prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "id",
                        "type",
                        "preferredUsername",
                        "inbox",
                        "publicKey",
                        "endpoints",
                        "url",
                        "icon",
                        "name",
                    ]),
                    json_value()
                ),
                0..4
            ))
            .prop_map(move |changes| {
                let mut doc = base.clone();
                for (key, value) in changes {
                    doc[key] = value;
                }
                doc
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn accepted_actors_belong_together(doc in actor_document()) {
            let expected = Url::parse("https://a.example/users/alice").expect("url");
            if let Ok(actor) = parse_actor(&doc, &expected) {
                prop_assert_eq!(&actor.id, &expected);
                prop_assert_eq!(actor.inbox.host_str(), Some("a.example"));
                let key = Url::parse(&actor.key_id).expect("checked");
                prop_assert_eq!(key.host_str(), Some("a.example"));
                if let Some(shared) = &actor.shared_inbox {
                    prop_assert_eq!(shared.host_str(), Some("a.example"));
                }
                for url in actor.profile.iter().chain(actor.icon.iter()) {
                    prop_assert!(matches!(url.scheme(), "http" | "https"));
                }
            }
        }
    }
}
