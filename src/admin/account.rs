//! The member's own account: change the password (current one first, new one twice) and choose
//! the interface language.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{self, ClientAddr, CurrentMember, Posted, SESSION_COOKIE},
    dashboard::DoneQuery,
    failure::AdminError,
    views::{self, Choice, Chrome, FieldError},
};
use crate::{
    domain::member::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, validate_password},
    i18n::Catalog,
    service::{
        member,
        session::{self, SESSION_DAYS},
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    t: Catalog,
    chrome: Chrome,
    username: String,
    role_label: String,
    languages: Vec<Choice>,
    errors: Vec<FieldError>,
    min_password: usize,
}

impl AccountPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        views::error_for(&self.errors, field)
    }
}

fn render(
    me: &CurrentMember,
    status: StatusCode,
    errors: Vec<FieldError>,
    done: Option<&str>,
) -> Result<Response, AdminError> {
    let t = me.t();
    let page = AccountPage {
        t,
        chrome: Chrome::of(me, "account").with_done(t, done),
        username: me.member.username.clone(),
        role_label: t
            .get(&format!("admin.roles.{}", me.role.as_str()))
            .to_string(),
        languages: views::interface_languages(t, &me.member.locale),
        errors,
        min_password: MIN_PASSWORD_LEN,
    };
    views::html(status, &page)
}

/// GET /admin/account.
pub async fn page(
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    render(&me, StatusCode::OK, Vec::new(), query.done.as_deref())
}

fn field(t: Catalog, field: &'static str, key: &str) -> FieldError {
    FieldError {
        field,
        label: t.get(&format!("admin.account.field.{field}")).to_string(),
        message: t.get(key).to_string(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// POST /admin/account/password. Guessing the current password is throttled like logging in.
/// Changing it ends every session (a stolen one too), then opens a fresh one for this browser.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Posted { me, form }: Posted<PasswordForm>,
) -> Result<Response, AdminError> {
    let t = me.t();
    let keys = session::throttle_keys(&me.member.username, &addr);
    if session::is_throttled(&state.db, &keys).await? {
        let errors = vec![field(t, "current", "admin.login.throttled")];
        return render(&me, StatusCode::TOO_MANY_REQUESTS, errors, None);
    }
    let stored = me.member.password_hash.clone();
    let current = form.current.clone();
    let valid = tokio::task::spawn_blocking(move || member::verify_password(&current, &stored))
        .await
        .unwrap_or(false);
    let mut errors = Vec::new();
    if !valid {
        session::record_failure(&state.db, &keys).await?;
        errors.push(field(t, "current", "admin.account.wrong_current"));
    }
    if validate_password(&form.new).is_err() {
        let mut error = field(t, "new", "admin.invalid.password_length");
        error.message = t.fmt(
            "admin.invalid.password_length",
            &[
                ("min", &MIN_PASSWORD_LEN.to_string()),
                ("max", &MAX_PASSWORD_LEN.to_string()),
                ("actual", &form.new.chars().count().to_string()),
            ],
        );
        errors.push(error);
    }
    if form.new != form.confirm {
        errors.push(field(t, "confirm", "admin.account.mismatch"));
    }
    if !errors.is_empty() {
        return render(&me, StatusCode::UNPROCESSABLE_ENTITY, errors, None);
    }
    member::set_password(&state.db, &me.member.username, &form.new).await?;
    let opened = session::open(&state.db, me.member.id).await?;
    let mut response = Redirect::to("/admin/account?done=password").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            &state,
            SESSION_COOKIE,
            &opened.token,
            "/",
            SESSION_DAYS * 86_400,
        ),
    );
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LanguageForm {
    /// `fr`, `en`, or empty to follow the browser.
    locale: String,
}

/// POST /admin/account/language.
pub async fn set_language(
    State(state): State<AppState>,
    Posted { me, form }: Posted<LanguageForm>,
) -> Result<Response, AdminError> {
    if !matches!(form.locale.as_str(), "" | "fr" | "en") {
        let errors = vec![field(me.t(), "locale", "admin.account.unknown_language")];
        return render(&me, StatusCode::UNPROCESSABLE_ENTITY, errors, None);
    }
    member::set_locale(&state.db, me.member.id, &form.locale).await?;
    Ok(Redirect::to("/admin/account?done=language").into_response())
}
