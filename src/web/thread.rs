//! The conversation under a post as its page shows it: approved replies nested by `parent_id`
//! (indentation capped at [`MAX_LEVEL`], deeper replies shown flat with "in reply to …"),
//! tombstones where a deleted reply was answered, like and boost counts, and who boosted.
//!
//! Everything here is remote and untrusted: names, handles and warnings are plain strings the
//! templates escape; only `body_html`, sanitized before storage (`domain::sanitize`), is marked
//! safe. Every remote URL is kept only if it is http(s), and avatars (the only remote images)
//! only when the admin chose `moderation.show_remote_avatars`.

use std::collections::{BTreeSet, HashMap, HashSet};

use url::Url;

use super::{chrome::Chrome, view::DateView};
use crate::db::{
    comment::{CommentWithAuthor, Conversation},
    entity::{comment, remote_actor},
};

/// Deepest indentation; replies deeper still are shown at this level.
pub const MAX_LEVEL: usize = 6;

/// Boosters named on the page (the rest are counted).
pub const BOOSTERS_SHOWN: u64 = 40;

/// Beyond this many distinct avatar origins, the page's `img-src` names schemes instead.
const MAX_CSP_ORIGINS: usize = 32;

/// The rel of every link to another server.
pub const REMOTE_REL: &str = "nofollow noopener noreferrer ugc";

/// A remote actor as shown.
pub struct ActorView {
    /// The display name, else the username.
    pub name: String,
    /// `username@host` (with the port when it is not the default one).
    pub handle: String,
    /// The profile page (else the actor's id), http(s) only.
    pub url: Option<String>,
    /// Only when remote avatars are shown.
    pub avatar_url: Option<String>,
}

impl ActorView {
    pub fn new(actor: &remote_actor::Model, show_avatar: bool) -> ActorView {
        let name = actor
            .name
            .as_deref()
            .map(super::view::one_line)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| actor.preferred_username.clone());
        ActorView {
            name,
            handle: handle(actor),
            url: actor
                .profile_url
                .as_deref()
                .and_then(web_url)
                .or_else(|| web_url(&actor.actor_url)),
            avatar_url: show_avatar
                .then(|| actor.icon_url.as_deref().and_then(web_url))
                .flatten(),
        }
    }
}

/// A reply to whom a flat (too deep) reply answers: their name, and the anchor of the reply.
pub struct ParentRef {
    pub name: String,
    pub anchor: String,
}

/// One reply as shown (or the tombstone of a deleted one).
pub struct CommentView {
    /// The element id, for `#comment-N` links.
    pub anchor: String,
    pub tombstone: bool,
    pub author: ActorView,
    pub published: DateView,
    pub edited: Option<DateView>,
    /// The original on its server, http(s) only.
    pub url: Option<String>,
    /// The warning to show before the text: the author's, or a generic one for a reply only
    /// marked sensitive.
    pub content_warning: Option<String>,
    /// A well-formed language tag, if the reply gave one.
    pub lang: Option<String>,
    /// Sanitized before storage: safe to insert as is.
    pub body_html: String,
    /// Set on replies shown flat below the indentation cap.
    pub in_reply_to: Option<ParentRef>,
}

/// The thread, as the template writes it: nested `<ol>`/`<li>` without recursion.
pub enum ThreadEvent {
    /// `<ol>`; the first one is the thread itself, the others the replies to a reply.
    OpenList {
        root: bool,
    },
    /// `<li>` and the reply.
    OpenItem(Box<CommentView>),
    CloseItem,
    CloseList,
}

/// The conversation part of a post's page.
pub struct ConversationView {
    pub events: Vec<ThreadEvent>,
    /// "3 replies" (tombstones not counted).
    pub heading: String,
    pub likes: String,
    pub boosts: String,
    pub boosters: Vec<ActorView>,
    /// "and 12 others", when more boosted than are named.
    pub more_boosters: Option<String>,
    /// The origins of the avatars shown, for the page's `img-src`.
    pub image_sources: Vec<String>,
}

impl ConversationView {
    pub fn new(conversation: &Conversation, chrome: &Chrome, show_avatars: bool) -> Self {
        let locale = chrome.t.locale;
        let comments = &conversation.comments;
        let order = thread_order(comments);
        let shown = order
            .iter()
            .filter(|(i, _)| comments[*i].comment.state != comment::DELETED)
            .count();
        let deleted_label = chrome.t.get("site.thread.deleted");
        let sensitive_label = chrome.t.get("site.thread.sensitive");
        let index_of: HashMap<i64, usize> = comments
            .iter()
            .enumerate()
            .map(|(i, c)| (c.comment.id, i))
            .collect();
        let mut events = Vec::with_capacity(order.len() * 2 + 2);
        let mut previous = 0;
        let mut sources = BTreeSet::new();
        for (i, depth) in order {
            let level = depth.min(MAX_LEVEL);
            let CommentWithAuthor { comment, author } = &comments[i];
            let tombstone = comment.state == comment::DELETED;
            let author = ActorView::new(author, show_avatars && !tombstone);
            if let Some(avatar) = &author.avatar_url
                && let Ok(url) = Url::parse(avatar)
            {
                sources.insert(url.origin().ascii_serialization());
            }
            let in_reply_to = (depth > MAX_LEVEL)
                .then(|| comment.parent_id.and_then(|p| index_of.get(&p)))
                .flatten()
                .map(|&p| {
                    let parent = &comments[p];
                    ParentRef {
                        name: if parent.comment.state == comment::DELETED {
                            deleted_label.to_string()
                        } else {
                            ActorView::new(&parent.author, false).name
                        },
                        anchor: anchor(parent.comment.id),
                    }
                });
            let view = CommentView {
                anchor: anchor(comment.id),
                tombstone,
                published: DateView::new(comment.published_at, locale),
                edited: comment.updated_at.map(|at| DateView::new(at, locale)),
                url: comment.url.as_deref().and_then(web_url),
                content_warning: comment
                    .summary
                    .as_deref()
                    .map(super::view::one_line)
                    .filter(|s| !s.is_empty())
                    .or_else(|| comment.sensitive.then(|| sensitive_label.to_string())),
                lang: comment.language.as_deref().and_then(language_tag),
                body_html: if tombstone {
                    String::new()
                } else {
                    comment.content_html.clone()
                },
                in_reply_to,
                author,
            };
            if level > previous {
                events.push(ThreadEvent::OpenList {
                    root: previous == 0,
                });
            } else {
                events.push(ThreadEvent::CloseItem);
                for _ in level..previous {
                    events.push(ThreadEvent::CloseList);
                    events.push(ThreadEvent::CloseItem);
                }
            }
            events.push(ThreadEvent::OpenItem(Box::new(view)));
            previous = level;
        }
        if previous > 0 {
            events.push(ThreadEvent::CloseItem);
            for _ in 1..previous {
                events.push(ThreadEvent::CloseList);
                events.push(ThreadEvent::CloseItem);
            }
            events.push(ThreadEvent::CloseList);
        }
        let boosters: Vec<ActorView> = conversation
            .boosters
            .iter()
            .map(|b| ActorView::new(b, show_avatars))
            .collect();
        for avatar in boosters.iter().filter_map(|b| b.avatar_url.as_deref()) {
            if let Ok(url) = Url::parse(avatar) {
                sources.insert(url.origin().ascii_serialization());
            }
        }
        let named = boosters.len() as u64;
        let more_boosters = (conversation.boosts > named)
            .then(|| chrome.count("site.thread.more_boosters", conversation.boosts - named));
        ConversationView {
            events,
            heading: chrome.count("site.thread.replies", shown as u64),
            likes: chrome.count("site.thread.likes", conversation.likes),
            boosts: chrome.count("site.thread.boosts", conversation.boosts),
            boosters,
            more_boosters,
            image_sources: csp_sources(sources),
        }
    }

    /// Whether there is any reply (or tombstone) to show.
    pub fn has_replies(&self) -> bool {
        !self.events.is_empty()
    }
}

fn anchor(id: i64) -> String {
    format!("comment-{id}")
}

/// The order replies are shown in, with their depth in the thread (1 for an answer to the
/// post): depth first, each reply's answers after it, oldest first at every level. A reply whose parent is
/// not shown (held, rejected, hidden, or by a blocked author) starts a thread of its own;
/// tombstones that nothing shown answers are left out.
fn thread_order(comments: &[CommentWithAuthor]) -> Vec<(usize, usize)> {
    let ids: HashSet<i64> = comments.iter().map(|c| c.comment.id).collect();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (i, c) in comments.iter().enumerate() {
        let parent = c.comment.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(i);
    }
    // Which replies lead to something worth showing (themselves, or an answer under them).
    let mut visible = vec![false; comments.len()];
    let mut post_order = Vec::with_capacity(comments.len());
    let mut stack: Vec<(usize, bool)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, false)).collect())
        .unwrap_or_default();
    let mut seen = vec![false; comments.len()];
    while let Some((i, expanded)) = stack.pop() {
        if expanded {
            post_order.push(i);
            continue;
        }
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.push((i, true));
        if let Some(kids) = children.get(&Some(comments[i].comment.id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, false)));
        }
    }
    for &i in &post_order {
        let answered = children
            .get(&Some(comments[i].comment.id))
            .is_some_and(|kids| kids.iter().any(|&k| visible[k]));
        visible[i] = comments[i].comment.state != comment::DELETED || answered;
    }
    let mut order = Vec::with_capacity(comments.len());
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 1)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        if !visible[i] {
            continue;
        }
        order.push((i, depth));
        if let Some(kids) = children.get(&Some(comments[i].comment.id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    order
}

/// `username@host[:port]` of a remote actor.
pub fn handle(actor: &remote_actor::Model) -> String {
    let host = Url::parse(&actor.actor_url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_ascii_lowercase();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| actor.host.clone());
    format!("{}@{host}", actor.preferred_username)
}

/// A remote URL fit for `href` or `src`: absolute http(s), else nothing.
pub fn web_url(value: &str) -> Option<String> {
    Url::parse(value.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .map(String::from)
}

/// A language tag as `lang` accepts it (`fr`, `pt-BR`, `zh-Hant`), else nothing.
pub fn language_tag(value: &str) -> Option<String> {
    let mut parts = value.split('-');
    let primary = parts.next()?;
    let primary_ok =
        (2..=8).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    (primary_ok && rest_ok).then(|| value.to_string())
}

/// `img-src` sources for the avatars shown: their origins, or their schemes when there are
/// too many to list.
fn csp_sources(origins: BTreeSet<String>) -> Vec<String> {
    let origins: Vec<String> = origins.into_iter().filter(|o| o != "null").collect();
    if origins.len() <= MAX_CSP_ORIGINS {
        return origins;
    }
    let schemes: BTreeSet<String> = origins
        .iter()
        .filter_map(|o| o.split_once("://").map(|(scheme, _)| format!("{scheme}:")))
        .collect();
    schemes.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn actor(id: i64) -> remote_actor::Model {
        remote_actor::Model {
            id,
            actor_url: format!("https://m{id}.example:8443/users/u{id}"),
            kind: "Person".into(),
            host: format!("m{id}.example"),
            preferred_username: format!("u{id}"),
            name: Some(format!("User {id}")),
            inbox_url: String::new(),
            shared_inbox_url: None,
            profile_url: Some("javascript:alert(1)".into()),
            icon_url: Some(format!("https://cdn{id}.example/a.png")),
            key_id: String::new(),
            public_key_pem: String::new(),
            fetched_at: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
        }
    }

    fn reply(id: i64, parent: Option<i64>, state: &str) -> CommentWithAuthor {
        CommentWithAuthor {
            comment: comment::Model {
                id,
                object_url: format!("https://m.example/notes/{id}"),
                post_id: 1,
                parent_id: parent,
                in_reply_to_url: String::new(),
                author_id: id,
                content_html: format!("<p>{id}</p>"),
                summary: None,
                sensitive: false,
                language: None,
                url: None,
                published_at: Utc.timestamp_opt(id, 0).single().unwrap_or_default(),
                updated_at: None,
                state: state.into(),
                depth: 1,
                received_at: Utc.timestamp_opt(id, 0).single().unwrap_or_default(),
            },
            author: actor(id),
        }
    }

    #[test]
    fn replies_nest_depth_first_and_flatten_past_the_cap() {
        let comments = vec![
            reply(1, None, comment::APPROVED),
            reply(2, None, comment::APPROVED),
            reply(3, Some(1), comment::APPROVED),
            reply(4, Some(3), comment::APPROVED),
            reply(5, Some(99), comment::APPROVED), // its parent is not shown
        ];
        let order: Vec<(i64, usize)> = thread_order(&comments)
            .into_iter()
            .map(|(i, depth)| (comments[i].comment.id, depth))
            .collect();
        assert_eq!(order, vec![(1, 1), (3, 2), (4, 3), (2, 1), (5, 1)]);

        let mut chain = vec![reply(1, None, comment::APPROVED)];
        for id in 2..=9 {
            chain.push(reply(id, Some(id - 1), comment::APPROVED));
        }
        let depths: Vec<usize> = thread_order(&chain).into_iter().map(|(_, d)| d).collect();
        assert_eq!(depths, (1..=9).collect::<Vec<_>>());
    }

    #[test]
    fn tombstones_stay_only_where_something_shown_answers_them() {
        let comments = vec![
            reply(1, None, comment::DELETED),
            reply(2, Some(1), comment::APPROVED),
            reply(3, None, comment::DELETED),
            reply(4, Some(3), comment::DELETED),
        ];
        let ids: Vec<i64> = thread_order(&comments)
            .into_iter()
            .map(|(i, _)| comments[i].comment.id)
            .collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn remote_urls_and_tags_are_checked() {
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("data:image/png;base64,AAAA"), None);
        assert_eq!(
            web_url(" https://a.example/x "),
            Some("https://a.example/x".into())
        );
        assert_eq!(language_tag("pt-BR").as_deref(), Some("pt-BR"));
        assert_eq!(language_tag("fr\" onclick=\"x"), None);
        assert_eq!(language_tag(""), None);
        let a = actor(7);
        assert_eq!(handle(&a), "u7@m7.example:8443");
        let view = ActorView::new(&a, false);
        assert_eq!(
            view.url.as_deref(),
            Some("https://m7.example:8443/users/u7")
        );
        assert!(view.avatar_url.is_none());
        assert!(ActorView::new(&a, true).avatar_url.is_some());
    }
}
