//! Who is asking: the session cookie → the logged-in member ([`CurrentMember`]), forms checked
//! against the session's CSRF token ([`Posted`]), the client address for login throttling, and
//! the cookies themselves.

use axum::{
    extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
};
use serde::{Deserialize, de::DeserializeOwned};

use super::failure::AdminError;
use crate::{
    db::entity::member,
    domain::member::Role,
    i18n::{Catalog, Locale},
    server::ClientIp,
    service::session,
    state::AppState,
};

/// The session cookie: a random token whose hash is the session's id in the database.
pub const SESSION_COOKIE: &str = "tribune_session";
/// The login form's double-submit token (there is no session yet to hold one).
pub const LOGIN_CSRF_COOKIE: &str = "tribune_login_csrf";
/// How long a login form stays usable, in seconds.
pub const LOGIN_CSRF_SECONDS: i64 = 60 * 60;
/// The largest form accepted: a post at its longest, percent-encoded, with room to spare.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly (scripts never see it), SameSite=Lax (not sent on cross-site
/// POSTs), `Secure` whenever the site is served over https. `max_age` 0 deletes the cookie.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if state.settings.instance.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    // The token alphabet is URL-safe base64, always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The interface language: the member's choice, else the browser's, else the instance's.
pub fn locale_for(state: &AppState, member_setting: Option<&str>, headers: &HeaderMap) -> Locale {
    let default = Locale::parse(&state.settings.instance.default_locale).unwrap_or(Locale::Fr);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::choose(member_setting, accept, default)
}

/// A `next` target after login, if it is a path of the admin panel (or the OAuth consent
/// page): anything else (another
/// site, `//host`, backslashes) is dropped so the login page cannot be an open redirect.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    // The admin panel, or the OAuth consent page of an app asking for access (whose query may
    // hold unencoded URLs: the fixed path keeps it on this site).
    let local = ((next.starts_with("/admin") && !next.contains("//"))
        || next.starts_with("/oauth/authorize?"))
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then(|| next.to_string())
}

/// The logged-in member of this request. Extracting it from a request without a live session
/// redirects to the login page (and back here afterwards).
pub struct CurrentMember {
    pub member: member::Model,
    pub role: Role,
    /// The session's CSRF token, put in every form of the page.
    pub csrf: String,
    pub locale: Locale,
}

impl CurrentMember {
    pub fn t(&self) -> Catalog {
        Catalog::new(self.locale)
    }

    /// A refusal page (403) in the member's language.
    pub fn forbidden(&self, key: &str) -> AdminError {
        AdminError::forbidden(self.locale, key)
    }

    pub fn not_found(&self) -> AdminError {
        AdminError::not_found(self.locale)
    }

    /// Pages for editors and admins (followers, delivery); authors get a clear 403.
    pub fn require_editor(&self) -> Result<(), AdminError> {
        if self.role.can_publish() {
            Ok(())
        } else {
            Err(self.forbidden("admin.error.editors_only"))
        }
    }

    /// Admin pages other than members (blocks, settings); others get a clear 403.
    pub fn require_admin_page(&self) -> Result<(), AdminError> {
        if self.role.can_manage_members() {
            Ok(())
        } else {
            Err(self.forbidden("admin.error.admins_page"))
        }
    }

    /// Admin pages only; others get a clear 403.
    pub fn require_admin(&self) -> Result<(), AdminError> {
        if self.role.can_manage_members() {
            Ok(())
        } else {
            Err(self.forbidden("admin.error.admins_only"))
        }
    }
}

impl FromRequestParts<AppState> for CurrentMember {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => session::lookup(&state.db, token).await?,
            None => None,
        };
        let Some((session, member)) = found else {
            // Only a page can be come back to; a form's data is not replayed after login.
            let next = (parts.method == Method::GET)
                .then(|| parts.uri.path_and_query().map(|pq| pq.as_str()))
                .flatten();
            return Err(AdminError::LoginRequired {
                next: safe_next(next),
            });
        };
        let locale = locale_for(state, Some(&member.locale), &parts.headers);
        Ok(CurrentMember {
            role: Role::parse(&member.role).unwrap_or(Role::Author),
            csrf: session.csrf_token,
            locale,
            member,
        })
    }
}

/// `Option<CurrentMember>`: `None` when not logged in (the login page uses it to skip the form).
impl OptionalFromRequestParts<AppState> for CurrentMember {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <CurrentMember as FromRequestParts<AppState>>::from_request_parts(parts, state).await
        {
            Ok(me) => Ok(Some(me)),
            Err(AdminError::LoginRequired { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

#[derive(Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a logged-in member whose `csrf` field matches the session's token. The
/// check happens before the handler runs: with a missing or stale token nothing is changed.
pub struct Posted<T> {
    pub me: CurrentMember,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let me =
            <CurrentMember as FromRequestParts<AppState>>::from_request_parts(&mut parts, state)
                .await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            AdminError::page(
                StatusCode::PAYLOAD_TOO_LARGE,
                me.locale,
                "admin.error.too_large",
            )
        })?;
        let CsrfField { csrf } = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if csrf.is_empty() || !session::same_secret(&csrf, &me.csrf) {
            return Err(AdminError::csrf(me.locale));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|err| {
            tracing::info!(error = %err, "malformed admin form");
            AdminError::page(StatusCode::BAD_REQUEST, me.locale, "admin.error.bad_form")
        })?;
        Ok(Posted { me, form })
    }
}

/// The client's address, for throttling failed logins: the TCP peer, or behind a trusted
/// reverse proxy the address it forwarded (`server.trusted_proxies`, [`ClientIp`]).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let addr = ClientIp::of(parts).map_or_else(|| "unknown".into(), |ip| ip.to_string());
        Ok(ClientAddr(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_paths_are_accepted_as_next() {
        assert_eq!(
            safe_next(Some("/admin/posts?status=review")).as_deref(),
            Some("/admin/posts?status=review")
        );
        for bad in [
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil.example",
            "/\\evil.example",
            "/posts/x",
            "/oauth/token",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_next(None), None);
        let consent = "/oauth/authorize?client_id=a&redirect_uri=https://app.example/cb";
        assert_eq!(safe_next(Some(consent)).as_deref(), Some(consent));
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("tribune_session=xyz"),
        );
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
