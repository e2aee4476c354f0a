//! The compose/edit form: what is posted, which button was pressed, the checks made before
//! anything is written (with messages in the member's language), and the page built from it —
//! the form, its buttons for this member and this post, and the two-sided preview.

use askama::Template;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::{
    auth::CurrentMember,
    views::{self, Choice, Chrome, FieldError},
};
use crate::{
    db::post::PostBundle,
    domain::post::{
        self as rules, Invalid, MAX_CONTENT_WARNING, MAX_SUMMARY, MAX_TAGS, MAX_TITLE, PostInput,
        Status,
    },
    federation::objects,
    i18n::Catalog,
    state::AppState,
};

/// The form as posted. Every field is text, so that it can be shown again exactly as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PostForm {
    pub title: String,
    pub summary: String,
    pub content_warning: String,
    pub language: String,
    pub body: String,
    pub tags: String,
    /// `datetime-local` value, read as UTC.
    pub scheduled_at: String,
    /// The version the editor opened (optimistic locking).
    pub version: String,
    /// The button pressed.
    pub action: String,
    /// The post being edited, for the live preview (which posts to one URL for all posts).
    pub post: String,
}

impl PostForm {
    /// The form filled with a stored post.
    pub fn of(bundle: &PostBundle) -> PostForm {
        let post = &bundle.post;
        PostForm {
            title: post.title.clone().unwrap_or_default(),
            summary: post.summary.clone().unwrap_or_default(),
            content_warning: post.content_warning.clone().unwrap_or_default(),
            language: post.language.clone(),
            body: post.body_markdown.clone(),
            tags: bundle
                .tags
                .iter()
                .map(|t| t.display.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            scheduled_at: post
                .scheduled_at
                .map(|at| at.format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            version: post.version.to_string(),
            action: String::new(),
            post: post.public_id.clone(),
        }
    }

    pub fn input(&self) -> PostInput {
        PostInput {
            title: Some(self.title.clone()),
            summary: Some(self.summary.clone()),
            content_warning: Some(self.content_warning.clone()),
            language: self.language.clone(),
            body_markdown: self.body.clone(),
            tags: rules::split_tags(&self.tags),
        }
    }
}

/// The button pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Save,
    Preview,
    Submit,
    Publish,
    Schedule,
    BackToDraft,
}

impl Action {
    pub fn parse(value: &str) -> Action {
        match value {
            "preview" => Action::Preview,
            "submit" => Action::Submit,
            "publish" => Action::Publish,
            "schedule" => Action::Schedule,
            "back_to_draft" => Action::BackToDraft,
            _ => Action::Save,
        }
    }

    /// Publishing and scheduling are for editors and admins.
    pub fn needs_publisher(self) -> bool {
        matches!(self, Action::Publish | Action::Schedule)
    }
}

/// Reads a `datetime-local` value (`2026-03-01T14:30`, seconds optional) as UTC.
pub fn parse_schedule(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// A validation problem in the member's language.
pub fn invalid_message(t: Catalog, invalid: &Invalid) -> String {
    match invalid {
        Invalid::Empty { .. } => t.get("admin.invalid.empty").to_string(),
        Invalid::TooLong { max, actual, .. } => t.fmt(
            "admin.invalid.too_long",
            &[("max", &max.to_string()), ("actual", &actual.to_string())],
        ),
        Invalid::NoLetters { .. } => t.get("admin.invalid.no_letters").to_string(),
        Invalid::UnknownLanguage(code) => {
            t.fmt("admin.invalid.unknown_language", &[("code", code)])
        }
        Invalid::BadTag(tag) => t.fmt("admin.invalid.bad_tag", &[("tag", tag)]),
        Invalid::TooManyTags => t.fmt(
            "admin.invalid.too_many_tags",
            &[("max", &MAX_TAGS.to_string())],
        ),
        Invalid::ScheduleInPast => t.get("admin.invalid.schedule_in_past").to_string(),
    }
}

/// One entry per field (several problems with one field are joined).
pub fn field_errors(t: Catalog, problems: &[Invalid]) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for problem in problems {
        let message = invalid_message(t, problem);
        match errors.iter_mut().find(|e| e.field == problem.field()) {
            Some(existing) => {
                existing.message.push(' ');
                existing.message.push_str(&message);
            }
            None => errors.push(field_error(t, problem.field(), message)),
        }
    }
    errors
}

pub fn field_error(t: Catalog, field: &'static str, message: String) -> FieldError {
    FieldError {
        field,
        label: t.get(&format!("admin.post.field.{field}")).to_string(),
        message,
    }
}

/// Checks the form for `action` before anything is written; the schedule is parsed when the
/// action is to schedule.
pub fn check(
    t: Catalog,
    form: &PostForm,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Vec<FieldError>> {
    let mut problems = rules::validate(form.input()).err().unwrap_or_default();
    let mut unreadable_schedule = false;
    let mut at = None;
    if action == Action::Schedule {
        match parse_schedule(&form.scheduled_at) {
            Some(when) => match rules::validate_schedule(when, now) {
                Ok(()) => at = Some(when),
                Err(problem) => problems.push(problem),
            },
            None => unreadable_schedule = true,
        }
    }
    let mut errors = field_errors(t, &problems);
    if unreadable_schedule {
        let message = t.get("admin.invalid.schedule_format").to_string();
        errors.push(field_error(t, "scheduled_at", message));
    }
    if errors.is_empty() {
        Ok(at)
    } else {
        Err(errors)
    }
}

/// The post being edited, as far as the form needs to know.
pub struct Editing {
    pub public_id: String,
    pub status: Status,
    pub author_id: i64,
    pub author_name: String,
    pub pinned: bool,
    pub public_url: String,
}

impl Editing {
    pub fn of(state: &AppState, bundle: &PostBundle) -> Editing {
        Editing {
            public_id: bundle.post.public_id.clone(),
            status: bundle.status(),
            author_id: bundle.author.id,
            author_name: bundle.author.display_name.clone(),
            pinned: bundle.post.pinned_at.is_some(),
            public_url: state.urls.post(&bundle.post.public_id).to_string(),
        }
    }
}

/// Which buttons this member gets for this post.
#[derive(Default)]
pub struct Buttons {
    pub save_key: &'static str,
    pub submit: bool,
    pub publish: bool,
    pub schedule: bool,
    pub back_to_draft_key: Option<&'static str>,
}

fn buttons(me: &CurrentMember, editing: Option<&Editing>) -> Buttons {
    let publisher = me.role.can_publish();
    let status = editing.map_or(Status::Draft, |e| e.status);
    let mine = editing.is_none_or(|e| e.author_id == me.member.id);
    match status {
        Status::Draft => Buttons {
            save_key: "admin.post.save_draft",
            submit: !publisher,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: None,
        },
        Status::Review => Buttons {
            save_key: "admin.post.save",
            submit: false,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: Some(if mine && !publisher {
                "admin.post.take_back"
            } else {
                "admin.post.send_back"
            }),
        },
        Status::Scheduled => Buttons {
            save_key: "admin.post.save",
            submit: false,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: Some("admin.post.unschedule"),
        },
        Status::Published => Buttons {
            save_key: "admin.post.save_published",
            ..Buttons::default()
        },
        Status::Deleted => Buttons::default(),
    }
}

/// Whether this member may change the post (as `service::post::update` decides).
pub fn can_edit(me: &CurrentMember, editing: Option<&Editing>) -> bool {
    match editing {
        None => true,
        Some(e) => match e.status {
            Status::Draft | Status::Review => e.author_id == me.member.id || me.role.can_publish(),
            Status::Scheduled | Status::Published => me.role.can_publish(),
            Status::Deleted => false,
        },
    }
}

/// What the preview shows: the public page, and the post as Mastodon will display it.
pub struct Preview {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub language: String,
    pub author: String,
    /// Sanitized by `domain::markdown::render`.
    pub body_html: String,
    pub tags: Vec<String>,
    /// `Note` or `Article`.
    pub kind: &'static str,
    /// Shown by Mastodon in place of the text until the reader opens it (Notes only).
    pub mastodon_warning: Option<String>,
    /// Built from escaped text and the sanitized body.
    pub mastodon_html: String,
    pub collective_name: String,
    pub handle: String,
}

impl Preview {
    /// `public_url` is where the post will be (the link Mastodon shows under an Article).
    pub fn of(state: &AppState, bundle: &PostBundle, public_url: &str) -> Preview {
        let post = &bundle.post;
        let kind = objects::object_type(bundle);
        let (mastodon_warning, mastodon_html) = if kind == "Article" {
            // Mastodon turns an Article into its title, its summary and a link to the page.
            let title = html_escape::encode_text(post.title.as_deref().unwrap_or_default());
            let link = html_escape::encode_double_quoted_attribute(public_url);
            let text = html_escape::encode_text(public_url);
            let html = format!(
                "<h2>{title}</h2>{}<p><a href=\"{link}\">{text}</a></p>",
                objects::lede(bundle)
            );
            (None, html)
        } else {
            (post.content_warning.clone(), objects::content_html(bundle))
        };
        Preview {
            title: post.title.clone(),
            summary: post.summary.clone(),
            language: post.language.clone(),
            author: bundle.author.display_name.clone(),
            body_html: post.body_html.clone(),
            tags: bundle
                .tags
                .iter()
                .map(|t| format!("#{}", t.display))
                .collect(),
            kind,
            mastodon_warning,
            mastodon_html,
            collective_name: state.settings.collective.name.clone(),
            handle: format!("@{}@{}", state.collective.username, state.settings.domain()),
        }
    }
}

/// The preview alone, for the live preview of `static/admin.js`.
#[derive(Template)]
#[template(path = "admin/preview_fragment.html")]
pub struct PreviewFragment {
    pub t: Catalog,
    pub preview: Option<Preview>,
    pub errors: Vec<FieldError>,
}

/// The compose/edit page.
#[derive(Template)]
#[template(path = "admin/post_form.html")]
pub struct PostPage {
    pub t: Catalog,
    pub chrome: Chrome,
    pub heading: String,
    pub action_url: String,
    pub form: PostForm,
    pub errors: Vec<FieldError>,
    /// A refusal or a conflict, shown above the form.
    pub alert: Option<String>,
    pub languages: Vec<Choice>,
    pub buttons: Buttons,
    pub read_only: bool,
    pub status_label: Option<String>,
    pub author_name: Option<String>,
    pub public_url: Option<String>,
    pub public_id: String,
    pub pinned: bool,
    pub can_pin: bool,
    pub can_delete: bool,
    pub preview: Option<Preview>,
    /// After a conflict: the text saved by someone else, to merge by hand.
    pub theirs: Option<String>,
    pub max_title: usize,
    pub max_summary: usize,
    pub max_content_warning: usize,
}

impl PostPage {
    pub fn new(
        me: &CurrentMember,
        editing: Option<&Editing>,
        form: PostForm,
        errors: Vec<FieldError>,
    ) -> PostPage {
        let t = me.t();
        let publisher = me.role.can_publish();
        let status = editing.map(|e| e.status);
        let published = status == Some(Status::Published);
        let (heading, action_url) = match editing {
            Some(e) => (
                t.get("admin.post.edit_title").to_string(),
                format!("/admin/posts/{}/edit", e.public_id),
            ),
            None => (
                t.get("admin.post.new_title").to_string(),
                "/admin/posts/new".to_string(),
            ),
        };
        let can_delete = editing.is_some_and(|e| match e.status {
            Status::Draft | Status::Review => e.author_id == me.member.id || publisher,
            Status::Scheduled | Status::Published => publisher,
            Status::Deleted => false,
        });
        PostPage {
            t,
            chrome: Chrome::of(me, if editing.is_some() { "posts" } else { "new" }),
            heading,
            action_url,
            languages: views::post_languages(&form.language),
            form,
            errors,
            alert: None,
            buttons: buttons(me, editing),
            read_only: !can_edit(me, editing),
            status_label: status.map(|s| views::status_label(t, s)),
            author_name: editing.map(|e| e.author_name.clone()),
            public_url: editing.filter(|_| published).map(|e| e.public_url.clone()),
            public_id: editing.map(|e| e.public_id.clone()).unwrap_or_default(),
            pinned: editing.is_some_and(|e| e.pinned),
            can_pin: published && publisher,
            can_delete,
            preview: None,
            theirs: None,
            max_title: MAX_TITLE,
            max_summary: MAX_SUMMARY,
            max_content_warning: MAX_CONTENT_WARNING,
        }
    }

    pub fn with_alert(mut self, alert: String) -> PostPage {
        self.alert = Some(alert);
        self
    }

    pub fn with_done(mut self, done: Option<&str>) -> PostPage {
        self.chrome = self.chrome.with_done(self.t, done);
        self
    }

    /// The message of `field`, for the template.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        views::error_for(&self.errors, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_read_as_utc() {
        let at = parse_schedule("2030-05-01T14:30").expect("parses");
        assert_eq!(at.to_rfc3339(), "2030-05-01T14:30:00+00:00");
        assert!(parse_schedule("2030-05-01T14:30:15").is_some());
        assert!(parse_schedule("tomorrow").is_none());
        assert!(parse_schedule("").is_none());
    }

    #[test]
    fn problems_are_translated_with_their_limits() {
        let t = Catalog::new(crate::i18n::Locale::En);
        let message = invalid_message(
            t,
            &Invalid::TooLong {
                field: "title",
                max: 200,
                actual: 214,
            },
        );
        assert_eq!(message, "At most 200 characters (got 214).");
        let fr = Catalog::new(crate::i18n::Locale::Fr);
        let message = invalid_message(
            fr,
            &Invalid::TooLong {
                field: "title",
                max: 200,
                actual: 214,
            },
        );
        assert_eq!(message, "200 caractères au maximum (214 saisis).");
    }
}
