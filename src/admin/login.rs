//! Logging in and out. The login form has its own CSRF token (double-submit: the same random
//! value in a short-lived cookie and in the form), failed attempts are throttled per account and
//! per address, and every login opens a new session (no fixation).

use std::sync::OnceLock;

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{
        self, ClientAddr, CurrentMember, LOGIN_CSRF_COOKIE, LOGIN_CSRF_SECONDS, Posted,
        SESSION_COOKIE,
    },
    failure::AdminError,
    views::Chrome,
};
use crate::{
    i18n::Catalog,
    service::{
        member,
        session::{self, SESSION_DAYS},
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    t: Catalog,
    chrome: Chrome,
    csrf: String,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: String,
}

/// GET /admin/login: the form (or straight on when already logged in).
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
    me: Option<CurrentMember>,
) -> Result<Response, AdminError> {
    let next = auth::safe_next(query.next.as_deref());
    if me.is_some() {
        return Ok(Redirect::to(next.as_deref().unwrap_or("/admin")).into_response());
    }
    let t = Catalog::new(auth::locale_for(&state, None, &headers));
    // Keep the token of a login page already open in another tab, so that both still work.
    let csrf = auth::cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|token| {
            token.len() == 43
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(session::random_token, str::to_string);
    let page = LoginPage {
        t,
        chrome: Chrome::anonymous().with_done(t, query.done.as_deref()),
        csrf: csrf.clone(),
        username: String::new(),
        next: next.unwrap_or_default(),
        error: None,
    };
    let mut response = super::views::html(StatusCode::OK, &page)?;
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            &state,
            LOGIN_CSRF_COOKIE,
            &csrf,
            "/admin",
            LOGIN_CSRF_SECONDS,
        ),
    );
    Ok(response)
}

/// A hash to verify against when the username is unknown, so that a wrong username takes as
/// long as a wrong password (timing does not tell which usernames exist).
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| member::hash_password("not a password at all").unwrap_or_default())
}

/// POST /admin/login.
pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AdminError> {
    let locale = auth::locale_for(&state, None, &headers);
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if form.csrf.is_empty() || !session::same_secret(&form.csrf, expected) {
        return Err(AdminError::page(
            StatusCode::FORBIDDEN,
            locale,
            "admin.login.expired",
        ));
    }
    let username = form.username.trim().to_lowercase();
    let keys = session::throttle_keys(&username, &addr);
    let refuse = |status: StatusCode, key: &str| {
        let t = Catalog::new(locale);
        super::views::html(
            status,
            &LoginPage {
                t,
                chrome: Chrome::anonymous(),
                csrf: form.csrf.clone(),
                username: form.username.clone(),
                next: auth::safe_next(Some(&form.next)).unwrap_or_default(),
                error: Some(t.get(key).to_string()),
            },
        )
    };
    if session::is_throttled(&state.db, &keys).await? {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "admin.login.throttled");
    }
    let found = member::find(&state.db, &username).await?;
    let stored = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_string(), |m| m.password_hash.clone());
    let password = form.password.clone();
    let valid = tokio::task::spawn_blocking(move || member::verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    let Some(member) = found.filter(|_| valid) else {
        session::record_failure(&state.db, &keys).await?;
        return refuse(StatusCode::UNAUTHORIZED, "admin.login.failed");
    };
    if member.disabled {
        return refuse(StatusCode::FORBIDDEN, "admin.login.disabled");
    }
    session::clear_failures(&state.db, &username).await?;
    let opened = session::open(&state.db, member.id).await?;
    let next = auth::safe_next(Some(&form.next)).unwrap_or_else(|| "/admin".into());
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        auth::set_cookie(
            &state,
            SESSION_COOKIE,
            &opened.token,
            "/",
            SESSION_DAYS * 86_400,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        auth::set_cookie(&state, LOGIN_CSRF_COOKIE, "", "/admin", 0),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct Nothing {}

/// POST /admin/logout: ends this session (in the database, not just the cookie).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { .. }: Posted<Nothing>,
) -> Result<Response, AdminError> {
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        session::end(&state.db, token).await?;
    }
    let mut response = Redirect::to("/admin/login?done=logged_out").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(&state, SESSION_COOKIE, "", "/", 0),
    );
    Ok(response)
}
