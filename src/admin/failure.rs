//! `AdminError`: how an admin request fails, shown as a page in the member's language (not the
//! JSON errors of the federation side). Unexpected failures are logged once by `AppError`.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{
    error::AppError,
    i18n::{Catalog, Locale},
    service::{member::MemberError, post::PostError},
};

#[derive(Debug)]
pub enum AdminError {
    /// Not logged in: to the login page, which brings the member back to `next` afterwards.
    LoginRequired { next: Option<String> },
    /// A page that says what went wrong and what to do.
    Page {
        status: StatusCode,
        locale: Locale,
        message: String,
    },
    /// Unexpected (database down…): logged, a generic 500.
    Internal(AppError),
}

impl AdminError {
    /// A page with the message of `key` in `locale`.
    pub fn page(status: StatusCode, locale: Locale, key: &str) -> AdminError {
        AdminError::Page {
            status,
            locale,
            message: Catalog::new(locale).get(key).to_string(),
        }
    }

    pub fn not_found(locale: Locale) -> AdminError {
        AdminError::page(StatusCode::NOT_FOUND, locale, "admin.error.not_found")
    }

    pub fn forbidden(locale: Locale, key: &str) -> AdminError {
        AdminError::page(StatusCode::FORBIDDEN, locale, key)
    }

    /// A form without the session's token: forged, or opened before the last login.
    pub fn csrf(locale: Locale) -> AdminError {
        AdminError::page(StatusCode::FORBIDDEN, locale, "admin.error.csrf")
    }
}

impl From<sea_orm::DbErr> for AdminError {
    fn from(err: sea_orm::DbErr) -> Self {
        AdminError::Internal(AppError::Database(err))
    }
}

impl From<AppError> for AdminError {
    fn from(err: AppError) -> Self {
        AdminError::Internal(err)
    }
}

impl From<MemberError> for AdminError {
    fn from(err: MemberError) -> Self {
        match err {
            MemberError::Database(db) => db.into(),
            other => AdminError::Internal(AppError::Internal(anyhow::anyhow!("{other}"))),
        }
    }
}

impl From<PostError> for AdminError {
    fn from(err: PostError) -> Self {
        match err {
            PostError::Database(db) => db.into(),
            other => AdminError::Internal(AppError::Internal(anyhow::anyhow!("{other}"))),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    t: Catalog,
    chrome: super::views::Chrome,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::LoginRequired { next } => {
                let target = match next {
                    Some(next) => format!(
                        "/admin/login?next={}",
                        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    ),
                    None => "/admin/login".to_string(),
                };
                Redirect::to(&target).into_response()
            }
            AdminError::Page {
                status,
                locale,
                message,
            } => {
                let t = Catalog::new(locale);
                let page = ErrorPage {
                    t,
                    chrome: super::views::Chrome::anonymous(),
                    title: t.get(title_key(status)),
                    message: &message,
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(err) => {
                        tracing::error!(error = %err, "admin error page did not render");
                        (status, message).into_response()
                    }
                }
            }
            AdminError::Internal(err) => {
                // `AppError` logs the cause once; the member gets a page, not JSON.
                let status = err.into_response().status();
                (status, Html(INTERNAL_PAGE)).into_response()
            }
        }
    }
}

/// Shown when something unexpected failed; the language is unknown at that point, so both.
const INTERNAL_PAGE: &str = "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Erreur · Error</title><link rel=\"stylesheet\" href=\"/static/admin.css\"><main>\
<h1>Une erreur inattendue est survenue</h1><p>Votre action n’a peut-être pas été enregistrée. Réessayez dans \
un instant ; si cela continue, prévenez la personne qui s’occupe du serveur.</p>\
<p lang=\"en\">An unexpected error occurred. Please try again in a moment; if it persists, tell \
whoever runs the server.</p><p><a href=\"/admin\">Tableau de bord · Dashboard</a></p></main></html>";

fn title_key(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "admin.error.title_forbidden",
        StatusCode::NOT_FOUND => "admin.error.title_not_found",
        StatusCode::TOO_MANY_REQUESTS => "admin.error.title_throttled",
        _ => "admin.error.title",
    }
}
