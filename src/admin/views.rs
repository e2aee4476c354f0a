//! What templates see: small view structs built from rows, with text already translated and
//! dates already formatted. Rows and wire documents never reach a template directly.

use chrono::{DateTime, Utc};

use super::auth::CurrentMember;
use crate::{
    db::{
        entity::{post, remote_actor},
        post::PostBundle,
    },
    domain::post::Status,
    i18n::{Catalog, Locale},
    state::AppState,
};

/// The frame around every page: who is logged in (for the menu), the token of the logout form,
/// which menu entry is current, and a one-line confirmation after an action.
pub struct Chrome {
    pub member: Option<NavMember>,
    pub csrf: String,
    pub section: &'static str,
    pub notice: Option<String>,
}

pub struct NavMember {
    pub display_name: String,
    pub is_admin: bool,
    /// Editors and admins: replies, notifications, followers and delivery pages.
    pub is_editor: bool,
}

impl Chrome {
    /// The frame of a page for someone not logged in (login, errors).
    pub fn anonymous() -> Chrome {
        Chrome {
            member: None,
            csrf: String::new(),
            section: "",
            notice: None,
        }
    }

    pub fn of(me: &CurrentMember, section: &'static str) -> Chrome {
        Chrome {
            member: Some(NavMember {
                display_name: me.member.display_name.clone(),
                is_admin: me.role.can_manage_members(),
                is_editor: me.role.can_publish(),
            }),
            csrf: me.csrf.clone(),
            section,
            notice: None,
        }
    }

    /// Adds the confirmation of `done` (from `?done=…` after a redirect), if it is a known one.
    pub fn with_done(mut self, t: Catalog, done: Option<&str>) -> Chrome {
        self.notice = done.and_then(|key| done_message(t, key));
        self
    }
}

/// Confirmations shown after a redirect. Only these keys are accepted, so a link cannot make
/// the panel display arbitrary text.
fn done_message(t: Catalog, key: &str) -> Option<String> {
    const KNOWN: &[&str] = &[
        "saved",
        "updated",
        "submitted",
        "published",
        "scheduled",
        "back_to_draft",
        "pinned",
        "unpinned",
        "deleted",
        "member_added",
        "role_changed",
        "disabled",
        "enabled",
        "password",
        "language",
        "logged_out",
        "follower_approved",
        "follower_rejected",
        "follower_removed",
        "host_retried",
        "comment_approved",
        "comment_rejected",
        "comment_hidden",
        "comment_deleted",
        "author_blocked",
        "instance_blocked",
        "settings_saved",
        "block_added",
        "allow_added",
        "block_removed",
        "revoked",
    ];
    KNOWN
        .contains(&key)
        .then(|| t.get(&format!("admin.done.{key}")).to_string())
}

/// `user@host`, with the port when the actor's URL has one (`alice@localhost:8080`).
pub fn handle_of(actor: &remote_actor::Model) -> String {
    let host = url::Url::parse(&actor.actor_url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_string();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| actor.host.clone());
    format!("{}@{host}", actor.preferred_username)
}

/// A remote actor's name: their display name, else their username.
pub fn actor_name(actor: &remote_actor::Model) -> String {
    actor
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&actor.preferred_username)
        .to_string()
}

/// `url` if it is a web address (what remote servers send is not trusted to be one).
pub fn web_link(url: &str) -> Option<String> {
    (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_string())
}

/// A remote actor's page: their profile, else their actor URL.
pub fn actor_link(actor: &remote_actor::Model) -> Option<String> {
    web_link(actor.profile_url.as_deref().unwrap_or(&actor.actor_url))
}

/// Where a post is seen: its public page once published, else its edit page.
pub fn post_link(state: &AppState, post: &post::Model) -> String {
    if post.status == Status::Published.as_str() {
        state.urls.post(&post.public_id).to_string()
    } else {
        format!("/admin/posts/{}/edit", post.public_id)
    }
}

/// `2026-03-01 14:30 UTC`: unambiguous whatever the member's time zone.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn status_label(t: Catalog, status: Status) -> String {
    t.get(&format!("admin.status.{}", status.as_str()))
        .to_string()
}

/// One post in a list.
pub struct PostRow {
    pub title: String,
    pub status: &'static str,
    pub status_label: String,
    pub author: String,
    pub when: String,
    pub edit_url: String,
    pub public_url: Option<String>,
    pub pinned: bool,
}

/// A list title: the post's title, else the start of its text.
fn display_title(bundle: &PostBundle) -> String {
    post_title(&bundle.post)
}

/// A post's title, else the start of its text.
pub fn post_title(post: &post::Model) -> String {
    if let Some(title) = post.title.as_deref().filter(|t| !t.trim().is_empty()) {
        return title.to_string();
    }
    let text: String = post
        .body_markdown
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > 70 {
        format!("{}…", text.chars().take(70).collect::<String>())
    } else {
        text
    }
}

impl PostRow {
    pub fn of(state: &AppState, t: Catalog, bundle: &PostBundle) -> PostRow {
        let post = &bundle.post;
        let status = bundle.status();
        let at = match status {
            Status::Scheduled => post.scheduled_at,
            Status::Published => post.published_at,
            _ => None,
        }
        .unwrap_or(post.updated_at);
        PostRow {
            title: display_title(bundle),
            status: status.as_str(),
            status_label: status_label(t, status),
            author: bundle.author.display_name.clone(),
            when: when(at),
            edit_url: format!("/admin/posts/{}/edit", post.public_id),
            public_url: (status == Status::Published)
                .then(|| state.urls.post(&post.public_id).to_string()),
            pinned: post.pinned_at.is_some(),
        }
    }

    pub fn all(state: &AppState, t: Catalog, bundles: &[PostBundle]) -> Vec<PostRow> {
        bundles.iter().map(|b| PostRow::of(state, t, b)).collect()
    }
}

/// A problem with one form field, already in the member's language.
pub struct FieldError {
    pub field: &'static str,
    pub label: String,
    pub message: String,
}

/// Finds the message of `field` among `errors`.
pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// The interface languages offered on the account page.
pub fn interface_languages(t: Catalog, current: &str) -> Vec<Choice> {
    [
        ("", "admin.account.language_browser"),
        ("fr", "admin.account.language_fr"),
        ("en", "admin.account.language_en"),
    ]
    .into_iter()
    .map(|(value, key)| Choice {
        value: value.to_string(),
        label: t.get(key).to_string(),
        selected: value == current,
    })
    .collect()
}

/// An option of a select or a radio group.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The languages offered for a post (ISO 639-1), each named in its own language so that a
/// reader of that language recognises it. `current` is added if it is not among them.
pub fn post_languages(current: &str) -> Vec<Choice> {
    const COMMON: &[(&str, &str)] = &[
        ("fr", "français"),
        ("en", "English"),
        ("es", "español"),
        ("de", "Deutsch"),
        ("it", "italiano"),
        ("pt", "português"),
        ("nl", "Nederlands"),
        ("ca", "català"),
        ("eu", "euskara"),
        ("br", "brezhoneg"),
        ("oc", "occitan"),
        ("co", "corsu"),
        ("ar", "العربية"),
        ("tr", "Türkçe"),
        ("pl", "polski"),
        ("ro", "română"),
        ("ru", "русский"),
        ("uk", "українська"),
        ("zh", "中文"),
        ("ja", "日本語"),
        ("eo", "Esperanto"),
    ];
    let mut choices: Vec<Choice> = COMMON
        .iter()
        .map(|(code, name)| Choice {
            value: code.to_string(),
            label: format!("{name} ({code})"),
            selected: *code == current,
        })
        .collect();
    if !current.is_empty() && !COMMON.iter().any(|(code, _)| *code == current) {
        choices.push(Choice {
            value: current.to_string(),
            label: current.to_string(),
            selected: true,
        });
    }
    choices
}

/// The role names, translated, for selects.
pub fn roles(t: Catalog, current: &str) -> Vec<Choice> {
    crate::domain::member::Role::ALL
        .iter()
        .map(|role| Choice {
            value: role.as_str().to_string(),
            label: t.get(&format!("admin.roles.{}", role.as_str())).to_string(),
            selected: role.as_str() == current,
        })
        .collect()
}

/// The default language of new posts.
pub fn default_post_language(state: &AppState) -> String {
    Locale::parse(&state.settings.instance.default_locale)
        .unwrap_or(Locale::Fr)
        .as_str()
        .to_string()
}

/// Renders a page with `status`.
pub fn html(
    status: axum::http::StatusCode,
    page: &impl askama::Template,
) -> Result<axum::response::Response, super::failure::AdminError> {
    use axum::response::IntoResponse;
    let body = page
        .render()
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("admin template: {e}")))?;
    Ok((status, axum::response::Html(body)).into_response())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn actor(url: &str, name: Option<&str>) -> remote_actor::Model {
        remote_actor::Model {
            id: 1,
            actor_url: url.to_string(),
            kind: "Person".into(),
            host: url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
            preferred_username: "alice".into(),
            name: name.map(str::to_string),
            inbox_url: format!("{url}/inbox"),
            shared_inbox_url: None,
            profile_url: None,
            icon_url: None,
            key_id: format!("{url}#main-key"),
            public_key_pem: String::new(),
            fetched_at: Utc::now(),
        }
    }

    #[test]
    fn handles_keep_the_port_of_the_actor_url() {
        assert_eq!(
            handle_of(&actor("https://example.social/users/alice", None)),
            "alice@example.social"
        );
        assert_eq!(
            handle_of(&actor("http://localhost:8080/users/alice", None)),
            "alice@localhost:8080"
        );
    }

    #[test]
    fn names_fall_back_to_the_username_and_links_must_be_web_addresses() {
        let a = actor("https://example.social/users/alice", Some("  "));
        assert_eq!(actor_name(&a), "alice");
        let a = actor("https://example.social/users/alice", Some("Alice"));
        assert_eq!(actor_name(&a), "Alice");
        assert_eq!(
            web_link("javascript:alert(1)"),
            None,
            "no script links from remote servers"
        );
        assert_eq!(
            actor_link(&a).as_deref(),
            Some("https://example.social/users/alice")
        );
    }
}
