//! Posts: their fields, limits, statuses and validation. Pure: no database, no HTTP.

use std::fmt;

use chrono::{DateTime, Utc};

use super::markdown::valid_hashtag;

/// Where a post is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Review,
    Scheduled,
    Published,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Review => "review",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "review" => Status::Review,
            "scheduled" => Status::Scheduled,
            "published" => Status::Published,
            "deleted" => Status::Deleted,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_SUMMARY: usize = 1_000;
pub const MAX_CONTENT_WARNING: usize = 500;
pub const MAX_BODY: usize = 100_000;
pub const MAX_TAGS: usize = 20;

/// The fields an author edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content_warning: Option<String>,
    pub language: String,
    pub body_markdown: String,
    /// Extra tags typed in the tags field (inline `#hashtags` are found in the body).
    pub tags: Vec<String>,
}

/// One thing wrong with a post's fields; `field` names the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: at most {max} characters (got {actual})")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("{field}: must contain letters or digits, not only punctuation")]
    NoLetters { field: &'static str },
    #[error(
        "language: unknown language code {0:?} (use a two-letter ISO 639-1 code such as fr or en)"
    )]
    UnknownLanguage(String),
    #[error("tags: {0:?} is not a valid tag (letters, digits and _, with at least one letter)")]
    BadTag(String),
    #[error("tags: at most {MAX_TAGS} tags")]
    TooManyTags,
    #[error("scheduled_at: the publication time must be in the future")]
    ScheduleInPast,
}

impl Invalid {
    /// The form field the message belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            Invalid::Empty { field }
            | Invalid::TooLong { field, .. }
            | Invalid::NoLetters { field } => field,
            Invalid::UnknownLanguage(_) => "language",
            Invalid::BadTag(_) | Invalid::TooManyTags => "tags",
            Invalid::ScheduleInPast => "scheduled_at",
        }
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), Invalid> {
    let actual = value.chars().count();
    if actual > max {
        return Err(Invalid::TooLong { field, max, actual });
    }
    Ok(())
}

fn has_letters(value: &str) -> bool {
    value.chars().any(char::is_alphanumeric)
}

/// Normalises (trims, drops empty optionals, lowercases the language, strips `#` from tags)
/// and validates. Returns every problem, so the form can show them all at once.
pub fn validate(input: PostInput) -> Result<PostInput, Vec<Invalid>> {
    let mut errors = Vec::new();
    let title = trimmed(input.title);
    let summary = trimmed(input.summary);
    let content_warning = trimmed(input.content_warning);
    let language = input.language.trim().to_ascii_lowercase();
    let body_markdown = input.body_markdown.trim_end().to_string();

    if let Some(title) = &title {
        if let Err(e) = check_len("title", title, MAX_TITLE) {
            errors.push(e);
        } else if !has_letters(title) {
            errors.push(Invalid::NoLetters { field: "title" });
        }
    }
    if let Some(summary) = &summary
        && let Err(e) = check_len("summary", summary, MAX_SUMMARY)
    {
        errors.push(e);
    }
    if let Some(cw) = &content_warning
        && let Err(e) = check_len("content_warning", cw, MAX_CONTENT_WARNING)
    {
        errors.push(e);
    }
    if body_markdown.trim().is_empty() {
        errors.push(Invalid::Empty { field: "body" });
    } else if let Err(e) = check_len("body", &body_markdown, MAX_BODY) {
        errors.push(e);
    }
    if language.len() != 2 || isolang::Language::from_639_1(&language).is_none() {
        errors.push(Invalid::UnknownLanguage(input.language.trim().to_string()));
    }
    let mut tags: Vec<String> = Vec::new();
    for raw in &input.tags {
        let tag = raw.trim().trim_start_matches('#');
        if tag.is_empty() {
            continue;
        }
        if !valid_hashtag(tag) {
            errors.push(Invalid::BadTag(raw.trim().to_string()));
        } else if !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        errors.push(Invalid::TooManyTags);
    }
    if errors.is_empty() {
        Ok(PostInput {
            title,
            summary,
            content_warning,
            language,
            body_markdown,
            tags,
        })
    } else {
        Err(errors)
    }
}

/// Splits a comma- or space-separated tags field.
pub fn split_tags(field: &str) -> Vec<String> {
    field
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A scheduled time must be in the future.
pub fn validate_schedule(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Invalid> {
    if at <= now {
        return Err(Invalid::ScheduleInPast);
    }
    Ok(())
}

/// Whether the post has a title, which decides how it federates (see `federation::objects`).
pub fn is_titled(title: Option<&str>) -> bool {
    title.is_some_and(|t| !t.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PostInput {
        PostInput {
            title: Some("  Lettre ouverte ".into()),
            summary: Some("".into()),
            content_warning: None,
            language: "FR".into(),
            body_markdown: "Bonjour.\n\n".into(),
            tags: vec!["#Grève".into(), "grève".into(), "".into()],
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let post = validate(input()).expect("valid");
        assert_eq!(post.title.as_deref(), Some("Lettre ouverte"));
        assert_eq!(post.summary, None);
        assert_eq!(post.language, "fr");
        assert_eq!(post.body_markdown, "Bonjour.");
        assert_eq!(post.tags, vec!["Grève".to_string()]);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let errors = validate(PostInput {
            title: Some("!!! ???".into()),
            summary: Some("x".repeat(MAX_SUMMARY + 1)),
            content_warning: None,
            language: "klingon".into(),
            body_markdown: "   ".into(),
            tags: vec!["#...".into()],
        })
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(Invalid::field).collect();
        assert_eq!(fields, vec!["title", "summary", "body", "language", "tags"]);
        assert!(
            errors[1]
                .to_string()
                .contains("at most 1000 characters (got 1001)")
        );
    }

    #[test]
    fn schedules_must_be_in_the_future() {
        let now = Utc::now();
        assert!(validate_schedule(now + chrono::Duration::minutes(5), now).is_ok());
        assert_eq!(validate_schedule(now, now), Err(Invalid::ScheduleInPast));
    }

    #[test]
    fn tags_field_splits_on_commas_and_spaces() {
        assert_eq!(split_tags("a, b  c,,"), vec!["a", "b", "c"]);
    }
}
