//! What Mastodon, GoToSocial, Misskey, Pleroma (Akkoma) and Lemmy actually send, kept verbatim in
//! `tests/fixtures/<software>/` (sources in `tests/fixtures/README.md`), and what Tribune makes
//! of it: every actor document parses; every note, replayed through the real inbox with a real
//! signature, becomes a sanitized comment in the post's `replies`; likes, boosts, undoes, edits,
//! deletions and follows act as they should; the odd shapes (one `tag` object, `to` as a string,
//! `as:Public`, Links and arrays) work.
//!
//! A fixture is moved onto the stand-in server before it is sent: its origin becomes the stand-in's
//! `http://localhost:PORT/<fixture>` (so every fixture has ids of its own), `actor` and
//! `attributedTo` become the stand-in's actor, and `inReplyTo` (or the reacted-to, deleted or
//! followed `object`) becomes a Tribune URL — each in the shape the server used (a string stays a
//! string, an object keeps its other fields, an array its length). Everything else is sent as
//! the server wrote it.

use std::path::PathBuf;

use serde_json::{Value, json};
use tribune::{
    config::ReplyPolicy,
    domain::{member::Role, post::PostInput, sanitize},
    federation::{remote_actor, signature},
};
use url::Url;

use crate::{
    db_test,
    remote::{Behaviour, RemoteServer},
    support::{Backend, TestApp},
};

/// A fixture, parsed.
fn fixture(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    Url::parse(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .origin()
        .ascii_serialization()
}

/// `doc` with `from` replaced by `to` in every string (ids, links, HTML alike).
fn rehost(doc: &Value, from: &str, to: &str) -> Value {
    match doc {
        Value::String(s) => Value::String(s.replace(from, to)),
        Value::Array(items) => items.iter().map(|v| rehost(v, from, to)).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), rehost(v, from, to)))
            .collect(),
        other => other.clone(),
    }
}

/// Points `doc[key]` at `url` in the shape the server used: a string is replaced, an object
/// keeps its other fields (its `id`, or a Link's `href`, is replaced), an array keeps its length;
/// absent or null becomes a string.
fn point(doc: &mut Value, key: &str, url: &str) {
    fn repoint(value: &mut Value, url: &str) {
        match value {
            Value::Object(map) => {
                let field = if map.contains_key("href") && !map.contains_key("id") {
                    "href"
                } else {
                    "id"
                };
                map.insert(field.to_string(), json!(url));
            }
            Value::Array(items) => items.iter_mut().for_each(|item| repoint(item, url)),
            other => *other = json!(url),
        }
    }
    match doc.get_mut(key) {
        Some(value) if !value.is_null() => repoint(value, url),
        _ => doc[key] = json!(url),
    }
}

/// The id (string, or an object's `id`) of a property.
fn id_in(value: &Value) -> String {
    value
        .as_str()
        .or_else(|| value["id"].as_str())
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// What a note says, as Tribune reads it: `content`, else the first of `contentMap`.
fn content_of(note: &Value) -> String {
    note["content"]
        .as_str()
        .or_else(|| {
            note["contentMap"]
                .as_object()
                .and_then(|m| m.values().find_map(Value::as_str))
        })
        .unwrap_or_default()
        .to_string()
}

fn note(body: &str) -> PostInput {
    PostInput {
        title: None,
        summary: None,
        content_warning: None,
        language: "fr".into(),
        body_markdown: body.into(),
        tags: vec![],
    }
}

/// A Tribune with a published post and a stand-in server whose actor sends the fixtures.
struct Scene {
    app: TestApp,
    remote: RemoteServer,
    post_url: String,
    post_id: String,
}

impl Scene {
    async fn new(backend: Backend) -> Scene {
        let app = TestApp::spawn_with(backend, |s| s.moderation.replies = ReplyPolicy::Open).await;
        let remote = RemoteServer::start(Behaviour::Ok).await;
        let editor = app
            .add_member("eve", Role::Editor, "un mot de passe solide")
            .await;
        let post_id = app.publish_post(&editor, note("Qu'en pensez-vous ?")).await;
        let post_url = app.url(&format!("/posts/{post_id}")).to_string();
        Scene {
            app,
            remote,
            post_url,
            post_id,
        }
    }

    fn collective(&self) -> String {
        self.app.url("/actors/collectif").to_string()
    }

    /// The fixture moved onto the stand-in (its own path there), sent by the stand-in's actor.
    fn rewrite(&self, path: &str) -> Value {
        let doc = fixture(path);
        let id = doc["id"]
            .as_str()
            .or_else(|| doc["actor"].as_str())
            .unwrap_or_else(|| panic!("{path}: neither id nor actor"));
        let slug = path.trim_end_matches(".json").replace('/', "-");
        let mut doc = rehost(&doc, &origin(id), &format!("{}/{slug}", self.remote.base));
        if doc.get("actor").is_some() {
            point(&mut doc, "actor", &self.remote.actor);
        }
        if let Some(inner) = doc.get_mut("object").filter(|o| o.is_object()) {
            for key in ["actor", "attributedTo"] {
                if inner.get(key).is_some() {
                    point(inner, key, &self.remote.actor);
                }
            }
        }
        doc
    }

    async fn send(&self, activity: &Value) -> u16 {
        self.remote
            .post(&self.app.client, self.app.url("/inbox").as_str(), activity)
            .await
            .status()
            .as_u16()
    }

    /// A note (bare, or the object of the fixture's own `Create`) in reply to the post: the
    /// `Create` to send and the note in it.
    fn reply_to_post(&self, path: &str) -> (Value, Value) {
        let doc = self.rewrite(path);
        let is_create = doc["type"] == "Create";
        let mut object = if is_create {
            doc["object"].clone()
        } else {
            doc.clone()
        };
        point(&mut object, "attributedTo", &self.remote.actor);
        point(&mut object, "inReplyTo", &self.post_url);
        let activity = if is_create {
            let mut create = doc;
            create["object"] = object.clone();
            create
        } else {
            // A bare note is sent the way Mastodon wraps one: a Create with the note's audience.
            let name = format!("create-{}", path.replace('/', "-"));
            let mut create = self.remote.activity("Create", &name, object.clone());
            create["to"] = object.get("to").cloned().unwrap_or(Value::Null);
            create["cc"] = object.get("cc").cloned().unwrap_or(Value::Null);
            create
        };
        (activity, object)
    }

    /// Sends a reply fixture and checks it became an approved, sanitized comment on the post;
    /// returns the comment's object URL.
    async fn reply(&self, path: &str, says: &str) -> String {
        let (activity, object) = self.reply_to_post(path);
        assert_eq!(self.send(&activity).await, 202, "{path}");
        let id = id_in(&object["id"]);
        self.assert_comment(path, &id, &content_of(&object), says)
            .await;
        id
    }

    async fn assert_comment(&self, path: &str, id: &str, content: &str, says: &str) {
        let row = |column: &str| format!("SELECT {column} FROM comment WHERE object_url = '{id}'");
        assert_eq!(
            self.app.count(&row("COUNT(*)")).await,
            1,
            "{path}: stored as a comment"
        );
        assert_eq!(self.app.text(&row("state")).await, "approved", "{path}");
        assert_eq!(
            self.app.text(&row("in_reply_to_url")).await,
            self.post_url,
            "{path}"
        );
        let stored = self.app.text(&row("content_html")).await;
        assert_eq!(stored, sanitize::remote_html(content), "{path}: sanitized");
        assert!(stored.contains(says), "{path}: {stored}");
        for gone in ["<script", "target=", "translate=", "data-user", "style="] {
            assert!(!stored.contains(gone), "{path}: {gone} kept in {stored}");
        }
        if stored.contains("<a ") {
            assert!(
                stored.contains(r#"rel="nofollow noopener noreferrer ugc""#),
                "{path}: {stored}"
            );
        }
    }

    /// A Like, Announce or Dislike fixture aimed at the post.
    async fn react(&self, path: &str) -> u16 {
        let mut doc = self.rewrite(path);
        point(&mut doc, "object", &self.post_url);
        self.send(&doc).await
    }

    /// An Undo fixture of a reaction to the post.
    async fn undo_reaction(&self, path: &str) -> u16 {
        let mut doc = self.rewrite(path);
        point(&mut doc["object"], "object", &self.post_url);
        self.send(&doc).await
    }

    /// A Delete fixture aimed at the comment `id`.
    async fn delete(&self, path: &str, id: &str) -> u16 {
        let mut doc = self.rewrite(path);
        point(&mut doc, "object", id);
        self.send(&doc).await
    }

    async fn follow(&self, path: &str) -> u16 {
        let mut doc = self.rewrite(path);
        point(&mut doc, "object", &self.collective());
        self.send(&doc).await
    }

    async fn undo_follow(&self, path: &str) -> u16 {
        let mut doc = self.rewrite(path);
        point(&mut doc["object"], "object", &self.collective());
        self.send(&doc).await
    }

    /// (replies, likes, shares) as the post's object shows them.
    async fn counts(&self) -> (i64, i64, i64) {
        let object = self
            .app
            .get_activity_json(&format!("/posts/{}", self.post_id))
            .await;
        let n = |key: &str| object[key]["totalItems"].as_i64().expect(key);
        (n("replies"), n("likes"), n("shares"))
    }

    /// Every item of the post's `replies` collection, page after page.
    async fn replies(&self) -> Vec<String> {
        let path = format!("/posts/{}/replies", self.post_id);
        let collection = self.app.get_activity_json(&path).await;
        let total = collection["totalItems"].as_u64().expect("totalItems");
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let body = self
                .app
                .get_activity_json(&format!("{path}?page={page}"))
                .await;
            items.extend(body["items"].as_array().expect("items").iter().map(id_in));
            if body.get("next").is_none() {
                break;
            }
            page += 1;
        }
        assert_eq!(items.len() as u64, total, "{items:?}");
        items
    }

    async fn comments(&self) -> i64 {
        self.app.count("SELECT COUNT(*) FROM comment").await
    }

    async fn followers(&self) -> i64 {
        self.app
            .count("SELECT COUNT(*) FROM follower WHERE state = 'accepted'")
            .await
    }

    /// Checks the `replies` collection lists exactly `ids`.
    async fn assert_replies(&self, ids: &[&str]) {
        let mut listed = self.replies().await;
        let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(self.counts().await.0, ids.len() as i64);
    }
}

// ---------------------------------------------------------------------------------------------
// Actors.

struct ActorCase {
    path: &'static str,
    kind: &'static str,
    username: &'static str,
    inbox: &'static str,
    shared_inbox: Option<&'static str>,
    key_id: &'static str,
}

const ACTORS: &[ActorCase] = &[
    ActorCase {
        path: "mastodon/person.json",
        kind: "Person",
        username: "mastodon",
        inbox: "https://masto.qa.urbanwildlife.biz/users/mastodon/inbox",
        shared_inbox: Some("https://masto.qa.urbanwildlife.biz/inbox"),
        key_id: "https://masto.qa.urbanwildlife.biz/users/mastodon#main-key",
    },
    ActorCase {
        path: "gotosocial/person.json",
        kind: "Person",
        username: "the_mighty_zork",
        inbox: "http://localhost:8080/users/the_mighty_zork/inbox",
        shared_inbox: Some("http://localhost:8080/sharedInbox"),
        key_id: "http://localhost:8080/users/the_mighty_zork/main-key",
    },
    ActorCase {
        path: "gotosocial/application_bot.json",
        kind: "Application",
        username: "the_mighty_zork",
        inbox: "http://localhost:8080/users/the_mighty_zork/inbox",
        shared_inbox: None,
        key_id: "http://localhost:8080/users/the_mighty_zork/main-key",
    },
    ActorCase {
        path: "misskey/person.json",
        kind: "Person",
        username: "relay_test",
        inbox: "https://misskey.usbharu.dev/users/9ghwhv9zgg/inbox",
        shared_inbox: Some("https://misskey.usbharu.dev/inbox"),
        key_id: "https://misskey.usbharu.dev/users/9ghwhv9zgg#main-key",
    },
    ActorCase {
        path: "misskey/person_misskey_io.json",
        kind: "Person",
        username: "aimu",
        inbox: "https://misskey.io/users/83ssedkv53/inbox",
        shared_inbox: Some("https://misskey.io/inbox"),
        key_id: "https://misskey.io/users/83ssedkv53#main-key",
    },
    ActorCase {
        path: "pleroma/person.json",
        kind: "Person",
        username: "lanodan",
        inbox: "https://queer.hacktivis.me/users/lanodan/inbox",
        shared_inbox: Some("https://queer.hacktivis.me/inbox"),
        key_id: "https://queer.hacktivis.me/users/lanodan#main-key",
    },
    ActorCase {
        path: "pleroma/person_rin.json",
        kind: "Person",
        username: "rin",
        inbox: "https://patch.cx/users/rin/inbox",
        shared_inbox: Some("https://patch.cx/inbox"),
        key_id: "https://patch.cx/users/rin#main-key",
    },
    ActorCase {
        path: "lemmy/person.json",
        kind: "Person",
        username: "picard",
        inbox: "https://enterprise.lemmy.ml/u/picard/inbox",
        shared_inbox: Some("https://enterprise.lemmy.ml/inbox"),
        key_id: "https://enterprise.lemmy.ml/u/picard#main-key",
    },
    ActorCase {
        path: "lemmy/group.json",
        kind: "Group",
        username: "tenforward",
        inbox: "https://enterprise.lemmy.ml/c/tenforward/inbox",
        shared_inbox: Some("https://enterprise.lemmy.ml/inbox"),
        key_id: "https://enterprise.lemmy.ml/c/tenforward#main-key",
    },
];

/// Every actor document parses into the right name, inboxes and key, and survives a round trip
/// through the `remote_actor` cache.
async fn every_actor_document_parses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for case in ACTORS {
        let doc = fixture(case.path);
        let id = Url::parse(doc["id"].as_str().expect("id")).expect("id is a URL");
        let parsed =
            remote_actor::parse_actor(&doc, &id).unwrap_or_else(|e| panic!("{}: {e}", case.path));
        assert_eq!(parsed.kind, case.kind, "{}", case.path);
        assert_eq!(parsed.preferred_username, case.username, "{}", case.path);
        assert_eq!(parsed.inbox.as_str(), case.inbox, "{}", case.path);
        assert_eq!(
            parsed.shared_inbox.as_ref().map(Url::as_str),
            case.shared_inbox,
            "{}",
            case.path
        );
        assert_eq!(parsed.key_id, case.key_id, "{}", case.path);
        assert_eq!(
            parsed.public_key_pem,
            doc["publicKey"]["publicKeyPem"].as_str().expect("pem"),
            "{}",
            case.path
        );
        assert!(
            signature::public_key(&parsed.public_key_pem).is_some(),
            "{}: the key is not usable to verify signatures",
            case.path
        );

        let stored = remote_actor::store(&app.db, &parsed).await.expect("stored");
        assert_eq!(stored.preferred_username, case.username);
        assert_eq!(stored.inbox_url, case.inbox);
        assert_eq!(stored.shared_inbox_url.as_deref(), case.shared_inbox);
        assert_eq!(stored.key_id, case.key_id);

        // Fetched from anywhere else than its own id, the same document is refused.
        let elsewhere = Url::parse("https://elsewhere.example/users/x").expect("url");
        assert!(remote_actor::parse_actor(&doc, &elsewhere).is_err());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM remote_actor").await,
        // The GoToSocial bot is the same actor as the person, stored once.
        ACTORS.len() as i64 - 1
    );
}
db_test!(every_actor_document_parses);

// ---------------------------------------------------------------------------------------------
// Conversations, one software at a time.

async fn mastodon_conversation(backend: Backend) {
    let s = Scene::new(backend).await;
    let reply = s
        .reply("mastodon/note_reply.json", "never been disappointed")
        .await;
    let with_image = s
        .reply(
            "mastodon/note_reply_attachment.json",
            "We also need funding",
        )
        .await;
    let created = s
        .reply(
            "mastodon/create_note.json",
            "get a model from a few years ago",
        )
        .await;
    let hashtag = s.reply("mastodon/create_note_hashtag.json", "#").await;
    assert_eq!(
        s.app
            .text(&format!(
                "SELECT summary FROM comment WHERE object_url = '{hashtag}'"
            ))
            .await,
        "cw",
        "the content warning is kept"
    );
    let attachment = s
        .reply(
            "mastodon/create_note_attachment.json",
            "mastodon.example.org",
        )
        .await;

    // A direct message answering the post is not published as a comment.
    let (direct, _) = s.reply_to_post("mastodon/note_direct.json");
    assert_eq!(s.send(&direct).await, 202);
    assert_eq!(s.comments().await, 5);

    // An edit: the note as first sent (no `updated`), then Mastodon's Update. The capture is of a
    // direct message; here it is addressed like a public reply, as an edited comment would be.
    let mut update = s.rewrite("mastodon/update_note.json");
    point(&mut update["object"], "inReplyTo", &s.post_url);
    update["object"]["to"] = json!(["https://www.w3.org/ns/activitystreams#Public"]);
    let mut first = update["object"].clone();
    first.as_object_mut().expect("note").remove("updated");
    first["content"] = json!("<p>Avant la modification</p>");
    let edited = id_in(&first["id"]);
    let create = s.remote.activity("Create", "before-edit", first);
    assert_eq!(s.send(&create).await, 202);
    assert_eq!(s.send(&update).await, 202);
    let stored = s
        .app
        .text(&format!(
            "SELECT content_html FROM comment WHERE object_url = '{edited}'"
        ))
        .await;
    assert!(stored.contains("test public key 5"), "{stored}");
    assert_eq!(
        stored,
        sanitize::remote_html(&content_of(&update["object"]))
    );

    s.assert_replies(&[
        &reply,
        &with_image,
        &created,
        &hashtag,
        &attachment,
        &edited,
    ])
    .await;

    // Favourite and boost, then their undoing.
    assert_eq!(s.react("mastodon/like.json").await, 202);
    assert_eq!(s.react("mastodon/announce.json").await, 202);
    assert_eq!(s.counts().await, (6, 1, 1));
    assert_eq!(s.undo_reaction("mastodon/undo_like.json").await, 202);
    assert_eq!(s.undo_reaction("mastodon/undo_announce.json").await, 202);
    assert_eq!(s.counts().await, (6, 0, 0));

    // A profile update: the actor is fetched again from its origin.
    let fetches = s.remote.actor_gets_signed().len();
    let mut profile = s.rewrite("mastodon/update_person.json");
    point(&mut profile, "object", &s.remote.actor);
    assert_eq!(s.send(&profile).await, 202);
    assert_eq!(s.remote.actor_gets_signed().len(), fetches + 1);

    // Deletion (a Tombstone).
    assert_eq!(s.delete("mastodon/delete_note.json", &reply).await, 202);
    assert_eq!(s.comments().await, 5);

    // Follow and unfollow.
    assert_eq!(s.follow("mastodon/follow.json").await, 202);
    assert_eq!(s.followers().await, 1);
    assert_eq!(s.undo_follow("mastodon/undo_follow.json").await, 202);
    assert_eq!(s.followers().await, 0);
}
db_test!(mastodon_conversation);

async fn gotosocial_conversation(backend: Backend) {
    let s = Scene::new(backend).await;
    // One `tag` object (not an array), `to` and `cc` as strings.
    let reply = s
        .reply("gotosocial/note_reply.json", "welcome to the instance!")
        .await;
    // Emoji, hashtag and an image.
    let tagged = s.reply("gotosocial/note_tags.json", "hello world!").await;
    let created = s
        .reply("gotosocial/create_note.json", "hello everyone!")
        .await;
    assert_eq!(
        s.app
            .text(&format!(
                "SELECT summary FROM comment WHERE object_url = '{created}'"
            ))
            .await,
        "introduction post"
    );

    // A Create naming its object by IRI only: the note is fetched from its origin.
    let (_, mut served) = s.reply_to_post("gotosocial/create_note.json");
    let iri = s.remote.note_url("gts-iri");
    served["id"] = json!(iri);
    s.remote.serve_note("gts-iri", served.clone());
    let mut by_iri = s.rewrite("gotosocial/create_note_iri.json");
    by_iri["object"] = json!(iri);
    assert_eq!(s.send(&by_iri).await, 202);
    s.assert_comment(
        "gotosocial/create_note_iri.json",
        &iri,
        &content_of(&served),
        "hello everyone!",
    )
    .await;

    s.assert_replies(&[&reply, &tagged, &created, &iri]).await;

    assert_eq!(s.react("gotosocial/announce.json").await, 202);
    assert_eq!(s.counts().await, (4, 0, 1));

    // GoToSocial's serializer leaves a Delete without an id; its outbox gives it one when it is
    // sent (go-fed's AddNewIDs), so the test does the same.
    let mut delete = s.rewrite("gotosocial/delete_note.json");
    assert!(delete.get("id").is_none());
    delete["id"] = json!(s.remote.id("gts-delete"));
    point(&mut delete, "object", &tagged);
    assert_eq!(s.send(&delete).await, 202);
    assert_eq!(s.comments().await, 3);
}
db_test!(gotosocial_conversation);

async fn misskey_conversation(backend: Backend) {
    let s = Scene::new(backend).await;
    let reply = s
        .reply("misskey/create_note_reply.json", "連合先と自インスタンス")
        .await;
    let emoji = s.reply("misskey/note_emoji.json", ":oyasumi:").await;
    let quote = s.reply("misskey/note_quote.json", "i quompt u").await;
    let poll = s
        .reply(
            "misskey/question_mention.json",
            "How are your notifications now?",
        )
        .await;
    s.assert_replies(&[&reply, &emoji, &quote, &poll]).await;

    // A reaction with a custom emoji counts as a like.
    assert_eq!(s.react("misskey/like_custom_emoji.json").await, 202);
    assert_eq!(s.counts().await, (4, 1, 0));

    assert_eq!(s.delete("misskey/delete_note.json", &emoji).await, 202);
    assert_eq!(s.comments().await, 3);

    let follow = s.remote.follow(&s.collective(), "misskey");
    assert_eq!(s.send(&follow).await, 202);
    assert_eq!(s.followers().await, 1);
    assert_eq!(s.undo_follow("misskey/undo_follow.json").await, 202);
    assert_eq!(s.followers().await, 0);
}
db_test!(misskey_conversation);

async fn pleroma_conversation(backend: Backend) {
    let s = Scene::new(backend).await;
    // The stand-in's key as Pleroma and Akkoma publish theirs: followed by a blank line.
    let pem = s.remote.public_pem();
    s.remote.set_public_pem(format!("{}\n\n", pem.trim_end()));
    let reply = s.reply("pleroma/note_reply.json", "Have what?").await;
    let created = s.reply("pleroma/create_note.json", " test").await;
    let akkoma = s.reply("pleroma/create_note_akkoma.json", "meow").await;
    s.assert_replies(&[&reply, &created, &akkoma]).await;

    // Pleroma names the deleted object by its id alone.
    assert_eq!(s.delete("pleroma/delete_note.json", &created).await, 202);
    assert_eq!(s.comments().await, 2);

    assert_eq!(s.follow("pleroma/follow.json").await, 202);
    assert_eq!(s.followers().await, 1);
}
db_test!(pleroma_conversation);

async fn lemmy_conversation(backend: Backend) {
    let s = Scene::new(backend).await;
    let comment = s.reply("lemmy/note_comment.json", "first comment!").await;
    let created = s.reply("lemmy/create_comment.json", "hello").await;
    s.assert_replies(&[&comment, &created]).await;

    assert_eq!(s.react("lemmy/like_note.json").await, 202);
    // A downvote is not a like.
    assert_eq!(s.react("lemmy/dislike_page.json").await, 202);
    assert_eq!(s.counts().await, (2, 1, 0));
    assert_eq!(s.undo_reaction("lemmy/undo_like_note.json").await, 202);
    assert_eq!(s.counts().await, (2, 0, 0));

    // A community re-broadcasting an activity is not a boost of the post.
    assert_eq!(
        s.send(&s.rewrite("lemmy/announce_create_page.json")).await,
        202
    );
    assert_eq!(s.counts().await, (2, 0, 0));

    // An edit of a post Tribune never stored changes nothing.
    assert_eq!(s.send(&s.rewrite("lemmy/update_page.json")).await, 202);
    assert_eq!(s.comments().await, 2);

    assert_eq!(s.delete("lemmy/delete_page.json", &comment).await, 202);
    assert_eq!(s.comments().await, 1);

    assert_eq!(s.follow("lemmy/follow.json").await, 202);
    assert_eq!(s.followers().await, 1);
    assert_eq!(s.undo_follow("lemmy/undo_follow.json").await, 202);
    assert_eq!(s.followers().await, 0);

    // The account deleted: what is left of it goes.
    let mut gone = s.rewrite("lemmy/delete_user.json");
    point(&mut gone, "object", &s.remote.actor);
    assert_eq!(s.send(&gone).await, 202);
    assert_eq!(s.comments().await, 0);
}
db_test!(lemmy_conversation);

// ---------------------------------------------------------------------------------------------
// The odd shapes.

/// A change made to a note before it is sent.
type Change = Box<dyn Fn(&mut Value)>;

/// Real notes with their properties in the other shapes servers use: `as:Public` and `Public`,
/// `inReplyTo` and `attributedTo` as objects and arrays, `url` as a Link and an array of Links,
/// one `tag` object mentioning the collective. Each is stored; a followers-only variant is not.
async fn odd_shapes_are_understood(backend: Backend) {
    let s = Scene::new(backend).await;
    let collective = s.collective();
    let post = s.post_url.clone();
    let actor = s.remote.actor.clone();
    let variants: Vec<(&str, &str, Change)> = vec![
        (
            "gotosocial/note_reply.json",
            "as:Public",
            Box::new(|n: &mut Value| n["to"] = json!("as:Public")),
        ),
        (
            "mastodon/note_reply.json",
            "Public in cc",
            Box::new(|n: &mut Value| n["cc"] = json!(["Public"])),
        ),
        (
            "pleroma/note_reply.json",
            "inReplyTo object",
            Box::new({
                let post = post.clone();
                move |n: &mut Value| n["inReplyTo"] = json!({"id": post, "type": "Note"})
            }),
        ),
        (
            "misskey/note_emoji.json",
            "inReplyTo array",
            Box::new({
                let post = post.clone();
                move |n: &mut Value| n["inReplyTo"] = json!([post])
            }),
        ),
        (
            "lemmy/note_comment.json",
            "attributedTo object",
            Box::new({
                let actor = actor.clone();
                move |n: &mut Value| n["attributedTo"] = json!({"id": actor, "type": "Person"})
            }),
        ),
        (
            "gotosocial/note_tags.json",
            "attributedTo array, url Link",
            Box::new({
                let actor = actor.clone();
                move |n: &mut Value| {
                    n["attributedTo"] = json!([actor]);
                    let href = format!("{}/html", id_in(&n["id"]));
                    n["url"] = json!({"type": "Link", "href": href, "mediaType": "text/html"});
                }
            }),
        ),
        (
            "mastodon/note_reply_attachment.json",
            "url array of Links, one tag object",
            Box::new({
                let collective = collective.clone();
                move |n: &mut Value| {
                    let href = format!("{}/html", id_in(&n["id"]));
                    n["url"] = json!([
                        {"type": "Link", "href": href, "mediaType": "text/html"},
                        {"type": "Link", "href": "https://elsewhere.example/x", "mediaType": "text/html"},
                    ]);
                    n["tag"] = json!({"type": "Mention", "href": collective, "name": "@collectif"});
                }
            }),
        ),
    ];
    let mut stored = Vec::new();
    for (path, shape, change) in &variants {
        let (mut create, mut object) = s.reply_to_post(path);
        change(&mut object);
        create["object"] = object.clone();
        assert_eq!(s.send(&create).await, 202, "{path}: {shape}");
        let id = id_in(&object["id"]);
        s.assert_comment(path, &id, &content_of(&object), "").await;
        if let Some(href) = object["url"]
            .as_object()
            .map(|_| &object["url"])
            .or_else(|| object["url"].get(0))
            .and_then(|link| link["href"].as_str())
        {
            assert_eq!(
                s.app
                    .text(&format!(
                        "SELECT url FROM comment WHERE object_url = '{id}'"
                    ))
                    .await,
                href,
                "{path}: {shape}"
            );
        }
        stored.push(id);
    }
    let ids: Vec<&str> = stored.iter().map(String::as_str).collect();
    s.assert_replies(&ids).await;

    // Followers-only (Mastodon's "private"): not republished as a comment.
    let (mut create, mut object) = s.reply_to_post("mastodon/create_note.json");
    object["to"] = json!([format!("{}/followers", s.remote.actor)]);
    object["cc"] = json!([collective]);
    object["id"] = json!(format!("{}/private", id_in(&object["id"])));
    create["id"] = json!(s.remote.id("private"));
    create["object"] = object;
    assert_eq!(s.send(&create).await, 202);
    assert_eq!(s.comments().await, variants.len() as i64);
}
db_test!(odd_shapes_are_understood);
