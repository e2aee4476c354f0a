//! What templates see: small view structs built from rows, with text already translated and
//! dates already formatted. Rows and wire documents never reach a template directly.

use chrono::{DateTime, Utc};

use super::auth::CurrentMember;
use crate::{
    db::post::PostBundle,
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
        "revoked",
    ];
    KNOWN
        .contains(&key)
        .then(|| t.get(&format!("admin.done.{key}")).to_string())
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
    if let Some(title) = bundle
        .post
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        return title.to_string();
    }
    let text: String = bundle
        .post
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
