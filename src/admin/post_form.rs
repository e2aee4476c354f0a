//! The compose/edit form as posted: its fields, the button pressed, and the checks made before
//! anything is written, with messages in the member's language.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::views::FieldError;
use crate::{
    db::post::PostBundle,
    domain::post::{self as rules, Invalid, MAX_TAGS, PostInput},
    i18n::Catalog,
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
